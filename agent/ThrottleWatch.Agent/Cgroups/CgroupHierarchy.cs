namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// Where the cpu controller lives under a cgroup root, found from the tree itself and refined by
/// the host's mountinfo where it is readable.
/// </summary>
/// <remarks>
/// Shapes recognised, with <c>R</c> the folder given as <c>--cgroup-root</c>:
/// <code>
/// v2       R/cgroup.controllers                     (unified hierarchy at R)
/// v1       R/cpu/ and R/cpuacct/                    (mounted apart)
///          R/cpu,cpuacct/ with cpu, cpuacct -> cpu,cpuacct   (mounted together)
/// hybrid   v1 controllers beside R/unified/ (cgroup2); cpu is wherever it is enabled
/// </code>
/// Only the controller folders (or links) directly under R are followed; nothing below them is.
/// </remarks>
public sealed record CgroupHierarchy
{
    /// <summary>1 or 2: the version of the hierarchy that holds the cpu controller.</summary>
    public required int Version { get; init; }

    /// <summary>The folder of the hierarchy with the cpu controller.</summary>
    public required string CpuRoot { get; init; }

    /// <summary>v1: the cpuacct controller's folder (may equal <see cref="CpuRoot"/>); null on v2 or where absent.</summary>
    public string? CpuacctRoot { get; init; }

    /// <summary>"v1", "v2" or "hybrid" (v1 controllers beside a cgroup2 mount).</summary>
    public required string Mode { get; init; }

    private static readonly string[] CpuNames = ["cpu", "cpu,cpuacct", "cpuacct,cpu"];
    private static readonly string[] CpuacctNames = ["cpuacct", "cpu,cpuacct", "cpuacct,cpu"];

    /// <summary>
    /// Detects the layout under <paramref name="cgroupRoot"/>; <paramref name="error"/> is one line for a user.
    /// </summary>
    public static bool TryDetect(string cgroupRoot, string procRoot, out CgroupHierarchy? hierarchy, out string error)
    {
        hierarchy = null;
        error = "";
        var root = Path.GetFullPath(cgroupRoot);
        if (!Directory.Exists(root))
        {
            error = $"cgroup root '{cgroupRoot}' does not exist or is not a folder";
            return false;
        }

        if (File.Exists(Path.Combine(root, "cgroup.controllers")))
        {
            hierarchy = new CgroupHierarchy { Version = 2, CpuRoot = root, Mode = "v2" };
            return true;
        }

        var mounts = ReadMounts(procRoot);
        string? cpu = PreferMounted(root, mounts, "cpu", "cpu.shares") ?? FirstWith(root, CpuNames, "cpu.shares");
        string? cpuacct = PreferMounted(root, mounts, "cpuacct", "cpuacct.usage") ?? FirstWith(root, CpuacctNames, "cpuacct.usage");
        string? unified = FindUnified(root, mounts);

        if (cpu is not null)
        {
            hierarchy = new CgroupHierarchy
            {
                Version = 1,
                CpuRoot = cpu,
                CpuacctRoot = cpuacct,
                Mode = unified is null ? "v1" : "hybrid",
            };
            return true;
        }
        if (unified is not null && ListsController(Path.Combine(unified, "cgroup.controllers"), "cpu"))
        {
            hierarchy = new CgroupHierarchy { Version = 2, CpuRoot = unified, Mode = "hybrid" };
            return true;
        }
        error = $"no cpu controller under '{cgroupRoot}': expected cgroup.controllers (v2) or a cpu, cpuacct or cpu,cpuacct folder (v1)";
        return false;
    }

    /// <summary>True when the cgroup2 <c>cgroup.controllers</c> file at <paramref name="path"/> lists <paramref name="controller"/>.</summary>
    public static bool ListsController(string path, string controller)
    {
        try
        {
            return File.ReadAllText(path).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Contains(controller, StringComparer.Ordinal);
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

    private static IReadOnlyList<MountInfo> ReadMounts(string procRoot)
    {
        // PID 1's view is the host's when the host /proc is mounted into a pod; fall back to our own.
        foreach (var candidate in new[] { Path.Combine(procRoot, "1", "mountinfo"), Path.Combine(procRoot, "self", "mountinfo") })
        {
            try
            {
                var mounts = MountInfo.ReadCgroupMounts(candidate);
                if (mounts.Count > 0)
                {
                    return mounts;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return [];
    }

    /// <summary>
    /// The folder under <paramref name="root"/> named like the host's mount point of the v1
    /// <paramref name="controller"/> (unusual names such as "cpu,cpuacct,foo" are found this way).
    /// </summary>
    private static string? PreferMounted(string root, IReadOnlyList<MountInfo> mounts, string controller, string marker)
    {
        foreach (var m in mounts)
        {
            if (m.HasV1Controller(controller))
            {
                var dir = Path.Combine(root, Path.GetFileName(m.MountPoint.TrimEnd('/')));
                if (File.Exists(Path.Combine(dir, marker)))
                {
                    return dir;
                }
            }
        }
        return null;
    }

    private static string? FirstWith(string root, string[] names, string marker)
    {
        foreach (var name in names)
        {
            var dir = Path.Combine(root, name);
            if (File.Exists(Path.Combine(dir, marker)))
            {
                return dir;
            }
        }
        return null;
    }

    private static string? FindUnified(string root, IReadOnlyList<MountInfo> mounts)
    {
        foreach (var m in mounts)
        {
            if (m.FsType == "cgroup2")
            {
                var dir = Path.Combine(root, Path.GetFileName(m.MountPoint.TrimEnd('/')));
                if (dir != root && File.Exists(Path.Combine(dir, "cgroup.controllers")))
                {
                    return dir;
                }
            }
        }
        var unified = Path.Combine(root, "unified");
        return File.Exists(Path.Combine(unified, "cgroup.controllers")) ? unified : null;
    }
}
