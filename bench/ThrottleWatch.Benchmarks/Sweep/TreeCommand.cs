using System.Globalization;
using System.Runtime.InteropServices;
using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Benchmarks.Sweep;

/// <summary>
/// <c>tree --n N [--per-pod P] [--busy B] [--ready-file FILE]</c>: builds the sweep benchmark's
/// Kubernetes-shaped tree (<see cref="BenchTree"/>, busy loops included) and holds it until SIGINT,
/// SIGTERM or SIGHUP, then removes it. For measuring something else over real cgroups, such as the
/// whole agent (<c>bench/scripts/agent-at-scale.sh</c>). When the tree is ready it writes one line,
/// <c>containers pods quota-containers busy folder</c>, to stdout and, if given, to the ready file
/// (written beside itself and renamed, so a reader never sees half of it).
/// </summary>
internal static class TreeCommand
{
    public const string Usage =
        "usage: tree --n N [--per-pod P] [--busy B] [--ready-file FILE]\n" +
        "  builds N Kubernetes-shaped container cgroups (as sweep does) and holds them until SIGINT/SIGTERM, then removes them";

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (BenchFlags.Parse(args, Usage, output, error, ["--ready-file"], ["--n", "--per-pod", "--busy"], out var flags) is { } exit)
        {
            return exit;
        }
        int? n = flags.Number("--n");
        int perPod = flags.Number("--per-pod", 3), busy = flags.Number("--busy", 3);
        string? readyFile = flags.Text("--ready-file");
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
        try
        {
            tree = BenchTree.Create(hierarchy.CpuRoot, cpuacctRoot, n.Value, perPod, busy, () => stop.IsSet);
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
            tree?.Dispose();
        }
    }
}
