using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Metadata;
using ThrottleWatch.Agent.Sampling;

namespace ThrottleWatch.Agent.Export;

/// <summary>
/// The label values of one series, from the cgroup (pod_uid, container_id, QoS) and, once the API
/// names them, the pod index (namespace, pod, container, workload). Shared by every exporter so
/// Prometheus and OTLP carry the same names.
/// </summary>
public sealed record SeriesLabels(
    string Namespace,
    string Pod,
    string Container,
    string QosClass,
    string WorkloadKind,
    string Workload,
    string PodUid,
    string ContainerId,
    double? RequestCores)
{
    /// <summary>
    /// Resolves <paramref name="series"/>; null when it must not be exported: a namespace in
    /// <paramref name="excluded"/>, or a pod's sandbox ("pause") container, which the API knows the
    /// pod of but lists in none of its container statuses.
    /// </summary>
    public static SeriesLabels? Resolve(SeriesState series, PodIndex? index, IReadOnlySet<string> excluded)
    {
        var id = series.Identity;
        string qos = CgroupIdentity.QosName(id.Qos);
        if (id.Kind == CgroupKind.Subtree)
        {
            return new SeriesLabels("", "", id.CgroupPath, "", "", "", "", "", null);
        }
        var pod = index?.FindPod(id.PodUid);
        if (pod is not null && excluded.Contains(pod.Namespace))
        {
            return null;
        }
        if (id.Kind == CgroupKind.Pod)
        {
            return pod is null
                ? new SeriesLabels("", "", "", qos, "", "", id.PodUid ?? "", "", null)
                : new SeriesLabels(pod.Namespace, pod.Name, "", qos, pod.WorkloadKind, pod.Workload, id.PodUid ?? "", "", pod.RequestCores);
        }
        var hit = id.ContainerId is null ? null : index?.FindContainer(id.ContainerId);
        if (pod is not null && hit is null)
        {
            return null; // the sandbox, or a container the API has not reported yet
        }
        if (hit is { } h)
        {
            return new SeriesLabels(h.Pod.Namespace, h.Pod.Name, h.Container.Name, qos, h.Pod.WorkloadKind, h.Pod.Workload,
                id.PodUid ?? "", id.ContainerId ?? "", h.Container.RequestCores);
        }
        return new SeriesLabels("", "", "", qos, "", "", id.PodUid ?? "", id.ContainerId ?? "", null);
    }
}
