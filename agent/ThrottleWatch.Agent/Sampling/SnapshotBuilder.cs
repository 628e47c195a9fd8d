using System.Diagnostics;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Sampling;

/// <summary>Turns the two latest readings of every tracked cgroup into the snapshot contract.</summary>
internal static class SnapshotBuilder
{
    private const double NanosPerSecond = 1e9;

    public static SnapshotDocument Build(CgroupHierarchy hierarchy, Sampler sampler, TimeSpan interval, TimeSpan elapsed, DateTimeOffset takenAt)
    {
        var containers = new List<SnapshotContainer>();
        var pods = new List<SnapshotPod>();
        foreach (var t in sampler.Tracked)
        {
            if (!t.Alive || !t.Current.Valid || !t.Previous.Valid)
            {
                continue;
            }
            var id = t.Identity;
            var delta = Delta(t.Previous, t.Current);
            var counters = Counters(t.Current);
            double? period = t.Config.PeriodMicros > 0 ? t.Config.PeriodMicros / 1e6 : null;
            string? qos = id.Qos is null ? null : CgroupIdentity.QosName(id.Qos);
            if (id.Kind == CgroupKind.Pod)
            {
                pods.Add(new SnapshotPod(id.PodUid!, qos, id.CgroupPath, t.Config.LimitCores, period,
                    t.Config.Shares, t.Config.Weight, delta, counters));
            }
            else
            {
                containers.Add(new SnapshotContainer(id.PodUid, id.ContainerId, qos, id.Runtime, id.CgroupPath,
                    t.Config.LimitCores, period, t.Config.BurstMicros / 1e6, t.Config.Shares, t.Config.Weight, delta, counters));
            }
        }
        containers.Sort((a, b) => string.CompareOrdinal(a.CgroupPath, b.CgroupPath));
        pods.Sort((a, b) => string.CompareOrdinal(a.CgroupPath, b.CgroupPath));
        var e = sampler.Errors;
        return new SnapshotDocument(hierarchy.Version, hierarchy.Mode, interval.TotalSeconds, Math.Round(elapsed.TotalSeconds, 6), takenAt,
            containers, pods,
            new SnapshotErrors(e[ReadStatus.Vanished], e[ReadStatus.Malformed], e[ReadStatus.Permission], e[ReadStatus.OpenFiles], e[ReadStatus.Io]));
    }

    /// <summary>
    /// A counter's increase; a counter that went backwards was reset (the cgroup was recreated in
    /// place), so its increase is its new value, as Prometheus' <c>increase()</c> treats it.
    /// </summary>
    public static ulong Increase(ulong previous, ulong current) => current >= previous ? current - previous : current;

    private static ulong? Increase(ulong? previous, ulong? current)
        => previous is { } p && current is { } c ? Increase(p, c) : null;

    internal static SnapshotDelta Delta(in CgroupReading prev, in CgroupReading cur)
    {
        var a = prev.Stat;
        var b = cur.Stat;
        ulong periods = Increase(a.NrPeriods, b.NrPeriods);
        ulong throttled = Increase(a.NrThrottled, b.NrThrottled);
        double seconds = (double)Stopwatch.GetElapsedTime(prev.Timestamp, cur.Timestamp).Ticks / TimeSpan.TicksPerSecond;
        bool bursts = b.Has(CpuStat.Keys.NrBursts);
        return new SnapshotDelta(
            periods,
            throttled,
            periods > 0 ? Math.Min(1.0, (double)throttled / periods) : null,
            Increase(a.ThrottledNanos, b.ThrottledNanos) / NanosPerSecond,
            Increase(prev.LocalThrottledNanos, cur.LocalThrottledNanos) / NanosPerSecond,
            bursts ? Increase(a.NrBursts, b.NrBursts) : null,
            b.Has(CpuStat.Keys.BurstTime) ? Increase(a.BurstNanos, b.BurstNanos) / NanosPerSecond : null,
            seconds > 0 && Increase(prev.UsageNanos, cur.UsageNanos) is { } used ? Math.Round(used / NanosPerSecond / seconds, 6) : null,
            Increase(prev.Pressure?.SomeNanos, cur.Pressure?.SomeNanos) / NanosPerSecond,
            Increase(prev.Pressure?.FullNanos, cur.Pressure?.FullNanos) / NanosPerSecond);
    }

    internal static SnapshotCounters Counters(in CgroupReading r)
    {
        var s = r.Stat;
        return new SnapshotCounters(
            r.UsageNanos / NanosPerSecond,
            s.NrPeriods,
            s.NrThrottled,
            s.ThrottledNanos / NanosPerSecond,
            r.LocalThrottledNanos / NanosPerSecond,
            s.Has(CpuStat.Keys.NrBursts) ? s.NrBursts : null,
            s.Has(CpuStat.Keys.BurstTime) ? s.BurstNanos / NanosPerSecond : null,
            r.Pressure?.SomeNanos / NanosPerSecond,
            r.Pressure?.FullNanos / NanosPerSecond);
    }
}
