using System.CommandLine;
using Spectre.Console;
using ThrottleWatch.Analyzer.Evidence;
using ThrottleWatch.Analyzer.Rules;
using ThrottleWatch.Analyzer.Sources;

namespace ThrottleWatch.Analyzer.Commands;

/// <summary>Where a command writes: the process's streams, or a test's writers.</summary>
public sealed class CliContext(TextWriter output, TextWriter error)
{
    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;

    /// <summary>The clock (a test pins it).</summary>
    public Func<DateTimeOffset> Now { get; init; } = () => DateTimeOffset.UtcNow;

    public IAnsiConsole CreateConsole()
    {
        bool real = ReferenceEquals(Output, Console.Out);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Output),
            Ansi = real ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = real ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        console.Profile.Width = Math.Max(console.Profile.Width, 160);
        return console;
    }
}

/// <summary>The analyzer's commands. Bad input: one line, exit 2. Source unavailable: one line, exit 3.</summary>
public static class AnalyzerCli
{
    public static RootCommand Build(CliContext context)
    {
        var root = new RootCommand("ThrottleWatch analyzer: recommendations from CPU throttling evidence, and the weekly report");
        root.Subcommands.Add(RecommendCommand.Create(context));
        root.Subcommands.Add(ReportCommand.Create(context));
        root.Subcommands.Add(TopCommand.Create(context));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancel = default)
    {
        var parse = Build(context).Parse(args);
        if (parse.Errors.Count > 0)
        {
            var errors = parse.Errors.DistinctBy(e => e.Message).ToList();
            if (errors.Count > 1)
            {
                errors.RemoveAll(e => e.Message.StartsWith("Required command", StringComparison.Ordinal));
            }
            foreach (var e in errors)
            {
                context.Error.WriteLine("error: " + string.Join(' ', e.Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) + " (see --help)");
            }
            return ExitCodes.BadInput;
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = context.Output, Error = context.Error, EnableDefaultExceptionHandler = false }, cancel).ConfigureAwait(false);
        }
        catch (BadInputException e)
        {
            context.Error.WriteLine("error: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (InvalidDataException e)
        {
            context.Error.WriteLine("error: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (SourceUnavailableException e)
        {
            context.Error.WriteLine("error: " + e.Message);
            return ExitCodes.SourceUnavailable;
        }
    }

    /// <summary>Runs the analysis the flags describe; an empty result is bad input (nothing to analyse).</summary>
    internal static async Task<AnalysisResult> AnalyseAsync(SourceOptions options, ParseResult parse, CliContext context, bool keepLimits, CancellationToken cancel)
    {
        var (source, selector, start, end, step) = options.Resolve(parse, context.Now());
        try
        {
            if (end <= start)
            {
                throw new BadInputException($"the range is empty: {start:O} to {end:O}");
            }
            var result = await Analysis.RunAsync(source, selector, start, end, step, Thresholds.Default, keepLimits, context.Now(), cancel).ConfigureAwait(false);
            if (result.Report.Summary.ContainersAnalyzed == 0)
            {
                throw new BadInputException($"no named ThrottleWatch container series in {source.Description} from {start:u} to {end:u}{(selector.Matchers.Count > 0 ? " with " + selector.ToPromQl() : "")}");
            }
            return result;
        }
        finally
        {
            (source as IDisposable)?.Dispose();
        }
    }
}
