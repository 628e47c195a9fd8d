using System.Diagnostics;
using System.Text;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>The exposition: promtool's lint, a golden file, churn, and which series exist.</summary>
public class ExportTests
{
    private static string GoldenPath => Path.Combine(Path.GetDirectoryName(Fixtures.Dir)!, "Golden", "v2-systemd-crio.prom");

    /// <summary>
    /// The exposition with the sweep-duration samples (timings) left out and each family's lines
    /// sorted: what a golden file can hold.
    /// </summary>
    private static string Normalise(string exposition)
    {
        var sb = new StringBuilder();
        var family = new List<string>();
        void Flush()
        {
            family.Sort(StringComparer.Ordinal);
            foreach (var l in family)
            {
                sb.Append(l).Append('\n');
            }
            family.Clear();
        }
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith('#'))
            {
                if (line.StartsWith("# HELP", StringComparison.Ordinal))
                {
                    Flush();
                }
                sb.Append(line).Append('\n');
            }
            else if (line.Length > 0 && !line.StartsWith(MetricCatalog.AgentSweepDuration, StringComparison.Ordinal))
            {
                family.Add(line);
            }
        }
        Flush();
        return sb.ToString();
    }

    private static AgentRunner StartOnFixture(string fixture, params string[] extra)
        => new(["--cgroup-root", Fixtures.Root(fixture), "--proc-root", Path.Combine(Fixtures.Dir, "proc"), "--node-name", "golden-node",
            "--interval", "100ms", "--config-interval", "100ms", .. extra]);

    [Fact]
    public async Task Exposition_matches_the_golden_file_and_passes_promtool()
    {
        await using var agent = StartOnFixture("v2-systemd-crio");
        await agent.WaitReadyAsync();
        await agent.ScrapeUntilAsync(s => s.Any(x => x.Name == MetricCatalog.ContainerPressureWaiting));
        var text = await agent.MetricsTextAsync();

        var promtool = Process.Start(new ProcessStartInfo("promtool", ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await promtool.StandardInput.WriteAsync(text);
        promtool.StandardInput.Close();
        var lint = await promtool.StandardError.ReadToEndAsync() + await promtool.StandardOutput.ReadToEndAsync();
        await promtool.WaitForExitAsync();
        Assert.True(promtool.ExitCode == 0, "promtool check metrics: " + lint);

        var actual = Normalise(text);
        if (Environment.GetEnvironmentVariable("THROTTLEWATCH_UPDATE_GOLDEN") == "1")
        {
            await File.WriteAllTextAsync(GoldenPath, actual);
        }
        var golden = await File.ReadAllTextAsync(GoldenPath);
        Assert.Equal(golden, actual);
    }

    [Fact]
    public async Task Throttling_series_exist_only_where_a_container_or_its_pod_has_a_quota()
    {
        var expected = Fixtures.LoadExpected("v1-cgroupfs-separate");
        await using var agent = StartOnFixture("v1-cgroupfs-separate");
        await agent.WaitReadyAsync();
        var s = await agent.ScrapeUntilAsync(x => x.Count(y => y.Name == MetricCatalog.ContainerUsageSeconds) == expected.Containers.Count);

        foreach (var c in expected.Containers)
        {
            var dir = Path.Combine(Fixtures.Root("v1-cgroupfs-separate"), "cpu") + c.CgroupPath;
            bool own = File.ReadAllText(Path.Combine(dir, "cpu.cfs_quota_us")).Trim() != "-1";
            bool pod = File.ReadAllText(Path.Combine(Path.GetDirectoryName(dir)!, "cpu.cfs_quota_us")).Trim() != "-1";
            bool hasThrottling = s.Any(x => x.Name == MetricCatalog.ContainerThrottledPeriods && x["container_id"] == c.ContainerId);
            Assert.Equal(own || pod, hasThrottling);
            Assert.Contains(s, x => x.Name == MetricCatalog.ContainerUsagePeak && x["container_id"] == c.ContainerId);
            Assert.Equal(c.QosClass, s.First(x => x.Name == MetricCatalog.ContainerUsageSeconds && x["container_id"] == c.ContainerId)["qos_class"]);
        }
        Assert.Contains(s, x => x.Name == MetricCatalog.NodeInfo && x["kernel_version"] == "6.8.0-49-generic" && x["cgroup_version"] == "1" && x["cgroup_driver"] == "cgroupfs");
        Assert.Contains(s, x => x.Name == MetricCatalog.NodeUsageSeconds && Math.Abs(x.Value - (84911 + 120 + 52481 + 0 + 567 + 0) / 100.0) < 1e-6);
        Assert.Contains(s, x => x.Name == MetricCatalog.AgentBuildInfo && x["version"].Length > 0);
        Assert.DoesNotContain(s, x => x.Name == MetricCatalog.ContainerPressureWaiting); // v1 has no PSI per cgroup
    }

    [Fact]
    public async Task A_quota_removed_takes_the_throttling_series_away_and_one_set_again_brings_them_back_with_the_kernels_values()
    {
        using var tree = Fixtures.CopyToTemp("v2-cgroupfs");
        var expected = Fixtures.LoadExpected("v2-cgroupfs");
        var limited = expected.Containers.First(c => !File.ReadAllText(tree.Path + c.CgroupPath + "/cpu.max").StartsWith("max", StringComparison.Ordinal));
        // No quota in its pod: the container's own decides whether it has throttling series.
        File.WriteAllText(Path.GetDirectoryName(tree.Path + limited.CgroupPath) + "/cpu.max", "max 100000\n");
        await using var agent = new AgentRunner("--cgroup-root", tree.Path, "--proc-root", "/nonexistent", "--interval", "100ms", "--config-interval", "100ms");
        await agent.WaitReadyAsync();
        string cpuMax = File.ReadAllText(tree.Path + limited.CgroupPath + "/cpu.max");
        bool Throttling(List<Sample> x) => x.Any(y => y.Name == MetricCatalog.ContainerThrottledPeriods && y["container_id"] == limited.ContainerId);
        await agent.ScrapeUntilAsync(Throttling);

        // The limit removed: its throttling series and its limit go; its usage stays.
        File.WriteAllText(tree.Path + limited.CgroupPath + "/cpu.max", "max 100000\n");
        var without = await agent.ScrapeUntilAsync(x => !Throttling(x));
        Assert.DoesNotContain(without, y => y.Name == MetricCatalog.ContainerLimitCores && y["container_id"] == limited.ContainerId);
        Assert.Contains(without, y => y.Name == MetricCatalog.ContainerUsageSeconds && y["container_id"] == limited.ContainerId);

        // Set again, with the kernel's counters moved on meanwhile: the series come back with them.
        string stat = File.ReadAllText(tree.Path + limited.CgroupPath + "/cpu.stat");
        var periods = System.Text.RegularExpressions.Regex.Match(stat, @"nr_periods (\d+)");
        ulong more = ulong.Parse(periods.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1000;
        File.WriteAllText(tree.Path + limited.CgroupPath + "/cpu.stat", stat.Replace(periods.Value, $"nr_periods {more}", StringComparison.Ordinal));
        File.WriteAllText(tree.Path + limited.CgroupPath + "/cpu.max", cpuMax);
        var again = await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.ContainerPeriods && y["container_id"] == limited.ContainerId && y.Value == more));
        Assert.True(Throttling(again));
        Assert.Single(again, y => y.Name == MetricCatalog.ContainerLimitCores && y["container_id"] == limited.ContainerId);
    }

    [Fact]
    public async Task Containers_that_come_and_go_leave_no_stale_series()
    {
        using var tree = Fixtures.CopyToTemp("v2-cgroupfs");
        var expected = Fixtures.LoadExpected("v2-cgroupfs");
        // Discovery every sweep: a settled pod's folder is then listed every 6 × 100 ms.
        await using var agent = new AgentRunner("--cgroup-root", tree.Path, "--proc-root", "/nonexistent", "--interval", "100ms", "--discovery-interval", "100ms");
        await agent.WaitReadyAsync();
        await agent.ScrapeUntilAsync(x => x.Count(y => y.Name == MetricCatalog.ContainerUsageSeconds) == expected.Containers.Count);

        var template = expected.Containers.First(c => !File.ReadAllText(tree.Path + c.CgroupPath + "/cpu.max").StartsWith("max", StringComparison.Ordinal));
        var newId = new string('f', 64);
        var newDir = Path.Combine(Path.GetDirectoryName(tree.Path + template.CgroupPath)!, newId);
        Directory.CreateDirectory(newDir);
        foreach (var f in Directory.GetFiles(tree.Path + template.CgroupPath))
        {
            File.Copy(f, Path.Combine(newDir, Path.GetFileName(f)));
        }
        await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.ContainerThrottledPeriods && y["container_id"] == newId));

        // The template and the new one go: every series of both goes, none of the others.
        Directory.Delete(newDir, true);
        Directory.Delete(tree.Path + template.CgroupPath, true);
        var after = await agent.ScrapeUntilAsync(x => !x.Any(y => y["container_id"] == newId || y["container_id"] == template.ContainerId));
        Assert.Equal(expected.Containers.Count - 1, after.Count(y => y.Name == MetricCatalog.ContainerUsageSeconds));
        Assert.Contains(after, y => y.Name == MetricCatalog.AgentContainers && y.Value == expected.Containers.Count - 1);
    }

    [Fact]
    public async Task Gzip_and_openmetrics_when_asked_and_only_get_on_known_paths()
    {
        await using var agent = StartOnFixture("v2-cgroupfs");
        await agent.WaitReadyAsync();
        using var gzip = new HttpRequestMessage(HttpMethod.Get, agent.Url + "/metrics");
        gzip.Headers.AcceptEncoding.ParseAdd("gzip");
        var r = await agent.Http.SendAsync(gzip);
        Assert.Equal("gzip", Assert.Single(r.Content.Headers.ContentEncoding));

        using var om = new HttpRequestMessage(HttpMethod.Get, agent.Url + "/metrics");
        om.Headers.Accept.ParseAdd("application/openmetrics-text; version=1.0.0");
        r = await agent.Http.SendAsync(om);
        Assert.StartsWith("application/openmetrics-text", r.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("# EOF\n", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, (await agent.Http.PostAsync(agent.Url + "/metrics", new StringContent(""))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await agent.Http.GetAsync(agent.Url + "/admin")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await agent.Http.GetAsync(agent.Url + "/healthz")).StatusCode);
    }
}
