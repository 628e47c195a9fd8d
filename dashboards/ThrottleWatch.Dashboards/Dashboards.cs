using System.Text.Json.Nodes;
using ThrottleWatch.Contracts;
using M = ThrottleWatch.Contracts.MetricCatalog;

namespace ThrottleWatch.Dashboards;

/// <summary>
/// ThrottleWatch's three Grafana dashboards as code: the cluster overview, one workload, one node.
/// Every metric name comes from <see cref="MetricCatalog"/>; the panel-query test evaluates every
/// expression against a real Prometheus scraping the real agent.
/// </summary>
public static class Dashboards
{
    /// <summary>Matches series with and without a <c>cluster</c> label ("All" is ".*", which matches the empty value).</summary>
    private const string Cluster = "cluster=~\"$cluster\"";
    private const string Rate = "$__rate_interval";

    /// <summary>File name → dashboard JSON.</summary>
    public static IReadOnlyDictionary<string, JsonObject> All() => new SortedDictionary<string, JsonObject>(StringComparer.Ordinal)
    {
        ["throttlewatch-overview.json"] = Overview(),
        ["throttlewatch-workload.json"] = Workload(),
        ["throttlewatch-node.json"] = Node(),
    };

    private static DashboardBuilder Common(string uid, string title, string description)
        => new DashboardBuilder(uid, title, description)
            .Variable("cluster", "Cluster", $"label_values({M.AgentBuildInfo}, cluster)", multi: false);

    public static JsonObject Overview()
    {
        string sel = $"{Cluster}, namespace=~\"$namespace\"";
        return Common("throttlewatch-overview", "ThrottleWatch / Overview",
                "Where CPU limits hurt across the cluster: the workloads losing the most time to throttling, throttling by namespace, and nodes whose limits exceed what they can give.")
            .Variable("namespace", "Namespace", $"label_values({M.ContainerUsageSeconds}{{{Cluster}}}, namespace)")
            .Row("Throttling now")
            .Stat("Containers throttled (peak ratio > 0.5)", "Containers whose throttled-periods ratio over one sampling interval passed 0.5 within the last minute.", "short",
                new Query($"count({M.ContainerThrottledRatioPeak}{{{sel}}} > 0.5) or vector(0)"))
            .Stat("Throttled time", "CPU time the cluster's containers stood stalled by their quotas, per second (summed over CPUs).", "s",
                new Query($"sum(rate({M.ContainerThrottledSeconds}{{{sel}}}[{Rate}]))"))
            .Stat("Containers with a limit", "Containers whose own or pod quota can throttle them.", "short",
                new Query($"count({M.ContainerLimitCores}{{{sel}}})"))
            .Stat("Agents", "Agents reporting.", "short", new Query($"count({M.AgentBuildInfo}{{{Cluster}}})"))
            .Row("Worst workloads")
            .Table("Workloads by throttled time", "Throttled seconds per second, summed over each workload's containers and replicas: where limits cost the most.", "s",
                new Query($"topk(15, sum by (namespace, workload_kind, workload, container) (rate({M.ContainerThrottledSeconds}{{{sel}}}[{Rate}])))"))
            .TimeSeries("Throttled ratio by namespace", "Throttled periods / periods with runnable threads, by namespace.", "percentunit",
                new Query($"sum by (namespace) (rate({M.ContainerThrottledPeriods}{{{sel}}}[{Rate}])) / sum by (namespace) (rate({M.ContainerPeriods}{{{sel}}}[{Rate}]))", "{{namespace}}"))
            .TimeSeries("Throttled time by namespace", "Throttled seconds per second, by namespace.", "s",
                new Query($"sum by (namespace) (rate({M.ContainerThrottledSeconds}{{{sel}}}[{Rate}]))", "{{namespace}}"))
            .Row("Node overcommit")
            .TimeSeries("Sum of limits / allocatable", "Above 1, the node has promised more CPU than it has: nothing guarantees a pod can reach its limit.", "percentunit",
                new Query($"{M.NodeLimits}{{{Cluster}}} / {M.NodeAllocatable}{{{Cluster}}}", "{{node}}"))
            .TimeSeries("Node CPU usage / allocatable", "How busy each node is: headroom decides whether removing a limit is safe.", "percentunit",
                new Query($"rate({M.NodeUsageSeconds}{{{Cluster}}}[{Rate}]) / {M.NodeAllocatable}{{{Cluster}}}", "{{node}}"))
            .Build();
    }

