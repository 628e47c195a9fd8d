using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Agent.Sampling;

/// <summary>
/// The counters of one cgroup at one instant, in nanoseconds and counts. A plain value: copying
/// it is how the previous reading is kept.
/// </summary>
internal struct CgroupReading
{
    /// <summary>When it was taken (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    public long Timestamp;
    /// <summary>False until <c>cpu.stat</c> was read successfully.</summary>
    public bool Valid;
    public CpuStat Stat;
    /// <summary>CPU time used: <c>cpuacct.usage</c> on v1, <c>usage_usec</c> on v2.</summary>
    public ulong? UsageNanos;
    /// <summary><c>cpu.stat.local</c>: throttled for any reason (kernel 6.6+).</summary>
    public ulong? LocalThrottledNanos;
    public CpuPressure? Pressure;
}

/// <summary>
/// The configuration files of one cgroup: they change only when a pod is resized, so they are read
/// at discovery and on the slow cadence.
/// </summary>
internal struct CgroupConfig
{
    /// <summary>The quota per period in µs; null without a limit.</summary>
    public ulong? QuotaMicros;
    public ulong PeriodMicros;
    public ulong? BurstMicros;
    /// <summary>v1 <c>cpu.shares</c>.</summary>
    public ulong? Shares;
    /// <summary>v2 <c>cpu.weight</c>.</summary>
    public ulong? Weight;

    /// <summary>quota / period in cores; null without a limit.</summary>
    public readonly double? LimitCores => QuotaMicros is { } q && PeriodMicros > 0 ? (double)q / PeriodMicros : null;
}
