using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Commands;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Export;
using ThrottleWatch.Agent.Hosting;
using ThrottleWatch.Agent.Metadata;
using ThrottleWatch.Agent.Sampling;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// <c>throttlewatch-agent record</c>: an OpenMetrics recording with the same series as <c>/metrics</c>,
/// that promtool backfills; the flags; Ctrl+C; the spool.
/// </summary>
public class RecordTests
{
    private static string ProcRoot => Path.Combine(Fixtures.Dir, "proc");

    [Fact]
    public async Task Records_a_fixture_node_as_openmetrics_that_promtool_backfills_with_the_series_of_metrics()
    {
        using var tree = Fixtures.CopyToTemp("v1-cgroupfs-separate");
        using var folder = new TempTree();
        var expected = Fixtures.LoadExpected("v1-cgroupfs-separate");
        // One container throttles while the recording runs: its counters grow between the sweeps.
        var hot = expected.Containers.First(c => File.ReadAllText(tree.Path + "/cpu" + c.CgroupPath + "/cpu.cfs_quota_us").Trim() != "-1");
        var stat = tree.Path + "/cpu" + hot.CgroupPath + "/cpu.stat";
        var usage = tree.Path + "/cpuacct" + hot.CgroupPath + "/cpuacct.usage";
        // The other keys (nr_bursts, burst_time) stay: the same series exist before and after the rewrites.
        var others = File.ReadAllLines(stat).Where(l => l.Length > 0 && l.Split(' ')[0] is not ("nr_periods" or "nr_throttled" or "throttled_time")).ToList();
        using var cancel = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (ulong i = 1; !cancel.IsCancellationRequested; i++)
            {
                File.WriteAllText(stat, $"nr_periods {1000 + i * 10}\nnr_throttled {900 + i * 9}\nthrottled_time {i * 500_000_000}\n" + string.Join("", others.Select(l => l + "\n")));
                File.WriteAllText(usage, $"{i * 200_000_000}\n");
                await Task.Delay(20);
            }
        });
        var file = Path.Combine(folder.Path, "node.om");
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var (code, stdout, stderr) = await CliTests.Run("record", "--cgroup-root", tree.Path, "--proc-root", ProcRoot, "--node-name", "rec-node",
            "--duration", "3s", "--interval", "200ms", "--step", "500ms", "--out", file);
        long after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await cancel.CancelAsync();
        await writer;

        Assert.True(code == 0, stderr);
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("recording node rec-node", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("recorded ", lines[1], StringComparison.Ordinal);
        // The file, and nothing else: no temporary file, no spool.
        Assert.Equal(["node.om"], Directory.EnumerateFileSystemEntries(folder.Path).Select(Path.GetFileName));

        var text = await File.ReadAllTextAsync(file);
        Assert.EndsWith("\n# EOF\n", text, StringComparison.Ordinal);
        var rec = Recording.Parse(text); // checks the structure: families, series and points not interleaved, time order
        Assert.Contains($"{rec.Points.Count:N0} samples of {rec.Series.Count:N0} series", lines[1], StringComparison.Ordinal);

        // Names, types and label names are the catalog's; no histogram.
        foreach (var (family, type) in rec.Families)
        {
            var m = MetricCatalog.All.Single(x => x.Name == family || x.Name == family + "_total");
            Assert.Equal(m.Type == MetricType.Counter ? "counter" : "gauge", type);
        }
        Assert.DoesNotContain(rec.Families, f => f.Name.StartsWith(MetricCatalog.AgentSweepDuration, StringComparison.Ordinal));
        foreach (var p in rec.Points)
        {
            Assert.Equal(MetricCatalog.LabelsOf(MetricCatalog.Get(p.Name)), p.Labels.Keys);
            Assert.InRange(p.TimestampMs, before, after);
        }
        Assert.Contains(rec.Points, p => p.Name == MetricCatalog.ContainerUsageSeconds
            && p.Labels.Keys.SequenceEqual(MetricCatalog.ContainerLabels) && p["node"] == "rec-node");

        // Counters never decrease within a series; each series' time increases (checked by Parse).
        foreach (var series in rec.Series.Where(s => s.Key.StartsWith("throttlewatch_", StringComparison.Ordinal) && s.Value[0].Name.EndsWith("_total", StringComparison.Ordinal)))
        {
            for (int i = 1; i < series.Value.Count; i++)
            {
                Assert.True(series.Value[i].Value >= series.Value[i - 1].Value, $"{series.Key} decreased");
            }
        }

        // A sample every step: 3 s at 500 ms steps, the first one interval after the start.
        var steps = rec.Points.Select(p => p.TimestampMs).Distinct().Order().ToList();
        Assert.InRange(steps.Count, 4, 10);
        Assert.All(steps.Zip(steps.Skip(1)), s => Assert.True(s.Second - s.First >= 100, $"steps {s.First} and {s.Second} are too close"));

        // Every container has usage at every step; the hot one's throttling grows.
        foreach (var c in expected.Containers)
        {
            var points = rec.Points.Where(p => p.Name == MetricCatalog.ContainerUsageSeconds && p["container_id"] == c.ContainerId).ToList();
            Assert.Equal(steps.Count, points.Count);
            Assert.Equal(c.QosClass, points[0]["qos_class"]);
        }
        var throttled = rec.Points.Where(p => p.Name == MetricCatalog.ContainerThrottledPeriods && p["container_id"] == hot.ContainerId).ToList();
        Assert.Equal(steps.Count, throttled.Count);
        Assert.True(throttled[^1].Value > throttled[0].Value, $"throttled periods did not grow: {throttled[0].Value} .. {throttled[^1].Value}");
        var hotUsage = rec.Points.Where(p => p.Name == MetricCatalog.ContainerUsageSeconds && p["container_id"] == hot.ContainerId).ToList();
        Assert.True(hotUsage[^1].Value > hotUsage[0].Value);

        // The series are those a scrape of /metrics gives on the same node (the histogram aside).
        await using (var agent = new AgentRunner("--cgroup-root", tree.Path, "--proc-root", ProcRoot, "--node-name", "rec-node", "--interval", "100ms"))
        {
            await agent.WaitReadyAsync();
            var scrape = await agent.ScrapeUntilAsync(x => x.Count(y => y.Name == MetricCatalog.ContainerUsageSeconds) == expected.Containers.Count
                && x.Any(y => y.Name == MetricCatalog.NodeUsageSeconds));
            var live = scrape.Where(s => !s.Name.StartsWith(MetricCatalog.AgentSweepDuration, StringComparison.Ordinal))
                .Select(s => Recording.Key(s.Name, s.Labels)).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(live, rec.Series.Keys.Order(StringComparer.Ordinal).ToList());
        }

        // Prometheus reads it: promtool backfills every sample of every series into a block.
        using var tsdb = new TempTree();
        var (exit, output) = await Promtool("tsdb", "create-blocks-from", "openmetrics", file, tsdb.Path);
        Assert.True(exit == 0, "promtool: " + output);
        // One block, or two when the recording crossed a two-hour boundary (promtool cuts blocks there: it failed so once at 00:00 UTC).
        var metas = Directory.GetFiles(tsdb.Path, "meta.json", SearchOption.AllDirectories);
        Assert.InRange(metas.Length, 1, 2);
        var stats = new List<(long Samples, long Series)>();
        foreach (var meta in metas)
        {
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(meta));
            var s = doc.RootElement.GetProperty("stats");
            stats.Add((s.GetProperty("numSamples").GetInt64(), s.GetProperty("numSeries").GetInt64()));
        }
        Assert.Equal(rec.Points.Count, stats.Sum(x => x.Samples));
        // Every series in the one block; over two, each block holds some, and together at least all of them.
        if (stats.Count == 1)
        {
            Assert.Equal(rec.Series.Count, stats[0].Series);
        }
        else
        {
            Assert.All(stats, x => Assert.InRange(x.Series, 1, rec.Series.Count));
            Assert.True(stats.Sum(x => x.Series) >= rec.Series.Count);
        }
    }

    /// <summary>
    /// The fixture's pods as the API serves them: per pod, the first leaf is the sandbox (in no
    /// status; returned), the others app containers; the first pod's namespace is "skip-me", the
    /// static pod's mirror (kube-system/etcd-node-1) has another UID and the config hash.
    /// </summary>
    internal static List<string> ServeFixturePods(FakeKubeApi api, Expected expected, string node)
    {
        var sandboxes = new List<string>();
        int i = 0;
        foreach (var pod in expected.Pods)
        {
            var leaves = expected.Containers.Where(c => c.PodUid == pod.PodUid).Select(c => c.ContainerId).ToList();
            sandboxes.Add(leaves[0]);
            bool isStatic = pod.PodUid.Length == 32;
            var qos = pod.QosClass switch { "guaranteed" => "Guaranteed", "burstable" => "Burstable", _ => "BestEffort" };
            var containers = leaves.Skip(1).Select((id, n) => new PodJson.C($"app{n}", id, qos == "BestEffort" ? null : "250m", qos == "Guaranteed" ? "250m" : null)).ToList();
            string ns = isStatic ? "kube-system" : i++ == 0 ? "skip-me" : "shop";
            api.Upsert(PodJson.Pod(ns, isStatic ? "etcd-node-1" : $"pod{i}", isStatic ? Guid.NewGuid().ToString() : pod.PodUid, node, qos, containers,
                configHash: isStatic ? pod.PodUid : null));
        }
        return sandboxes;
    }

    [Fact]
    public async Task With_the_api_series_carry_names_from_the_first_sample_as_metrics_gives_them()
    {
        const string node = "node-1";
        using var tree = Fixtures.CopyToTemp("v1-cgroupfs-separate");
        using var folder = new TempTree();
        var expected = Fixtures.LoadExpected("v1-cgroupfs-separate");
        await using var api = new FakeKubeApi(node);
        await api.StartAsync();
        var kubeconfig = api.WriteKubeconfig(folder.Path);
        api.SetNode("8", "7800m");
        var sandboxes = ServeFixturePods(api, expected, node);
        string[] common = ["--cgroup-root", tree.Path, "--proc-root", ProcRoot, "--kubeconfig", kubeconfig, "--node-name", node, "--exclude-namespaces", "skip-me"];

        var file = Path.Combine(folder.Path, "node.om");
        var (code, _, stderr) = await CliTests.Run(["record", .. common, "--duration", "1s", "--interval", "100ms", "--step", "200ms", "--out", file]);
        Assert.True(code == 0, stderr);
        var rec = Recording.Parse(await File.ReadAllTextAsync(file));

        var usage = rec.Points.Where(p => p.Name == MetricCatalog.ContainerUsageSeconds).ToList();
        Assert.NotEmpty(usage);
        Assert.All(usage, p => Assert.NotEqual("", p["namespace"])); // named from the first sample: the recording waited for the pod list
        Assert.DoesNotContain(usage, p => sandboxes.Contains(p["container_id"]));
        Assert.DoesNotContain(rec.Points, p => p["namespace"] == "skip-me");
        Assert.Contains(rec.Points, p => p.Name == MetricCatalog.ContainerRequestCores && p.Value == 0.25);
        Assert.Contains(rec.Points, p => p.Name == MetricCatalog.NodeCapacity && p.Value == 8);
        Assert.Contains(rec.Points, p => p.Name == MetricCatalog.NodeAllocatable && p.Value == 7.8);
        Assert.Contains(rec.Points, p => p.Name == MetricCatalog.NodeRequests && p.Value > 0);
        Assert.All(rec.Points.Where(p => p.Name == MetricCatalog.AgentKubernetesUp), p => Assert.Equal(1, p.Value));
        Assert.Contains(rec.Points, p => p.Name == MetricCatalog.PodUsageSeconds && p["pod"] == "etcd-node-1" && p["namespace"] == "kube-system");

        await using var agent = new AgentRunner([.. common, "--interval", "100ms"]);
        await agent.WaitReadyAsync();
        var scrape = await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.NodeRequests)
            && x.Where(y => y.Name == MetricCatalog.ContainerUsageSeconds).All(y => y["namespace"] != ""));
        var live = scrape.Where(s => !s.Name.StartsWith(MetricCatalog.AgentSweepDuration, StringComparison.Ordinal))
            .Select(s => Recording.Key(s.Name, s.Labels)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(live, rec.Series.Keys.Order(StringComparer.Ordinal).ToList());
    }

    [Theory]
    [InlineData("--out", "--duration", "3s", "--step", "1s")] // no --out
    [InlineData("--duration", "--out", "OUT", "--duration", "0s")]
    [InlineData("--step", "--out", "OUT", "--step", "100ms", "--interval", "1s")]
    [InlineData("--duration", "--out", "OUT", "--duration", "10s")] // shorter than the default step, 15s
    [InlineData("--out", "--out", "/no/such/folder/node.om")]
    [InlineData("--out", "--out", "FOLDER")]
    [InlineData("--out", "--out", "/proc/throttlewatch-record-test.om", "--duration", "1s", "--step", "1s")] // a folder nobody can write in
    public async Task Bad_flags_give_one_line_each_and_exit_code_2_before_recording(string culprit, params string[] flags)
    {
        using var folder = new TempTree();
        string[] args = ["record", "--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", ProcRoot,
            .. flags.Select(f => f switch { "OUT" => Path.Combine(folder.Path, "node.om"), "FOLDER" => folder.Path, _ => f })];
        var (code, stdout, stderr) = await CliTests.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: " + culprit + ":", line, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Path)); // nothing half-written
        Assert.False(File.Exists("/proc/throttlewatch-record-test.om"));
    }

    [Fact]
    public async Task Every_bad_value_gets_its_own_line()
    {
        var (code, stdout, stderr) = await CliTests.Run("record", "--cgroup-root", Fixtures.Root("v2-cgroupfs"),
            "--duration", "soon", "--step", "0s", "--interval", "0s", "--kubeconfig", "/no/such/kubeconfig");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.StartsWith("error: ", l, StringComparison.Ordinal));
        foreach (var flag in new[] { "--duration", "--step", "--interval", "--kubeconfig", "--out" })
        {
            Assert.Single(lines, l => l.StartsWith("error: " + flag, StringComparison.Ordinal));
        }
        Assert.Equal(5, lines.Length);
    }

    [Fact]
    public async Task Ctrl_C_ends_the_recording_early_and_keeps_a_valid_file()
    {
        using var folder = new TempTree();
        var file = Path.Combine(folder.Path, "node.om");
        var stderr = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1.5));
        int code = await AgentCli.RunAsync(["record", "--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", ProcRoot,
            "--duration", "1h", "--interval", "100ms", "--step", "200ms", "--out", file], new CliContext(new StringWriter(), stderr), stop.Token);

        Assert.True(code == 0, stderr.ToString());
        Assert.Contains("interrupted after", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(["node.om"], Directory.EnumerateFileSystemEntries(folder.Path).Select(Path.GetFileName));
        var rec = Recording.Parse(await File.ReadAllTextAsync(file));
        Assert.True(rec.Points.Select(p => p.TimestampMs).Distinct().Count() >= 2);
        Assert.Contains(rec.Points, p => p.Name == MetricCatalog.ContainerPressureWaiting); // v2: pressure series
    }

    [Fact]
    public async Task Ctrl_C_before_the_first_sample_writes_nothing()
    {
        using var folder = new TempTree();
        var file = Path.Combine(folder.Path, "node.om");
        var stderr = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        int code = await AgentCli.RunAsync(["record", "--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", ProcRoot,
            "--duration", "1h", "--interval", "10s", "--step", "10s", "--out", file], new CliContext(new StringWriter(), stderr), stop.Token);

        Assert.Equal(ExitCodes.Interrupted, code);
        Assert.Contains("nothing written", stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Path));
    }

    [Fact]
    public async Task Out_dash_writes_the_recording_to_stdout()
    {
        var (code, stdout, stderr) = await CliTests.Run("record", "--cgroup-root", Fixtures.Root("v2-systemd-crio"), "--proc-root", ProcRoot,
            "--duration", "600ms", "--interval", "100ms", "--step", "200ms", "--out", "-");
        Assert.True(code == 0, stderr);
        Assert.EndsWith("\n# EOF\n", stdout, StringComparison.Ordinal);
        Assert.Contains("to stdout", stderr, StringComparison.Ordinal);
        var rec = Recording.Parse(stdout);
        var expected = Fixtures.LoadExpected("v2-systemd-crio");
        Assert.Equal(expected.Containers.Select(c => c.ContainerId).Order(),
            rec.Points.Where(p => p.Name == MetricCatalog.ContainerUsageSeconds).Select(p => p["container_id"]).Distinct().Order());
    }

    [Fact]
    public void Regrouping_in_small_batches_writes_the_same_file_and_counters_survive_a_cgroup_coming_back()
    {
        using var tree = Fixtures.CopyToTemp("v2-cgroupfs");
        using var spool = new TempTree();
        var expected = Fixtures.LoadExpected("v2-cgroupfs");
        Assert.True(CgroupHierarchy.TryDetect(tree.Path, "/nonexistent", out var hierarchy, out var error), error);
        var state = new NodeState("n1", hierarchy!, "6.8.0");
        // Discovery every sweep: the container that comes back is found again in the sweep it is back.
        var options = new AgentOptions { CgroupRoot = tree.Path, ProcRoot = "/nonexistent", Interval = TimeSpan.FromMilliseconds(100), DiscoveryInterval = TimeSpan.FromMilliseconds(100) };
        var discovery = new ContainerDiscovery(hierarchy!.CpuRoot, []);
        using var sampler = new Sampler(hierarchy!, discovery, HandleBudget.FromProcessLimit());
        using var loop = new SamplingService(options, state, sampler, [], NullLogger<SamplingService>.Instance);
        var kube = new KubernetesStatus();
        using var whole = new OpenMetricsRecorder(state, null, kube, [], "9.9.9", Path.Combine(spool.Path, "a"));
        using var batched = new OpenMetricsRecorder(state, null, kube, [], "9.9.9", Path.Combine(spool.Path, "b"), regroupPoints: 3);

        // A container goes, then comes back (same path, same labels) with its kernel counter lower.
        var c = expected.Containers[0];
        var dir = tree.Path + c.CgroupPath;
        var away = Path.Combine(tree.Path, "away");
        long t = 1_764_230_400_000;
        for (int i = 0; i < 6; i++)
        {
            if (i == 2)
            {
                Directory.Move(dir, away);
                // On kernfs the next read of its kept file fails and its pod is listed at once; on this
                // temporary tree the moved file still reads, so the pod is asked for as that failure would.
                discovery.ListPodSoon(c.PodUid);
            }
            if (i == 3)
            {
                Directory.Move(away, dir);
                var lines = File.ReadAllLines(Path.Combine(dir, "cpu.stat")).Select(l => l.StartsWith("usage_usec ", StringComparison.Ordinal) ? "usage_usec 5" : l);
                File.WriteAllLines(Path.Combine(dir, "cpu.stat"), lines);
            }
            loop.SweepOnce();
            whole.Capture(t + i * 15_000);
            batched.Capture(t + i * 15_000);
        }

        var a = new MemoryStream();
        var b = new MemoryStream();
        long bytes = whole.WriteTo(a);
        batched.WriteTo(b);
        Assert.Equal(a.Length, bytes);
        var text = Encoding.UTF8.GetString(a.ToArray());
        Assert.Equal(text, Encoding.UTF8.GetString(b.ToArray()));

        var rec = Recording.Parse(text);
        Assert.Equal(whole.Samples, rec.Points.Count);
        var usage = rec.Points.Where(p => p.Name == MetricCatalog.ContainerUsageSeconds && p["container_id"] == c.ContainerId).ToList();
        Assert.Equal(5, usage.Count); // absent from the one capture while it was gone
        for (int i = 1; i < usage.Count; i++)
        {
            Assert.True(usage[i].Value >= usage[i - 1].Value, $"usage went from {usage[i - 1].Value} to {usage[i].Value}");
        }
        Assert.Equal("1764230400.000", rec.Points.Select(p => p.TimestampText).Order(StringComparer.Ordinal).First());
        Assert.Contains(rec.Points, p => p.Name == MetricCatalog.AgentBuildInfo && p["version"] == "9.9.9");
    }

    [Theory]
    [InlineData(0.5, "0.5")]
    [InlineData(42.0, "42")]
    [InlineData(1e-7, "1e-07")]
    [InlineData(1e21, "1e+21")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    public void Values_are_written_in_the_shortest_form_that_reads_back(double value, string text)
    {
        var buffer = new byte[32];
        int n = OpenMetricsRecorder.FormatValue(value, buffer);
        Assert.Equal(text, Encoding.UTF8.GetString(buffer, 0, n));
        n = OpenMetricsRecorder.FormatTimestamp(1_764_230_400_007, buffer);
        Assert.Equal("1764230400.007", Encoding.UTF8.GetString(buffer, 0, n));
        Assert.Equal("{a=\"x\\\\y\",b=\"say \\\"hi\\\"\\n\"}", OpenMetricsRecorder.LabelText(["a", "b"], "x\\y", "say \"hi\"\n"));
    }

    private static async Task<(int Exit, string Output)> Promtool(params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo("promtool", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await output + await error);
    }
}

