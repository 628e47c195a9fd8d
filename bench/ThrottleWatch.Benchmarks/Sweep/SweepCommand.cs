using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Sampling;

namespace ThrottleWatch.Benchmarks.Sweep;

/// <summary>
/// The sweep benchmark: N real container cgroups under the v1 mounts, the agent's own pipeline
/// (hierarchy detection, discovery, <see cref="Sampler"/> with the process's handle budget), and in
/// each round, interleaved, the C lower bound, the agent's steady-state sweep and a naive reader,
/// all over the same files. Prints medians over rounds. Everything it creates is removed afterwards,
/// on failure and on Ctrl-C too.
/// </summary>
internal static class SweepCommand
{
    private const string CgroupRoot = "/sys/fs/cgroup";
    private const string ProcRoot = "/proc";

    private static volatile bool _stop;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args is ["--help"] or ["-h"])
        {
            output.WriteLine(SweepOptions.Usage);
            return 0;
        }
        if (!SweepOptions.TryParse(args, out var options, out var problem))
        {
            error.WriteLine($"error: {problem}");
            error.WriteLine(SweepOptions.Usage);
            return 2;
        }

        if (!CgroupHierarchy.TryDetect(CgroupRoot, ProcRoot, out var hierarchy, out var detectError))
        {
            error.WriteLine($"error: {detectError}");
            return 1;
        }
        if (hierarchy!.Version != 1 || hierarchy.CpuacctRoot is null)
        {
            error.WriteLine($"error: this benchmark needs the cgroup v1 cpu and cpuacct controllers; found {hierarchy.Mode} with cpu at {hierarchy.CpuRoot}");
            return 1;
        }

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            _stop = true;
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);

        string cpuRoot = hierarchy.CpuRoot;
        string cpuacctRoot = hierarchy.CpuacctRoot;
        BenchTree.RemoveStale(cpuRoot, cpuacctRoot, output);
        RemoveStaleListFiles();

        var c = CBaseline.Prepare(output);
        string listFile = ListFile(Environment.ProcessId);
        BenchTree? tree = null;
        Sampler? sampler = null;
        try
        {
            var setup = Stopwatch.StartNew();
            tree = BenchTree.Create(cpuRoot, cpuacctRoot, options.Containers, options.PerPod, options.Busy, () => _stop);
            output.WriteLine($"created {tree.Containers} containers in {tree.Pods} pods under {cpuRoot}/{tree.Name} and {cpuacctRoot}/{tree.Name} " +
                $"({tree.QuotaContainers} with a 20000 µs quota, {tree.BusyProcesses} running a busy loop) in {setup.Elapsed.TotalSeconds:F1} s");

            // By default the pipeline starts at the benchmark's own folder in each controller, so that
            // kube-shaped cgroups other programs make meanwhile (the agent's real-cgroup tests do) are
            // neither swept nor vanish under the C reader. Discovery, Sampler and the files are the agent's
            // own either way; --whole-root starts at the mount as the agent on a node does.
            var scoped = options.WholeRoot
                ? hierarchy
                : hierarchy with { CpuRoot = Path.Combine(cpuRoot, tree.Name), CpuacctRoot = Path.Combine(cpuacctRoot, tree.Name) };
            var discovery = new ContainerDiscovery(scoped.CpuRoot);
            sampler = new Sampler(scoped, discovery, HandleBudget.FromProcessLimit());
            sampler.Rediscover();
            sampler.Sweep(full: true);

            var files = PerSecondFiles(sampler);
            output.WriteLine($"agent pipeline: {hierarchy.Mode} hierarchy, discovery from {scoped.CpuRoot} (cpuacct {scoped.CpuacctRoot}), " +
                $"handle budget {sampler.Budget.Capacity} of an open-file limit of {OpenFileLimit()}; {sampler.Tracked.Count} cgroups tracked, {files.Count} files per sweep");
            output.WriteLine($"load average before the rounds: {LoadAverage()}");
            File.WriteAllLines(listFile, files);
            int trackedContainers = sampler.Tracked.Count(t => t.Identity.Kind == CgroupKind.Container);
            int trackedPods = sampler.Tracked.Count(t => t.Identity.Kind == CgroupKind.Pod);
            if (trackedContainers != tree.Containers || trackedPods != tree.Pods)
            {
                output.WriteLine($"note: the agent tracks {trackedContainers} containers and {trackedPods} pods, the benchmark made {tree.Containers} and {tree.Pods}: " +
                    "other kube-shaped cgroups exist on this machine and are swept (and listed for C) too");
            }

            var run = new Measurement(options, sampler, new NaiveReader(files), c, listFile, files.Count, trackedContainers, output);
            run.WarmUp();
            var load = MachineLoad.Start(tree.BusyPids);
            for (int round = 0; round < options.Rounds; round++)
            {
                ThrowIfStopped();
                run.Round(round);
            }

            var (otherCores, stealCores) = load.Stop();
            output.WriteLine($"load average after the rounds: {LoadAverage()}; other processes used {otherCores:F2} cores meanwhile, the hypervisor stole {stealCores:F2}");
            var throttled = sampler.Tracked.Count(t => t.Identity.Kind == CgroupKind.Container && t.Current.Stat.NrThrottled > 0);
            var result = run.Summarise(trackedPods, throttled) with { OtherCores = otherCores };
            Report.Write(output, result);
            if (options.Markdown is { } md)
            {
                Report.AppendMarkdown(md, result);
            }
            return result.ReadErrors == 0 ? 0 : 1;
        }
        catch (Exception e) when (_stop)
        {
            error.WriteLine($"interrupted ({e.GetType().Name}); cleaning up");
            return 130;
        }
        catch (Exception e)
        {
            // Caught here, not left unhandled: an unhandled exception ends the process without running the finally below.
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
        finally
        {
            sampler?.Dispose();
            tree?.Dispose();
            File.Delete(listFile);
        }
    }

    /// <summary><c>cleanup</c>: removes what runs that ended without cleaning up left behind (their pid is gone).</summary>
    public static int Cleanup(TextWriter output, TextWriter error)
    {
        if (!CgroupHierarchy.TryDetect(CgroupRoot, ProcRoot, out var hierarchy, out var detectError))
        {
            error.WriteLine($"error: {detectError}");
            return 1;
        }
        if (hierarchy!.Version != 1 || hierarchy.CpuacctRoot is null)
        {
            return 0;
        }
        int removed = BenchTree.RemoveStale(hierarchy.CpuRoot, hierarchy.CpuacctRoot, output);
        RemoveStaleListFiles();
        output.WriteLine($"cleanup: {removed} leftover folder(s) removed");
        return 0;
    }

    private static string LoadAverage()
    {
        var parts = File.ReadAllText("/proc/loadavg").Split(' ');
        return string.Join(' ', parts.Take(3));
    }

    private static string OpenFileLimit()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return $"{f[3]} (hard {f[4]})";
            }
        }
        return "unknown";
    }

    private static string ListFile(int pid) => Path.Combine(Path.GetTempPath(), $"{BenchTree.Prefix}{pid}-files.txt");

    /// <summary>Deletes the file lists of runs that were killed (their pid is gone).</summary>
    private static void RemoveStaleListFiles()
    {
        foreach (var file in Directory.EnumerateFiles(Path.GetTempPath(), BenchTree.Prefix + "*-files.txt"))
        {
            var pid = Path.GetFileName(file)[BenchTree.Prefix.Length..^"-files.txt".Length];
            if (int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && !BenchTree.IsBenchProcess(p))
            {
                File.Delete(file);
            }
        }
    }

    internal static void ThrowIfStopped()
    {
        if (_stop)
        {
            throw new OperationCanceledException();
        }
    }

    /// <summary>
    /// Exactly what <c>Sampler.Sweep(full: false)</c> reads, in its order (so the C program keeps
    /// the same files open as the handle budget does): each tracked container's <c>cpu.stat</c> when
    /// it is read every sweep (v2, or a quota: <c>TrackedCgroup.StatEverySweep</c>), then its
    /// <c>cpuacct.usage</c> (pods are read on the slow cadence).
    /// </summary>
    private static List<string> PerSecondFiles(Sampler sampler)
    {
        var files = new List<string>(sampler.Tracked.Count * 2);
        foreach (var t in sampler.Tracked)
        {
            if (!t.Alive || !t.ReadEverySweep)
            {
                continue;
            }
            if (t.StatEverySweep)
            {
                files.Add(t.CpuStat.Path);
            }
            if (t.Usage is not null && (t.Absent & TrackedCgroup.AbsentFiles.Usage) == 0)
            {
                files.Add(t.Usage.Path);
            }
        }
        return files;
    }

    /// <summary>The three readers, measured round by round.</summary>
    private sealed class Measurement(SweepOptions options, Sampler sampler, NaiveReader naive, CBaseline c, string listFile, int files, int containers, TextWriter output)
    {
        private readonly long[] _times = new long[options.Sweeps];
        private readonly List<double> _cNs = [], _agentNs = [], _naiveNs = [], _agentRatio = [], _naiveRatio = [], _agentCpuRatio = [];
        private long _agentBytes, _naiveBytes, _sweepsPerReader;
        private double _agentUser, _agentSys, _cUser, _cSys;
        private long _errorsBefore;
        private int _cKept;

        /// <summary>Runs both .NET readers until tiered compilation has settled (C warms itself up).</summary>
        public void WarmUp()
        {
            _errorsBefore = TotalErrors();
            for (int phase = 0; phase < 3; phase++)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < 200 && (i < 3 || sw.ElapsedMilliseconds < 300); i++)
                {
                    if (options.Runs("agent"))
                    {
                        sampler.Sweep(full: false);
                    }
                    if (options.Runs("naive"))
                    {
                        naive.Sweep();
                    }
                }
                ThrowIfStopped();
                Thread.Sleep(250);
            }
        }

        public void Round(int round)
        {
            double cNs = double.NaN, agentNs = double.NaN, naiveNs = double.NaN, cCpuMs = double.NaN, agentCpuMs = double.NaN;
            for (int k = 0; k < 3; k++)
            {
                // The naive reader leaves hundreds of MB of garbage: collect it before the next reader runs, not during.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                switch ((round + k) % 3)
                {
                    case 0 when options.Runs("c"):
                        var r = c.Run(listFile, options.Sweeps, sampler.Budget.Capacity);
                        if (r.Files != files || r.Errors != 0)
                        {
                            throw new InvalidOperationException($"cgread read {r.Files} files with {r.Errors} errors; expected {files} and none");
                        }
                        cNs = r.MedianNs;
                        _cKept = r.Kept;
                        _cUser += r.UserMs;
                        _cSys += r.SystemMs;
                        cCpuMs = r.UserMs + r.SystemMs;
                        break;
                    case 1 when options.Runs("agent"):
                        (agentNs, agentCpuMs) = TimeAgent();
                        break;
                    case 2 when options.Runs("naive"):
                        naiveNs = TimeNaive();
                        break;
                }
                ThrowIfStopped();
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round + 1}/{options.Rounds}: µs per sweep  C {Report.Cell(cNs / 1000, "F0")}  agent {Report.Cell(agentNs / 1000, "F0")}  naive {Report.Cell(naiveNs / 1000, "F0")}  agent/C {Report.Cell(agentNs / cNs, "F2")}  (CPU time: {Report.Cell(agentCpuMs / cCpuMs, "F2")})"));
            _sweepsPerReader += options.Sweeps;
            _cNs.Add(cNs);
            _agentNs.Add(agentNs);
            _naiveNs.Add(naiveNs);
            _agentRatio.Add(agentNs / cNs);
            _naiveRatio.Add(naiveNs / cNs);
            _agentCpuRatio.Add(agentCpuMs / cCpuMs);
        }

        /// <summary>The agent's median sweep (ns) and its thread's CPU time over all the sweeps (ms).</summary>
        private (double MedianNs, double CpuMs) TimeAgent()
        {
            var (u0, s0) = ThreadCpu.Now();
            long bytes0 = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < _times.Length; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                sampler.Sweep(full: false);
                _times[i] = Stopwatch.GetTimestamp() - t0;
            }
            _agentBytes += GC.GetAllocatedBytesForCurrentThread() - bytes0;
            var (u1, s1) = ThreadCpu.Now();
            _agentUser += u1 - u0;
            _agentSys += s1 - s0;
            return (MedianNs(_times), (u1 - u0) + (s1 - s0));
        }

        private double TimeNaive()
        {
            long bytes0 = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < _times.Length; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                naive.Sweep();
                _times[i] = Stopwatch.GetTimestamp() - t0;
            }
            _naiveBytes += GC.GetAllocatedBytesForCurrentThread() - bytes0;
            return MedianNs(_times);
        }

        private static double MedianNs(long[] ticks)
        {
            var sorted = (long[])ticks.Clone();
            Array.Sort(sorted);
            return Median(sorted.Select(t => t * 1e9 / Stopwatch.Frequency).ToList());
        }

        private long TotalErrors() => sampler.Errors.All().Sum(e => e.Count);

        public SweepResult Summarise(int pods, int throttledContainers)
        {
            double perContainer(double ns) => ns / containers / 1000.0;
            return new SweepResult(
                Containers: containers,
                Pods: pods,
                Files: files,
                Kept: sampler.Budget.Kept,
                Budget: sampler.Budget.Capacity,
                CKept: _cKept,
                Degraded: sampler.DegradedCount,
                Rounds: options.Rounds,
                Sweeps: options.Sweeps,
                CMicros: perContainer(Median(_cNs)),
                AgentMicros: perContainer(Median(_agentNs)),
                AgentRatio: Median(_agentRatio),
                AgentRatioMin: _agentRatio.Min(),
                AgentRatioMax: _agentRatio.Max(),
                AgentCpuRatio: Median(_agentCpuRatio),
                AgentBytesPerSweep: options.Runs("agent") ? (double)_agentBytes / _sweepsPerReader : double.NaN,
                NaiveMicros: perContainer(Median(_naiveNs)),
                NaiveBytesPerSweep: options.Runs("naive") ? (double)_naiveBytes / _sweepsPerReader : double.NaN,
                NaiveRatio: Median(_naiveRatio),
                CSysShare: _cSys / (_cUser + _cSys),
                AgentSysShare: _agentSys / (_agentUser + _agentSys),
                ThrottledContainers: throttledContainers,
                ReadErrors: TotalErrors() - _errorsBefore,
                NaiveSink: naive.Sink);
        }
    }

    internal static double Median(List<double> values)
    {
        var v = values.Order().ToList();
        int n = v.Count;
        return n == 0 ? double.NaN : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
}

