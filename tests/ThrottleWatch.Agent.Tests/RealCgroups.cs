using System.Diagnostics;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// Real cgroups under this machine's v1 <c>cpu</c> and <c>cpuacct</c> mounts (BACKGROUND §5), in a
/// uniquely named folder; busy processes put into them; everything removed on dispose, and folders
/// left by a test run that crashed removed on the next start.
/// </summary>
internal sealed class RealCgroups : IDisposable
{
    public const string CpuMount = "/sys/fs/cgroup/cpu";
    public const string CpuacctMount = "/sys/fs/cgroup/cpuacct";
    private const string Prefix = "throttlewatch-test-";

    private readonly List<Process> _busy = [];
    private readonly List<string> _created = [];

    public RealCgroups()
    {
        RemoveStale();
        Name = $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}";
    }

    /// <summary>A new container id as a runtime writes it: 64 lowercase hex digits.</summary>
    public static string NewContainerId() => Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());

    /// <summary>The folder, relative to each controller's mount.</summary>
    public string Name { get; }

    /// <summary>Creates <c>/Name/relative</c> under both controllers; returns the cgroup path ("/Name/relative").</summary>
    public string Create(string relative)
    {
        var path = "/" + Name + "/" + relative.Trim('/');
        foreach (var mount in new[] { CpuMount, CpuacctMount })
        {
            var parts = path.Trim('/').Split('/');
            var dir = mount;
            foreach (var part in parts)
            {
                dir = Path.Combine(dir, part);
                if (!Directory.Exists(dir))
                {
                    Directory.CreateDirectory(dir);
                    _created.Add(dir);
                    if (mount == CpuMount && part == Name)
                    {
                        // The test's top folder outweighs everything else on the machine, so its busy
                        // loops get their quota (and are throttled) even while other tests keep both
                        // cores busy. Without it a loaded CI machine left a 0.2-core loop short of its
                        // 20 ms in most periods: throttled in 26% of them instead of ~100%.
                        File.WriteAllText(Path.Combine(dir, "cpu.shares"), MaxShares);
                    }
                }
            }
        }
        return path;
    }

    /// <summary>The largest v1 <c>cpu.shares</c> the kernel accepts (MAX_SHARES, 1 &lt;&lt; 18).</summary>
    private const string MaxShares = "262144";

    public static void SetQuota(string cgroupPath, long quotaMicros)
        => File.WriteAllText(CpuMount + cgroupPath + "/cpu.cfs_quota_us", quotaMicros.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Starts a single-threaded busy loop inside the cgroup (both controllers).</summary>
    public Process StartBusy(string cgroupPath) => StartIn(cgroupPath, "while :; do :; done");

    /// <summary>Starts a process that wakes every 50 ms and sleeps again: CFS periods with runnable threads, never near a quota.</summary>
    public Process StartSleeper(string cgroupPath) => StartIn(cgroupPath, "while :; do sleep 0.05; done");

    private Process StartIn(string cgroupPath, string script)
    {
        var p = Process.Start(new ProcessStartInfo("sh", ["-c", script]) { UseShellExecute = false })!;
        _busy.Add(p);
        var pid = p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(CpuMount + cgroupPath + "/cgroup.procs", pid);
        File.WriteAllText(CpuacctMount + cgroupPath + "/cgroup.procs", pid);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _busy)
        {
            try
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
            }
            p.Dispose();
        }
        // Leaf first; a cgroup with processes left cannot be removed, so retry briefly while they exit.
        for (int i = _created.Count - 1; i >= 0; i--)
        {
            RemoveDir(_created[i]);
        }
    }

    private static void RemoveDir(string dir)
    {
        for (int attempt = 0; attempt < 50 && Directory.Exists(dir); attempt++)
        {
            try
            {
                Directory.Delete(dir); // rmdir: cgroup folders are removed without emptying their files
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>Removes folders of test processes that no longer run (a crash, a killed CI job).</summary>
    private static void RemoveStale()
    {
        foreach (var mount in new[] { CpuMount, CpuacctMount })
        {
            if (!Directory.Exists(mount))
            {
                continue;
            }
            foreach (var dir in Directory.GetDirectories(mount, Prefix + "*"))
            {
                var pidText = Path.GetFileName(dir)[Prefix.Length..].Split('-')[0];
                if (int.TryParse(pidText, out int pid) && !Directory.Exists($"/proc/{pid}"))
                {
                    foreach (var sub in Directory.GetDirectories(dir, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length))
                    {
                        KillMembers(sub);
                        RemoveDir(sub);
                    }
                    KillMembers(dir);
                    RemoveDir(dir);
                }
            }
        }
    }

    private static void KillMembers(string dir)
    {
        try
        {
            foreach (var line in File.ReadAllLines(Path.Combine(dir, "cgroup.procs")))
            {
                if (int.TryParse(line, out int pid))
                {
                    try
                    {
                        Process.GetProcessById(pid).Kill();
                    }
                    catch (ArgumentException)
                    {
                    }
                }
            }
        }
        catch (IOException)
        {
        }
    }
}
