using ThrottleWatch.Analyzer.Reports;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>
/// The text reports against committed golden files in <c>Golden/</c>: a change in their output shows
/// up as a diff in review. <c>THROTTLEWATCH_UPDATE_GOLDEN=1</c> rewrites them.
/// </summary>
public class ReportGoldenTests
{
    public static TheoryData<string> Files => ["report.md", "report.json", "recommendations.csv", "recommendations.md", "summary.md"];

    internal static string Render(string file)
    {
        var result = ReportSample.Build();
        return file switch
        {
            "report.md" => MarkdownReport.Report(result),
            "report.json" => JsonReport.Report(result.Report),
            "recommendations.csv" => CsvReport.Recommendations(result.Recommendations),
            "recommendations.md" => MarkdownReport.Recommendations(result.Recommendations),
            "summary.md" => MarkdownReport.Summary(result.Report),
            _ => throw new ArgumentOutOfRangeException(nameof(file)),
        };
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Report_matches_its_golden_file(string file)
    {
        var actual = Render(file);
        var path = Path.Combine(ReportSample.GoldenDir, file);
        if (Environment.GetEnvironmentVariable("THROTTLEWATCH_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
        }
        Assert.True(File.Exists(path), $"{path} is missing: run the tests once with THROTTLEWATCH_UPDATE_GOLDEN=1");
        Assert.Equal(File.ReadAllText(path), actual);
    }

    [Fact]
    public void The_writer_writes_what_the_renderers_render()
    {
        var files = ReportWriter.Render(ReportSample.Build());
        Assert.Equal(Render("report.md"), files.Single(f => f.Name == "report.md").Content);
        Assert.Equal(Render("report.json"), files.Single(f => f.Name == "report.json").Content);
    }

    [Fact]
    public void Rendering_twice_gives_the_same_text()
    {
        Assert.Equal(HtmlReport.Report(ReportSample.Build()), HtmlReport.Report(ReportSample.Build()));
    }

    [Fact]
    public void Json_reads_back_as_the_same_document()
    {
        var doc = ReportSample.Build().Report;
        var back = System.Text.Json.JsonSerializer.Deserialize(JsonReport.Report(doc), Contracts.RecommendationJsonContext.Default.ReportDocument)!;
        Assert.Equal(JsonReport.Report(doc), JsonReport.Report(back));
        Assert.Equal(doc.Recommendations.Select(r => r.Workload), back.Recommendations.Select(r => r.Workload));
    }

    [Fact]
    public void An_empty_analysis_renders_in_every_format()
    {
        var full = ReportSample.Build();
        var empty = new Evidence.AnalysisResult(
            full.Report with
            {
                Summary = new Contracts.ReportSummary(0, 0, 0, 0, []),
                Recommendations = [],
                Nodes = [],
                Comparison = null,
            },
            new Dictionary<Evidence.ContainerKey, Evidence.ContainerSeries>());
        Assert.Contains("No container needs a change.", MarkdownReport.Report(empty), StringComparison.Ordinal);
        Assert.Contains("No container needs a change.", HtmlReport.Report(empty), StringComparison.Ordinal);
        Assert.Contains("No container needs a change.", MarkdownReport.Summary(empty.Report), StringComparison.Ordinal);
        Assert.Contains("No containers were found", MarkdownReport.Recommendations(empty.Recommendations), StringComparison.Ordinal);
        Assert.Equal(string.Join(",", CsvReport.Columns) + "\r\n", CsvReport.Recommendations(empty.Recommendations));
        Assert.Contains("\"recommendations\": []", JsonReport.Report(empty.Report), StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_is_short_enough_for_a_chat_message()
    {
        var summary = MarkdownReport.Summary(ReportSample.Build().Report);
        var lines = summary.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(lines.Length, 5, 15);
        Assert.Contains("42 containers analyzed", summary, StringComparison.Ordinal);
        Assert.Contains("28,318 throttled core-seconds lost", summary, StringComparison.Ordinal);
        Assert.Equal(4, lines.Count(l => l.Length > 2 && char.IsAsciiDigit(l[0]) && l[1] == '.'));
    }
}
