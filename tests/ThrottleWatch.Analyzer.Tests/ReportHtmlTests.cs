using System.Diagnostics;
using System.Text.RegularExpressions;
using ThrottleWatch.Analyzer.Evidence;
using ThrottleWatch.Analyzer.Reports;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>report.html as a browser sees it: headless Chromium renders it and dumps its DOM.</summary>
public partial class ReportHtmlTests
{
    private static readonly TimeSpan ChromiumTimeout = TimeSpan.FromMinutes(2);

    [GeneratedRegex("<article class=\"card\"", RegexOptions.None)]
    private static partial Regex CardStart();

    [Fact]
    public async Task Chromium_renders_the_report_and_its_dom_shows_the_numbers_names_and_charts()
    {
        var result = ReportSample.Build();
        var dir = Directory.CreateTempSubdirectory("tw-report-html-");
        try
        {
            var html = Path.Combine(dir.FullName, "report.html");
            await File.WriteAllTextAsync(html, HtmlReport.Report(result));
            var png = Path.Combine(dir.FullName, "report.png");
            var url = new Uri(html).AbsoluteUri;

            await RunChromiumAsync(dir.FullName, ["--window-size=1280,4000", $"--screenshot={png}", url]);
            Assert.True(File.Exists(png), "chromium wrote no screenshot");
            var bytes = await File.ReadAllBytesAsync(png);
            Assert.True(bytes.Length > 20 * 1024, $"the screenshot is only {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
            // To look at what was rendered: THROTTLEWATCH_KEEP_REPORT=/some/dir keeps the page and its screenshot.
            if (Environment.GetEnvironmentVariable("THROTTLEWATCH_KEEP_REPORT") is { Length: > 0 } keep)
            {
                Directory.CreateDirectory(keep);
                File.Copy(html, Path.Combine(keep, "report.html"), overwrite: true);
                File.Copy(png, Path.Combine(keep, "report.png"), overwrite: true);
            }

            var dom = await RunChromiumAsync(dir.FullName, ["--dump-dom", url]);
            Assert.Contains("<span class=\"num\">42</span>", dom, StringComparison.Ordinal);
            Assert.Contains("<span class=\"num\">3</span>", dom, StringComparison.Ordinal);
            Assert.Contains("<span class=\"num\">28,318</span>", dom, StringComparison.Ordinal);
            Assert.Contains("<span class=\"num\">7.35</span>", dom, StringComparison.Ordinal);
            foreach (var r in result.Report.Recommendations)
            {
                Assert.Contains(DomText(r.Workload), dom, StringComparison.Ordinal);
                Assert.Contains(DomText(r.Namespace), dom, StringComparison.Ordinal);
            }
            // The hostile <b> stayed text: the browser made no element of it.
            Assert.DoesNotContain("<b>", dom, StringComparison.Ordinal);

            var cards = CardStart().Split(dom).Skip(1).Select(c => c[..c.IndexOf("</article>", StringComparison.Ordinal)]).ToList();
            var withSeries = result.Report.Recommendations.Where(r => r.Action != "none" && result.Series.ContainsKey(AnalysisResult.KeyOf(r))).ToList();
            Assert.Equal(withSeries.Count, cards.Count);
            for (int i = 0; i < cards.Count; i++)
            {
                Assert.Contains(DomText(withSeries[i].Workload), cards[i], StringComparison.Ordinal);
                Assert.True(Regex.Count(cards[i], "<svg") >= 2, $"card {i} has fewer than 2 charts");
                Assert.Contains("<title", cards[i], StringComparison.Ordinal);
            }
            Assert.Contains("25%", cards[0], StringComparison.Ordinal);
            Assert.Contains("no data", cards[3], StringComparison.Ordinal); // raise-request: no limit, no throttling data
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_chart_without_data_says_so()
    {
        var range = new TimeRange(ReportSample.Start, ReportSample.End);
        var empty = new ContainerSeries([], [], [], [], []);
        Assert.Contains(">no data</text>", HtmlReport.ThrottleChart("x", "a/b/c", empty, range), StringComparison.Ordinal);
        Assert.Contains(">no data</text>", HtmlReport.UsageChart("y", "a/b/c", null, range), StringComparison.Ordinal);
        var allNull = new ContainerSeries([ReportSample.Start], [null], [null], [null], [null]);
        Assert.Contains(">no data</text>", HtmlReport.UsageChart("z", "a/b/c", allNull, range), StringComparison.Ordinal);
    }

    [Fact]
    public void A_gap_in_the_series_breaks_the_line()
    {
        var result = ReportSample.Build();
        var key = AnalysisResult.KeyOf(result.Report.Recommendations[0]);
        var svg = HtmlReport.UsageChart("u", "n", result.Series[key], result.Report.Range);
        // The last l-usage path is the line; the first is its legend sample.
        var usage = Regex.Matches(svg, "<path class=\"l-usage\" d=\"([^\"]+)\"")[^1].Groups[1].Value;
        Assert.Equal(2, usage.Count(c => c == 'M')); // before and after the six-hour gap
        Assert.Contains("class=\"l-request\"", svg, StringComparison.Ordinal);
        Assert.Contains("class=\"l-limit\"", svg, StringComparison.Ordinal);
        Assert.Contains("<title id=\"u-t\">", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void The_usage_axis_reaches_1_1_times_the_highest_of_usage_request_and_limit()
    {
        var t0 = ReportSample.Start;
        var series = new ContainerSeries([t0, t0.AddMinutes(5)], [0.5, 0.6], [0.1, 0.2], [1, 1], [2, 2]);
        var svg = HtmlReport.UsageChart("u", "n", series, new TimeRange(t0, t0.AddMinutes(5)));
        // y max 2.2: nice ticks 0, 0.5 … 2; the limit at 2 sits at 2/2.2 of the plot height.
        Assert.Contains(">2</text>", svg, StringComparison.Ordinal);
        Assert.DoesNotContain(">2.5</text>", svg, StringComparison.Ordinal);
    }

    /// <summary>Text as Chromium serialises it in a dumped DOM: only &amp; &lt; &gt; are escaped.</summary>
    private static string DomText(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>The path of the chromium binary, or a failed test that says how to install it.</summary>
    internal static string Chromium()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            foreach (var name in new[] { "chromium", "chromium-browser" })
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }
        Assert.Fail("chromium is not installed; the HTML report is checked in a real browser: apt-get install chromium");
        return "";
    }

    /// <summary>Runs headless Chromium with the flags that work offline here; returns its standard output.</summary>
    internal static async Task<string> RunChromiumAsync(string workDir, string[] args)
    {
        var profile = Directory.CreateTempSubdirectory("tw-chromium-");
        try
        {
            var psi = new ProcessStartInfo(Chromium())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = workDir,
            };
            foreach (var a in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                $"--user-data-dir={profile.FullName}", .. args])
            {
                psi.ArgumentList.Add(a);
            }
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(ChromiumTimeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"chromium did not finish in {ChromiumTimeout.TotalSeconds} s: {await stderr}");
            }
            Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {await stderr}");
            return await stdout;
        }
        finally
        {
            try
            {
                profile.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Chromium may still be closing files in its profile; the temp folder is cleaned later.
            }
        }
    }
}
