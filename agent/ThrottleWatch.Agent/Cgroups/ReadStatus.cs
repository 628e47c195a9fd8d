namespace ThrottleWatch.Agent.Cgroups;

/// <summary>What happened to one read; everything but <see cref="Ok"/> and <see cref="Absent"/> is counted by reason.</summary>
public enum ReadStatus : byte
{
    Ok,
    /// <summary>The file does not exist in a cgroup that does (an older kernel, a controller not enabled): not an error.</summary>
    Absent,
    /// <summary>The cgroup went away between listing and reading (ENOENT/ENODEV): the container ended.</summary>
    Vanished,
    /// <summary>The text did not parse.</summary>
    Malformed,
    /// <summary>EACCES/EPERM.</summary>
    Permission,
    /// <summary>EMFILE/ENFILE: the process or the system is out of file descriptors.</summary>
    OpenFiles,
    /// <summary>Anything else (EIO, a directory where a file was expected, …).</summary>
    Io,
}

/// <summary>Metric label values for <see cref="ReadStatus"/>.</summary>
public static class ReadStatusNames
{
    public static string Label(this ReadStatus s) => s switch
    {
        ReadStatus.Vanished => "vanished",
        ReadStatus.Malformed => "malformed",
        ReadStatus.Permission => "permission",
        ReadStatus.OpenFiles => "open_files",
        ReadStatus.Io => "io",
        ReadStatus.Absent => "absent",
        _ => "ok",
    };
}
