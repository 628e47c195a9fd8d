namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// <c>cpu.stat</c> (and <c>cpu.stat.local</c>) of cgroup v1 or v2, normalised to nanoseconds.
/// </summary>
/// <remarks>
/// v1 (kernel 6.x, <c>cpu</c> controller), times in nanoseconds:
/// <code>
/// nr_periods 31
/// nr_throttled 30
/// throttled_time 2387047315
/// nr_bursts 0
/// burst_time 0
/// wait_sum 0            (with schedstats)
/// </code>
/// v2, times in microseconds; the throttling keys only where the cpu controller is enabled:
/// <code>
/// usage_usec 1369702923
/// user_usec 846509997
/// system_usec 523192926
/// nice_usec 0
/// core_sched.force_idle_usec 0
/// nr_periods 0
/// nr_throttled 0
/// throttled_usec 0
/// nr_bursts 0
/// burst_usec 0
/// </code>
/// <c>cpu.stat.local</c> (kernel 6.6+) holds only <c>throttled_time</c> (v1) or <c>throttled_usec</c> (v2):
/// time throttled for any reason, an ancestor's quota included.
/// Unknown keys are ignored (kernels keep adding them); a known key with a value that is not a
/// plain unsigned decimal makes the whole file malformed.
/// See https://docs.kernel.org/scheduler/sched-bwc.html and https://docs.kernel.org/admin-guide/cgroup-v2.html#cpu.
/// </remarks>
public readonly struct CpuStat
{
    /// <summary>Which keys the file had.</summary>
    [Flags]
    public enum Keys : ushort
    {
        None = 0,
        NrPeriods = 1 << 0,
        NrThrottled = 1 << 1,
        ThrottledTime = 1 << 2,
        NrBursts = 1 << 3,
        BurstTime = 1 << 4,
        Usage = 1 << 5,
        User = 1 << 6,
        System = 1 << 7,
    }

    public Keys Present { get; init; }
    public ulong NrPeriods { get; init; }
    public ulong NrThrottled { get; init; }
    public ulong ThrottledNanos { get; init; }
    public ulong NrBursts { get; init; }
    public ulong BurstNanos { get; init; }
    /// <summary>v2 only: <c>usage_usec</c> in nanoseconds.</summary>
    public ulong UsageNanos { get; init; }
    public ulong UserNanos { get; init; }
    public ulong SystemNanos { get; init; }

    public bool Has(Keys key) => (Present & key) == key;

    /// <summary>Parses either version's format; v2's microseconds become nanoseconds.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out CpuStat value)
    {
        Keys present = Keys.None;
        ulong periods = 0, throttled = 0, throttledNs = 0, bursts = 0, burstNs = 0, usage = 0, user = 0, system = 0;
        var rest = utf8;
        while (KernelText.TryReadLine(ref rest, out var line))
        {
            if (line.IsEmpty)
            {
                continue;
            }
            if (!KernelText.TrySplitKeyValue(line, out var key, out var raw))
            {
                value = default;
                return false;
            }
            Keys which = Classify(key, out bool micros);
            if (which == Keys.None)
            {
                continue;
            }
            if (!KernelText.TryParseUInt64(raw, out ulong n))
            {
                value = default;
                return false;
            }
            if (micros)
            {
                n = KernelText.MicrosToNanos(n);
            }
            present |= which;
            switch (which)
            {
                case Keys.NrPeriods: periods = n; break;
                case Keys.NrThrottled: throttled = n; break;
                case Keys.ThrottledTime: throttledNs = n; break;
                case Keys.NrBursts: bursts = n; break;
                case Keys.BurstTime: burstNs = n; break;
                case Keys.Usage: usage = n; break;
                case Keys.User: user = n; break;
                case Keys.System: system = n; break;
            }
        }
        value = new CpuStat
        {
            Present = present,
            NrPeriods = periods,
            NrThrottled = throttled,
            ThrottledNanos = throttledNs,
            NrBursts = bursts,
            BurstNanos = burstNs,
            UsageNanos = usage,
            UserNanos = user,
            SystemNanos = system,
        };
        return true;
    }

    private static Keys Classify(ReadOnlySpan<byte> key, out bool micros)
    {
        micros = false;
        if (key.SequenceEqual("nr_periods"u8)) return Keys.NrPeriods;
        if (key.SequenceEqual("nr_throttled"u8)) return Keys.NrThrottled;
        if (key.SequenceEqual("throttled_time"u8)) return Keys.ThrottledTime;
        if (key.SequenceEqual("nr_bursts"u8)) return Keys.NrBursts;
        if (key.SequenceEqual("burst_time"u8)) return Keys.BurstTime;
        micros = true;
        if (key.SequenceEqual("throttled_usec"u8)) return Keys.ThrottledTime;
        if (key.SequenceEqual("usage_usec"u8)) return Keys.Usage;
        if (key.SequenceEqual("user_usec"u8)) return Keys.User;
        if (key.SequenceEqual("system_usec"u8)) return Keys.System;
        if (key.SequenceEqual("burst_usec"u8)) return Keys.BurstTime;
        micros = false;
        return Keys.None;
    }
}
