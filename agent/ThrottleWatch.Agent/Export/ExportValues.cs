using ThrottleWatch.Agent.Metadata;
using ThrottleWatch.Agent.Sampling;
using ThrottleWatch.Contracts;
using M = ThrottleWatch.Contracts.MetricCatalog;

namespace ThrottleWatch.Agent.Export;

/// <summary>
/// Which series a cgroup has and their values: the one rule every exporter follows (/metrics,
/// OTLP, recordings). Null means "no such series": throttling series only where the container or
/// its pod has a quota, pressure only where the kernel gives it, the request only once the API names it.
/// </summary>
internal static class ExportValues
{
    /// <summary>Container metrics in a fixed order (the Prometheus exporter keeps a bit per entry).</summary>
    public static readonly string[] ContainerMetrics =
    [
        M.ContainerUsageSeconds, M.ContainerRequestCores, M.ContainerUsagePeak,
        M.ContainerLimitCores, M.ContainerPeriods, M.ContainerThrottledPeriods,
        M.ContainerThrottledSeconds, M.ContainerThrottledRatioPeak, M.ContainerThrottledLocalSeconds,
        M.ContainerBurstPeriods, M.ContainerBurstSeconds, M.ContainerPressureWaiting,
        M.ContainerPressureStalled,
    ];

    public static readonly string[] PodMetrics =
    [
        M.PodUsageSeconds, M.PodLimitCores, M.PodPeriods, M.PodThrottledPeriods, M.PodThrottledSeconds,
    ];

    /// <summary>
    /// Every cgroup that is exported, with its labels: sampled at least once, not in an excluded
    /// namespace, not a pod's sandbox. Enumerate under <see cref="NodeState.Gate"/>.
    /// </summary>
    public static IEnumerable<(SeriesState Series, SeriesLabels Labels)> Exported(NodeState state, PodIndex? index, IReadOnlySet<string> excluded)
    {
        foreach (var s in state.Series)
        {
            if (s.Initialized && SeriesLabels.Resolve(s, index, excluded) is { } labels)
            {
                yield return (s, labels);
            }
        }
    }

    /// <param name="now">Stopwatch ticks: the end of the 60 s peak window.</param>
    public static double? Container(string metric, SeriesState s, SeriesLabels l, long now)
    {
        bool quota = s.HasQuota;
        return metric switch
        {
            M.ContainerUsageSeconds => s.UsageSeconds,
            M.ContainerRequestCores => l.RequestCores,
            M.ContainerUsagePeak => s.UsagePeak.Peak(now) ?? s.UsageCoresNow ?? (s.UsageSeconds is null ? null : 0),
            M.ContainerLimitCores => quota ? s.LimitCores : null,
            M.ContainerPeriods => quota ? s.Periods : null,
            M.ContainerThrottledPeriods => quota ? s.ThrottledPeriods : null,
            M.ContainerThrottledSeconds => quota ? s.ThrottledSeconds : null,
            M.ContainerThrottledRatioPeak => quota ? s.RatioPeak.Peak(now) ?? 0 : null,
            M.ContainerThrottledLocalSeconds => quota ? s.ThrottledLocalSeconds : null,
            M.ContainerBurstPeriods => quota ? s.BurstPeriods : null,
            M.ContainerBurstSeconds => quota ? s.BurstTimeSeconds : null,
            M.ContainerPressureWaiting => s.PressureWaitingSeconds,
            M.ContainerPressureStalled => s.PressureStalledSeconds,
            _ => null,
        };
    }

    /// <summary>Pod series: usage always; the rest where the pod cgroup has its own quota.</summary>
    public static double? Pod(string metric, SeriesState s) => metric switch
    {
        M.PodUsageSeconds => s.UsageSeconds,
        M.PodLimitCores => s.LimitCores,
        M.PodPeriods => s.LimitCores is null ? null : s.Periods,
        M.PodThrottledPeriods => s.LimitCores is null ? null : s.ThrottledPeriods,
        M.PodThrottledSeconds => s.LimitCores is null ? null : s.ThrottledSeconds,
        _ => null,
    };

    /// <summary>Sums of the requests and limits of the node's active pods, once the API listed them.</summary>
    public static (double Requests, double Limits)? NodeCommitments(PodIndex? index, KubernetesStatus kube)
    {
        if (index is null || !kube.Listed)
        {
            return null;
        }
        double requests = 0, limits = 0;
        foreach (var p in index.Pods())
        {
            if (p.IsActive)
            {
                requests += p.RequestCores;
                limits += p.LimitCores ?? 0;
            }
        }
        return (requests, limits);
    }

    public static bool IsCounter(string metric) => M.Get(metric).Type == MetricType.Counter;
}
