using ThrottleWatch.Contracts;
using static ThrottleWatch.Rules.Thresholds;

namespace ThrottleWatch.Rules;

/// <summary>The alert names; each has a section in docs/runbook.md whose anchor is the name in lower case.</summary>
public static class AlertNames
{
    public const string ContainerThrottled = "ThrottleWatchContainerThrottled";
    public const string ContainerThrottledBelowLimit = "ThrottleWatchContainerThrottledBelowLimit";
    public const string PodQuotaThrottled = "ThrottleWatchPodQuotaThrottled";
    public const string NodeCpuLimitsOvercommitted = "ThrottleWatchNodeCPULimitsOvercommitted";
    public const string AgentDown = "ThrottleWatchAgentDown";
    public const string AgentSlow = "ThrottleWatchAgentSlow";
    public const string AgentKubernetesMetadataDown = "ThrottleWatchAgentKubernetesMetadataDown";
}

/// <summary>
/// The recording rules, the alerts and their groups: the one source of deploy/prometheus/throttlewatch.rules.yaml
/// and of the PrometheusRule. Metric names come from <see cref="MetricCatalog"/> only.
/// </summary>
public static class ThrottleWatchRules
{
    /// <summary>Default base of every <c>runbook_url</c>; the alert's anchor is appended.</summary>
    public const string DefaultRunbookBaseUrl = "https://github.com/throttlewatch/throttlewatch/blob/main/docs/runbook.md";

    /// <summary>Labels a workload aggregate keeps: one series per container name of a workload.</summary>
    public static readonly string[] WorkloadLabels = ["namespace", "workload_kind", "workload", "container"];

    /// <summary>The recording rules' names for a given window (<c>level:metric:operations</c>).</summary>
    public sealed class Names(Thresholds t)
    {
        private readonly string _w = Dur(t.RateWindow);

        public string ContainerUsage => $"container:throttlewatch_cpu_usage_cores:rate{_w}";
        public string ContainerThrottledSeconds => $"container:throttlewatch_throttled_seconds:rate{_w}";
        public string ContainerThrottledRatio => $"container:throttlewatch_throttled_ratio:rate{_w}";
        public string ContainerThrottledLocalSeconds => $"container:throttlewatch_throttled_local_seconds:rate{_w}";
        public string ContainerUsageOverLimit => $"container:throttlewatch_cpu_usage_over_limit:ratio_rate{_w}";
        public string ContainerThrottledRatioPeak => $"container:throttlewatch_throttled_ratio_peak:max{_w}";
        public string ContainerUsagePeak => $"container:throttlewatch_cpu_usage_cores_peak:max{_w}";
        public string PodUsage => $"pod:throttlewatch_cpu_usage_cores:rate{_w}";
        public string PodThrottledSeconds => $"pod:throttlewatch_throttled_seconds:rate{_w}";
        public string PodThrottledRatio => $"pod:throttlewatch_throttled_ratio:rate{_w}";
        public string WorkloadUsage => $"workload:throttlewatch_cpu_usage_cores:rate{_w}";
        public string WorkloadThrottledSeconds => $"workload:throttlewatch_throttled_seconds:rate{_w}";
        public string WorkloadThrottledRatio => $"workload:throttlewatch_throttled_ratio:rate{_w}";
        public string NamespaceThrottledSeconds => $"namespace:throttlewatch_throttled_seconds:rate{_w}";
        public string NodeThrottledSeconds => $"node:throttlewatch_throttled_seconds:rate{_w}";
        public string NodeUsage => $"node:throttlewatch_cpu_usage_cores:rate{_w}";
        public const string NodeLimitsOverAllocatable = "node:throttlewatch_limits_over_allocatable:ratio";
        public const string NodeRequestsOverAllocatable = "node:throttlewatch_requests_over_allocatable:ratio";
    }

    /// <summary>Every group, in file order: recording rules first (the promtool tests evaluate them in this order).</summary>
    public static IReadOnlyList<RuleGroup> Groups(Thresholds t, string runbookBaseUrl) =>
    [
        new("throttlewatch.rules", RecordingRules(t)),
        new("throttlewatch.alerts", ThrottlingAlerts(t, runbookBaseUrl)),
        new("throttlewatch-agent.alerts", AgentAlerts(t, runbookBaseUrl)),
    ];

