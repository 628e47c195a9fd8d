using System.CommandLine;
using ThrottleWatch.Analyzer.Reports;

namespace ThrottleWatch.Analyzer.Commands;

/// <summary><c>throttlewatch-analyzer report</c>: the weekly report (HTML, Markdown, JSON), compared with last week's.</summary>
internal static class ReportCommand
{
    public static Command Create(CliContext context)
    {
        var source = new SourceOptions();
        var outDir = new Option<string>("--out") { Description = "Folder for report.html, report.md and report.json", Required = true };
        var previous = new Option<string?>("--previous") { Description = "Last week's report.json: new, resolved and worsened problems" };
        var webhook = new Option<string?>("--webhook") { Description = "Post the Markdown summary to this Slack-compatible webhook URL" };
        var keepLimits = new Option<bool>("--keep-limits") { Description = "Never recommend removing a limit: raise it instead" };
        webhook.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } url && (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
            {
                r.AddError($"--webhook: '{url}' is not an http or https URL");
            }
        });
        previous.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } path && !File.Exists(path))
            {
                r.AddError($"--previous: '{path}' does not exist");
            }
        });
        var command = new Command("report", "Write the weekly report: cluster summary, recommendations with charts, node overcommit");
        source.AddTo(command);
        command.Options.Add(outDir);
        command.Options.Add(previous);
        command.Options.Add(webhook);
        command.Options.Add(keepLimits);
        command.SetAction(async (parse, cancel) =>
        {
            // Read last week's first: a malformed file fails before any work, and nothing is written.
            var last = parse.GetValue(previous) is { } p ? Comparison.ReadPrevious(p) : null;
            var result = await AnalyzerCli.AnalyseAsync(source, parse, context, parse.GetValue(keepLimits), cancel).ConfigureAwait(false);
            if (last is not null)
            {
                result = result with { Report = result.Report with { Comparison = Comparison.Compare(result.Report, last) } };
            }
            var dir = parse.GetValue(outDir)!;
            ReportWriter.WriteReport(result, dir);
            context.Error.WriteLine($"wrote {Path.Combine(dir, "report.html")}, report.md and report.json: {result.Report.Summary.ContainersAnalyzed} containers, {result.Report.Recommendations.Count(r => r.Action != "none")} recommendations");
            if (parse.GetValue(webhook) is { } url)
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
                var sent = await Webhook.PostAsync(http, new Uri(url), Webhook.BuildSlackPayload(MarkdownReport.Summary(result.Report)), cancel).ConfigureAwait(false);
                if (!sent.Success)
                {
                    context.Error.WriteLine($"error: the webhook answered {sent}; the report files are written");
                    return ExitCodes.SourceUnavailable;
                }
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
