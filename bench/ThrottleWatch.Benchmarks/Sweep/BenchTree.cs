using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace ThrottleWatch.Benchmarks.Sweep;

/// <summary>
/// A Kubernetes-shaped cgroup tree made for one benchmark run, under a folder of its own in both
/// v1 controllers (<c>cpu</c> and <c>cpuacct</c>), and removed afterwards.
/// </summary>
/// <remarks>
/// <code>
/// &lt;cpu|cpuacct&gt;/throttlewatch-bench-&lt;pid&gt;/kubepods/pod&lt;uid&gt;/&lt;cid&gt;               Guaranteed (1 pod in 10)
/// &lt;cpu|cpuacct&gt;/throttlewatch-bench-&lt;pid&gt;/kubepods/burstable/pod&lt;uid&gt;/&lt;cid&gt;     (6 in 10)
/// &lt;cpu|cpuacct&gt;/throttlewatch-bench-&lt;pid&gt;/kubepods/besteffort/pod&lt;uid&gt;/&lt;cid&gt;    (3 in 10)
/// </code>
/// Every container of a Guaranteed pod gets a 20000 µs quota (0.2 CPU) and its pod the sum, as the
/// kubelet does, so about a tenth of the containers have a limit. A few of them run a busy shell
/// loop, so real throttling happens while the sweeps run. The pid in the folder name tells a
/// crashed run's leftovers (pid gone) from a run still going.
/// </remarks>
internal sealed class BenchTree : IDisposable
{
    public const string Prefix = "throttlewatch-bench-";
    private const ulong QuotaMicros = 20_000;

    private readonly string _cpuRoot;
    private readonly string _cpuacctRoot;
    private readonly List<Process> _busy = [];
    private bool _removed;

    private BenchTree(string cpuRoot, string cpuacctRoot, string name)
    {
        _cpuRoot = cpuRoot;
        _cpuacctRoot = cpuacctRoot;
        Name = name;
    }

    /// <summary>The folder directly under each controller's root.</summary>
    public string Name { get; }

    public int Containers { get; private set; }
    public int Pods { get; private set; }
    public int QuotaContainers { get; private set; }
    public int BusyProcesses => _busy.Count;

    /// <summary>Every pod made: its UID, QoS class, and its containers' ids and CPU limits in millicores (null: none).</summary>
    public List<(string Uid, string Qos, List<(string Id, int? LimitMillicores)> Containers)> PodList { get; } = [];

    /// <summary>The busy loops' pids.</summary>
    public IReadOnlyList<int> BusyPids => _busy.Select(p => p.Id).ToList();

    /// <summary>
    /// Creates the tree: <paramref name="containers"/> containers, <paramref name="perPod"/> per pod,
    /// <paramref name="busy"/> busy processes in quota'd containers. On failure everything made so far is removed.
    /// </summary>
    public static BenchTree Create(string cpuRoot, string cpuacctRoot, int containers, int perPod, int busy, Func<bool> stop)
    {
        var tree = new BenchTree(cpuRoot, cpuacctRoot, Prefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            tree.Build(containers, perPod, busy, stop);
            return tree;
        }
        catch
        {
            tree.Dispose();
            throw;
        }
    }

    private void Build(int containers, int perPod, int busy, Func<bool> stop)
    {
        MakeDir(Name);
        MakeDir(Name + "/kubepods");
        MakeDir(Name + "/kubepods/burstable");
        MakeDir(Name + "/kubepods/besteffort");
        var busyTargets = new List<string>();
        int made = 0;
        for (int pod = 0; made < containers; pod++)
        {
            if (stop())
            {
                throw new OperationCanceledException();
            }
            int inPod = Math.Min(perPod, containers - made);
            string parent = (pod % 10) switch
            {
                0 => "/kubepods",
                <= 6 => "/kubepods/burstable",
                _ => "/kubepods/besteffort",
            };
            bool guaranteed = pod % 10 == 0;
            string uid = Guid.NewGuid().ToString();
            string podDir = $"{Name}{parent}/pod{uid}";
            var listed = new List<(string, int?)>();
            PodList.Add((uid, parent switch { "/kubepods" => "Guaranteed", "/kubepods/burstable" => "Burstable", _ => "BestEffort" }, listed));
            MakeDir(podDir);
            if (guaranteed)
            {
                WriteControl(Path.Combine(_cpuRoot, podDir, "cpu.cfs_quota_us"), (QuotaMicros * (ulong)inPod).ToString(CultureInfo.InvariantCulture));
            }
            Pods++;
            for (int c = 0; c < inPod; c++)
            {
                string id = RandomNumberGenerator.GetHexString(64, lowercase: true);
                string containerDir = $"{podDir}/{id}";
                MakeDir(containerDir);
                listed.Add((id, guaranteed ? (int)(QuotaMicros / 100) : null));
                if (guaranteed)
                {
                    WriteControl(Path.Combine(_cpuRoot, containerDir, "cpu.cfs_quota_us"), QuotaMicros.ToString(CultureInfo.InvariantCulture));
                    QuotaContainers++;
                    if (c == 0 && busyTargets.Count < busy)
                    {
                        busyTargets.Add(containerDir);
                    }
                }
                made++;
            }
        }
        Containers = made;
        foreach (var dir in busyTargets)
        {
            StartBusy(dir);
        }
    }

