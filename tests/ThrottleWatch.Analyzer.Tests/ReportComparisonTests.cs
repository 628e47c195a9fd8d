using ThrottleWatch.Analyzer.Reports;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>New, resolved and worsened findings against last week's report.json.</summary>
public sealed class ReportComparisonTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("tw-compare-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static Recommendation Rec(string workload, string action, double coreSeconds, double? p95 = null)
    {
        var r = ReportSample.Build().Report.Recommendations[0];
        return r with
        {
            Namespace = "ns",
            WorkloadKind = "Deployment",
            Workload = workload,
            Container = "app",
            Action = action,
            Evidence = r.Evidence with { ThrottledCoreSeconds = coreSeconds, ThrottledSecondsPerSecondP95 = p95 },
        };
    }

    private static ReportDocument Doc(DateTimeOffset at, params Recommendation[] recs)
        => ReportSample.Build().Report with { GeneratedAt = at, Recommendations = recs, Comparison = null };

    [Fact]
    public void Finds_new_resolved_and_worsened()
    {
        var previous = Doc(new DateTimeOffset(2026, 11, 16, 6, 0, 0, TimeSpan.Zero),
            Rec("steady", "raise-limit", 1000, 0.2),
            Rec("worse", "raise-limit", 1000, 0.2),
            Rec("worse-p95", "raise-limit", 1000, 0.2),
            Rec("fixed", "remove-limit", 500),
            Rec("changed-action", "raise-limit", 100),
            Rec("quiet", "none", 0));
        var current = Doc(new DateTimeOffset(2026, 11, 23, 6, 0, 0, TimeSpan.Zero),
            Rec("steady", "raise-limit", 1200, 0.24),      // +20% exactly: not worse
            Rec("worse", "raise-limit", 1201, 0.2),        // core-seconds +20.1%
            Rec("worse-p95", "raise-limit", 900, 0.25),    // p95 +25%
            Rec("changed-action", "tune-app", 100),
            Rec("brand-new", "lower-request", 0),
            Rec("quiet", "none", 0),
            Rec("now-quiet", "none", 0));

        var c = Comparison.Compare(current, previous);

        Assert.Equal("2026-11-16T06:00:00Z", c.PreviousGeneratedAt);
        Assert.Equal(["ns/Deployment/brand-new/app/lower-request", "ns/Deployment/changed-action/app/tune-app"], c.New);
        Assert.Equal(["ns/Deployment/changed-action/app/raise-limit", "ns/Deployment/fixed/app/remove-limit"], c.Resolved);
        Assert.Equal(["ns/Deployment/worse-p95/app/raise-limit", "ns/Deployment/worse/app/raise-limit"], c.Worsened);
    }

    [Fact]
    public void Against_itself_nothing_changed()
    {
        var doc = ReportSample.Build().Report;
        var c = Comparison.Compare(doc, doc);
        Assert.Empty(c.New);
        Assert.Empty(c.Resolved);
        Assert.Empty(c.Worsened);
    }

    [Fact]
    public void Reads_a_report_json_it_wrote()
    {
        var doc = ReportSample.Build().Report;
        var path = Path.Combine(_dir.FullName, "report.json");
        File.WriteAllText(path, JsonReport.Report(doc));
        var back = Comparison.ReadPrevious(path);
        Assert.Equal(doc.GeneratedAt, back.GeneratedAt);
        Assert.Equal(doc.Recommendations.Select(ReportFormat.Key), back.Recommendations.Select(ReportFormat.Key));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"generatedAt\": 12")]
    [InlineData("{}")]
    [InlineData("null")]
    [InlineData("{\"generatedAt\":\"2026-11-16T06:00:00Z\",\"range\":{\"start\":\"2026-11-09T00:00:00Z\",\"end\":\"2026-11-16T00:00:00Z\"},\"recommendations\":[{\"namespace\":\"a\"}]}")]
    [InlineData("{\"generatedAt\":\"yesterday\"}")]
    public void A_malformed_previous_report_throws_invalid_data_with_one_line(string text)
    {
        var path = Path.Combine(_dir.FullName, "bad.json");
        File.WriteAllText(path, text);
        var e = Assert.Throws<InvalidDataException>(() => Comparison.ReadPrevious(path));
        Assert.StartsWith(path + " is not a ThrottleWatch report.json", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
