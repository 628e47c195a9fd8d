using System.Diagnostics;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;

namespace ThrottleWatch.Agent.Sampling;

/// <summary>
/// What the exporters see of one container or pod cgroup: monotonic totals in base units, the
/// latest interval's values, the 60 s peaks and the configuration. Updated in place by the
/// sampling loop under <see cref="NodeState.Gate"/>; read by exporters under the same lock.
/// </summary>
/// <remarks>
/// Totals start at the kernel's counters and then only grow by each interval's increase: a kernel
/// counter that goes backwards (a container restarted in place) adds its new value, so an exported
/// counter never decreases within one container instance.
/// </remarks>
public sealed class SeriesState
{
    public const double NanosPerSecond = 1e9;

    public SeriesState(CgroupIdentity identity, TimeSpan interval)
    {
        Identity = identity;
        UsagePeak = new PeakWindow(TimeSpan.FromSeconds(60), interval);
        RatioPeak = new PeakWindow(TimeSpan.FromSeconds(60), interval);
    }

    public CgroupIdentity Identity { get; }

    /// <summary>True once <see cref="NodeState"/> dropped or replaced this series: a tracked cgroup holding it looks again.</summary>
    internal bool Detached { get; set; }

    /// <summary>The pod cgroup of a container, when it is tracked.</summary>
    public SeriesState? Pod { get; internal set; }

    public bool Initialized { get; private set; }
    public double? LimitCores { get; private set; }
    public double PeriodSeconds { get; private set; }
    public double? BurstSeconds { get; private set; }

    public double? UsageSeconds { get; private set; }
    public ulong Periods { get; private set; }
    public ulong ThrottledPeriods { get; private set; }
    public double ThrottledSeconds { get; private set; }
    public double? ThrottledLocalSeconds { get; private set; }
    public ulong? BurstPeriods { get; private set; }
    public double? BurstTimeSeconds { get; private set; }
    public double? PressureWaitingSeconds { get; private set; }
    public double? PressureStalledSeconds { get; private set; }

    /// <summary>The last interval: usage in cores, throttled ratio (null when no period ran), throttled seconds per second.</summary>
    public double? UsageCoresNow { get; private set; }
    public double? ThrottledRatioNow { get; private set; }
    public double ThrottledSecondsNow { get; private set; }

    public PeakWindow UsagePeak { get; }

    /// <summary>The last valid reading: increases are taken from it.</summary>
    private CgroupReading _last;
    public PeakWindow RatioPeak { get; }

    /// <summary>True when this cgroup or its pod has a CFS quota: only then are the throttling series exported.</summary>
    public bool HasQuota => LimitCores is not null || Pod?.LimitCores is not null;

    /// <summary>Takes the tracked cgroup's latest two readings. Allocates nothing.</summary>
    internal void Update(TrackedCgroup t)
    {
        LimitCores = t.Config.LimitCores;
        PeriodSeconds = t.Config.PeriodMicros / 1e6;
        BurstSeconds = t.Config.BurstMicros / 1e6;
        ref readonly var cur = ref t.Current;
        if (!cur.Valid)
        {
            return;
        }
        var s = cur.Stat;
        if (!Initialized)
        {
            UsageSeconds = cur.UsageNanos / NanosPerSecond;
            Periods = s.NrPeriods;
            ThrottledPeriods = s.NrThrottled;
            ThrottledSeconds = s.ThrottledNanos / NanosPerSecond;
            ThrottledLocalSeconds = cur.LocalThrottledNanos / NanosPerSecond;
            BurstPeriods = s.Has(CpuStat.Keys.NrBursts) ? s.NrBursts : null;
            BurstTimeSeconds = s.Has(CpuStat.Keys.BurstTime) ? s.BurstNanos / NanosPerSecond : null;
            PressureWaitingSeconds = cur.Pressure?.SomeNanos / NanosPerSecond;
            PressureStalledSeconds = cur.Pressure?.FullNanos / NanosPerSecond;
            Initialized = true;
            _last = cur;
            return;
        }

        // From the last valid reading, not the last sweep's: a failed read in between loses nothing.
        var prev = _last;
        _last = cur;
        var p = prev.Stat;
        ulong periods = SnapshotBuilder.Increase(p.NrPeriods, s.NrPeriods);
        ulong throttled = SnapshotBuilder.Increase(p.NrThrottled, s.NrThrottled);
        double throttledSeconds = SnapshotBuilder.Increase(p.ThrottledNanos, s.ThrottledNanos) / NanosPerSecond;
        Periods += periods;
        ThrottledPeriods += throttled;
        ThrottledSeconds += throttledSeconds;
        UsageSeconds = Add(UsageSeconds, prev.UsageNanos, cur.UsageNanos);
        ThrottledLocalSeconds = Add(ThrottledLocalSeconds, prev.LocalThrottledNanos, cur.LocalThrottledNanos);
        if (s.Has(CpuStat.Keys.NrBursts))
        {
            BurstPeriods = (BurstPeriods ?? 0) + SnapshotBuilder.Increase(p.NrBursts, s.NrBursts);
        }
        if (s.Has(CpuStat.Keys.BurstTime))
        {
            BurstTimeSeconds = (BurstTimeSeconds ?? 0) + SnapshotBuilder.Increase(p.BurstNanos, s.BurstNanos) / NanosPerSecond;
        }
        PressureWaitingSeconds = Add(PressureWaitingSeconds, prev.Pressure?.SomeNanos, cur.Pressure?.SomeNanos);
        PressureStalledSeconds = Add(PressureStalledSeconds, prev.Pressure?.FullNanos, cur.Pressure?.FullNanos);

        double elapsed = Stopwatch.GetElapsedTime(prev.Timestamp, cur.Timestamp).TotalSeconds;
        if (elapsed <= 0)
        {
            return;
        }
        UsageCoresNow = prev.UsageNanos is { } a && cur.UsageNanos is { } b ? SnapshotBuilder.Increase(a, b) / NanosPerSecond / elapsed : null;
        ThrottledRatioNow = periods > 0 ? Math.Min(1.0, (double)throttled / periods) : null;
        ThrottledSecondsNow = throttledSeconds / elapsed;
        if (UsageCoresNow is { } u)
        {
            UsagePeak.Record(cur.Timestamp, u);
        }
        RatioPeak.Record(cur.Timestamp, ThrottledRatioNow ?? 0);
    }

    private static double? Add(double? total, ulong? previous, ulong? current)
    {
        if (current is null)
        {
            return total;
        }
        if (total is null || previous is null)
        {
            return total ?? current / NanosPerSecond;
        }
        return total + SnapshotBuilder.Increase(previous.Value, current.Value) / NanosPerSecond;
    }
}
