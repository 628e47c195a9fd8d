using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ThrottleWatch.Contracts;
using ThrottleWatch.Dashboards;

namespace ThrottleWatch.Deploy.Tests;

/// <summary>The Grafana dashboards: generated JSON committed and fresh, valid for current Grafana, only real metric names.</summary>
public partial class DashboardTests
{
    internal static string RepoRoot { get; } = typeof(DashboardTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    [Fact]
    public void Committed_dashboards_equal_a_fresh_generation()
    {
        var generated = Dashboards.Dashboards.All();
        Assert.Equal(3, generated.Count);
        foreach (var (name, dashboard) in generated)
        {
            var path = Path.Combine(RepoRoot, "dashboards", name);
            var fresh = DashboardBuilder.Serialize(dashboard);
            if (Environment.GetEnvironmentVariable("THROTTLEWATCH_UPDATE_GOLDEN") == "1")
            {
                File.WriteAllText(path, fresh);
            }
            Assert.True(File.Exists(path), $"{name} is not committed: run dotnet run --project dashboards/ThrottleWatch.Dashboards -- dashboards");
            Assert.True(fresh == File.ReadAllText(path), $"{name} differs from a fresh generation: run dotnet run --project dashboards/ThrottleWatch.Dashboards -- dashboards");
        }
        var committed = Directory.GetFiles(Path.Combine(RepoRoot, "dashboards"), "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(generated.Keys, committed);
    }

    [Fact]
    public void Dashboards_type_check_against_grafana_schema()
    {
        var node = Path.Combine(RepoRoot, "tests", "node");
        Assert.True(Directory.Exists(Path.Combine(node, "node_modules", "@grafana", "schema")), "run: npm ci --prefix tests/node");
        var files = Directory.GetFiles(Path.Combine(RepoRoot, "dashboards"), "*.json");
        var (code, output) = Run("node", [Path.Combine(node, "check-dashboards.mjs"), .. files]);
        Assert.True(code == 0, output);
        Assert.Equal(files.Length, output.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Dashboards_use_only_exported_metrics_units_and_link_each_other()
    {
        var names = MetricCatalog.All.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, d) in Dashboards.Dashboards.All())
        {
            var panels = d["panels"]!.AsArray().Select(p => p!.AsObject()).Where(p => p["type"]!.GetValue<string>() != "row").ToList();
            Assert.NotEmpty(panels);
            foreach (var p in panels)
            {
                Assert.False(string.IsNullOrEmpty(p["fieldConfig"]!["defaults"]!["unit"]?.GetValue<string>()), $"{name}: '{p["title"]}' has no unit");
                foreach (var t in p["targets"]!.AsArray())
                {
                    var expr = t!["expr"]!.GetValue<string>();
                    foreach (Match m in MetricName().Matches(expr))
                    {
                        var metric = Regex.Replace(m.Value, "_(bucket|sum|count)$", "");
                        Assert.True(names.Contains(metric), $"{name}: '{p["title"]}' uses {m.Value}, which the agent does not export");
                    }
                }
            }
            var vars = d["templating"]!["list"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()).ToList();
            Assert.Contains("datasource", vars);
            Assert.Contains("cluster", vars);
            Assert.Contains(d["links"]!.AsArray(), l => l!["type"]!.GetValue<string>() == "dashboards" && l["tags"]!.AsArray().Any(t => t!.GetValue<string>() == "throttlewatch"));
            Assert.Contains(d["tags"]!.AsArray(), t => t!.GetValue<string>() == "throttlewatch");
        }
    }

    internal static (int Code, string Output) Run(string file, IEnumerable<string> args)
    {
        var (code, stdout, stderr) = ManifestRender.Run(file, args, "Install it: scripts/setup.sh.");
        return (code, stdout + stderr);
    }

    [GeneratedRegex("throttlewatch_[a-z_]+")]
    private static partial Regex MetricName();
}
