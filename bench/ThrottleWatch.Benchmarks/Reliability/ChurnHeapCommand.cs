using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ThrottleWatch.Agent.Commands;

namespace ThrottleWatch.Benchmarks.Reliability;

/// <summary>
/// <c>churn-heap [--rounds R] [--per-round N] [--steady S]</c>: the agent's retained managed memory
/// under churn, apart from the GC's own sizing. Runs <c>throttlewatch-agent run</c> in this process
/// over a copy of the <c>v2-cgroupfs</c> test fixture (plain files: no root needed), holds S steady
/// containers, and in each round makes N more, waits until a scrape shows them, removes them, waits
/// until a scrape shows them gone, then forces a full compacting GC and prints the live heap.
/// A heap that climbs with the containers churned is a leak; one that stays level is not.
/// </summary>
internal static class ChurnHeapCommand
{
    public const string Usage =
        "usage: churn-heap [--rounds R] [--per-round N] [--steady S]\n" +
        "  the in-process agent's live heap after a full GC, round after round of N containers made and removed";

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        int rounds = 20, perRound = 300, steady = 200;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "--help" or "-h")
            {
                output.WriteLine(Usage);
                return 0;
            }
            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < 1)
            {
                error.WriteLine($"error: {args[i]} needs a whole number of at least 1");
                return 2;
            }
            i++;
            switch (args[i - 1])
            {
                case "--rounds": rounds = v; break;
                case "--per-round": perRound = v; break;
                case "--steady": steady = v; break;
                default:
                    error.WriteLine($"error: unknown flag '{args[i - 1]}'");
                    error.WriteLine(Usage);
                    return 2;
            }
        }
        string? fixture = FindFixture();
        if (fixture is null)
        {
            error.WriteLine("error: tests/ThrottleWatch.Agent.Tests/Fixtures/v2-cgroupfs/root not found above " + AppContext.BaseDirectory);
            return 1;
        }
        string root = Directory.CreateTempSubdirectory("throttlewatch-churn-heap-").FullName;
        try
        {
            return RunAsync(fixture, root, rounds, perRound, steady, output, error).GetAwaiter().GetResult();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<int> RunAsync(string fixture, string root, int rounds, int perRound, int steady, TextWriter output, TextWriter error)
    {
        CopyTree(fixture, root);
        // A burstable pod of the fixture and its first container are the templates.
        string templatePod = Directory.GetDirectories(Path.Combine(root, "kubepods", "burstable"), "pod*")[0];
        string templateContainer = Directory.GetDirectories(templatePod).First(d => Path.GetFileName(d).Length == 64);
        string qos = Path.GetDirectoryName(templatePod)!;
        int fixtureContainers = Directory.GetDirectories(Path.Combine(root, "kubepods"), "*", SearchOption.AllDirectories)
            .Count(d => Path.GetFileName(d).Length == 64);
        int made = 0;
        List<string> MakePods(int containers)
        {
            var pods = new List<string>();
            for (int c = 0; c < containers; c++)
            {
                if (c % 2 == 0)
                {
                    pods.Add(Path.Combine(qos, "pod" + Guid.NewGuid()));
                    CopyFiles(templatePod, pods[^1]);
                }
                CopyFiles(templateContainer, Path.Combine(pods[^1], made.ToString("x64", CultureInfo.InvariantCulture)));
                made++;
            }
            return pods;
        }
        MakePods(steady);
        int baseCount = fixtureContainers + steady;

        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }
        using var stop = new CancellationTokenSource();
        var agentErrors = new StringWriter();
        var agent = Task.Run(() => AgentCli.RunAsync(
            ["run", "--cgroup-root", root, "--proc-root", "/nonexistent", "--interval", "100ms", "--listen", $"127.0.0.1:{port}"],
            new CliContext(TextWriter.Null, agentErrors), stop.Token));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string url = $"http://127.0.0.1:{port}/metrics";

        async Task<bool> ScrapeUntil(int tracked)
        {
            string want = $"throttlewatch_agent_containers{{node=";
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (DateTime.UtcNow < until && !agent.IsCompleted)
            {
                try
                {
                    foreach (var line in (await http.GetStringAsync(url)).Split('\n'))
                    {
                        if (line.StartsWith(want, StringComparison.Ordinal)
                            && line.EndsWith(" " + tracked.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))
                        {
                            return true;
                        }
                    }
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(100);
            }
            return false;
        }

        try
        {
            if (!await ScrapeUntil(baseCount))
            {
                error.WriteLine($"error: the agent never tracked the {baseCount} steady containers: {agentErrors}");
                return 1;
            }
            output.WriteLine($"agent in process over {root}: {baseCount} steady containers, {rounds} rounds of {perRound} made and removed");
            output.WriteLine("round  churned  live heap MiB  RSS MiB  gen2 GCs");
            Report(output, 0, 0);
            for (int r = 1; r <= rounds; r++)
            {
                var pods = MakePods(perRound);
                if (!await ScrapeUntil(baseCount + perRound))
                {
                    error.WriteLine($"error: round {r}: the agent never tracked the new containers");
                    return 1;
                }
                foreach (var pod in pods)
                {
                    Directory.Delete(pod, recursive: true);
                }
                if (!await ScrapeUntil(baseCount))
                {
                    error.WriteLine($"error: round {r}: the removed containers were still tracked after 30 s");
                    return 1;
                }
                Report(output, r, r * perRound);
            }
            return 0;
        }
        finally
        {
            await stop.CancelAsync();
            await agent;
        }
    }

    private static void Report(TextWriter output, int round, int churned)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        double heap = GC.GetTotalMemory(forceFullCollection: true) / 1048576.0;
        using var self = Process.GetCurrentProcess();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{round,5}  {churned,7}  {heap,12:0.00}  {self.WorkingSet64 / 1048576.0,7:0.0}  {GC.CollectionCount(2),8}"));
    }

    private static string? FindFixture()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "ThrottleWatch.Agent.Tests", "Fixtures", "v2-cgroupfs", "root");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static void CopyTree(string from, string to)
    {
        CopyFiles(from, to);
        foreach (var d in Directory.GetDirectories(from))
        {
            CopyTree(d, Path.Combine(to, Path.GetFileName(d)));
        }
    }

    private static void CopyFiles(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
        {
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        }
    }
}