    /// <summary>Ratios and rates that dashboards, alerts and the analyzer reuse, per container, pod, workload, namespace and node.</summary>
    public static IReadOnlyList<Rule> RecordingRules(Thresholds t)
    {
        var n = new Names(t);
        var w = Dur(t.RateWindow);
        var c = MetricCatalog.ContainerLabels;
        var p = MetricCatalog.PodLabels;
        var node = MetricCatalog.NodeLabels;
        return
        [
            new RecordingRule(n.ContainerUsage,
                Agg("sum", c, $"rate({MetricCatalog.ContainerUsageSeconds}[{w}])"),
                "CPU used, in cores, averaged over the window."),
            new RecordingRule(n.ContainerThrottledSeconds,
                Agg("sum", c, $"rate({MetricCatalog.ContainerThrottledSeconds}[{w}])"),
                "Seconds the container's threads were throttled per second, summed over its threads."),
            // Ratio of sums, so one ratio per container however many series a relabelling leaves behind.
            new RecordingRule(n.ContainerThrottledRatio,
                Ratio(c, $"rate({MetricCatalog.ContainerThrottledPeriods}[{w}])", $"rate({MetricCatalog.ContainerPeriods}[{w}])"),
                "Share of the CFS periods with work in which the container's quota ran out."),
            new RecordingRule(n.ContainerThrottledLocalSeconds,
                Agg("sum", c, $"rate({MetricCatalog.ContainerThrottledLocalSeconds}[{w}])"),
                "Seconds per second throttled for any reason, the pod's quota included (kernel 6.6+)."),
            new RecordingRule(n.ContainerUsageOverLimit,
                $"{n.ContainerUsage}\n/\n" + Agg("max", c, MetricCatalog.ContainerLimitCores),
                "Average usage as a share of the limit."),
            // Each peak covers 60 s; the highest over the window keeps a burst in view for the whole window.
            new RecordingRule(n.ContainerThrottledRatioPeak,
                Agg("max", c, $"max_over_time({MetricCatalog.ContainerThrottledRatioPeak}[{w}])"),
                "Highest 1-second throttled ratio the agent saw in the window."),
            new RecordingRule(n.ContainerUsagePeak,
                Agg("max", c, $"max_over_time({MetricCatalog.ContainerUsagePeak}[{w}])"),
                "Highest 1-second usage the agent saw in the window, in cores."),
            new RecordingRule(n.PodUsage,
                Agg("sum", p, $"rate({MetricCatalog.PodUsageSeconds}[{w}])"),
                "CPU used by the pod cgroup, in cores."),
            new RecordingRule(n.PodThrottledSeconds,
                Agg("sum", p, $"rate({MetricCatalog.PodThrottledSeconds}[{w}])"),
                "Seconds per second the pod's own quota throttled it (pods with a pod-level quota)."),
            new RecordingRule(n.PodThrottledRatio,
                Ratio(p, $"rate({MetricCatalog.PodThrottledPeriods}[{w}])", $"rate({MetricCatalog.PodPeriods}[{w}])"),
                "Share of the pod cgroup's periods in which its own quota ran out."),
            // Workloads: containers whose pod the Kubernetes API has named.
            new RecordingRule(n.WorkloadUsage,
                Agg("sum", WorkloadLabels, $"{n.ContainerUsage}{{workload!=\"\"}}"),
                "CPU used by one container name of a workload, summed over its pods."),
            new RecordingRule(n.WorkloadThrottledSeconds,
                Agg("sum", WorkloadLabels, $"{n.ContainerThrottledSeconds}{{workload!=\"\"}}"),
                "Throttled seconds per second of one container name of a workload, summed over its pods."),
            new RecordingRule(n.WorkloadThrottledRatio,
                Ratio(WorkloadLabels,
                    $"rate({MetricCatalog.ContainerThrottledPeriods}{{workload!=\"\"}}[{w}])",
                    $"rate({MetricCatalog.ContainerPeriods}{{workload!=\"\"}}[{w}])"),
                "Throttled ratio over all of a workload's pods: a ratio of sums, not a mean of ratios."),
            new RecordingRule(n.NamespaceThrottledSeconds,
                Agg("sum", ["namespace"], $"{n.ContainerThrottledSeconds}{{namespace!=\"\"}}"),
                "Throttled seconds per second, summed over a namespace."),
            new RecordingRule(n.NodeThrottledSeconds,
                Agg("sum", node, n.ContainerThrottledSeconds),
                "Throttled seconds per second, summed over a node's containers."),
            new RecordingRule(n.NodeUsage,
                Agg("sum", node, $"rate({MetricCatalog.NodeUsageSeconds}[{w}])"),
                "CPU used on the node, in cores (/proc/stat)."),
            new RecordingRule(Names.NodeLimitsOverAllocatable,
                Agg("max", node, MetricCatalog.NodeLimits) + "\n/\n" + Agg("max", node, MetricCatalog.NodeAllocatable),
                "Sum of the node's pods' CPU limits over its allocatable CPU."),
            new RecordingRule(Names.NodeRequestsOverAllocatable,
                Agg("max", node, MetricCatalog.NodeRequests) + "\n/\n" + Agg("max", node, MetricCatalog.NodeAllocatable),
                "Sum of the node's pods' CPU requests over its allocatable CPU."),
        ];
    }