    private void MakeDir(string relative)
    {
        Directory.CreateDirectory(Path.Combine(_cpuRoot, relative));
        Directory.CreateDirectory(Path.Combine(_cpuacctRoot, relative));
    }

    private void StartBusy(string relative)
    {
        var psi = new ProcessStartInfo("sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("while :; do :; done");
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start sh");
        _busy.Add(p);
        string pid = p.Id.ToString(CultureInfo.InvariantCulture);
        WriteControl(Path.Combine(_cpuRoot, relative, "cgroup.procs"), pid);
        WriteControl(Path.Combine(_cpuacctRoot, relative, "cgroup.procs"), pid);
    }

    /// <summary>Writes a cgroup control file without O_CREAT or O_TRUNC.</summary>
    private static void WriteControl(string path, string text)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        f.Write(System.Text.Encoding.ASCII.GetBytes(text));
    }

    /// <summary>Kills the busy processes and removes the tree from both controllers, leaves first.</summary>
    public void Dispose()
    {
        if (_removed)
        {
            return;
        }
        _removed = true;
        foreach (var p in _busy)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill();
                }
                p.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            p.Dispose();
        }
        _busy.Clear();
        RemoveTree(Path.Combine(_cpuRoot, Name));
        RemoveTree(Path.Combine(_cpuacctRoot, Name));
    }

    /// <summary>
    /// Removes the folders a crashed run left under either root (its pid is gone, or is now ours:
    /// called before this run makes its own), killing any process still in them. Returns how many
    /// top folders were removed.
    /// </summary>
    public static int RemoveStale(string cpuRoot, string cpuacctRoot, TextWriter log)
    {
        int removed = 0;
        foreach (var root in new[] { cpuRoot, cpuacctRoot })
        {
            foreach (var dir in Directory.GetDirectories(root, Prefix + "*"))
            {
                string suffix = Path.GetFileName(dir)[Prefix.Length..];
                if (int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                    && pid != Environment.ProcessId && IsBenchProcess(pid))
                {
                    log.WriteLine($"note: {dir} belongs to a run still going (pid {pid}); left alone");
                    continue;
                }
                log.WriteLine($"note: removing {dir}, left by a run that ended without cleaning up");
                KillMembers(dir);
                RemoveTree(dir);
                removed++;
            }
        }
        return removed;
    }

    /// <summary>True when <paramref name="pid"/> is alive and is a benchmark process (not a reused pid).</summary>
    internal static bool IsBenchProcess(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains("ThrottleWatch.Benchmarks", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Kills, by pid, every process in the cgroups under <paramref name="dir"/> (only a bench's busy loops live there).</summary>
    private static void KillMembers(string dir)
    {
        foreach (var procs in Directory.EnumerateFiles(dir, "cgroup.procs", SearchOption.AllDirectories))
        {
            foreach (var line in File.ReadAllLines(procs))
            {
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                {
                    try
                    {
                        using var p = Process.GetProcessById(pid);
                        p.Kill();
                        p.WaitForExit(5000);
                    }
                    catch (ArgumentException)
                    {
                        // Gone already.
                    }
                    catch (InvalidOperationException)
                    {
                    }
                }
            }
        }
    }

    /// <summary>rmdir, children before parents; a cgroup still busy for a moment (a process being reaped) is retried.</summary>
    private static void RemoveTree(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return;
        }
        foreach (var child in Directory.GetDirectories(dir))
        {
            RemoveTree(child);
        }
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                Directory.Delete(dir, recursive: false);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException) when (attempt < 50)
            {
                Thread.Sleep(20);
            }
        }
    }
}
