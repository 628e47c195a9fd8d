namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// cgroup v1 bandwidth files: <c>cpu.cfs_quota_us</c> ("-1" is no limit, else µs per period)
/// and <c>cpu.cfs_period_us</c> (µs). Two files, one shape as <see cref="CpuMax"/> once read.
/// </summary>
/// <remarks>
/// <code>
/// cpu.cfs_quota_us    -1 | 20000
/// cpu.cfs_period_us   100000
/// </code>
/// See https://docs.kernel.org/scheduler/sched-bwc.html.
/// </remarks>
public static class CfsQuota
{
    /// <summary>Parses <c>cpu.cfs_quota_us</c>; <paramref name="quotaMicros"/> is null for -1.</summary>
    public static bool TryParseQuota(ReadOnlySpan<byte> utf8, out ulong? quotaMicros)
    {
        quotaMicros = null;
        if (!KernelText.TryParseInt64(KernelText.TrimSingleLine(utf8), out long q))
        {
            return false;
        }
        if (q == -1)
        {
            return true;
        }
        if (q < 0)
        {
            return false;
        }
        quotaMicros = (ulong)q;
        return true;
    }

    /// <summary>Parses <c>cpu.cfs_period_us</c>; zero is rejected (the kernel never shows it).</summary>
    public static bool TryParsePeriod(ReadOnlySpan<byte> utf8, out ulong periodMicros)
        => KernelText.TryParseUInt64(KernelText.TrimSingleLine(utf8), out periodMicros) && periodMicros > 0;
}
