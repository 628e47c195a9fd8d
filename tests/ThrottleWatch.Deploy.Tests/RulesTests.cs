using System.Globalization;
using System.Text.RegularExpressions;
using ThrottleWatch.Contracts;
using ThrottleWatch.Rules;

namespace ThrottleWatch.Deploy.Tests;

/// <summary>
/// The Prometheus rules: committed files equal a fresh generation, promtool accepts them and
/// passes their unit tests, every alert has a severity, a runbook section and both kinds of test
/// case, and every metric they read is one the agent exports.
/// </summary>
public partial class RulesTests
{
    private static string Root => RulesFiles.RepoRoot;

    [Theory]
    [InlineData(RulesGenerator.RulesPath)]
    [InlineData(RulesGenerator.PrometheusRulePath)]
    public void Committed_rule_file_matches_a_fresh_generation(string path)
    {
        var fresh = RulesGenerator.Generate(Thresholds.Default, ThrottleWatchRules.DefaultRunbookBaseUrl)[path];
        RulesFiles.AssertGolden(path, fresh);
    }

    [Fact]
    public void Runbook_reference_section_matches_a_fresh_generation()
    {
        var committed = File.ReadAllText(Path.Combine(Root, RulesGenerator.RunbookPath));
        var fresh = RulesGenerator.ApplyRunbookReference(committed, Thresholds.Default);
        Assert.True(fresh is not null, $"{RulesGenerator.RunbookPath} must hold the markers {RulesGenerator.RunbookBegin} and {RulesGenerator.RunbookEnd}");
        RulesFiles.AssertGolden(RulesGenerator.RunbookPath, fresh!);
    }

