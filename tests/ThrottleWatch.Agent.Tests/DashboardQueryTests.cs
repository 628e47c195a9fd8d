using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// Every panel query of every dashboard returns data: the real agent on real throttled cgroups (and a
/// second agent on a cgroup v2 fixture node for what v1 cannot give: pressure), names from a stand-in
/// Kubernetes API, scraped by a real Prometheus with the recording rules loaded. Each dashboard
/// query, template variables substituted, is evaluated through the Prometheus API.
/// </summary>
public class DashboardQueryTests(ITestOutputHelper output)
{
    private static string RepoRoot => Path.GetFullPath(Path.Combine(Fixtures.Dir, "..", "..", ".."));

    [Fact]
    public async Task Every_panel_query_returns_data()
    {
        using var cgroups = new RealCgroups();
        await using var api = new FakeKubeApi("ci-node");
        await api.StartAsync();
        using var dir = new TempTree();
        var kubeconfig = api.WriteKubeconfig(dir.Path);
        api.SetNode("2", "1900m", "ci-node");
        api.SetNode("8", "7800m", "fixture-node");
        api.AddObject("/apis/apps/v1/namespaces/shop/replicasets/web-7d9f8", PodJson.Owned("apps/v1", "ReplicaSet", "shop", "web-7d9f8", ("Deployment", "web")));

        // Real cgroups: a pod whose own quota (0.7) covers a throttled container (0.2, busy) and a calm one (0.5, sleeping).
        var podUid = Guid.NewGuid().ToString();
        string Cid() => RealCgroups.NewContainerId();
        var busyCid = Cid();
        var calmCid = Cid();
        var pod = cgroups.Create($"kubepods/burstable/pod{podUid}");
        RealCgroups.SetQuota(pod, 70000);
        var busy = cgroups.Create($"kubepods/burstable/pod{podUid}/{busyCid}");
        var calm = cgroups.Create($"kubepods/burstable/pod{podUid}/{calmCid}");
        RealCgroups.SetQuota(busy, 20000);
        RealCgroups.SetQuota(calm, 50000);
        cgroups.StartBusy(busy);
        cgroups.StartSleeper(calm);
        api.Upsert(PodJson.Pod("shop", "web-7d9f8-abcde", podUid, "ci-node", "Burstable",
            [new PodJson.C("app", busyCid, "100m", "200m"), new PodJson.C("sidecar", calmCid, "100m", "500m")], owner: ("ReplicaSet", "web-7d9f8")));

        // The v2 fixture node: its pods belong to the same workload, for the pressure panels.
        var fixture = Fixtures.LoadExpected("v2-systemd-crio");
        foreach (var group in fixture.Containers.GroupBy(c => c.PodUid))
        {
            var qos = fixture.Pods.Single(p => p.PodUid == group.Key).QosClass switch { "guaranteed" => "Guaranteed", "burstable" => "Burstable", _ => "BestEffort" };
            api.Upsert(PodJson.Pod("shop", "web-7d9f8-" + group.Key[..5], group.Key, "fixture-node", qos,
                group.Select((c, i) => new PodJson.C($"app{i}", c.ContainerId, "100m", "1")).ToList(), owner: ("ReplicaSet", "web-7d9f8")));
        }

        await using var agent = new AgentRunner("--interval", "500ms", "--config-interval", "1s", "--node-name", "ci-node", "--kubeconfig", kubeconfig);
        await using var fixtureAgent = new AgentRunner("--cgroup-root", Fixtures.Root("v2-systemd-crio"), "--proc-root", Path.Combine(Fixtures.Dir, "proc"),
            "--interval", "500ms", "--node-name", "fixture-node", "--kubeconfig", kubeconfig);
        await agent.WaitReadyAsync();
        await fixtureAgent.WaitReadyAsync();
        var rules = Path.Combine(RepoRoot, "deploy", "prometheus", "throttlewatch.rules.yaml");
        await using var prometheus = new PrometheusServer([$"127.0.0.1:{agent.Port}", $"127.0.0.1:{fixtureAgent.Port}"], File.Exists(rules) ? rules : null);
        await prometheus.WaitReadyAsync();
        await Task.Delay(TimeSpan.FromSeconds(14));
        await prometheus.PinAsync(targets: 2);

        var vars = new Dictionary<string, string>
        {
            ["$__rate_interval"] = "10s",
            ["$cluster"] = ".*",
            ["$namespace"] = "shop",
            ["$workload"] = "web",
            ["$node"] = "ci-node",
        };
        var failures = new List<string>();
        int checkedTargets = 0;
        foreach (var file in Directory.GetFiles(Path.Combine(RepoRoot, "dashboards"), "*.json").Order(StringComparer.Ordinal))
        {
            var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
            foreach (var panel in dashboard["panels"]!.AsArray())
            {
                if (panel!["type"]!.GetValue<string>() == "row")
                {
                    continue;
                }
                foreach (var target in panel["targets"]!.AsArray())
                {
                    var expr = target!["expr"]!.GetValue<string>();
                    foreach (var (k, v) in vars.OrderByDescending(kv => kv.Key.Length))
                    {
                        expr = expr.Replace(k, v, StringComparison.Ordinal);
                    }
                    var result = await prometheus.QueryAsync(expr);
                    checkedTargets++;
                    var sources = result.Select(r => r.Labels.GetValueOrDefault("node") switch
                    {
                        "ci-node" => "real cgroups (ci-node)",
                        "fixture-node" => "v2 fixture (fixture-node)",
                        _ => "aggregate",
                    }).Distinct().Order();
                    var line = $"{Path.GetFileName(file)} / {panel["title"]} / {target["refId"]}: {result.Count} series from {string.Join(", ", sources)}";
                    output.WriteLine(line);
                    if (result.Count == 0)
                    {
                        failures.Add(line + "\n    " + expr);
                    }
                }
            }
        }
        Assert.True(checkedTargets > 20, $"only {checkedTargets} targets");
        Assert.True(failures.Count == 0, "panels without data:\n" + string.Join("\n", failures));
    }
}
