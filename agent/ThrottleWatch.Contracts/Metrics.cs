namespace ThrottleWatch.Contracts;

/// <summary>Prometheus metric type.</summary>
public enum MetricType
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>Which label set a metric carries.</summary>
public enum MetricScope
{
    /// <summary><see cref="MetricCatalog.ContainerLabels"/>.</summary>
    Container,
    /// <summary><see cref="MetricCatalog.PodLabels"/>.</summary>
    Pod,
    /// <summary><c>node</c> only.</summary>
    Node,
    /// <summary>The agent's own health; labels listed per metric.</summary>
    Agent,
}

/// <summary>One exported metric: the contract dashboards, alerts and the analyzer rely on.</summary>
/// <param name="Name">Prometheus name.</param>
/// <param name="Type">Counter, gauge or histogram.</param>
/// <param name="Scope">Which label set it carries.</param>
/// <param name="Help">The help text, with the unit.</param>
/// <param name="OtlpName">OpenTelemetry instrument name (semantic conventions where one exists).</param>
/// <param name="Unit">UCUM unit for OTLP ("s", "{cpu}", "1").</param>
/// <param name="Source">The kernel file or API field it comes from.</param>
/// <param name="ExtraLabels">Labels beyond the scope's set.</param>
public sealed record MetricDefinition(
    string Name,
    MetricType Type,
    MetricScope Scope,
    string Help,
    string OtlpName,
    string Unit,
    string Source,
    string[]? ExtraLabels = null);

/// <summary>
/// Every metric the agent exports, as a table (cAdvisor's metrics/prometheus.go style). The
/// exporters, the docs test and, later, the dashboard and rule generators read this one list.
/// </summary>
public static class MetricCatalog
{
    public static readonly string[] ContainerLabels =
        ["node", "namespace", "pod", "container", "qos_class", "workload_kind", "workload", "pod_uid", "container_id"];

    public static readonly string[] PodLabels =
        ["node", "namespace", "pod", "qos_class", "workload_kind", "workload", "pod_uid"];

    public static readonly string[] NodeLabels = ["node"];

    public const string ContainerUsageSeconds = "throttlewatch_container_cpu_usage_seconds_total";
    public const string ContainerRequestCores = "throttlewatch_container_cpu_request_cores";
    public const string ContainerUsagePeak = "throttlewatch_container_cpu_usage_cores_peak";
    public const string ContainerLimitCores = "throttlewatch_container_cpu_limit_cores";
    public const string ContainerPeriods = "throttlewatch_container_cpu_periods_total";
    public const string ContainerThrottledPeriods = "throttlewatch_container_cpu_throttled_periods_total";
    public const string ContainerThrottledSeconds = "throttlewatch_container_cpu_throttled_seconds_total";
    public const string ContainerThrottledRatioPeak = "throttlewatch_container_cpu_throttled_ratio_peak";
    public const string ContainerThrottledLocalSeconds = "throttlewatch_container_cpu_throttled_local_seconds_total";
    public const string ContainerBurstPeriods = "throttlewatch_container_cpu_burst_periods_total";
    public const string ContainerBurstSeconds = "throttlewatch_container_cpu_burst_seconds_total";
    public const string ContainerPressureWaiting = "throttlewatch_container_cpu_pressure_waiting_seconds_total";
    public const string ContainerPressureStalled = "throttlewatch_container_cpu_pressure_stalled_seconds_total";
    public const string PodUsageSeconds = "throttlewatch_pod_cpu_usage_seconds_total";
    public const string PodLimitCores = "throttlewatch_pod_cpu_limit_cores";
    public const string PodPeriods = "throttlewatch_pod_cpu_periods_total";
    public const string PodThrottledPeriods = "throttlewatch_pod_cpu_throttled_periods_total";
    public const string PodThrottledSeconds = "throttlewatch_pod_cpu_throttled_seconds_total";
    public const string NodeCapacity = "throttlewatch_node_cpu_capacity_cores";
    public const string NodeAllocatable = "throttlewatch_node_cpu_allocatable_cores";
    public const string NodeRequests = "throttlewatch_node_cpu_requests_cores";
    public const string NodeLimits = "throttlewatch_node_cpu_limits_cores";
    public const string NodeUsageSeconds = "throttlewatch_node_cpu_usage_seconds_total";
    public const string NodeInfo = "throttlewatch_node_info";
    public const string AgentSweepDuration = "throttlewatch_agent_sweep_duration_seconds";
    public const string AgentContainers = "throttlewatch_agent_containers";
    public const string AgentReadErrors = "throttlewatch_agent_read_errors_total";
    public const string AgentKubernetesUp = "throttlewatch_agent_kubernetes_metadata_up";
    public const string AgentHandlesDegraded = "throttlewatch_agent_handles_degraded";
    public const string AgentLimitsWatched = "throttlewatch_agent_limits_watched";
    public const string AgentBuildInfo = "throttlewatch_agent_build_info";

