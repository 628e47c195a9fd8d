using System.Globalization;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Rules;

/// <summary>
/// Every number the rules use, in one place (kubernetes-mixin's <c>_config</c>). Change a default
/// here, then regenerate: <c>dotnet run --project deploy/ThrottleWatch.Rules</c>; the promtool
/// tests in deploy/prometheus/tests/ pin the defaults and fail until they are updated too.
/// </summary>
/// <remarks>
/// "Throttled seconds per second" is <c>rate(throttled_seconds_total)</c>: CPU time the container's
/// threads spent stalled by the CFS quota per second of wall time, summed over its threads (the
/// kernel sums it over per-CPU run queues). 0.1 s/s means the threads lost a tenth of a core-second
/// every second; a near-idle pod throttled for 1 ms in 30% of its periods loses about 0.001 s/s.
/// </remarks>
public sealed record Thresholds
{
    /// <summary>The defaults the committed rule files are generated from.</summary>
    public static Thresholds Default { get; } = new();

    /// <summary>Window of every <c>rate()</c> and <c>max_over_time()</c>; at least 4 scrape intervals.</summary>
    public TimeSpan RateWindow { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>ThrottleWatchContainerThrottled (warning): throttled seconds per second above this ...</summary>
    public double ThrottledSecondsWarning { get; init; } = 0.1;

    /// <summary>... and a throttled-periods ratio above this ...</summary>
    public double ThrottledRatioWarning { get; init; } = 0.25;

    /// <summary>ThrottleWatchContainerThrottled (critical): throttled seconds per second above this ...</summary>
    public double ThrottledSecondsCritical { get; init; } = 1.0;

    /// <summary>... and a throttled-periods ratio above this.</summary>
    public double ThrottledRatioCritical { get; init; } = 0.5;

    /// <summary>How long ThrottleWatchContainerThrottled's condition must hold.</summary>
    public TimeSpan ThrottledFor { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>ThrottleWatchContainerThrottledBelowLimit: throttled seconds per second above this ...</summary>
    public double BurstyThrottledSeconds { get; init; } = 0.05;

    /// <summary>... while the average usage is below this fraction of the limit ...</summary>
    public double BurstyUsageOverLimit { get; init; } = 0.5;

    /// <summary>... and the 1-second peak of the throttled-periods ratio within the window is above this.</summary>
    public double BurstyPeakRatio { get; init; } = 0.5;

    /// <summary>How long ThrottleWatchContainerThrottledBelowLimit's condition must hold.</summary>
    public TimeSpan BurstyFor { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>ThrottleWatchPodQuotaThrottled: the pod cgroup's throttled seconds per second above this ...</summary>
    public double PodThrottledSeconds { get; init; } = 0.1;

    /// <summary>... and the pod cgroup's throttled-periods ratio above this.</summary>
    public double PodThrottledRatio { get; init; } = 0.25;

    /// <summary>How long ThrottleWatchPodQuotaThrottled's condition must hold.</summary>
    public TimeSpan PodThrottledFor { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>ThrottleWatchNodeCPULimitsOvercommitted: sum of limits over allocatable CPU above this.</summary>
    public double NodeLimitsOverAllocatable { get; init; } = 1.5;

    /// <summary>How long ThrottleWatchNodeCPULimitsOvercommitted's condition must hold.</summary>
    public TimeSpan NodeOvercommitFor { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Label matchers that select the agent's <c>up</c> series (ThrottleWatchAgentDown). The
    /// prometheus-operator overlay's ServiceMonitor yields <c>job="throttlewatch-agent"</c> (the
    /// Service's name); a static scrape config as in the README names the job <c>throttlewatch</c>.
    /// </summary>
    public string AgentUpSelector { get; init; } = "job=~\"throttlewatch|throttlewatch-agent\"";

    /// <summary>How long a target must be down for ThrottleWatchAgentDown.</summary>
    public TimeSpan AgentDownFor { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>ThrottleWatchAgentSlow: this quantile of the sweep duration ...</summary>
    public double AgentSweepQuantile { get; init; } = 0.99;

    /// <summary>... above this many seconds (half the default 1 s <c>--interval</c>).</summary>
    public double AgentSweepSeconds { get; init; } = 0.5;

    /// <summary>How long ThrottleWatchAgentSlow's condition must hold.</summary>
    public TimeSpan AgentSlowFor { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>How long the Kubernetes list/watch must be down for ThrottleWatchAgentKubernetesMetadataDown.</summary>
    public TimeSpan MetadataDownFor { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>One row per setting for the runbook's table: name, value as the rules print it, what it does.</summary>
    public IReadOnlyList<(string Name, string Value, string Meaning)> Describe() =>
    [
        (nameof(RateWindow), Dur(RateWindow), "window of every `rate()` and `max_over_time()` in the recording rules"),
        (nameof(ThrottledSecondsWarning), Num(ThrottledSecondsWarning), $"{AlertNames.ContainerThrottled} warning: throttled seconds per second above"),
        (nameof(ThrottledRatioWarning), Num(ThrottledRatioWarning), $"{AlertNames.ContainerThrottled} warning: and throttled-periods ratio above"),
        (nameof(ThrottledSecondsCritical), Num(ThrottledSecondsCritical), $"{AlertNames.ContainerThrottled} critical: throttled seconds per second above"),
        (nameof(ThrottledRatioCritical), Num(ThrottledRatioCritical), $"{AlertNames.ContainerThrottled} critical: and throttled-periods ratio above"),
        (nameof(ThrottledFor), Dur(ThrottledFor), $"{AlertNames.ContainerThrottled}: `for`"),
        (nameof(BurstyThrottledSeconds), Num(BurstyThrottledSeconds), $"{AlertNames.ContainerThrottledBelowLimit}: throttled seconds per second above"),
        (nameof(BurstyUsageOverLimit), Num(BurstyUsageOverLimit), $"{AlertNames.ContainerThrottledBelowLimit}: while average usage / limit is below"),
        (nameof(BurstyPeakRatio), Num(BurstyPeakRatio), $"{AlertNames.ContainerThrottledBelowLimit}: and the highest 1 s throttled-periods ratio in the window is above"),
        (nameof(BurstyFor), Dur(BurstyFor), $"{AlertNames.ContainerThrottledBelowLimit}: `for`"),
        (nameof(PodThrottledSeconds), Num(PodThrottledSeconds), $"{AlertNames.PodQuotaThrottled}: the pod cgroup's throttled seconds per second above"),
        (nameof(PodThrottledRatio), Num(PodThrottledRatio), $"{AlertNames.PodQuotaThrottled}: and the pod cgroup's throttled-periods ratio above"),
        (nameof(PodThrottledFor), Dur(PodThrottledFor), $"{AlertNames.PodQuotaThrottled}: `for`"),
        (nameof(NodeLimitsOverAllocatable), Num(NodeLimitsOverAllocatable), $"{AlertNames.NodeCpuLimitsOvercommitted}: sum of pod limits / allocatable above"),
        (nameof(NodeOvercommitFor), Dur(NodeOvercommitFor), $"{AlertNames.NodeCpuLimitsOvercommitted}: `for`"),
        (nameof(AgentUpSelector), AgentUpSelector, $"{AlertNames.AgentDown}: label matchers of the agent's `up` series"),
        (nameof(AgentDownFor), Dur(AgentDownFor), $"{AlertNames.AgentDown}: `for`"),
        (nameof(AgentSweepQuantile), Num(AgentSweepQuantile), $"{AlertNames.AgentSlow}: quantile of the sweep duration"),
        (nameof(AgentSweepSeconds), Num(AgentSweepSeconds), $"{AlertNames.AgentSlow}: above this many seconds"),
        (nameof(AgentSlowFor), Dur(AgentSlowFor), $"{AlertNames.AgentSlow}: `for`"),
        (nameof(MetadataDownFor), Dur(MetadataDownFor), $"{AlertNames.AgentKubernetesMetadataDown}: `for`"),
    ];

    /// <summary>A number as PromQL and the docs print it ("0.1", "1.5", "1").</summary>
    internal static string Num(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A duration in Prometheus syntax ("15m", "1h").</summary>
    internal static string Dur(TimeSpan value) => PromDuration.Format(value);

    /// <summary>A fraction as a percentage for descriptions ("25%").</summary>
    internal static string Pct(double fraction) => (fraction * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";
}