/// <summary>
/// A strict reader of a recording: fails on anything OpenMetrics forbids here (a family, a series or
/// a point out of its group, time going backwards within a series, a missing or early <c># EOF</c>).
/// </summary>
internal sealed partial record Recording(List<(string Name, string Type)> Families, List<RecordedPoint> Points, Dictionary<string, List<RecordedPoint>> Series)
{
    public static string Key(string name, IReadOnlyDictionary<string, string> labels)
        => name + "{" + string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")) + "}";

    public static Recording Parse(string text)
    {
        Assert.EndsWith("# EOF\n", text, StringComparison.Ordinal);
        var lines = text[..^1].Split('\n');
        Assert.Equal("# EOF", lines[^1]);
        var families = new List<(string Name, string Type)>();
        var points = new List<RecordedPoint>();
        var series = new Dictionary<string, List<RecordedPoint>>(StringComparer.Ordinal);
        string? family = null, type = null, current = null;
        var done = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Length - 1; i++)
        {
            var line = lines[i];
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                family = parts[2];
                type = parts[3];
                Assert.DoesNotContain(families, f => f.Name == family); // families are not interleaved
                families.Add((family, type));
                if (current is not null)
                {
                    done.Add(current);
                }
                current = null;
                continue;
            }
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                Assert.StartsWith($"# TYPE {family} ", lines[i - 1], StringComparison.Ordinal);
                Assert.StartsWith($"# HELP {family} ", line, StringComparison.Ordinal);
                continue;
            }
            Assert.False(line.StartsWith('#'), $"line {i + 1}: unexpected '{line}'");
            var m = LineRegex().Match(line);
            Assert.True(m.Success, $"line {i + 1}: not a sample with a timestamp: '{line}'");
            var name = m.Groups["name"].Value;
            Assert.NotNull(family);
            Assert.Equal(type == "counter" ? family + "_total" : family, name);
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match l in LabelRegex().Matches(m.Groups["labels"].Value))
            {
                labels.Add(l.Groups[1].Value, l.Groups[2].Value.Replace("\\\"", "\"", StringComparison.Ordinal)
                    .Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal));
            }
            var ts = m.Groups["ts"].Value;
            var point = new RecordedPoint(name, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture),
                long.Parse(ts.Replace(".", "", StringComparison.Ordinal), CultureInfo.InvariantCulture), ts);
            var key = Key(name, labels);
            if (key != current)
            {
                Assert.DoesNotContain(key, done); // a series' points are together
                if (current is not null)
                {
                    done.Add(current);
                }
                current = key;
                series[key] = [];
            }
            var list = series[key];
            Assert.True(list.Count == 0 || list[^1].TimestampMs < point.TimestampMs, $"line {i + 1}: time does not increase in {key}");
            list.Add(point);
            points.Add(point);
        }
        return new Recording(families, points, series);
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?<labels>.*)\} (?<value>\S+) (?<ts>\d+\.\d{3})$""")]
    private static partial Regex LineRegex();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?""")]
    private static partial Regex LabelRegex();
}

internal sealed record RecordedPoint(string Name, Dictionary<string, string> Labels, double Value, long TimestampMs, string TimestampText)
{
    public string this[string label] => Labels.TryGetValue(label, out var v) ? v : "";
}
