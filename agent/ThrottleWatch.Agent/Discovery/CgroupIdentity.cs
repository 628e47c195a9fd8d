namespace ThrottleWatch.Agent.Discovery;

/// <summary>What a discovered cgroup is.</summary>
public enum CgroupKind : byte
{
    /// <summary>A Kubernetes container's cgroup (a leaf under a pod cgroup).</summary>
    Container,
    /// <summary>A Kubernetes pod's cgroup: its own quota can throttle its containers.</summary>
    Pod,
    /// <summary>A cgroup directly under a <c>--cgroup-subtree</c> folder, reported as a container outside Kubernetes.</summary>
    Subtree,
}

/// <summary>Kubernetes QoS class, from the kubelet's cgroup layout.</summary>
public enum QosClass : byte
{
    Guaranteed,
    Burstable,
    BestEffort,
}

/// <summary>
/// A discovered cgroup: what the path says about it. <see cref="CgroupPath"/> is relative to the
/// cpu hierarchy's root and starts with '/', like the paths in <c>/proc/PID/cgroup</c>.
/// </summary>
public sealed record CgroupIdentity(
    CgroupKind Kind,
    string CgroupPath,
    string? PodUid,
    string? ContainerId,
    QosClass? Qos,
    string Runtime)
{
    /// <summary>A container's pod cgroup (its parent folder's path); null for a pod or a subtree cgroup.</summary>
    public string? PodPath => Kind == CgroupKind.Container && CgroupPath.LastIndexOf('/') is > 0 and var slash ? CgroupPath[..slash] : null;

    public static string QosName(QosClass? qos) => qos switch
    {
        QosClass.Guaranteed => "guaranteed",
        QosClass.Burstable => "burstable",
        QosClass.BestEffort => "besteffort",
        _ => "",
    };
}