    public static readonly IReadOnlyList<MetricDefinition> All =
    [
        new(ContainerUsageSeconds, MetricType.Counter, MetricScope.Container, "CPU time used by the container, in seconds.", "container.cpu.time", "s", "cpuacct.usage (v1), cpu.stat usage_usec (v2)"),
        new(ContainerRequestCores, MetricType.Gauge, MetricScope.Container, "CPU request applied to the container, in cores (status.containerStatuses[].resources, else the spec).", "throttlewatch.container.cpu.request", "{cpu}", "Kubernetes API"),
        new(ContainerUsagePeak, MetricType.Gauge, MetricScope.Container, "Highest CPU usage over one sampling interval within the last 60 s, in cores.", "throttlewatch.container.cpu.usage.peak", "{cpu}", "cpuacct.usage / usage_usec, per interval"),
        new(ContainerLimitCores, MetricType.Gauge, MetricScope.Container, "CPU limit the kernel enforces on the container: CFS quota / period, in cores.", "throttlewatch.container.cpu.limit", "{cpu}", "cpu.cfs_quota_us / cpu.cfs_period_us (v1), cpu.max (v2)"),
        new(ContainerPeriods, MetricType.Counter, MetricScope.Container, "CFS periods in which the container had runnable threads.", "throttlewatch.container.cpu.periods", "{period}", "cpu.stat nr_periods"),
        new(ContainerThrottledPeriods, MetricType.Counter, MetricScope.Container, "CFS periods in which the container's own quota throttled it.", "throttlewatch.container.cpu.throttled.periods", "{period}", "cpu.stat nr_throttled"),
        new(ContainerThrottledSeconds, MetricType.Counter, MetricScope.Container, "Time the container's threads were throttled, summed over CPUs (can exceed wall time), in seconds.", "throttlewatch.container.cpu.throttled.time", "s", "cpu.stat throttled_time (ns, v1) / throttled_usec (v2)"),
        new(ContainerThrottledRatioPeak, MetricType.Gauge, MetricScope.Container, "Highest throttled-periods ratio over one sampling interval within the last 60 s.", "throttlewatch.container.cpu.throttled.ratio.peak", "1", "cpu.stat nr_throttled / nr_periods, per interval"),
        new(ContainerThrottledLocalSeconds, MetricType.Counter, MetricScope.Container, "Time the container was throttled for any reason, its pod's quota included (kernel 6.6+), in seconds.", "throttlewatch.container.cpu.throttled.local.time", "s", "cpu.stat.local throttled_time / throttled_usec"),
        new(ContainerBurstPeriods, MetricType.Counter, MetricScope.Container, "CFS periods in which the container used its burst allowance.", "throttlewatch.container.cpu.burst.periods", "{period}", "cpu.stat nr_bursts (kernel 5.14+)"),
        new(ContainerBurstSeconds, MetricType.Counter, MetricScope.Container, "CPU time the container ran on its burst allowance, in seconds.", "throttlewatch.container.cpu.burst.time", "s", "cpu.stat burst_time / burst_usec (kernel 5.14+)"),
        new(ContainerPressureWaiting, MetricType.Counter, MetricScope.Container, "Time at least one of the container's tasks waited for CPU (PSI some), in seconds.", "throttlewatch.container.cpu.pressure.waiting.time", "s", "cpu.pressure some total (v2)"),
        new(ContainerPressureStalled, MetricType.Counter, MetricScope.Container, "Time all of the container's non-idle tasks waited for CPU (PSI full), in seconds.", "throttlewatch.container.cpu.pressure.stalled.time", "s", "cpu.pressure full total (v2)"),
        new(PodUsageSeconds, MetricType.Counter, MetricScope.Pod, "CPU time used by the pod cgroup, in seconds.", "throttlewatch.pod.cpu.time", "s", "pod cgroup cpuacct.usage / usage_usec"),
        new(PodLimitCores, MetricType.Gauge, MetricScope.Pod, "CPU limit the kernel enforces on the pod cgroup, in cores.", "throttlewatch.pod.cpu.limit", "{cpu}", "pod cgroup quota / period"),
        new(PodPeriods, MetricType.Counter, MetricScope.Pod, "CFS periods in which the pod cgroup had runnable threads.", "throttlewatch.pod.cpu.periods", "{period}", "pod cgroup cpu.stat nr_periods"),
        new(PodThrottledPeriods, MetricType.Counter, MetricScope.Pod, "CFS periods in which the pod's own quota throttled it.", "throttlewatch.pod.cpu.throttled.periods", "{period}", "pod cgroup cpu.stat nr_throttled"),
        new(PodThrottledSeconds, MetricType.Counter, MetricScope.Pod, "Time the pod's threads were throttled by its own quota, summed over CPUs, in seconds.", "throttlewatch.pod.cpu.throttled.time", "s", "pod cgroup cpu.stat throttled_time / throttled_usec"),
        new(NodeCapacity, MetricType.Gauge, MetricScope.Node, "CPU capacity of the node, in cores.", "k8s.node.cpu.capacity", "{cpu}", "Node status.capacity.cpu"),
        new(NodeAllocatable, MetricType.Gauge, MetricScope.Node, "CPU allocatable to pods on the node, in cores.", "k8s.node.cpu.allocatable", "{cpu}", "Node status.allocatable.cpu"),
        new(NodeRequests, MetricType.Gauge, MetricScope.Node, "Sum of the CPU requests of the node's running pods, in cores.", "throttlewatch.node.cpu.requests", "{cpu}", "pods on the node"),
        new(NodeLimits, MetricType.Gauge, MetricScope.Node, "Sum of the CPU limits of the node's running pods, in cores (above allocatable: overcommitted).", "throttlewatch.node.cpu.limits", "{cpu}", "pods on the node"),
        new(NodeUsageSeconds, MetricType.Counter, MetricScope.Node, "CPU time used on the node, in seconds.", "k8s.node.cpu.time", "s", "/proc/stat cpu line"),
        new(NodeInfo, MetricType.Gauge, MetricScope.Node, "Node facts, value 1: kernels before 5.4 without the CFS fix throttle under the limit.", "throttlewatch.node.info", "1", "/proc/sys/kernel/osrelease, the cgroup tree", ["kernel_version", "cgroup_version", "cgroup_driver"]),
        new(AgentSweepDuration, MetricType.Histogram, MetricScope.Agent, "Time one sweep of every tracked cgroup took, in seconds.", "throttlewatch.agent.sweep.duration", "s", "the agent", ["node"]),
        new(AgentContainers, MetricType.Gauge, MetricScope.Agent, "Containers the agent tracks.", "throttlewatch.agent.containers", "{container}", "the agent", ["node"]),
        new(AgentReadErrors, MetricType.Counter, MetricScope.Agent, "Failed cgroup reads, by reason (vanished, malformed, permission, open_files, io).", "throttlewatch.agent.read.errors", "{error}", "the agent", ["node", "reason"]),
        new(AgentKubernetesUp, MetricType.Gauge, MetricScope.Agent, "1 while the Kubernetes pod list/watch is healthy, else 0.", "throttlewatch.agent.kubernetes.up", "1", "the agent", ["node"]),
        new(AgentHandlesDegraded, MetricType.Gauge, MetricScope.Agent, "Cgroups read without a kept file handle because the open-file budget is spent.", "throttlewatch.agent.handles.degraded", "{cgroup}", "the agent", ["node"]),
        new(AgentLimitsWatched, MetricType.Gauge, MetricScope.Agent, "Cgroups whose CPU limit file is watched for writes (inotify), so a change is read within a sweep; the rest are polled every --config-interval.", "throttlewatch.agent.limits.watched", "{cgroup}", "the agent", ["node"]),
        new(AgentBuildInfo, MetricType.Gauge, MetricScope.Agent, "The agent's version, value 1.", "throttlewatch.agent.build.info", "1", "the agent", ["version"]),
    ];

    /// <summary>The label names of a metric, in order.</summary>
    public static string[] LabelsOf(MetricDefinition m) => m.Scope switch
    {
        MetricScope.Container => ContainerLabels,
        MetricScope.Pod => PodLabels,
        MetricScope.Node => [.. NodeLabels, .. m.ExtraLabels ?? []],
        _ => m.ExtraLabels ?? [],
    };

    public static MetricDefinition Get(string name) => All.Single(m => m.Name == name);
}
