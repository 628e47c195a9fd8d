using k8s.Models;

namespace ThrottleWatch.Agent.Metadata;

/// <summary>What the API says about one container of a pod.</summary>
public sealed record ContainerMeta(string Name, string? ContainerId, string Kind, double? RequestCores, double? LimitCores);

/// <summary>What the API says about one pod on this node.</summary>
public sealed record PodMeta(
    string Namespace,
    string Name,
    string Uid,
    string? ConfigHash,
    string QosClass,
    string WorkloadKind,
    string Workload,
    string Phase,
    IReadOnlyList<ContainerMeta> Containers,
    double RequestCores,
    double? LimitCores)
{
    /// <summary>Pods that hold node resources: not Succeeded or Failed.</summary>
    public bool IsActive => Phase is not ("Succeeded" or "Failed");
}

/// <summary>
/// This node's pods by UID, by static-pod config hash and by container id. Written by the
/// <see cref="PodWatcher"/>, read by exporters. <see cref="Version"/> changes with every write, so a
/// reader can cache what it resolved.
/// </summary>
public sealed class PodIndex
{
    private readonly Lock _gate = new();
    private Dictionary<string, PodMeta> _byUid = new(StringComparer.Ordinal);
    private Dictionary<string, PodMeta> _byHash = new(StringComparer.Ordinal);
    private Dictionary<string, (PodMeta Pod, ContainerMeta Container)> _byContainer = new(StringComparer.Ordinal);
    private long _version;

    public long Version => Interlocked.Read(ref _version);