    [Fact]
    public void Generator_covers_every_file_it_is_documented_to_write()
    {
        var files = RulesGenerator.Generate(Thresholds.Default, ThrottleWatchRules.DefaultRunbookBaseUrl);
        Assert.Equal([RulesGenerator.PrometheusRulePath, RulesGenerator.RulesPath], files.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Promtool_check_rules_accepts_the_rule_file()
    {
        var (code, output) = RulesFiles.Promtool("check", "rules", RulesGenerator.RulesPath);
        Assert.True(code == 0, $"promtool check rules {RulesGenerator.RulesPath} exited {code}:\n{output}");
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Promtool_check_rules_accepts_the_PrometheusRule_spec()
    {
        // promtool reads rule files, not Kubernetes objects: check the spec's groups on their own.
        var spec = RulesFiles.Load(RulesGenerator.PrometheusRulePath).Map("spec");
        var file = Path.Combine(Path.GetTempPath(), $"throttlewatch-prometheusrule-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, new YamlDotNet.Serialization.SerializerBuilder().Build().Serialize(spec.Node));
        try
        {
            var (code, output) = RulesFiles.Promtool("check", "rules", file);
            Assert.True(code == 0, $"promtool check rules (the PrometheusRule's spec) exited {code}:\n{output}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Promtool_unit_tests_pass()
    {
        var tests = RulesFiles.UnitTestFiles();
        Assert.NotEmpty(tests);
        var (code, output) = RulesFiles.Promtool(["test", "rules", .. tests]);
        Assert.True(code == 0, $"promtool test rules {string.Join(' ', tests)} exited {code}:\n{output}");
    }

    [Fact]
    public void Every_alert_has_a_severity_annotations_and_a_runbook_section()
    {
        var anchors = RulesFiles.RunbookAnchors();
        var alerts = RulesFiles.Alerts().ToList();
        Assert.NotEmpty(alerts);
        Assert.All(alerts, a =>
        {
            var name = a.Str("alert");
            Assert.Contains(a.Map("labels").Str("severity"), new[] { Severity.Info, Severity.Warning, Severity.Critical });
            Assert.True(PromDuration.TryParse(a.Str("for"), out var @for) && @for > TimeSpan.Zero, $"{name}: for: must be a positive duration");
            var annotations = a.Map("annotations");
            Assert.False(string.IsNullOrWhiteSpace(annotations.Str("summary")), $"{name}: summary");
            Assert.False(string.IsNullOrWhiteSpace(annotations.Str("description")), $"{name}: description");
            var url = annotations.Str("runbook_url");
            Assert.Equal($"{ThrottleWatchRules.DefaultRunbookBaseUrl}#{name.ToLowerInvariant()}", url);
            Assert.True(anchors.Contains(name.ToLowerInvariant()), $"{name}: docs/runbook.md has no heading with the anchor #{name.ToLowerInvariant()}");
        });
    }

    [Fact]
    public void The_issue_s_alerts_all_exist()
    {
        // A container throttled harmfully, below its limit (bursty), by its pod's quota; a node's limits
        // far above allocatable; the agent down, slow, or without Kubernetes metadata.
        var names = RulesFiles.Alerts().Select(a => a.Str("alert")).Distinct().Order(StringComparer.Ordinal);
        var expected = typeof(AlertNames).GetFields().Select(f => (string)f.GetValue(null)!).Order(StringComparer.Ordinal);
        Assert.Equal(expected, names);
        var severities = RulesFiles.Alerts().Where(a => a.Str("alert") == AlertNames.ContainerThrottled).Select(a => a.Map("labels").Str("severity"));
        Assert.Equal([Severity.Critical, Severity.Warning], severities.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_metric_an_expression_reads_is_in_the_catalog()
    {
        var catalog = MetricCatalog.All.ToDictionary(m => m.Name, StringComparer.Ordinal);
        var recorded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in RulesFiles.Rules())
        {
            var expr = rule.Str("expr");
            var name = rule.TryStr("record") ?? rule.Str("alert");
            foreach (Match m in RecordedName().Matches(expr))
            {
                // Rules run in file order; a recording rule must come before the rules that read it.
                Assert.True(recorded.Contains(m.Value), $"{name} reads {m.Value}, which no earlier recording rule records");
            }
            foreach (Match m in MetricName().Matches(expr))
            {
                var metric = m.Value;
                foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
                {
                    if (!catalog.ContainsKey(metric) && metric.EndsWith(suffix, StringComparison.Ordinal)
                        && catalog.TryGetValue(metric[..^suffix.Length], out var h) && h.Type == MetricType.Histogram)
                    {
                        metric = metric[..^suffix.Length];
                    }
                }
                Assert.True(catalog.ContainsKey(metric), $"{name} reads {m.Value}, which MetricCatalog does not define");
            }
            if (rule.TryStr("record") is { } record)
            {
                Assert.Matches("^[a-z_]+:throttlewatch_[a-z_]+:[a-z0-9_]+$", record);
                recorded.Add(record);
            }
        }
    }

    [Fact]
    public void PrometheusRule_holds_the_same_groups_as_the_plain_file()
    {
        var plain = RulesFiles.Load(RulesGenerator.RulesPath);
        var operatorRule = RulesFiles.Load(RulesGenerator.PrometheusRulePath);
        Assert.Equal("monitoring.coreos.com/v1", operatorRule.Str("apiVersion"));
        Assert.Equal("PrometheusRule", operatorRule.Str("kind"));
        var metadata = operatorRule.Map("metadata");
        Assert.Equal("throttlewatch", metadata.Str("name"));
        Assert.Equal("throttlewatch", metadata.Str("namespace"));
        Assert.Equal("throttlewatch", metadata.Map("labels").Str("app.kubernetes.io/name"));
        Assert.Equal(RulesFiles.Canonical(plain.Node["groups"]), RulesFiles.Canonical(operatorRule.Map("spec").Node["groups"]));
    }

    [Fact]
    public void Every_alert_and_severity_has_a_promtool_case_that_fires_and_one_that_stays_quiet()
    {
        var cases = RulesFiles.AlertTestCases().ToList();
        foreach (var alert in RulesFiles.Alerts())
        {
            var name = alert.Str("alert");
            var severity = alert.Map("labels").Str("severity");
            Assert.True(cases.Any(c => c.Alert == name && c.Severities.Contains(severity)),
                $"no promtool case in deploy/prometheus/tests/ expects {name} with severity {severity} to fire");
            Assert.True(cases.Any(c => c.Alert == name && c.Severities.Count == 0),
                $"no promtool case in deploy/prometheus/tests/ expects {name} to stay quiet");
        }
    }

    [Fact]
    public void Generator_command_line_writes_the_files_with_a_custom_runbook_url()
    {
        var dir = Directory.CreateTempSubdirectory("throttlewatch-rules-");
        try
        {
            var output = new StringWriter();
            var error = new StringWriter();
            int code = RulesCli.Run(["--out-dir", dir.FullName, "--runbook-base-url", "https://wiki.example.com/throttlewatch"], output, error);
            Assert.True(code == 0, error.ToString());
            var text = File.ReadAllText(Path.Combine(dir.FullName, RulesGenerator.RulesPath));
            Assert.Contains("runbook_url: https://wiki.example.com/throttlewatch#throttlewatchcontainerthrottled\n", text, StringComparison.Ordinal);
            Assert.DoesNotContain(ThrottleWatchRules.DefaultRunbookBaseUrl, text, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(dir.FullName, RulesGenerator.PrometheusRulePath)));
            // No docs/runbook.md under the folder: nothing else is written.
            Assert.False(Directory.Exists(Path.Combine(dir.FullName, "docs")));

            code = RulesCli.Run(["--out-dir", dir.FullName, "--runbook-base-url", "https://wiki.example.com/throttlewatch"], output, error);
            Assert.Equal(0, code);
            Assert.Contains("unchanged", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("--runbook-base-url", "not a url")]
    [InlineData("--no-such-flag", "x")]
    public void Generator_command_line_rejects_bad_input_with_one_line(string flag, string value)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = RulesCli.Run([flag, value, "--out-dir", Path.GetTempPath()], output, error);
        Assert.Equal(2, code);
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.StartsWith("error: ", l, StringComparison.Ordinal));
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void Thresholds_reach_the_expressions()
    {
        var t = Thresholds.Default with { ThrottledSecondsWarning = 0.2, RateWindow = TimeSpan.FromMinutes(10), AgentUpSelector = "job=\"tw\"" };
        var text = RulesGenerator.Generate(t, ThrottleWatchRules.DefaultRunbookBaseUrl)[RulesGenerator.RulesPath];
        Assert.Contains("container:throttlewatch_throttled_seconds:rate10m > 0.2\n", text, StringComparison.Ordinal);
        Assert.Contains("[10m]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[5m]", text, StringComparison.Ordinal);
        Assert.Contains("up{job=\"tw\"} == 0", text, StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"threshold {0.2}"), text, StringComparison.Ordinal);
    }

    /// <summary>A recording rule's name: <c>level:metric:operations</c>.</summary>
    [GeneratedRegex(@"\b[a-z_]+:[a-z_]+:[a-z0-9_]+\b")]
    private static partial Regex RecordedName();

    /// <summary>A ThrottleWatch metric, not inside a recording rule's name.</summary>
    [GeneratedRegex(@"(?<![:\w])throttlewatch_[a-z_]+(?![:\w])")]
    private static partial Regex MetricName();
}
