using System.Text.Json;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// Real throttling on this machine: a Kubernetes-shaped tree under the real v1 cpu and cpuacct
/// mounts, one container with a 0.2-core quota and a busy process, one unlimited and idle.
/// </summary>
public class RealThrottlingTests
{
    [Fact]
    public async Task Snapshot_sees_real_throttling_and_usage()
    {
        using var cgroups = new RealCgroups();
        var podUid = Guid.NewGuid().ToString();
        var busyCid = RealCgroups.NewContainerId();
        var idleCid = RealCgroups.NewContainerId();
        var busy = cgroups.Create($"kubepods/burstable/pod{podUid}/{busyCid}");
        var idle = cgroups.Create($"kubepods/burstable/pod{podUid}/{idleCid}");
        RealCgroups.SetQuota(busy, 20000);
        cgroups.StartBusy(busy);
        await Task.Delay(300);

        var (code, stdout, stderr) = await CliTests.Run("snapshot", "--format", "json", "--interval", "2s");
        Assert.True(code == 0, stderr);

        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(1, doc.RootElement.GetProperty("cgroupVersion").GetInt32());
        var containers = doc.RootElement.GetProperty("containers").EnumerateArray().ToList();
        var b = Assert.Single(containers, c => c.GetProperty("containerId").GetString() == busyCid);
        var i = Assert.Single(containers, c => c.GetProperty("containerId").GetString() == idleCid);

        Assert.Equal(podUid, b.GetProperty("podUid").GetString());
        Assert.Equal("burstable", b.GetProperty("qosClass").GetString());
        Assert.Equal(busy, b.GetProperty("cgroupPath").GetString());
        Assert.Equal(0.2, b.GetProperty("limitCores").GetDouble());
        var bd = b.GetProperty("delta");
        Assert.InRange(bd.GetProperty("throttledRatio").GetDouble(), 0.5, 1.0);
        // At most the 0.2-core quota; less when the other tests keep both cores busy.
        Assert.InRange(bd.GetProperty("usageCores").GetDouble(), 0.1, 0.25);
        // 10 periods a second over the ~2 s between its two readings; more when a busy machine stretches the sweeps.
        double elapsed = doc.RootElement.GetProperty("elapsedSeconds").GetDouble();
        Assert.InRange(bd.GetProperty("periods").GetUInt64(), 15UL, (ulong)(10 * (elapsed + 5)));
        Assert.True(bd.GetProperty("throttledSeconds").GetDouble() > 0.5, "a 1-core loop under a 0.2-core quota stalls ~80% of each period");

        Assert.Equal(JsonValueKind.Null, i.GetProperty("limitCores").ValueKind);
        var id = i.GetProperty("delta");
        Assert.Equal(0UL, id.GetProperty("throttledPeriods").GetUInt64());
        Assert.Equal(0.0, id.GetProperty("throttledSeconds").GetDouble());
        Assert.InRange(id.GetProperty("usageCores").GetDouble(), 0.0, 0.01);

        var pod = Assert.Single(doc.RootElement.GetProperty("pods").EnumerateArray(), p => p.GetProperty("podUid").GetString() == podUid);
        Assert.InRange(pod.GetProperty("delta").GetProperty("usageCores").GetDouble(), 0.1, 0.25);
    }
}