    /// <summary>
    /// Raised, outside the index's lock, with a pod's UID and (for a static pod) its config hash when
    /// a list or a watch event added or changed it: discovery lists that pod's folder at its next refresh, so a
    /// container the kubelet started or restarted is found within one discovery interval.
    /// </summary>
    public event Action<string>? PodChanged;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byUid.Count;
            }
        }
    }

    /// <summary>Replaces everything (after a list).</summary>
    public void Replace(IEnumerable<PodMeta> pods)
    {
        var byUid = new Dictionary<string, PodMeta>(StringComparer.Ordinal);
        foreach (var p in pods)
        {
            byUid[p.Uid] = p;
        }
        lock (_gate)
        {
            _byUid = byUid;
            Rebuild();
        }
        // A list follows a start or a broken watch: what changed meanwhile is unknown.
        foreach (var p in byUid.Values)
        {
            Changed(p);
        }
    }

    public void Upsert(PodMeta pod)
    {
        lock (_gate)
        {
            _byUid[pod.Uid] = pod;
            Rebuild();
        }
        Changed(pod);
    }

    private void Changed(PodMeta pod)
    {
        if (PodChanged is { } changed)
        {
            changed(pod.Uid);
            if (pod.ConfigHash is { } hash)
            {
                changed(hash);
            }
        }
    }

    public void Remove(string uid)
    {
        lock (_gate)
        {
            if (_byUid.Remove(uid))
            {
                Rebuild();
            }
        }
    }

    public IReadOnlyList<PodMeta> Pods()
    {
        lock (_gate)
        {
            return [.. _byUid.Values];
        }
    }

    /// <summary>
    /// The pod of a cgroup's pod UID: by UID, or for a static pod by the config hash its mirror pod
    /// carries in <c>kubernetes.io/config.hash</c>.
    /// </summary>
    public PodMeta? FindPod(string? podUid)
    {
        if (podUid is null)
        {
            return null;
        }
        lock (_gate)
        {
            return _byUid.GetValueOrDefault(podUid) ?? _byHash.GetValueOrDefault(podUid);
        }
    }

    public (PodMeta Pod, ContainerMeta Container)? FindContainer(string containerId)
    {
        lock (_gate)
        {
            return _byContainer.TryGetValue(containerId, out var hit) ? hit : null;
        }
    }

    private void Rebuild()
    {
        var byHash = new Dictionary<string, PodMeta>(StringComparer.Ordinal);
        var byContainer = new Dictionary<string, (PodMeta, ContainerMeta)>(StringComparer.Ordinal);
        foreach (var p in _byUid.Values)
        {
            if (p.ConfigHash is { } h)
            {
                byHash[h] = p;
            }
            foreach (var c in p.Containers)
            {
                if (c.ContainerId is { } id)
                {
                    byContainer[id] = (p, c);
                }
            }
        }
        _byHash = byHash;
        _byContainer = byContainer;
        Interlocked.Increment(ref _version);
    }

    /// <summary>
    /// Reads a pod object into <see cref="PodMeta"/>. Requests and limits come from
    /// <c>status.containerStatuses[].resources</c> where present (in-place resize), else the spec.
    /// </summary>
    public static PodMeta FromPod(KubePod pod, string workloadKind, string workload)
    {
        var meta = pod.Metadata;
        var statuses = new Dictionary<string, KubeContainerStatus>(StringComparer.Ordinal);
        foreach (var list in new[] { pod.Status?.ContainerStatuses, pod.Status?.InitContainerStatuses, pod.Status?.EphemeralContainerStatuses })
        {
            foreach (var s in list ?? [])
            {
                statuses[s.Name] = s;
            }
        }

        var containers = new List<ContainerMeta>();
        // What the scheduler and the kubelet count for the pod (Kubernetes' PodRequests and PodLimits):
        // the regular containers and the native sidecars (init containers with restartPolicy Always,
        // which run beside them) summed; each other init container runs alone with the sidecars
        // started before it, and the pod needs the most any of those moments needs. A limit is null
        // (the pod has no quota) as soon as one container has none.
        double requests = 0;
        double? limits = 0;
        foreach (var c in pod.Spec?.Containers ?? [])
        {
            var cm = Container(c.Name, c.Resources, statuses, "regular");
            containers.Add(cm);
            requests += cm.RequestCores ?? 0;
            limits = Add(limits, cm.LimitCores);
        }
        double sidecarRequests = 0, initRequests = 0;
        double? sidecarLimits = 0, initLimits = 0;
        foreach (var c in pod.Spec?.InitContainers ?? [])
        {
            bool sidecar = c.RestartPolicy == "Always";
            var cm = Container(c.Name, c.Resources, statuses, sidecar ? "sidecar" : "init");
            containers.Add(cm);
            if (sidecar)
            {
                requests += cm.RequestCores ?? 0;
                limits = Add(limits, cm.LimitCores);
                sidecarRequests += cm.RequestCores ?? 0;
                sidecarLimits = Add(sidecarLimits, cm.LimitCores);
                initRequests = Math.Max(initRequests, sidecarRequests);
                initLimits = Max(initLimits, sidecarLimits);
            }
            else
            {
                initRequests = Math.Max(initRequests, (cm.RequestCores ?? 0) + sidecarRequests);
                initLimits = Max(initLimits, Add(sidecarLimits, cm.LimitCores));
            }
        }
        foreach (var c in pod.Spec?.EphemeralContainers ?? [])
        {
            containers.Add(Container(c.Name, c.Resources, statuses, "ephemeral"));
        }

        double overhead = Cores(pod.Spec?.Overhead) ?? 0;
        double? limit = (pod.Spec?.Containers?.Count ?? 0) > 0 && Max(limits, initLimits) is { } l ? l + overhead : null;
        double request = Math.Max(requests, initRequests) + overhead;
        // Pod-level resources (spec.resources), where set, are what the pod gets instead.
        if (Cores(pod.Spec?.Resources?.Requests) is { } podRequest)
        {
            request = podRequest + overhead;
        }
        if (Cores(pod.Spec?.Resources?.Limits) is { } podLimit)
        {
            limit = podLimit + overhead;
        }
        string? hash = null;
        meta?.Annotations?.TryGetValue("kubernetes.io/config.hash", out hash);
        return new PodMeta(
            meta?.NamespaceProperty ?? "",
            meta?.Name ?? "",
            meta?.Uid ?? "",
            hash,
            (pod.Status?.QosClass ?? "").ToLowerInvariant(),
            workloadKind,
            workload,
            pod.Status?.Phase ?? "",
            containers,
            request,
            limit);
    }

    private static double? Add(double? sum, double? value) => sum is { } s && value is { } v ? s + v : null;

    private static double? Max(double? a, double? b) => a is { } x && b is { } y ? Math.Max(x, y) : null;

    private static ContainerMeta Container(string name, V1ResourceRequirements? spec, Dictionary<string, KubeContainerStatus> statuses, string kind)
    {
        statuses.TryGetValue(name, out var status);
        var applied = status?.Resources ?? spec;
        return new ContainerMeta(name, StripRuntime(status?.ContainerID), kind, Cores(applied?.Requests), Cores(applied?.Limits));
    }

    private static double? Cores(IDictionary<string, ResourceQuantity>? resources)
        => resources is not null && resources.TryGetValue("cpu", out var q) ? (double)q.ToDecimal() : null;

    /// <summary>"containerd://abc…" → "abc…".</summary>
    public static string? StripRuntime(string? containerId)
    {
        if (string.IsNullOrEmpty(containerId))
        {
            return null;
        }
        int at = containerId.IndexOf("://", StringComparison.Ordinal);
        return at < 0 ? containerId : containerId[(at + 3)..];
    }
}
