using ThrottleWatch.Analyzer.Reports;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>report.html, report.md and report.json land together or not at all.</summary>
public sealed class ReportWriterTests : IDisposable
{
    private readonly DirectoryInfo _parent = Directory.CreateTempSubdirectory("tw-writer-");

    public void Dispose() => _parent.Delete(recursive: true);

    private string OutDir => Path.Combine(_parent.FullName, "out");

    /// <summary>Everything under the parent folder, as relative paths.</summary>
    private string[] Entries() => Directory.GetFileSystemEntries(_parent.FullName, "*", SearchOption.AllDirectories)
        .Select(p => Path.GetRelativePath(_parent.FullName, p)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Writes_the_three_reports_into_a_new_folder_and_leaves_no_temporary_folder()
    {
        var result = ReportSample.Build();
        ReportWriter.WriteReport(result, Path.Combine(OutDir, "week-47"));

        Assert.Equal(["out", "out/week-47", "out/week-47/report.html", "out/week-47/report.json", "out/week-47/report.md"], Entries());
        foreach (var (name, content) in ReportWriter.Render(result))
        {
            Assert.Equal(content, File.ReadAllText(Path.Combine(OutDir, "week-47", name)));
        }
    }

    [Fact]
    public void Replaces_an_earlier_report()
    {
        Directory.CreateDirectory(OutDir);
        foreach (var name in ReportWriter.FileNames)
        {
            File.WriteAllText(Path.Combine(OutDir, name), "old");
        }
        ReportWriter.WriteReport(ReportSample.Build(), OutDir + "/");
        Assert.All(ReportWriter.FileNames, n => Assert.NotEqual("old", File.ReadAllText(Path.Combine(OutDir, n))));
        Assert.Equal(["out", "out/report.html", "out/report.json", "out/report.md"], Entries());
    }

    [Fact]
    public void An_out_dir_that_is_a_file_fails_and_leaves_nothing_behind()
    {
        File.WriteAllText(OutDir, "a file");
        Assert.ThrowsAny<IOException>(() => ReportWriter.WriteReport(ReportSample.Build(), OutDir));
        Assert.Equal(["out"], Entries());
        Assert.Equal("a file", File.ReadAllText(OutDir));
    }

    [Theory]
    [InlineData("write report.html")]
    [InlineData("write report.json")]
    [InlineData("move report.html")]
    [InlineData("move report.json")]
    public void A_failure_while_writing_into_a_new_folder_leaves_no_report_and_no_temporary_folder(string failAt)
    {
        var e = Assert.Throws<IOException>(() => ReportWriter.WriteReport(ReportSample.Build(), OutDir, Fail(failAt)));
        Assert.Equal("injected: " + failAt, e.Message);
        Assert.Empty(Entries());
    }

    [Theory]
    [InlineData("write report.md")]
    [InlineData("move report.md")]
    [InlineData("move report.json")]
    public void A_failure_while_replacing_keeps_the_earlier_report_whole(string failAt)
    {
        Directory.CreateDirectory(OutDir);
        foreach (var name in ReportWriter.FileNames)
        {
            File.WriteAllText(Path.Combine(OutDir, name), "old " + name);
        }
        Assert.Throws<IOException>(() => ReportWriter.WriteReport(ReportSample.Build(), OutDir, Fail(failAt)));
        Assert.Equal(["out", "out/report.html", "out/report.json", "out/report.md"], Entries());
        Assert.All(ReportWriter.FileNames, n => Assert.Equal("old " + n, File.ReadAllText(Path.Combine(OutDir, n))));
    }

    private static Action<string> Fail(string at) => step =>
    {
        if (step == at)
        {
            throw new IOException("injected: " + at);
        }
    };
}