    /// <summary>Throttling that hurts: weighed by throttled time, not by the share of throttled periods alone.</summary>
    public static IReadOnlyList<Rule> ThrottlingAlerts(Thresholds t, string runbookBaseUrl)
    {
        var n = new Names(t);
        const string Container = "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} on node {{ $labels.node }}";
        const string Value = "{{ printf \"%.2f\" $value }}";
        string Harmful(double seconds, double ratio) =>
            $"{n.ContainerThrottledSeconds} > {Num(seconds)}\nand\n{n.ContainerThrottledRatio} > {Num(ratio)}";
        string HarmfulText(double seconds, double ratio) =>
            $"{Container} has lost {Value} CPU-seconds per second to its CPU limit (summed over its threads; threshold {Num(seconds)}), " +
            $"throttled in more than {Pct(ratio)} of its CFS periods, for {Dur(t.ThrottledFor)}.";

        return
        [
            new AlertingRule(
                AlertNames.ContainerThrottled,
                Harmful(t.ThrottledSecondsWarning, t.ThrottledRatioWarning),
                t.ThrottledFor,
                Severity.Warning,
                "A container's CPU limit is slowing it down.",
                HarmfulText(t.ThrottledSecondsWarning, t.ThrottledRatioWarning),
                Runbook(runbookBaseUrl, AlertNames.ContainerThrottled)),
            new AlertingRule(
                AlertNames.ContainerThrottled,
                Harmful(t.ThrottledSecondsCritical, t.ThrottledRatioCritical),
                t.ThrottledFor,
                Severity.Critical,
                "A container's CPU limit is slowing it down badly.",
                HarmfulText(t.ThrottledSecondsCritical, t.ThrottledRatioCritical),
                Runbook(runbookBaseUrl, AlertNames.ContainerThrottled)),
            new AlertingRule(
                AlertNames.ContainerThrottledBelowLimit,
                // Bursts that the averages hide; left to ContainerThrottled when that one holds too.
                $"(\n  {n.ContainerThrottledSeconds} > {Num(t.BurstyThrottledSeconds)}\n  and\n" +
                $"  {n.ContainerUsageOverLimit} < {Num(t.BurstyUsageOverLimit)}\n  and\n" +
                $"  {n.ContainerThrottledRatioPeak} > {Num(t.BurstyPeakRatio)}\n)\nunless\n(\n" +
                $"  {n.ContainerThrottledSeconds} > {Num(t.ThrottledSecondsWarning)}\n  and\n" +
                $"  {n.ContainerThrottledRatio} > {Num(t.ThrottledRatioWarning)}\n)",
                t.BurstyFor,
                Severity.Warning,
                "A container is throttled in bursts while its average CPU use stays below its limit.",
                $"{Container} uses less than {Pct(t.BurstyUsageOverLimit)} of its CPU limit on average, yet more than " +
                $"{Pct(t.BurstyPeakRatio)} of its CFS periods were throttled in its worst second and it loses {Value} CPU-seconds " +
                $"per second to throttling (threshold {Num(t.BurstyThrottledSeconds)}), for {Dur(t.BurstyFor)}: more threads run at once than the limit allows.",
                Runbook(runbookBaseUrl, AlertNames.ContainerThrottledBelowLimit)),
            new AlertingRule(
                AlertNames.PodQuotaThrottled,
                $"{n.PodThrottledSeconds} > {Num(t.PodThrottledSeconds)}\nand\n{n.PodThrottledRatio} > {Num(t.PodThrottledRatio)}",
                t.PodThrottledFor,
                Severity.Warning,
                "A pod is throttled by its pod-level CPU quota.",
                "Pod {{ $labels.namespace }}/{{ $labels.pod }} on node {{ $labels.node }} has lost " + Value +
                $" CPU-seconds per second to the quota of its pod cgroup (threshold {Num(t.PodThrottledSeconds)}), throttled in more than " +
                $"{Pct(t.PodThrottledRatio)} of its CFS periods, for {Dur(t.PodThrottledFor)}. Its containers' own throttling counters do not show this.",
                Runbook(runbookBaseUrl, AlertNames.PodQuotaThrottled)),
            new AlertingRule(
                AlertNames.NodeCpuLimitsOvercommitted,
                $"{Names.NodeLimitsOverAllocatable} > {Num(t.NodeLimitsOverAllocatable)}",
                t.NodeOvercommitFor,
                Severity.Info,
                "The CPU limits of a node's pods far exceed its allocatable CPU.",
                "The CPU limits of the pods on node {{ $labels.node }} add up to " + Value +
                $" times its allocatable CPU (threshold {Num(t.NodeLimitsOverAllocatable)}) for {Dur(t.NodeOvercommitFor)}: " +
                "the pods cannot all reach their limits at once.",
                Runbook(runbookBaseUrl, AlertNames.NodeCpuLimitsOvercommitted)),
        ];
    }

