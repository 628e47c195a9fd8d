using System.Globalization;
using System.Text;
using ThrottleWatch.Analyzer.Evidence;
using ThrottleWatch.Contracts;
using static ThrottleWatch.Analyzer.Reports.Html;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>
/// <c>report.html</c>: one self-contained page (inline CSS and SVG, no script, no font, no URL),
/// in the order of <c>report.md</c>. Every value from the data goes through <see cref="Html.Encode"/>.
/// </summary>
internal static class HtmlReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The actions the rules give, with a badge colour each; anything else is grey.</summary>
    private static readonly HashSet<string> KnownActions =
        new(["remove-limit", "raise-limit", "tune-app", "raise-request", "lower-request", "none"], StringComparer.Ordinal);

    private const string Css = """
        :root { --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --soft: #f6f8fa; }
        * { box-sizing: border-box; }
        html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
        body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: var(--fg); background: #fff; }
        main { max-width: 1200px; margin: 0 auto; padding: 28px 32px 40px; }
        h1 { font-size: 28px; margin: 0 0 4px; }
        h2 { font-size: 22px; margin: 36px 0 14px; padding-bottom: 6px; border-bottom: 1px solid var(--border); }
        h3 { font-size: 17px; margin: 22px 0 8px; }
        .sub { color: var(--muted); margin: 0; }
        .stats { display: grid; grid-template-columns: repeat(4, 1fr); gap: 16px; margin: 0 0 8px; }
        .stat { border: 1px solid var(--border); border-radius: 8px; padding: 14px 18px; background: var(--soft); }
        .stat .num { display: block; font-size: 34px; font-weight: 700; line-height: 1.15; font-variant-numeric: tabular-nums; }
        .stat .label { color: var(--muted); font-size: 14px; }
        .stat.bad .num { color: #cf222e; }
        table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 12px; }
        th, td { border: 1px solid var(--border); padding: 6px 10px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
        th { background: var(--soft); font-weight: 600; }
        .n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        tr.over td { background: #ffebe9; }
        tr.over td.ratio { color: #cf222e; font-weight: 700; }
        .card { border: 1px solid var(--border); border-radius: 10px; padding: 16px 20px 18px; margin: 0 0 22px; break-inside: avoid; }
        .card header { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
        .card h3 { margin: 0; font-size: 19px; overflow-wrap: anywhere; }
        .meta { color: var(--muted); font-size: 14px; margin: 2px 0 10px; }
        .badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 12px; font-weight: 700; color: #fff; text-transform: uppercase; letter-spacing: .04em; white-space: nowrap; }
        .a-remove-limit { background: #cf222e; } .a-raise-limit { background: #bc4c00; } .a-tune-app { background: #8250df; }
        .a-raise-request { background: #0969da; } .a-lower-request { background: #1a7f37; } .a-none, .a-other { background: #59636e; }
        .reason { margin: 0 0 10px; }
        .change { font-size: 16px; margin: 0 0 12px; }
        .change .from { color: var(--muted); }
        .change .to { font-weight: 700; }
        .change .delta { color: var(--muted); font-size: 14px; }
        .charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin: 0 0 12px; }
        svg.chart { display: block; width: 100%; height: auto; border: 1px solid var(--border); border-radius: 6px; background: #fff; }
        svg.chart text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, "Liberation Sans", sans-serif; fill: var(--muted); }
        svg.chart text.heading { font-size: 14px; font-weight: 600; fill: var(--fg); }
        svg.chart text.nodata { font-size: 15px; }
        svg.chart text.reflabel { fill: #1f2328; }
        svg.chart .frame { fill: none; stroke: var(--border); }
        svg.chart .grid { stroke: #eaeef2; }
        svg.chart .tick { stroke: var(--muted); }
        svg.chart .ref { stroke: #57606a; stroke-width: 1; stroke-dasharray: 5 4; fill: none; }
        svg.chart path { fill: none; stroke-width: 1.6; stroke-linejoin: round; stroke-linecap: round; }
        svg.chart .l-throttle { stroke: #bc4c00; }
        svg.chart .l-usage { stroke: #0969da; }
        svg.chart .l-request { stroke: #1a7f37; stroke-width: 2; stroke-dasharray: 7 4; stroke-linecap: butt; }
        svg.chart .l-limit { stroke: #cf222e; stroke-width: 2.4; }
        .evidence { font-size: 13.5px; table-layout: fixed; }
        .evidence th { width: 19%; background: none; color: var(--muted); font-weight: 400; }
        .evidence td { width: 31%; overflow-wrap: anywhere; }
        .code h4 { font-size: 13px; margin: 10px 0 4px; color: var(--muted); font-weight: 600; }
        pre { margin: 0; background: var(--soft); border: 1px solid var(--border); border-radius: 6px; padding: 10px 12px; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
        ul.keys { margin: 4px 0 12px; padding-left: 22px; }
        ul.keys li { overflow-wrap: anywhere; }
        footer { color: var(--muted); font-size: 13px; margin-top: 36px; }
        @media (max-width: 900px) { .stats { grid-template-columns: repeat(2, 1fr); } .charts { grid-template-columns: 1fr; } }
        @media print { main { max-width: none; padding: 0; } h2 { break-after: avoid; } pre { white-space: pre-wrap; } }
        """;

    /// <summary>The whole page.</summary>
    public static string Report(AnalysisResult result)
    {
        var doc = result.Report;
        var range = ReportFormat.Range(doc.Range);
        var sb = new StringBuilder(64 * 1024);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append(Inv, $"<title>ThrottleWatch CPU report, {Encode(range)}</title>\n");
        sb.Append("<style>\n").Append(Css).Append("\n</style>\n</head>\n<body>\n<main>\n");
        sb.Append("<header>\n<h1>ThrottleWatch CPU report</h1>\n");
        sb.Append(Inv, $"<p class=\"sub\">{Encode(range)} · from {Encode(doc.Source)}</p>\n</header>\n");

        AppendSummary(sb, doc.Summary);

        var actionable = doc.Recommendations.Where(ReportFormat.IsActionable).ToList();
        var unchanged = doc.Recommendations.Where(r => !ReportFormat.IsActionable(r)).ToList();
        sb.Append(Inv, $"<section id=\"recommendations\">\n<h2>Recommendations ({actionable.Count})</h2>\n");
        if (actionable.Count == 0)
        {
            sb.Append("<p>No container needs a change.</p>\n");
        }
        int index = 0;
        foreach (var r in actionable)
        {
            result.Series.TryGetValue(AnalysisResult.KeyOf(r), out var series);
            AppendCard(sb, r, series, doc.Range, ++index);
        }
        if (unchanged.Count > 0)
        {
            AppendUnchanged(sb, unchanged);
        }
        sb.Append("</section>\n");

        AppendNodes(sb, doc.Nodes);
        if (doc.Comparison is { } cmp)
        {
            AppendComparison(sb, cmp);
        }
        sb.Append(Inv, $"<footer>Generated by ThrottleWatch on {Encode(ReportFormat.Time(doc.GeneratedAt))} UTC.</footer>\n");
        sb.Append("</main>\n</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>Chart (i): the throttled ratio, 0 to 1, with a dashed line at 25%.</summary>
    internal static string ThrottleChart(string id, string name, ContainerSeries? series, TimeRange range)
    {
        var times = series?.Times ?? [];
        var (start, end) = Domain(times, range);
        bool noLimit = series is not null && HasValue(series.UsageCores) && !HasValue(series.LimitCores);
        return SvgChart.Render(new ChartSpec(
            id,
            "Throttled periods",
            $"Share of CFS periods throttled for {name}, {ReportFormat.Range(range)}",
            times,
            [new ChartLine("throttled ratio", "l-throttle", series?.ThrottledRatio ?? [])],
            1.0,
            [0, 0.5, 1],
            v => ReportFormat.Percent(v),
            start,
            end,
            [new ChartReference(0.25, "25%")],
            noLimit ? "no data: no CPU limit, so no throttling" : "no data"));
    }

    /// <summary>Chart (ii): usage per replica against the request and the limit, y up to 1.1 × the highest of them.</summary>
    internal static string UsageChart(string id, string name, ContainerSeries? series, TimeRange range)
    {
        var times = series?.Times ?? [];
        var (start, end) = Domain(times, range);
        double max = 0;
        foreach (var list in new[] { series?.UsageCores, series?.RequestCores, series?.LimitCores })
        {
            foreach (var v in list ?? [])
            {
                if (v is { } x && double.IsFinite(x))
                {
                    max = Math.Max(max, x);
                }
            }
        }
        double yMax = max > 0 ? max * 1.1 : 1;
        return SvgChart.Render(new ChartSpec(
            id,
            "CPU per replica (cores)",
            $"CPU usage per replica against request and limit for {name}, {ReportFormat.Range(range)}",
            times,
            [
                new ChartLine("usage", "l-usage", series?.UsageCores ?? []),
                new ChartLine(series is null || HasValue(series.RequestCores) ? "request" : "request (none)", "l-request", series?.RequestCores ?? [], Step: true),
                new ChartLine(series is null || HasValue(series.LimitCores) ? "limit" : "limit (none)", "l-limit", series?.LimitCores ?? [], Step: true),
            ],
            yMax,
            SvgChart.NiceTicks(yMax),
            v => ReportFormat.Number(v),
            start,
            end));
    }

    private static bool HasValue(IReadOnlyList<double?> values) => values.Any(v => v is { } x && double.IsFinite(x));

    /// <summary>The x range: the report's range, widened to the series if it reaches outside.</summary>
    private static (DateTimeOffset Start, DateTimeOffset End) Domain(IReadOnlyList<DateTimeOffset> times, TimeRange range)
    {
        var start = range.Start;
        var end = range.End;
        if (times.Count > 0)
        {
            start = times[0] < start ? times[0] : start;
            end = times[^1] > end ? times[^1] : end;
        }
        return (start, end);
    }

    private static void AppendSummary(StringBuilder sb, ReportSummary s)
    {
        sb.Append("<section id=\"summary\">\n<h2>Cluster summary</h2>\n<div class=\"stats\">\n");
        AppendStat(sb, s.ContainersAnalyzed.ToString(Inv), "containers analyzed", bad: false);
        AppendStat(sb, s.ContainersThrottled.ToString(Inv), "throttled harmfully", bad: s.ContainersThrottled > 0);
        AppendStat(sb, ReportFormat.Seconds(s.ThrottledCoreSecondsLost), "throttled core-seconds lost", bad: s.ThrottledCoreSecondsLost >= 1);
        AppendStat(sb, ReportFormat.Cores(s.CoresReservedUnused, "0"), "cores reserved but unused", bad: false);
        sb.Append("</div>\n<h3>Top offenders</h3>\n");
        if (s.TopOffenders.Count == 0)
        {
            sb.Append("<p>No container lost CPU time to throttling.</p>\n</section>\n");
            return;
        }
        sb.Append("<table class=\"offenders\">\n<thead><tr><th class=\"n\">#</th><th>Namespace</th><th>Workload</th><th>Container</th><th class=\"n\">Throttled core-seconds</th><th class=\"n\">Throttled periods (mean)</th></tr></thead>\n<tbody>\n");
        int i = 0;
        foreach (var o in s.TopOffenders)
        {
            sb.Append(Inv, $"<tr><td class=\"n\">{++i}</td><td>{Encode(o.Namespace)}</td><td>{Encode(o.Workload)} <span class=\"sub\">({Encode(o.WorkloadKind)})</span></td><td>{Encode(o.Container)}</td>");
            sb.Append(Inv, $"<td class=\"n\">{ReportFormat.Seconds(o.ThrottledCoreSeconds)}</td><td class=\"n\">{ReportFormat.Percent(o.ThrottledRatioMean)}</td></tr>\n");
        }
        sb.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void AppendStat(StringBuilder sb, string number, string label, bool bad)
        => sb.Append(Inv, $"<div class=\"stat{(bad ? " bad" : "")}\"><span class=\"num\">{Encode(number)}</span><span class=\"label\">{label}</span></div>\n");

    private static void AppendCard(StringBuilder sb, Recommendation r, ContainerSeries? series, TimeRange range, int index)
    {
        var name = ReportFormat.Name(r.Namespace, r.Workload, r.Container);
        var badge = KnownActions.Contains(r.Action) ? "a-" + r.Action : "a-other";
        sb.Append(Inv, $"<article class=\"card\" id=\"rec-{index}\">\n<header><span class=\"badge {badge}\">{Encode(r.Action)}</span>");
        sb.Append(Inv, $"<h3>{Encode(r.Namespace)} / {Encode(r.Workload)} / {Encode(r.Container)}</h3></header>\n");
        sb.Append(Inv, $"<p class=\"meta\">{Encode(r.WorkloadKind)} · {r.Evidence.Replicas} replicas · confidence {ReportFormat.Number(r.Confidence)}</p>\n");
        sb.Append(Inv, $"<p class=\"reason\">{Encode(r.Reason)}</p>\n");

        sb.Append(Inv, $"<p class=\"change\"><span class=\"from\">{Encode(ReportFormat.Resources(r.Current))}</span>");
        if (r.Recommended is not null)
        {
            sb.Append(Inv, $" → <span class=\"to\">{Encode(ReportFormat.Resources(r.Recommended))}</span>");
        }
        else
        {
            sb.Append(" <span class=\"delta\">(resources unchanged)</span>");
        }
        var delta = ReportFormat.Delta(r.CoresDelta);
        if (delta.Length > 0)
        {
            sb.Append(Inv, $" <span class=\"delta\">({Encode(delta)})</span>");
        }
        sb.Append("</p>\n");

        sb.Append("<div class=\"charts\">\n");
        sb.Append(ThrottleChart($"c{index}a", name, series, range)).Append('\n');
        sb.Append(UsageChart($"c{index}b", name, series, range)).Append('\n');
        sb.Append("</div>\n");

        // Evidence in two label/value column pairs: half the height of one long list.
        var rows = ReportFormat.EvidenceRows(r);
        int half = (rows.Count + 1) / 2;
        sb.Append("<table class=\"evidence\">\n<tbody>\n");
        for (int i = 0; i < half; i++)
        {
            sb.Append(Inv, $"<tr><th scope=\"row\">{Encode(rows[i].Label)}</th><td>{Encode(rows[i].Value)}</td>");
            if (i + half < rows.Count)
            {
                sb.Append(Inv, $"<th scope=\"row\">{Encode(rows[i + half].Label)}</th><td>{Encode(rows[i + half].Value)}</td>");
            }
            else
            {
                sb.Append("<th></th><td></td>");
            }
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody>\n</table>\n");

        if (r.Change is { } change)
        {
            sb.Append("<div class=\"code\">\n<h4>Command</h4>\n");
            sb.Append(Inv, $"<pre class=\"command\">{Encode(change.Command)}</pre>\n");
            sb.Append("<h4>YAML</h4>\n");
            sb.Append(Inv, $"<pre class=\"yaml\">{Encode(change.Yaml.TrimEnd('\n'))}</pre>\n</div>\n");
        }
        sb.Append("</article>\n");
    }

    private static void AppendUnchanged(StringBuilder sb, List<Recommendation> unchanged)
    {
        sb.Append(Inv, $"<h3 id=\"unchanged\">No change needed ({unchanged.Count})</h3>\n");
        sb.Append("<table class=\"unchanged\">\n<thead><tr><th>Namespace</th><th>Workload</th><th>Container</th><th>Current</th><th class=\"n\">Throttled (mean)</th><th class=\"n\">Usage p95 (cores)</th><th>Reason</th></tr></thead>\n<tbody>\n");
        foreach (var r in unchanged)
        {
            sb.Append(Inv, $"<tr><td>{Encode(r.Namespace)}</td><td>{Encode(r.Workload)} <span class=\"sub\">({Encode(r.WorkloadKind)})</span></td><td>{Encode(r.Container)}</td>");
            sb.Append(Inv, $"<td>{Encode(ReportFormat.Resources(r.Current))}</td><td class=\"n\">{ReportFormat.Percent(r.Evidence.ThrottledRatioMean)}</td><td class=\"n\">{ReportFormat.Number(r.Evidence.UsageCoresP95)}</td><td>{Encode(r.Reason)}</td></tr>\n");
        }
        sb.Append("</tbody>\n</table>\n");
    }

    private static void AppendNodes(StringBuilder sb, IReadOnlyList<NodeOvercommit> nodes)
    {
        sb.Append("<section id=\"nodes\">\n<h2>Node overcommit</h2>\n");
        if (nodes.Count == 0)
        {
            sb.Append("<p>No node data in the range.</p>\n</section>\n");
            return;
        }
        sb.Append("<p class=\"sub\">Highlighted: CPU limits add up to more than the node's allocatable CPU, so not every container can reach its limit at once.</p>\n");
        sb.Append("<table class=\"nodes\">\n<thead><tr><th>Node</th><th class=\"n\">Allocatable cores</th><th class=\"n\">Sum of limits (cores)</th><th class=\"n\">Limits / allocatable</th><th class=\"n\">Usage p95</th></tr></thead>\n<tbody>\n");
        foreach (var n in nodes)
        {
            var over = n.LimitsOverAllocatable > 1;
            sb.Append(Inv, $"<tr{(over ? " class=\"over\"" : "")}><td>{Encode(n.Node)}</td><td class=\"n\">{ReportFormat.Cores(n.AllocatableCores, "n/a")}</td><td class=\"n\">{ReportFormat.Cores(n.LimitsCores, "n/a")}</td>");
            sb.Append(Inv, $"<td class=\"n ratio\">{ReportFormat.Number(n.LimitsOverAllocatable)}</td><td class=\"n\">{ReportFormat.Percent(n.UsageP95)}</td></tr>\n");
        }
        sb.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void AppendComparison(StringBuilder sb, ReportComparison c)
    {
        sb.Append("<section id=\"comparison\">\n<h2>Compared with the previous report</h2>\n");
        sb.Append(Inv, $"<p class=\"sub\">Previous report generated {Encode(c.PreviousGeneratedAt)}.</p>\n");
        AppendKeys(sb, "New", c.New);
        AppendKeys(sb, "Resolved", c.Resolved);
        AppendKeys(sb, "Worsened", c.Worsened);
        sb.Append("</section>\n");
    }

    private static void AppendKeys(StringBuilder sb, string title, IReadOnlyList<string> keys)
    {
        sb.Append(Inv, $"<h3>{title} ({keys.Count})</h3>\n");
        if (keys.Count == 0)
        {
            sb.Append("<p>None.</p>\n");
            return;
        }
        sb.Append("<ul class=\"keys\">\n");
        foreach (var k in keys)
        {
            sb.Append(Inv, $"<li>{Encode(k)}</li>\n");
        }
        sb.Append("</ul>\n");
    }
}
