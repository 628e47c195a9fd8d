namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// One line of <c>/proc/PID/mountinfo</c>, kept only for cgroup mounts.
/// </summary>
/// <remarks>
/// <code>
/// 31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
/// 40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
/// </code>
/// Fields: id, parent, major:minor, root, mount point, options, optional fields ending with "-",
/// then file system type, source, super options. Spaces in paths are octal-escaped ("\040").
/// Read once at start, so plain strings are fine here.
/// See https://man7.org/linux/man-pages/man5/proc_pid_mountinfo.5.html.
/// </remarks>
public sealed record MountInfo(string Root, string MountPoint, string FsType, string SuperOptions)
{
    /// <summary>True for a v1 mount that carries <paramref name="controller"/> (super options "rw,cpu,cpuacct").</summary>
    public bool HasV1Controller(string controller)
        => FsType == "cgroup" && SuperOptions.Split(',').Contains(controller, StringComparer.Ordinal);

    public static bool TryParseLine(string line, out MountInfo? mount)
    {
        mount = null;
        var fields = line.Split(' ');
        int dash = Array.IndexOf(fields, "-");
        if (fields.Length < 10 || dash < 6 || dash + 3 >= fields.Length)
        {
            return false;
        }
        mount = new MountInfo(Unescape(fields[3]), Unescape(fields[4]), fields[dash + 1], fields[dash + 3]);
        return true;
    }

    /// <summary>Reads every cgroup and cgroup2 mount from a mountinfo file; an absent file gives none.</summary>
    public static IReadOnlyList<MountInfo> ReadCgroupMounts(string path)
    {
        var result = new List<MountInfo>();
        if (!File.Exists(path))
        {
            return result;
        }
        foreach (var line in File.ReadLines(path))
        {
            if (TryParseLine(line, out var m) && m!.FsType is "cgroup" or "cgroup2")
            {
                result.Add(m);
            }
        }
        return result;
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal))
        {
            return s;
        }
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) && IsOctal(s[i + 3]))
            {
                sb.Append((char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0')));
                i += 3;
            }
            else
            {
                sb.Append(s[i]);
            }
        }
        return sb.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
