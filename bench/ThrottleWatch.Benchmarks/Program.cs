using BenchmarkDotNet.Running;
using ThrottleWatch.Benchmarks;
using ThrottleWatch.Benchmarks.Recording;
using ThrottleWatch.Benchmarks.Reliability;
using ThrottleWatch.Benchmarks.Sweep;

// parsers [BenchmarkDotNet args]   the cgroup file parsers under BenchmarkDotNet (the default)
// sweep --n N [--rounds R] [--sweeps S] [...]   the agent's sweep over N real cgroups, beside C and a naive reader
// tree --n N [--per-pod P] [--busy B] [--ready-file FILE]   builds the sweep's tree and holds it until SIGINT/SIGTERM
// cleanup                          removes cgroups left by a sweep, tree or churn run that was killed
// churn --per-minute R [...]       creates and removes container cgroups at R a minute until SIGINT/SIGTERM
// churn-heap [--rounds R] [--per-round N]   the in-process agent's live heap after a full GC, round after round of churn
// scrape-load --url URL [--scrapers N] [--seconds S] [...]   N concurrent scrapers: errors and latency percentiles
// recording --containers N --out FILE [...]   streams an agent-shaped OpenMetrics recording for promtool backfill
string verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "parsers";
string[] rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;

switch (verb)
{
    case "parsers":
        var summary = BenchmarkRunner.Run<ParserBenchmarks>(null, rest);
        return summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) ? 1 : 0;
    case "sweep":
        return SweepCommand.Run(rest, Console.Out, Console.Error);
    case "tree":
        return TreeCommand.Run(rest, Console.Out, Console.Error);
    case "churn":
        return ChurnCommand.Run(rest, Console.Out, Console.Error);
    case "churn-heap":
        return ChurnHeapCommand.Run(rest, Console.Out, Console.Error);
    case "scrape-load":
        return ScrapeLoadCommand.Run(rest, Console.Out, Console.Error);
    case "cleanup":
        return SweepCommand.Cleanup(Console.Out, Console.Error);
    case "recording":
        return RecordingCommand.Run(rest, Console.Out, Console.Error);
    default:
        Console.Error.WriteLine($"error: unknown verb '{verb}': use 'parsers' (default), 'sweep --n N', 'tree --n N', 'churn --per-minute R', 'churn-heap', 'scrape-load --url URL' or 'cleanup'");
        return 2;
}