/// <summary>One sweep benchmark run, medians over rounds.</summary>
internal sealed record SweepResult(
    int Containers,
    int Pods,
    int Files,
    int Kept,
    int Budget,
    int CKept,
    int Degraded,
    int Rounds,
    int Sweeps,
    double CMicros,
    double AgentMicros,
    double AgentRatio,
    double AgentRatioMin,
    double AgentRatioMax,
    double AgentCpuRatio,
    double AgentBytesPerSweep,
    double NaiveMicros,
    double NaiveBytesPerSweep,
    double NaiveRatio,
    double CSysShare,
    double AgentSysShare,
    int ThrottledContainers,
    long ReadErrors,
    ulong NaiveSink)
{
    /// <summary>CPU other processes used during the rounds, in cores (noise the medians had to absorb).</summary>
    public double OtherCores { get; init; }
}

/// <summary>The result as a Markdown table: on the console, and appended to a file for a run over several N.</summary>
internal static class Report
{
    private static readonly string[] Header =
    [
        "containers", "pods", "files/sweep", "kept / budget", "degraded cgroups", "rounds × sweeps",
        "C µs/ctr", "agent µs/ctr", "agent/C", "agent B/sweep", "naive µs/ctr", "naive B/sweep", "naive/C",
        "agent/C CPU time", "other load",
    ];