    /// <summary>The agent itself: without it, throttling goes unseen.</summary>
    public static IReadOnlyList<Rule> AgentAlerts(Thresholds t, string runbookBaseUrl)
    {
        var w = Dur(t.RateWindow);
        const string Value = "{{ printf \"%.2f\" $value }}";
        var quantile = "p" + Num(t.AgentSweepQuantile * 100);
        return
        [
            new AlertingRule(
                AlertNames.AgentDown,
                $"up{{{t.AgentUpSelector}}} == 0",
                t.AgentDownFor,
                Severity.Warning,
                "Prometheus cannot scrape a ThrottleWatch agent.",
                $"The ThrottleWatch agent target {{{{ $labels.instance }}}} (job {{{{ $labels.job }}}}) has been down for {Dur(t.AgentDownFor)}: " +
                "CPU throttling on its node goes unseen.",
                Runbook(runbookBaseUrl, AlertNames.AgentDown)),
            new AlertingRule(
                AlertNames.AgentSlow,
                $"histogram_quantile(\n  {Num(t.AgentSweepQuantile)},\n" +
                Indent(Agg("sum", ["node", "le"], $"rate({MetricCatalog.AgentSweepDuration}_bucket[{w}])")) +
                $"\n)\n> {Num(t.AgentSweepSeconds)}",
                t.AgentSlowFor,
                Severity.Warning,
                "A ThrottleWatch agent's sweeps are slow.",
                $"The {quantile} of the ThrottleWatch agent's sweep duration on node {{{{ $labels.node }}}} is {Value} s " +
                $"(threshold {Num(t.AgentSweepSeconds)} s) for {Dur(t.AgentSlowFor)}: samples come late and short peaks are missed.",
                Runbook(runbookBaseUrl, AlertNames.AgentSlow)),
            new AlertingRule(
                AlertNames.AgentKubernetesMetadataDown,
                $"{MetricCatalog.AgentKubernetesUp} == 0",
                t.MetadataDownFor,
                Severity.Warning,
                "A ThrottleWatch agent has lost its Kubernetes pod list/watch.",
                $"The ThrottleWatch agent on node {{{{ $labels.node }}}} has had no working Kubernetes pod list/watch for {Dur(t.MetadataDownFor)}: " +
                "containers started since are exported by pod_uid and container_id only, without namespace, pod, container and workload.",
                Runbook(runbookBaseUrl, AlertNames.AgentKubernetesMetadataDown)),
        ];
    }

    /// <summary>The runbook link of an alert: the base URL and the section anchor (the name in lower case).</summary>
    public static string Runbook(string baseUrl, string alert) => $"{baseUrl.TrimEnd('#')}#{alert.ToLowerInvariant()}";

    /// <summary><c>op by (labels) (\n  inner\n)</c>.</summary>
    private static string Agg(string op, IEnumerable<string> labels, string inner) =>
        $"{op} by ({string.Join(", ", labels)}) (\n  {inner}\n)";

    private static string Ratio(IEnumerable<string> labels, string numerator, string denominator) =>
        Agg("sum", labels, numerator) + "\n/\n" + Agg("sum", labels, denominator);

    private static string Indent(string text) => "  " + text.Replace("\n", "\n  ", StringComparison.Ordinal);
}