    public static JsonObject Workload()
    {
        string sel = $"{Cluster}, namespace=~\"$namespace\", workload=~\"$workload\"";
        return Common("throttlewatch-workload", "ThrottleWatch / Workload",
                "One workload's containers: usage against request and limit, the throttled ratio and its 1-second peak, throttled time, bursts and CPU pressure.")
            .Variable("namespace", "Namespace", $"label_values({M.ContainerUsageSeconds}{{{Cluster}}}, namespace)", multi: false, includeAll: false)
            .Variable("workload", "Workload", $"label_values({M.ContainerUsageSeconds}{{{Cluster}, namespace=~\"$namespace\"}}, workload)", multi: false, includeAll: false)
            .Row("Usage against request and limit")
            .TimeSeries("CPU usage, request and limit", "Usage rate per container against its request and its limit. The peak is the highest 1-interval usage in the last minute.", "cores",
                new Query($"sum by (container) (rate({M.ContainerUsageSeconds}{{{sel}}}[{Rate}]))", "{{container}} usage"),
                new Query($"max by (container) ({M.ContainerUsagePeak}{{{sel}}})", "{{container}} peak"),
                new Query($"max by (container) ({M.ContainerRequestCores}{{{sel}}})", "{{container}} request"),
                new Query($"max by (container) ({M.ContainerLimitCores}{{{sel}}})", "{{container}} limit"))
            .TimeSeries("Throttled ratio and its peak", "Throttled periods / periods over the rate window, and the highest 1-interval ratio in the last minute (what a 15 s scrape of counters cannot show).", "percentunit",
                new Query($"sum by (container) (rate({M.ContainerThrottledPeriods}{{{sel}}}[{Rate}])) / sum by (container) (rate({M.ContainerPeriods}{{{sel}}}[{Rate}]))", "{{container}} ratio"),
                new Query($"max by (container) ({M.ContainerThrottledRatioPeak}{{{sel}}})", "{{container}} peak"))
            .Row("Throttled time, bursts, pressure")
            .TimeSeries("Throttled time", "Seconds per second the container's threads stood stalled by its own quota (summed over CPUs), and for any reason including the pod's quota (kernel 6.6+).", "s",
                new Query($"sum by (container) (rate({M.ContainerThrottledSeconds}{{{sel}}}[{Rate}]))", "{{container}} own quota"),
                new Query($"sum by (container) (rate({M.ContainerThrottledLocalSeconds}{{{sel}}}[{Rate}]))", "{{container}} any reason"))
            .TimeSeries("Burst", "CFS burst used (kernel 5.14+): periods and seconds per second.", "short",
                new Query($"sum by (container) (rate({M.ContainerBurstPeriods}{{{sel}}}[{Rate}]))", "{{container}} periods/s"),
                new Query($"sum by (container) (rate({M.ContainerBurstSeconds}{{{sel}}}[{Rate}]))", "{{container}} seconds/s"))
            .TimeSeries("CPU pressure", "PSI (cgroup v2): share of time some, or all, of the container's tasks waited for CPU.", "percentunit",
                new Query($"sum by (container) (rate({M.ContainerPressureWaiting}{{{sel}}}[{Rate}]))", "{{container}} some"),
                new Query($"sum by (container) (rate({M.ContainerPressureStalled}{{{sel}}}[{Rate}]))", "{{container}} full"))
            .TimeSeries("Pod quota", "The pod cgroup's own quota throttles every container of the pod together.", "s",
                new Query($"sum by (pod) (rate({M.PodThrottledSeconds}{{{sel}}}[{Rate}]))", "{{pod}} throttled s/s"))
            .Build();
    }

    public static JsonObject Node()
    {
        string sel = $"{Cluster}, node=~\"$node\"";
        return Common("throttlewatch-node", "ThrottleWatch / Node",
                "One node: its containers by throttled time, its CPU commitments, and the health of its ThrottleWatch agent.")
            .Variable("node", "Node", $"label_values({M.AgentBuildInfo}{{{Cluster}}}, node)", multi: false, includeAll: false)
            .Row("Containers")
            .Table("Containers by throttled time", "Throttled seconds per second of each container on the node.", "s",
                new Query($"topk(20, sum by (namespace, pod, container) (rate({M.ContainerThrottledSeconds}{{{sel}}}[{Rate}])))"))
            .TimeSeries("CPU: capacity, allocatable, requests, limits, usage", "The node's CPU and what its pods asked for. Limits above allocatable: overcommitted.", "cores",
                new Query($"{M.NodeCapacity}{{{sel}}}", "capacity"),
                new Query($"{M.NodeAllocatable}{{{sel}}}", "allocatable"),
                new Query($"{M.NodeRequests}{{{sel}}}", "requests"),
                new Query($"{M.NodeLimits}{{{sel}}}", "limits"),
                new Query($"rate({M.NodeUsageSeconds}{{{sel}}}[{Rate}])", "usage"))
            .TimeSeries("Throttled ratio peak", "Highest 1-interval throttled ratio in the last minute, per container.", "percentunit",
                new Query($"max by (namespace, pod, container) ({M.ContainerThrottledRatioPeak}{{{sel}}})", "{{namespace}}/{{pod}}/{{container}}"))
            .Row("Agent health")
            .TimeSeries("Sweep duration", "p50 and p99 of one sweep over every cgroup (the interval is 1 s by default).", "s",
                new Query($"histogram_quantile(0.5, sum by (le) (rate({M.AgentSweepDuration}_bucket{{{sel}}}[{Rate}])))", "p50"),
                new Query($"histogram_quantile(0.99, sum by (le) (rate({M.AgentSweepDuration}_bucket{{{sel}}}[{Rate}])))", "p99"))
            .Stat("Containers tracked", "Containers the agent samples.", "short", new Query($"sum({M.AgentContainers}{{{sel}}})"))
            .Stat("Kubernetes metadata", "1 while the pod list/watch is healthy; 0 means series lack names.", "short", new Query($"min({M.AgentKubernetesUp}{{{sel}}})"))
            .Stat("Degraded handles", "Cgroups read by reopening because the open-file budget is spent.", "short", new Query($"sum({M.AgentHandlesDegraded}{{{sel}}})"))
            .Stat("Read errors / s", "Failed cgroup reads per second (vanished cgroups are normal churn).", "short",
                new Query($"sum(rate({M.AgentReadErrors}{{{sel}}}[{Rate}]))"))
            .Build();
    }
}