/// <summary>The agent on real throttled cgroups, scraped by a real Prometheus.</summary>
public class RealPrometheusTests
{
    [Fact]
    public async Task Prometheus_sees_the_throttled_ratio_and_the_peak()
    {
        using var cgroups = new RealCgroups();
        var podUid = Guid.NewGuid().ToString();
        string Cid() => RealCgroups.NewContainerId();
        var busyCid = Cid();
        var calmCid = Cid();
        var busy = cgroups.Create($"kubepods/burstable/pod{podUid}/{busyCid}");
        var calm = cgroups.Create($"kubepods/burstable/pod{podUid}/{calmCid}");
        RealCgroups.SetQuota(busy, 20000);   // 0.2 cores, a 1-core loop: throttled every period
        RealCgroups.SetQuota(calm, 50000);   // 0.5 cores, a process that wakes briefly: runs, never throttled
        cgroups.StartBusy(busy);
        cgroups.StartSleeper(calm);

        await using var agent = new AgentRunner("--interval", "500ms", "--node-name", "ci-node");
        await agent.WaitReadyAsync();
        await using var prometheus = new PrometheusServer([$"127.0.0.1:{agent.Port}"]);
        await prometheus.WaitReadyAsync();

        // Let Prometheus take about a dozen scrapes.
        await Task.Delay(TimeSpan.FromSeconds(13));
        await prometheus.PinAsync(targets: 1);
        string Ratio(string cid) =>
            $"sum(increase(throttlewatch_container_cpu_throttled_periods_total{{container_id=\"{cid}\"}}[10s])) / sum(increase(throttlewatch_container_cpu_periods_total{{container_id=\"{cid}\"}}[10s]))";

        var busyRatio = Assert.Single(await prometheus.QueryAsync(Ratio(busyCid))).Value;
        var calmRatio = Assert.Single(await prometheus.QueryAsync(Ratio(calmCid))).Value;
        Assert.InRange(busyRatio, 0.5, 1.0);
        Assert.Equal(0.0, calmRatio);

        var peak = Assert.Single(await prometheus.QueryAsync($"max_over_time(throttlewatch_container_cpu_throttled_ratio_peak{{container_id=\"{busyCid}\"}}[10s])")).Value;
        Assert.InRange(peak, 0.5, 1.0);
        var usage = Assert.Single(await prometheus.QueryAsync($"rate(throttlewatch_container_cpu_usage_seconds_total{{container_id=\"{busyCid}\"}}[10s])")).Value;
        // At most the 0.2-core quota; less when the other tests keep both cores busy.
        Assert.InRange(usage, 0.1, 0.25);
        var limit = Assert.Single(await prometheus.QueryAsync($"throttlewatch_container_cpu_limit_cores{{container_id=\"{busyCid}\"}}"));
        Assert.Equal(0.2, limit.Value);
        Assert.Equal("ci-node", limit.Labels["node"]);
        Assert.Equal(podUid, limit.Labels["pod_uid"]);
        Assert.Equal("burstable", limit.Labels["qos_class"]);
    }
}

/// <summary>The agent on a real cgroup whose limit is written while it runs, as the kubelet does on a resize.</summary>
public class RealLimitWatchTests
{
    private const string Limit = "throttlewatch_container_cpu_limit_cores";

    [Fact]
    public async Task A_limit_written_to_a_real_cgroup_is_exported_within_seconds_though_limits_are_polled_every_ten_minutes()
    {
        using var cgroups = new RealCgroups();
        var podUid = Guid.NewGuid().ToString();
        var cid = RealCgroups.NewContainerId();
        var container = cgroups.Create($"kubepods/burstable/pod{podUid}/{cid}");
        cgroups.StartSleeper(container);

        await using var agent = new AgentRunner("--interval", "500ms", "--config-interval", "10m", "--node-name", "ci-node");
        await agent.WaitReadyAsync();
        bool HasLimit(List<Sample> s) => s.Any(x => x.Name == Limit && x["container_id"] == cid);
        var found = await agent.ScrapeUntilAsync(s => s.Any(x => x.Name == "throttlewatch_container_cpu_usage_seconds_total" && x["container_id"] == cid));
        Assert.False(HasLimit(found));
        // The pod and the container at least (the machine's own cgroups too).
        Assert.InRange(found.Single(x => x.Name == "throttlewatch_agent_limits_watched").Value, 2, double.MaxValue);

        // The kernel's interface written, as the kubelet or the runtime would: exported at the next sweeps, not in ten minutes.
        RealCgroups.SetQuota(container, 30000);
        var limited = await agent.ScrapeUntilAsync(HasLimit, TimeSpan.FromSeconds(10));
        Assert.Equal(0.3, limited.Single(x => x.Name == Limit && x["container_id"] == cid).Value);

        RealCgroups.SetQuota(container, -1);
        await agent.ScrapeUntilAsync(s => !HasLimit(s), TimeSpan.FromSeconds(10));
    }
}
