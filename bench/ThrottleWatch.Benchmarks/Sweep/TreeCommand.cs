using System.Globalization;
using System.Runtime.InteropServices;
using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Benchmarks.Sweep;

/// <summary>
/// <c>tree --n N [--per-pod P] [--busy B] [--ready-file FILE] [--api-dir DIR]</c>: builds the sweep benchmark's
/// Kubernetes-shaped tree (<see cref="BenchTree"/>, busy loops included) and holds it until SIGINT,
/// SIGTERM or SIGHUP, then removes it. For measuring something else over real cgroups, such as the
/// whole agent (<c>bench/scripts/agent-at-scale.sh</c>). When the tree is ready it writes one line,
/// <c>containers pods quota-containers busy folder</c>, to stdout and, if given, to the ready file
/// (written beside itself and renamed, so a reader never sees half of it). With <c>--api-dir</c> it also serves
/// the tree's pods (node <c>bench-node</c>) from the tests' stand-in API server (<c>FakeKubeApi</c>: the real
/// list/watch protocol and JSON) and writes a kubeconfig for it to <c>DIR/kubeconfig</c> before the ready line,
/// so the agent can run as in a cluster: <c>--kubeconfig DIR/kubeconfig --node-name bench-node</c>.
/// </summary>
internal static class TreeCommand
{
    public const string Usage =
        "usage: tree --n N [--per-pod P] [--busy B] [--ready-file FILE] [--api-dir DIR]\n" +
        "  builds N Kubernetes-shaped container cgroups (as sweep does) and holds them until SIGINT/SIGTERM, then removes them;\n" +
        "  --api-dir also serves their pods (node bench-node) from a stand-in API server and writes DIR/kubeconfig";

    /// <summary>The node name the stand-in API lists the tree's pods on.</summary>
    public const string NodeName = "bench-node";

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (BenchFlags.Parse(args, Usage, output, error, ["--ready-file", "--api-dir"], ["--n", "--per-pod", "--busy"], out var flags) is { } exit)
        {
            return exit;
        }
        int? n = flags.Number("--n");
        int perPod = flags.Number("--per-pod", 3), busy = flags.Number("--busy", 3);
        string? readyFile = flags.Text("--ready-file");
        string? apiDir = flags.Text("--api-dir");
        if (n is not > 0 || perPod < 1)
        {
            error.WriteLine("error: --n and --per-pod must be at least 1");
            error.WriteLine(Usage);
            return 2;
        }

        if (!BenchHost.TryV1(error, out var hierarchy, out var cpuacctRoot))
        {
            return 1;
        }
        using var signal = new StopSignal();
        var stop = signal.Event;

        BenchTree.RemoveStale(hierarchy.CpuRoot, cpuacctRoot, error);
        BenchTree? tree = null;
        ThrottleWatch.Agent.Tests.FakeKubeApi? api = null;
        try
        {
            tree = BenchTree.Create(hierarchy.CpuRoot, cpuacctRoot, n.Value, perPod, busy, () => stop.IsSet);
            if (apiDir is not null)
            {
                api = ServePods(tree, apiDir);
            }
            string line = string.Create(CultureInfo.InvariantCulture,
                $"{tree.Containers} {tree.Pods} {tree.QuotaContainers} {tree.BusyProcesses} {tree.Name}");
            output.WriteLine(line);
            output.Flush();
            if (readyFile is not null)
            {
                File.WriteAllText(readyFile + ".tmp", line + "\n");
                File.Move(readyFile + ".tmp", readyFile, overwrite: true);
            }
            stop.Wait();
            return 0;
        }
        catch (Exception e) when (stop.IsSet)
        {
            error.WriteLine($"interrupted ({e.GetType().Name}); cleaning up");
            return 130;
        }
        catch (Exception e)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
        finally
        {
            api?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            tree?.Dispose();
        }
    }

    /// <summary>Starts the stand-in API server with the tree's pods on <see cref="NodeName"/> and writes its kubeconfig into <paramref name="dir"/>.</summary>
    private static ThrottleWatch.Agent.Tests.FakeKubeApi ServePods(BenchTree tree, string dir)
    {
        var api = new ThrottleWatch.Agent.Tests.FakeKubeApi(NodeName);
        api.StartAsync().GetAwaiter().GetResult();
        api.SetNode(Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture));
        int i = 0;
        foreach (var (uid, qos, containers) in tree.PodList)
        {
            var specs = containers.Select((c, j) =>
            {
                string? limit = c.LimitMillicores is { } m ? m.ToString(CultureInfo.InvariantCulture) + "m" : null;
                string? request = qos switch { "Guaranteed" => limit, "Burstable" => "100m", _ => null };
                return new ThrottleWatch.Agent.Tests.PodJson.C($"c{j}", c.Id, request, limit);
            }).ToList();
            api.Upsert(ThrottleWatch.Agent.Tests.PodJson.Pod("bench", $"pod-{i++}", uid, NodeName, qos, specs));
        }
        Directory.CreateDirectory(dir);
        api.WriteKubeconfig(dir);
        return api;
    }
}
