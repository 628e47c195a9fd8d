using System.Text.Json;
using System.Text.Json.Nodes;
using ThrottleWatch.Agent.Metadata;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// A pod's CPU request and limit as the scheduler and the kubelet count them (Kubernetes' PodRequests
/// and PodLimits), from the API's JSON: the node's requests and limits metrics sum these.
/// </summary>
public class PodResourcesTests
{
    /// <summary>A container: name, CPU request, CPU limit (null: none), and for init containers whether it is a native sidecar.</summary>
    public sealed record C(string Name, string? Request, string? Limit, bool Sidecar = false);

    private static PodMeta Pod(C[] containers, C[] init, string? overhead = null, C? podLevel = null)
    {
        JsonObject Spec(C c)
        {
            var resources = new JsonObject();
            if (c.Request is not null) resources["requests"] = new JsonObject { ["cpu"] = c.Request };
            if (c.Limit is not null) resources["limits"] = new JsonObject { ["cpu"] = c.Limit };
            var o = new JsonObject { ["name"] = c.Name, ["image"] = "registry.example/" + c.Name, ["resources"] = resources };
            if (c.Sidecar) o["restartPolicy"] = "Always";
            return o;
        }
        var spec = new JsonObject
        {
            ["nodeName"] = "n1",
            ["containers"] = new JsonArray(containers.Select(c => (JsonNode)Spec(c)).ToArray()),
            ["initContainers"] = new JsonArray(init.Select(c => (JsonNode)Spec(c)).ToArray()),
        };
        if (overhead is not null) spec["overhead"] = new JsonObject { ["cpu"] = overhead };
        if (podLevel is not null) spec["resources"] = Spec(podLevel)["resources"]!.DeepClone();
        var json = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = "p", ["namespace"] = "ns", ["uid"] = "u1" },
            ["spec"] = spec,
            ["status"] = new JsonObject { ["phase"] = "Running", ["qosClass"] = "Burstable" },
        }.ToJsonString();
        var pod = JsonSerializer.Deserialize(json, KubeJson.Default.KubePod)!;
        return PodIndex.FromPod(pod, "Deployment", "web");
    }

    [Fact]
    public void A_native_sidecar_adds_to_the_regular_containers()
    {
        var p = Pod([new("app", "1", "2")], [new("mesh", "500m", "1", Sidecar: true), new("migrate", "200m", "200m")]);
        // Requests: app + mesh (1.5) against migrate with mesh beside it (0.7). Limits: 3 against 1.2.
        Assert.Equal(1.5, p.RequestCores, 9);
        Assert.Equal(3.0, p.LimitCores!.Value, 9);
        Assert.Equal(["regular", "sidecar", "init"], p.Containers.Select(c => c.Kind));
    }

    [Fact]
    public void An_init_container_counts_with_the_sidecars_started_before_it_only()
    {
        var before = Pod([new("app", "100m", "100m")], [new("mesh", "200m", "200m", Sidecar: true), new("load", "2", "2")]);
        Assert.Equal(2.2, before.RequestCores, 9);
        Assert.Equal(2.2, before.LimitCores!.Value, 9);
        var after = Pod([new("app", "100m", "100m")], [new("load", "2", "2"), new("mesh", "200m", "200m", Sidecar: true)]);
        Assert.Equal(2.0, after.RequestCores, 9);
        Assert.Equal(2.0, after.LimitCores!.Value, 9);
    }

    [Fact]
    public void A_sidecar_without_a_limit_leaves_the_pod_without_one()
    {
        var p = Pod([new("app", "1", "1")], [new("mesh", "250m", null, Sidecar: true)], overhead: "100m");
        Assert.Equal(1.35, p.RequestCores, 9);
        Assert.Null(p.LimitCores);
    }

    [Fact]
    public void Classic_init_containers_count_by_the_largest_and_overhead_is_added()
    {
        var p = Pod([new("app", "500m", "1"), new("log", "100m", "200m")], [new("a", "800m", "800m"), new("b", "300m", "2")], overhead: "50m");
        Assert.Equal(0.85, p.RequestCores, 9);
        Assert.Equal(2.05, p.LimitCores!.Value, 9);
        Assert.Null(Pod([new("app", "500m", null)], []).LimitCores);
    }

    [Fact]
    public void Pod_level_resources_are_what_the_pod_gets()
    {
        var p = Pod([new("app", "1", null), new("log", null, null)], [], overhead: "100m", podLevel: new("pod", "2", "3"));
        Assert.Equal(2.1, p.RequestCores, 9);
        Assert.Equal(3.1, p.LimitCores!.Value, 9);
    }
}
