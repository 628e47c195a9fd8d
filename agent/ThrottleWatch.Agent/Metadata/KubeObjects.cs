using System.Text.Json.Serialization;
using k8s.Models;

namespace ThrottleWatch.Agent.Metadata;

// The parts of a Pod, a pod list and a Node that the agent reads, as the API sends them: JSON fields
// it does not name here are skipped. The library's V1Pod reaches 204 models (volumes, probes,
// affinity, security contexts …) and the JSON code for every one of them: in the NativeAOT binary
// 2.4 MiB of type structures resident on every node, and in the JIT build code compiled at run time
// (docs/performance.md, "A pod of the agent's own"). Metadata, resources and quantities are still the
// library's models (V1ObjectMeta, V1ResourceRequirements, ResourceQuantity).

/// <summary>A pod: what <see cref="PodIndex.FromPod"/> and the watch read.</summary>
public sealed class KubePod
{
    [JsonPropertyName("metadata")]
    public V1ObjectMeta? Metadata { get; set; }

    [JsonPropertyName("spec")]
    public KubePodSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public KubePodStatus? Status { get; set; }
}

/// <summary><c>GET /api/v1/pods</c>: the pods and the list's resourceVersion.</summary>
public sealed class KubePodList
{
    [JsonPropertyName("metadata")]
    public V1ListMeta? Metadata { get; set; }

    [JsonPropertyName("items")]
    public IList<KubePod> Items { get; set; } = [];
}

public sealed class KubePodSpec
{
    [JsonPropertyName("nodeName")]
    public string? NodeName { get; set; }

    [JsonPropertyName("containers")]
    public IList<KubeContainer>? Containers { get; set; }

    [JsonPropertyName("initContainers")]
    public IList<KubeContainer>? InitContainers { get; set; }

    [JsonPropertyName("ephemeralContainers")]
    public IList<KubeContainer>? EphemeralContainers { get; set; }

    [JsonPropertyName("overhead")]
    public IDictionary<string, ResourceQuantity>? Overhead { get; set; }

    /// <summary>Pod-level resources (Kubernetes 1.32+).</summary>
    [JsonPropertyName("resources")]
    public V1ResourceRequirements? Resources { get; set; }
}

/// <summary>A container, init container (a native sidecar with <see cref="RestartPolicy"/> Always) or ephemeral container.</summary>
public sealed class KubeContainer
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    [JsonPropertyName("resources")]
    public V1ResourceRequirements? Resources { get; set; }

    [JsonPropertyName("restartPolicy")]
    public string? RestartPolicy { get; set; }
}

public sealed class KubePodStatus
{
    [JsonPropertyName("phase")]
    public string? Phase { get; set; }

    [JsonPropertyName("qosClass")]
    public string? QosClass { get; set; }

    [JsonPropertyName("containerStatuses")]
    public IList<KubeContainerStatus>? ContainerStatuses { get; set; }

    [JsonPropertyName("initContainerStatuses")]
    public IList<KubeContainerStatus>? InitContainerStatuses { get; set; }

    [JsonPropertyName("ephemeralContainerStatuses")]
    public IList<KubeContainerStatus>? EphemeralContainerStatuses { get; set; }
}

/// <summary>A container's status: its runtime id and, after an in-place resize, the resources applied.</summary>
public sealed class KubeContainerStatus
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    [JsonPropertyName("containerID")]
    public string? ContainerID { get; set; }

    [JsonPropertyName("resources")]
    public V1ResourceRequirements? Resources { get; set; }
}

/// <summary>A Node: its CPU capacity and allocatable.</summary>
public sealed class KubeNode
{
    [JsonPropertyName("metadata")]
    public V1ObjectMeta? Metadata { get; set; }

    [JsonPropertyName("status")]
    public KubeNodeStatus? Status { get; set; }
}

public sealed class KubeNodeStatus
{
    [JsonPropertyName("capacity")]
    public IDictionary<string, ResourceQuantity>? Capacity { get; set; }

    [JsonPropertyName("allocatable")]
    public IDictionary<string, ResourceQuantity>? Allocatable { get; set; }
}

/// <summary>Any object read for its metadata alone (a ReplicaSet's or a Job's owner): spec and status skipped.</summary>
public sealed class KubeObject
{
    [JsonPropertyName("metadata")]
    public V1ObjectMeta? Metadata { get; set; }
}
