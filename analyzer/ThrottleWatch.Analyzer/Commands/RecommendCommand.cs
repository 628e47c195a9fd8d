using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using ThrottleWatch.Analyzer.Reports;
using ThrottleWatch.Analyzer.Rules;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Commands;

/// <summary><c>throttlewatch-analyzer recommend</c>: what to change, per workload and container.</summary>
internal static class RecommendCommand
{
    public static Command Create(CliContext context)
    {
        var source = new SourceOptions();
        var format = new Option<string>("--format") { Description = "table, json (docs/recommendations.md), csv or markdown", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json", "csv", "markdown");
        var keepLimits = new Option<bool>("--keep-limits") { Description = "Never recommend removing a limit: raise it instead" };
        var all = new Option<bool>("--all") { Description = "Show healthy containers (action none) in the table too" };
        var command = new Command("recommend", "Recommend CPU limit and request changes from throttling evidence");
        source.AddTo(command);
        command.Options.Add(format);
        command.Options.Add(keepLimits);
        command.Options.Add(all);
        command.SetAction(async (parse, cancel) =>
        {
            var result = await AnalyzerCli.AnalyseAsync(source, parse, context, parse.GetValue(keepLimits), cancel).ConfigureAwait(false);
            var doc = result.Recommendations;
            switch (parse.GetValue(format))
            {
                case "json": context.Output.Write(JsonReport.Recommendations(doc)); break;
                case "csv": context.Output.Write(CsvReport.Recommendations(doc)); break;
                case "markdown": context.Output.Write(MarkdownReport.Recommendations(doc)); break;
                default: WriteTable(context, doc, parse.GetValue(all)); break;
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteTable(CliContext context, RecommendationDocument doc, bool all)
    {
        var console = context.CreateConsole();
        var shown = doc.Recommendations.Where(r => all || r.Action != RuleEngine.None).ToList();
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"{Markup.Escape(doc.Source)}, {doc.Range.Start:yyyy-MM-dd HH:mm} to {doc.Range.End:yyyy-MM-dd HH:mm} UTC: {shown.Count} recommendations");
        foreach (var c in new[] { "workload / container", "action", "current", "recommended", "throttled s/s p95", "usage p95", "confidence" })
        {
            table.AddColumn(c);
        }
        foreach (var r in shown.OrderByDescending(r => r.Evidence.ThrottledCoreSeconds))
        {
            table.AddRow(
                Markup.Escape($"{r.Namespace}/{r.Workload}/{r.Container}"),
                Markup.Escape(r.Action),
                Markup.Escape(Text(r.Current)),
                Markup.Escape(r.Recommended is null ? "-" : Text(r.Recommended)),
                Num(r.Evidence.ThrottledSecondsPerSecondP95),
                Num(r.Evidence.UsageCoresP95),
                r.Confidence.ToString("0.00", CultureInfo.InvariantCulture));
        }
        console.Write(table);
        foreach (var r in shown.Where(r => r.Change is not null).OrderByDescending(r => r.Evidence.ThrottledCoreSeconds))
        {
            console.MarkupLine($"[bold]{Markup.Escape($"{r.Namespace}/{r.Workload}/{r.Container}")}[/] {Markup.Escape(r.Action)}: {Markup.Escape(r.Reason)}");
            console.WriteLine("  " + r.Change!.Command);
        }
        if (shown.Count == 0)
        {
            console.MarkupLine("[green]Nothing to change.[/] (--all lists every container)");
        }
    }

    private static string Text(Resources r) => $"request {Cores.Text(r.RequestCores)}, limit {Cores.Text(r.LimitCores)}";

    private static string Num(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "-";
}
