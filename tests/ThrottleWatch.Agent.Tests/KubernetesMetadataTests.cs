using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// The agent against a stand-in API server speaking the real list/watch protocol, on a copy of a
/// systemd/containerd node fixture: names fill in, update and go, and export never stops.
/// </summary>
#pragma warning disable CA1001 // disposed by IAsyncLifetime
public sealed class KubernetesMetadataTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private const string Node = "node-1";
    private readonly TempTree _tree = Fixtures.CopyToTemp("v1-systemd-combined");
    private readonly Expected _expected = Fixtures.LoadExpected("v1-systemd-combined");
    private FakeKubeApi _api = null!;
    private string _kubeconfig = "";

    public async Task InitializeAsync()
    {
        _api = new FakeKubeApi(Node);
        await _api.StartAsync();
        _kubeconfig = _api.WriteKubeconfig(_tree.Path);
        _api.SetNode("8", "7800m");
        _api.AddObject("/apis/apps/v1/namespaces/shop/replicasets/web-7d9f8", PodJson.Owned("apps/v1", "ReplicaSet", "shop", "web-7d9f8", ("Deployment", "web")));
        _api.AddObject("/apis/batch/v1/namespaces/batch/jobs/report-28930", PodJson.Owned("batch/v1", "Job", "batch", "report-28930", ("CronJob", "report")));
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _tree.Dispose();
    }

    /// <summary>
    /// Pods for the fixture's pods: per pod, the first container leaf is the sandbox (in no status
    /// list), the others are app containers; the static pod's mirror has another UID and the hash.
    /// </summary>
    private List<(string Namespace, System.Text.Json.Nodes.JsonObject Pod, List<string> AppIds, string SandboxId)> BuildPods()
    {
        var result = new List<(string, System.Text.Json.Nodes.JsonObject, List<string>, string)>();
        int i = 0;
        foreach (var pod in _expected.Pods)
        {
            var leaves = _expected.Containers.Where(c => c.PodUid == pod.PodUid).Select(c => c.ContainerId).ToList();
            var sandbox = leaves[0];
            var apps = leaves.Skip(1).ToList();
            bool isStatic = pod.PodUid.Length == 32;
            var qos = pod.QosClass switch { "guaranteed" => "Guaranteed", "burstable" => "Burstable", _ => "BestEffort" };
            var containers = apps.Select((id, n) => new PodJson.C($"app{n}", id, qos == "BestEffort" ? null : "250m", qos == "Guaranteed" ? "250m" : null,
                AppliedRequestCpu: i == 1 && n == 0 ? "400m" : null)).ToList();
            (string, string)? owner = isStatic ? ("Node", Node) : i switch { 0 => ("ReplicaSet", "web-7d9f8"), 1 => ("Job", "report-28930"), 2 => ("StatefulSet", "db"), _ => null };
            string ns = isStatic ? "kube-system" : i switch { 0 => "shop", 1 => "batch", 2 => "data", _ => "default" };
            var uid = isStatic ? Guid.NewGuid().ToString() : pod.PodUid;
            var json = PodJson.Pod(ns, isStatic ? "etcd-node-1" : $"pod{i}", uid, Node, qos, containers,
                init: i == 2 ? [new PodJson.C("init-schema", null, "100m", "100m")] : null,
                owner: owner, configHash: isStatic ? pod.PodUid : null);
            result.Add((ns, json, apps, sandbox));
            if (!isStatic)
            {
                i++;
            }
        }
        return result;
    }

    [Fact]
    public async Task Names_fill_in_when_the_api_answers_update_and_go_while_export_continues()
    {
        _api.FailWith = 503; // the API is down at start
        _api.HonourFieldSelector = false; // and sends other nodes' pods: the agent must filter them itself
        var pods = BuildPods();
        foreach (var p in pods)
        {
            _api.Upsert(p.Pod);
        }
        // A pod of another node, which a server that ignores the field selector might send.
        _api.Upsert(PodJson.Pod("other", "elsewhere", Guid.NewGuid().ToString(), "node-2", "BestEffort", [new PodJson.C("x", new string('e', 64))]));

        await using var agent = new AgentRunner("--cgroup-root", _tree.Path, "--proc-root", "/nonexistent", "--kubeconfig", _kubeconfig,
            "--node-name", Node, "--interval", "200ms", "--config-interval", "200ms");

        // Down: no names yet, but every container is exported by pod_uid and container_id.
        var down = await agent.ScrapeUntilAsync(s => s.Any(x => x.Name == MetricCatalog.ContainerUsageSeconds));
        Assert.Contains(down, s => s.Name == MetricCatalog.AgentKubernetesUp && s.Value == 0);
        var usage = down.Where(s => s.Name == MetricCatalog.ContainerUsageSeconds).ToList();
        Assert.Equal(_expected.Containers.Count, usage.Count);
        Assert.All(usage, s => Assert.Equal("", s["namespace"]));
        Assert.All(usage, s => Assert.NotEqual("", s["container_id"]));
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await agent.Http.GetAsync(agent.Url + "/readyz")).StatusCode);

        // Up: names fill in; sandboxes disappear; workloads resolved through their owners.
        _api.FailWith = null;
        var named = await agent.ScrapeUntilAsync(s => s.Any(x => x.Name == MetricCatalog.AgentKubernetesUp && x.Value == 1)
            && s.Where(x => x.Name == MetricCatalog.ContainerUsageSeconds).All(x => x["namespace"] != ""), TimeSpan.FromSeconds(30));
        await agent.WaitReadyAsync();
        usage = named.Where(s => s.Name == MetricCatalog.ContainerUsageSeconds).ToList();
        Assert.Equal(pods.Sum(p => p.AppIds.Count), usage.Count);
        Assert.DoesNotContain(usage, s => pods.Any(p => p.SandboxId == s["container_id"]));

        var web = usage.Where(s => s["namespace"] == "shop").ToList();
        Assert.NotEmpty(web);
        Assert.All(web, s => Assert.Equal(("Deployment", "web"), (s["workload_kind"], s["workload"])));
        Assert.Contains(usage, s => s["namespace"] == "batch" && s["workload_kind"] == "CronJob" && s["workload"] == "report");
        Assert.Contains(usage, s => s["namespace"] == "data" && s["workload_kind"] == "StatefulSet" && s["workload"] == "db");
        var staticPod = Assert.Single(usage.Where(s => s["pod"] == "etcd-node-1").Select(s => s["pod_uid"]).Distinct());
        Assert.Equal(32, staticPod.Length); // matched through kubernetes.io/config.hash: the cgroup's UID stays
        Assert.Contains(usage, s => s["pod"] == "etcd-node-1" && s["workload_kind"] == "Node"); // a mirror pod's owner is its Node
        Assert.Contains(usage, s => s["namespace"] == "default" && s["workload_kind"] == "Pod" && s["workload"] == "pod3"); // a bare pod

        // Requests: the resized container reports the applied request from its status.
        var requests = named.Where(s => s.Name == MetricCatalog.ContainerRequestCores).ToList();
        Assert.Contains(requests, s => s["namespace"] == "batch" && s["container"] == "app0" && s.Value == 0.4);
        Assert.Contains(named, s => s.Name == MetricCatalog.NodeCapacity && s.Value == 8);
        Assert.Contains(named, s => s.Name == MetricCatalog.NodeAllocatable && s.Value == 7.8);
        Assert.Contains(named, s => s.Name == MetricCatalog.NodeRequests && s.Value > 0);
        int ownerGets = _api.OwnerGets;

        // Watch: a pod deleted loses its names (its containers fall back to ids), a new version renames.
        var victim = pods.Single(p => p.Namespace == "data");
        _api.Delete(victim.Pod["metadata"]!["uid"]!.GetValue<string>());
        var afterDelete = await agent.ScrapeUntilAsync(s => s.Where(x => x.Name == MetricCatalog.ContainerUsageSeconds && victim.AppIds.Contains(x["container_id"])).All(x => x["namespace"] == ""));
        Assert.DoesNotContain(afterDelete, s => s.Name == MetricCatalog.ContainerUsageSeconds && s["namespace"] == "data");

        _api.SendBookmark();
        var renamed = pods.Single(p => p.Namespace == "default").Pod;
        renamed["metadata"]!["labels"]!["version"] = "2";
        _api.Upsert(renamed);

        // The server ends the watch; then it answers the next watch with 410 Gone: the agent lists again.
        int lists = _api.ListCount;
        _api.ExpireNextWatch = true;
        _api.DropWatches();
        await WaitFor(() => _api.ListCount > lists && _api.OpenWatches > 0, "a re-list after 410 Gone and a new watch");

        // Malformed events are skipped, the watch goes on.
        _api.Broadcast("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":");
        _api.Upsert(victim.Pod);
        await agent.ScrapeUntilAsync(s => s.Any(x => x.Name == MetricCatalog.ContainerUsageSeconds && x["namespace"] == "data"));
        Assert.Equal(ownerGets, _api.OwnerGets); // owners were cached, never fetched again
        Assert.True(_api.ListCount <= lists + 3, $"no tight re-list loop: {_api.ListCount - lists} lists");

        // Down mid-run: export continues, names stay, the metric says so.
        _api.FailWith = 500;
        _api.DropWatches();
        var midDown = await agent.ScrapeUntilAsync(s => s.Any(x => x.Name == MetricCatalog.AgentKubernetesUp && x.Value == 0));
        Assert.Contains(midDown, s => s.Name == MetricCatalog.ContainerUsageSeconds && s["namespace"] == "shop");
        // The agent's log is captured (it says the API went away), and the token is not in it.
        Assert.Contains("Kubernetes API unavailable", agent.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token-never-logged", agent.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token-never-logged", await agent.MetricsTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_container_started_in_a_running_pod_is_found_when_the_api_reports_it()
    {
        var pods = BuildPods();
        foreach (var p in pods)
        {
            _api.Upsert(p.Pod);
        }
        // Discovery only at start: from then on, only what the API reports makes a pod's folder listed.
        await using var agent = new AgentRunner("--cgroup-root", _tree.Path, "--proc-root", "/nonexistent", "--kubeconfig", _kubeconfig,
            "--node-name", Node, "--interval", "200ms", "--discovery-interval", "1h");
        await agent.ScrapeUntilAsync(s => s.Any(x => x.Name == MetricCatalog.ContainerUsageSeconds && x["namespace"] == "shop"), TimeSpan.FromSeconds(30));

        // The kubelet starts a container in the running pod: its cgroup appears (a copy of a sibling's files)...
        var shop = pods.Single(p => p.Namespace == "shop");
        Assert.True(Agent.Cgroups.CgroupHierarchy.TryDetect(_tree.Path, "/nonexistent-proc", out var h, out _));
        var sibling = _expected.Containers.Single(c => c.ContainerId == shop.AppIds[0]);
        var siblingDir = Path.Combine(h!.CpuRoot, sibling.CgroupPath.TrimStart('/'));
        var newId = new string('f', 64);
        var newDir = Path.Combine(Path.GetDirectoryName(siblingDir)!, Path.GetFileName(siblingDir).Replace(sibling.ContainerId, newId, StringComparison.Ordinal));
        Directory.CreateDirectory(newDir);
        foreach (var f in Directory.GetFiles(siblingDir))
        {
            File.Copy(f, Path.Combine(newDir, Path.GetFileName(f)));
        }
        // ...which no discovery lists until the API says so.
        for (int i = 0; i < 5; i++)
        {
            await Task.Delay(200);
            Assert.DoesNotContain(await agent.ScrapeAsync(), x => x.Name == MetricCatalog.ContainerUsageSeconds && x["container_id"] == newId);
        }

        // The pod's status now lists it (a MODIFIED event): the pod's folder is listed at the next sweep.
        var modified = (System.Text.Json.Nodes.JsonObject)shop.Pod.DeepClone();
        modified["spec"]!["containers"]!.AsArray().Add(new System.Text.Json.Nodes.JsonObject { ["name"] = "late", ["image"] = "registry.example/late:1.0" });
        var status = (System.Text.Json.Nodes.JsonObject)modified["status"]!["containerStatuses"]!.AsArray()[0]!.DeepClone();
        status["name"] = "late";
        status["containerID"] = "containerd://" + newId;
        modified["status"]!["containerStatuses"]!.AsArray().Add(status);
        _api.Upsert(modified);
        var found = await agent.ScrapeUntilAsync(s => s.Any(x => x.Name == MetricCatalog.ContainerUsageSeconds && x["container_id"] == newId), TimeSpan.FromSeconds(30));
        Assert.Contains(found, x => x.Name == MetricCatalog.ContainerUsageSeconds && x["container_id"] == newId && x["container"] == "late" && x["namespace"] == "shop");
    }

    [Fact]
    public async Task A_limit_added_by_a_resize_is_read_at_the_sweep_after_the_apis_event_while_the_poll_of_unlimited_quotas_slows()
    {
        var pods = BuildPods();
        var shop = pods.Single(p => p.Namespace == "shop");
        Assert.True(Agent.Cgroups.CgroupHierarchy.TryDetect(_tree.Path, "/nonexistent-proc", out var h, out _));
        var app = _expected.Containers.Single(c => c.ContainerId == shop.AppIds[0]);
        var appDir = Path.Combine(h!.CpuRoot, app.CgroupPath.TrimStart('/'));
        // No quota in the container or its pod: the quota is polled for one that appears (a resize that adds a limit).
        File.WriteAllText(Path.Combine(appDir, "cpu.cfs_quota_us"), "-1\n");
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(appDir)!, "cpu.cfs_quota_us"), "-1\n");
        foreach (var p in pods)
        {
            _api.Upsert(p.Pod);
        }
        // --config-interval 5s: without the API every quota is read every 5 s; with it a quota where there was
        // none is read every sixth round (30 s) or after an event for its pod. The quota files are not watched
        // (a write would be read at the next sweep: RealLimitWatchTests): only the API's events tell.
        await using var agent = new AgentRunner("--cgroup-root", _tree.Path, "--proc-root", "/nonexistent", "--kubeconfig", _kubeconfig,
            "--node-name", Node, "--interval", "200ms", "--config-interval", "5s", "--watch-limits", "false");
        await agent.ScrapeUntilAsync(s => s.Any(x => x.Name == MetricCatalog.ContainerUsageSeconds && x["container_id"] == app.ContainerId && x["namespace"] == "shop"), TimeSpan.FromSeconds(30));

        // The list counted as a change to every pod: their configuration is read at the next sweep. Let it pass.
        await Task.Delay(TimeSpan.FromSeconds(1));
        // The kubelet applies a 500m limit: the file changes, no event yet. More than one --config-interval passes unseen.
        File.WriteAllText(Path.Combine(appDir, "cpu.cfs_quota_us"), "50000\n");
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(6);
        while (DateTime.UtcNow < until)
        {
            Assert.DoesNotContain(await agent.ScrapeAsync(), x => x.Name == MetricCatalog.ContainerLimitCores && x["container_id"] == app.ContainerId);
            await Task.Delay(500);
        }

        // Its status reports the resize (a MODIFIED event): the limit is read at the next sweep, long before the 30 s round.
        var resized = (System.Text.Json.Nodes.JsonObject)shop.Pod.DeepClone();
        var status = resized["status"]!["containerStatuses"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "app0")!;
        status["resources"] = new System.Text.Json.Nodes.JsonObject { ["limits"] = new System.Text.Json.Nodes.JsonObject { ["cpu"] = "500m" } };
        _api.Upsert(resized);
        var seen = await agent.ScrapeUntilAsync(s => s.Any(x => x.Name == MetricCatalog.ContainerLimitCores && x["container_id"] == app.ContainerId), TimeSpan.FromSeconds(8));
        Assert.Equal(0.5, seen.Single(x => x.Name == MetricCatalog.ContainerLimitCores && x["container_id"] == app.ContainerId).Value);
    }

    [Fact]
    public async Task Excluded_namespaces_are_dropped_once_named()
    {
        foreach (var p in BuildPods())
        {
            _api.Upsert(p.Pod);
        }
        await using var agent = new AgentRunner("--cgroup-root", _tree.Path, "--proc-root", "/nonexistent", "--kubeconfig", _kubeconfig,
            "--node-name", Node, "--interval", "200ms", "--exclude-namespaces", "kube-system, batch");
        await agent.WaitReadyAsync();
        var s = await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.ContainerUsageSeconds && y["namespace"] == "shop"));
        Assert.DoesNotContain(s, x => x["namespace"] is "kube-system" or "batch");
        Assert.Contains(s, x => x["namespace"] == "data");
    }

    [Fact]
    public async Task A_slow_or_garbled_server_delays_names_but_never_export()
    {
        foreach (var p in BuildPods())
        {
            _api.Upsert(p.Pod);
        }
        _api.MalformedLists = true;
        await using var agent = new AgentRunner("--cgroup-root", _tree.Path, "--proc-root", "/nonexistent", "--kubeconfig", _kubeconfig,
            "--node-name", Node, "--interval", "200ms");
        // Garbled lists: exported without names, not ready, the metadata metric says why.
        var s = await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.ContainerUsageSeconds));
        Assert.All(s.Where(y => y.Name == MetricCatalog.ContainerUsageSeconds), y => Assert.Equal("", y["namespace"]));
        Assert.Contains(s, y => y.Name == MetricCatalog.AgentKubernetesUp && y.Value == 0);

        // Then a slow but sound server: names arrive once it answers; scrapes never waited for it.
        _api.ListDelay = TimeSpan.FromSeconds(2);
        _api.MalformedLists = false;
        var started = DateTime.UtcNow;
        while (DateTime.UtcNow - started < TimeSpan.FromSeconds(1))
        {
            var quick = System.Diagnostics.Stopwatch.StartNew();
            await agent.ScrapeAsync();
            Assert.True(quick.Elapsed < TimeSpan.FromSeconds(1), "a scrape waited on the API");
        }
        await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.ContainerUsageSeconds && y["namespace"] == "shop"), TimeSpan.FromSeconds(30));
        await agent.WaitReadyAsync();
    }

    [Fact]
    public async Task A_stalled_watch_is_cut_and_resumed_without_losing_events()
    {
        var pods = BuildPods();
        var late = pods.Single(p => p.Namespace == "data");
        foreach (var p in pods.Where(p => p != late))
        {
            _api.Upsert(p.Pod);
        }
        await using var agent = new AgentRunner("--cgroup-root", _tree.Path, "--proc-root", "/nonexistent", "--kubeconfig", _kubeconfig,
            "--node-name", Node, "--interval", "200ms", "--watch-timeout", "2s");
        await agent.WaitReadyAsync();
        await WaitFor(() => _api.OpenWatches > 0, "a watch");

        // The next watch stalls: open, silent, never ending. The pod added meanwhile must still arrive.
        _api.StallWatches = true;
        _api.DropWatches();
        int watches = _api.WatchCount;
        await WaitFor(() => _api.WatchCount > watches, "the stalled watch to open");
        _api.Upsert(late.Pod);
        _api.StallWatches = false;
        var named = await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.ContainerUsageSeconds && y["namespace"] == "data"), TimeSpan.FromSeconds(20));
        Assert.Contains(named, y => y.Name == MetricCatalog.AgentKubernetesUp && y.Value == 1);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task Unauthorized_or_forbidden_exports_without_names_until_the_api_answers(int status)
    {
        foreach (var p in BuildPods())
        {
            _api.Upsert(p.Pod);
        }
        _api.FailWith = status;
        await using var agent = new AgentRunner("--cgroup-root", _tree.Path, "--proc-root", "/nonexistent", "--kubeconfig", _kubeconfig,
            "--node-name", Node, "--interval", "200ms");
        var s = await agent.ScrapeUntilAsync(x => x.Count(y => y.Name == MetricCatalog.ContainerUsageSeconds) == _expected.Containers.Count);
        Assert.All(s.Where(y => y.Name == MetricCatalog.ContainerUsageSeconds), y => Assert.Equal("", y["namespace"]));
        Assert.Contains(s, y => y.Name == MetricCatalog.AgentKubernetesUp && y.Value == 0);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await agent.Http.GetAsync(agent.Url + "/readyz")).StatusCode);
        _api.FailWith = null;
        await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.ContainerUsageSeconds && y["namespace"] == "shop"), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_server_that_lists_but_refuses_every_watch_is_not_relisted_every_second()
    {
        foreach (var p in BuildPods())
        {
            _api.Upsert(p.Pod);
        }
        _api.FailWatchesWith = 403;
        await using var agent = new AgentRunner("--cgroup-root", _tree.Path, "--proc-root", "/nonexistent", "--kubeconfig", _kubeconfig,
            "--node-name", Node, "--interval", "200ms");
        await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.ContainerUsageSeconds && y["namespace"] == "shop"));
        await Task.Delay(TimeSpan.FromSeconds(8));
        // Backoff 1, 2, 4 s (+ jitter) between the lists: at most 4 in those 8 s and the first, never 9.
        Assert.InRange(_api.ListCount, 2, 5);
        var s = await agent.ScrapeAsync();
        Assert.Contains(s, y => y.Name == MetricCatalog.ContainerUsageSeconds && y["namespace"] == "shop"); // names kept meanwhile
    }

    [Fact]
    public async Task Ten_thousand_pods_in_one_list()
    {
        foreach (var p in BuildPods())
        {
            _api.Upsert(p.Pod);
        }
        for (int i = 0; i < 10_000; i++)
        {
            _api.Upsert(PodJson.Pod("bulk", $"bulk-{i}", Guid.NewGuid().ToString(), Node, "BestEffort",
                [new PodJson.C("app", RealCgroups.NewContainerId())]));
        }
        await using var agent = new AgentRunner("--cgroup-root", _tree.Path, "--proc-root", "/nonexistent", "--kubeconfig", _kubeconfig,
            "--node-name", Node, "--interval", "200ms");
        await agent.WaitReadyAsync(TimeSpan.FromSeconds(60));
        var s = await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.ContainerUsageSeconds && y["namespace"] == "shop"), TimeSpan.FromSeconds(30));
        // Only the node's cgroups become series: the list's 10,000 other pods add none.
        Assert.DoesNotContain(s, y => y["namespace"] == "bulk");
        Assert.Contains(s, y => y.Name == MetricCatalog.NodeRequests);
        Assert.Equal(1, _api.ListCount);
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException(what);
            }
            await Task.Delay(50);
        }
    }
}
