using System.Text;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>docs/metrics.md holds a table generated from <see cref="MetricCatalog"/>; it must match a fresh generation.</summary>
public class DocsTests
{
    private const string Begin = "<!-- BEGIN GENERATED: metric table (tests/ThrottleWatch.Agent.Tests/DocsTests.cs; THROTTLEWATCH_UPDATE_GOLDEN=1 rewrites it) -->";
    private const string End = "<!-- END GENERATED -->";

    private static string RepoRoot => Path.GetFullPath(Path.Combine(Fixtures.Dir, "..", "..", ".."));

    internal static string MetricTable()
    {
        var sb = new StringBuilder();
        sb.Append("| name | type | labels | OTLP instrument (unit) | source | meaning |\n");
        sb.Append("|---|---|---|---|---|---|\n");
        foreach (var m in MetricCatalog.All)
        {
            var labels = m.Scope switch
            {
                MetricScope.Container => "container set",
                MetricScope.Pod => "pod set",
                _ => string.Join(", ", MetricCatalog.LabelsOf(m).Select(l => $"`{l}`")),
            };
            sb.Append($"| `{m.Name}` | {m.Type.ToString().ToLowerInvariant()} | {labels} | `{m.OtlpName}` ({m.Unit}) | {m.Source} | {m.Help} |\n");
        }
        return sb.ToString();
    }

    [Fact]
    public void Metrics_doc_lists_every_metric_as_generated_from_the_catalog()
    {
        var path = Path.Combine(RepoRoot, "docs", "metrics.md");
        var doc = File.ReadAllText(path);
        int b = doc.IndexOf(Begin, StringComparison.Ordinal);
        int e = doc.IndexOf(End, StringComparison.Ordinal);
        Assert.True(b >= 0 && e > b, "docs/metrics.md must hold the generated markers");
        var fresh = doc[..(b + Begin.Length)] + "\n" + MetricTable() + doc[e..];
        if (Environment.GetEnvironmentVariable("THROTTLEWATCH_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, fresh);
            doc = fresh;
        }
        Assert.Equal(fresh, doc);
    }

    [Fact]
    public void Every_metric_name_follows_prometheus_conventions()
    {
        Assert.Equal(MetricCatalog.All.Count, MetricCatalog.All.Select(m => m.Name).Distinct().Count());
        Assert.All(MetricCatalog.All, m =>
        {
            Assert.StartsWith("throttlewatch_", m.Name, StringComparison.Ordinal);
            Assert.Equal(m.Type == MetricType.Counter, m.Name.EndsWith("_total", StringComparison.Ordinal));
            Assert.EndsWith(".", m.Help, StringComparison.Ordinal);
        });
    }
}