    public static void Write(TextWriter output, SweepResult r)
    {
        output.WriteLine();
        output.WriteLine(HeaderLines());
        output.WriteLine(Row(r));
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"agent/C over the rounds {Cell(r.AgentRatioMin, "F2")}–{Cell(r.AgentRatioMax, "F2")}; system time share C {Cell(r.CSysShare * 100, "F0", "%")}, agent {Cell(r.AgentSysShare * 100, "F0", "%")}"));
        output.WriteLine($"containers throttled during the run: {r.ThrottledContainers}; agent read errors: {r.ReadErrors}; C kept {r.CKept} handles");
        if (r.AgentRatio > 1.3)
        {
            output.WriteLine($"note: agent/C = {r.AgentRatio:F2}, above the 1.3× target");
        }
        if (r.AgentBytesPerSweep > 0)
        {
            output.WriteLine($"note: the agent allocated {r.AgentBytesPerSweep:F1} B per sweep, above the 0 B target");
        }
    }

    public static void AppendMarkdown(string path, SweepResult r)
    {
        bool fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        using var w = new StreamWriter(path, append: true);
        if (fresh)
        {
            w.WriteLine(HeaderLines());
        }
        w.WriteLine(Row(r));
    }

    private static string HeaderLines() => "| " + string.Join(" | ", Header) + " |\n|" + string.Join("|", Header.Select(_ => "--:")) + "|";

    /// <summary>A number for the table, "-" for a reader that did not run.</summary>
    public static string Cell(double value, string format, string suffix = "")
        => double.IsNaN(value) || double.IsInfinity(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture) + suffix;

    private static string Row(SweepResult r)
    {
        var ci = CultureInfo.InvariantCulture;
        string[] cells =
        [
            r.Containers.ToString("N0", ci),
            r.Pods.ToString("N0", ci),
            r.Files.ToString("N0", ci),
            $"{r.Kept.ToString("N0", ci)} / {r.Budget.ToString("N0", ci)}",
            r.Degraded.ToString("N0", ci),
            $"{r.Rounds} × {r.Sweeps}",
            Cell(r.CMicros, "F2"),
            Cell(r.AgentMicros, "F2"),
            Cell(r.AgentRatio, "F2", "×"),
            Cell(r.AgentBytesPerSweep, "0.#"),
            Cell(r.NaiveMicros, "F2"),
            Cell(r.NaiveBytesPerSweep, "N0"),
            Cell(r.NaiveRatio, "F2", "×"),
            Cell(r.AgentCpuRatio, "F2", "×"),
            Cell(r.OtherCores, "F2"),
        ];
        return "| " + string.Join(" | ", cells) + " |";
    }
}
