using System.Globalization;
using System.Text;
using ThrottleWatch.Analyzer.Evidence;
using ThrottleWatch.Contracts;
using static ThrottleWatch.Analyzer.Reports.MarkdownText;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>
/// The Markdown outputs: the recommendations table (<c>recommend --format markdown</c>), the weekly
/// <c>report.md</c>, and the short summary sent to a Slack webhook. Every value from the cluster is
/// escaped with <see cref="MarkdownText.Escape"/>; the text ends with one newline.
/// </summary>
internal static class MarkdownReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>All recommendations, <c>none</c> included, as one table.</summary>
    public static string Recommendations(RecommendationDocument document)
    {
        var sb = new StringBuilder();
        sb.Append("# ThrottleWatch recommendations\n\n");
        sb.Append(Inv, $"{ReportFormat.Range(document.Range)}, from {Escape(document.Source)}, generated {ReportFormat.Time(document.GeneratedAt)} UTC.\n\n");
        if (document.Recommendations.Count == 0)
        {
            sb.Append("No containers were found in the range.\n");
            return sb.ToString();
        }
        sb.Append(Row("Namespace", "Kind", "Workload", "Container", "Action", "Current", "Recommended", "Throttled (mean)", "Usage p95 (cores)", "Confidence", "Reason")).Append('\n');
        sb.Append("|---|---|---|---|---|---|---|---:|---:|---:|---|\n");
        foreach (var r in document.Recommendations)
        {
            sb.Append(Row(
                Escape(r.Namespace), Escape(r.WorkloadKind), Escape(r.Workload), Escape(r.Container), Escape(r.Action),
                ReportFormat.Resources(r.Current), ReportFormat.Resources(r.Recommended),
                ReportFormat.Percent(r.Evidence.ThrottledRatioMean), ReportFormat.Number(r.Evidence.UsageCoresP95),
                ReportFormat.Number(r.Confidence), Escape(r.Reason))).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// <c>report.md</c>: the cluster summary, each recommendation that asks for a change (with its
    /// evidence, command and YAML), the containers that need none (one table), node overcommit, and
    /// the comparison with the previous report when there is one.
    /// </summary>
    public static string Report(AnalysisResult result)
    {
        var doc = result.Report;
        var sb = new StringBuilder();
        sb.Append(Inv, $"# ThrottleWatch CPU report: {ReportFormat.Range(doc.Range)}\n\n");
        sb.Append(Inv, $"Generated {ReportFormat.Time(doc.GeneratedAt)} UTC from {Escape(doc.Source)}.\n\n");

        AppendSummary(sb, doc.Summary);

        var actionable = doc.Recommendations.Where(ReportFormat.IsActionable).ToList();
        var unchanged = doc.Recommendations.Where(r => !ReportFormat.IsActionable(r)).ToList();
        sb.Append(Inv, $"## Recommendations ({actionable.Count})\n\n");
        if (actionable.Count == 0)
        {
            sb.Append("No container needs a change.\n\n");
        }
        foreach (var r in actionable)
        {
            AppendRecommendation(sb, r);
        }
        if (unchanged.Count > 0)
        {
            sb.Append(Inv, $"### No change needed ({unchanged.Count})\n\n");
            sb.Append(Row("Namespace", "Workload", "Container", "Current", "Throttled (mean)", "Usage p95 (cores)", "Reason")).Append('\n');
            sb.Append("|---|---|---|---|---:|---:|---|\n");
            foreach (var r in unchanged)
            {
                sb.Append(Row(
                    Escape(r.Namespace), Escape($"{r.Workload} ({r.WorkloadKind})"), Escape(r.Container),
                    ReportFormat.Resources(r.Current), ReportFormat.Percent(r.Evidence.ThrottledRatioMean),
                    ReportFormat.Number(r.Evidence.UsageCoresP95), Escape(r.Reason))).Append('\n');
            }
            sb.Append('\n');
        }

        AppendNodes(sb, doc.Nodes);
        if (doc.Comparison is { } cmp)
        {
            AppendComparison(sb, cmp);
        }
        return sb.ToString().TrimEnd('\n') + "\n";
    }

    /// <summary>
    /// A short summary for a chat webhook: counts, the top 5 offenders, the actions, and the
    /// comparison. No tables and single-asterisk emphasis, so it also reads right as Slack mrkdwn
    /// (where <c>&lt; &gt; &amp;</c> are the only escapes that matter, and these are entities here).
    /// </summary>
    public static string Summary(ReportDocument doc)
    {
        var s = doc.Summary;
        var sb = new StringBuilder();
        sb.Append(Inv, $"*ThrottleWatch CPU report*, {ReportFormat.Range(doc.Range)}\n\n");
        sb.Append(Inv, $"- {s.ContainersAnalyzed} containers analyzed, {s.ContainersThrottled} throttled harmfully\n");
        sb.Append(Inv, $"- {ReportFormat.Seconds(s.ThrottledCoreSecondsLost)} throttled core-seconds lost, {ReportFormat.Cores(s.CoresReservedUnused, "0")} cores reserved but unused\n");

        if (s.TopOffenders.Count > 0)
        {
            sb.Append("\nTop offenders:\n\n");
            int i = 0;
            foreach (var o in s.TopOffenders.Take(5))
            {
                sb.Append(Inv, $"{++i}. {Escape(ReportFormat.Name(o.Namespace, o.Workload, o.Container))}: {ReportFormat.Seconds(o.ThrottledCoreSeconds)} core-s lost, {ReportFormat.Percent(o.ThrottledRatioMean)} of periods throttled\n");
            }
        }

        var actionable = doc.Recommendations.Where(ReportFormat.IsActionable).ToList();
        sb.Append('\n');
        if (actionable.Count == 0)
        {
            sb.Append("No container needs a change.\n");
        }
        else
        {
            var counts = actionable.GroupBy(r => r.Action, StringComparer.Ordinal)
                .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{g.Count().ToString(Inv)} {Escape(g.Key)}");
            sb.Append(Inv, $"Actions: {string.Join(", ", counts)}\n\n");
            foreach (var r in TopActions(actionable).Take(3))
            {
                sb.Append(Inv, $"- {Escape(ReportFormat.Name(r.Namespace, r.Workload, r.Container))}: {Escape(r.Action)}, {ReportFormat.Transition(r)}\n");
            }
        }
        if (doc.Comparison is { } c)
        {
            sb.Append(Inv, $"\nSince the previous report: {c.New.Count} new, {c.Resolved.Count} resolved, {c.Worsened.Count} worsened.\n");
        }
        return sb.ToString();
    }

    /// <summary>The actionable recommendations, the most throttled first, then the biggest core change.</summary>
    internal static IEnumerable<Recommendation> TopActions(IEnumerable<Recommendation> actionable)
        => actionable.OrderByDescending(r => r.Evidence.ThrottledCoreSeconds)
            .ThenByDescending(r => Math.Abs(r.CoresDelta ?? 0));

    private static void AppendSummary(StringBuilder sb, ReportSummary s)
    {
        sb.Append("## Cluster summary\n\n");
        sb.Append("| | |\n|---|---:|\n");
        sb.Append(Inv, $"| Containers analyzed | {s.ContainersAnalyzed} |\n");
        sb.Append(Inv, $"| Throttled harmfully | {s.ContainersThrottled} |\n");
        sb.Append(Inv, $"| Throttled core-seconds lost | {ReportFormat.Seconds(s.ThrottledCoreSecondsLost)} |\n");
        sb.Append(Inv, $"| Cores reserved but unused | {ReportFormat.Cores(s.CoresReservedUnused, "0")} |\n\n");

        sb.Append("### Top offenders\n\n");
        if (s.TopOffenders.Count == 0)
        {
            sb.Append("No container lost CPU time to throttling.\n\n");
            return;
        }
        sb.Append(Row("#", "Namespace", "Workload", "Container", "Throttled core-seconds", "Throttled periods (mean)")).Append('\n');
        sb.Append("|---:|---|---|---|---:|---:|\n");
        int i = 0;
        foreach (var o in s.TopOffenders)
        {
            sb.Append(Row(
                (++i).ToString(Inv), Escape(o.Namespace), Escape($"{o.Workload} ({o.WorkloadKind})"), Escape(o.Container),
                ReportFormat.Seconds(o.ThrottledCoreSeconds), ReportFormat.Percent(o.ThrottledRatioMean))).Append('\n');
        }
        sb.Append('\n');
    }

    private static void AppendRecommendation(StringBuilder sb, Recommendation r)
    {
        sb.Append(Inv, $"### {Escape(ReportFormat.Name(r.Namespace, r.Workload, r.Container))}: {Escape(r.Action)}\n\n");
        sb.Append(Inv, $"{Escape(r.WorkloadKind)}, {r.Evidence.Replicas} replicas, confidence {ReportFormat.Number(r.Confidence)}.\n\n");
        sb.Append(Inv, $"**Reason:** {Escape(r.Reason)}\n\n");
        var delta = ReportFormat.Delta(r.CoresDelta);
        sb.Append(Inv, $"**Current → recommended:** {ReportFormat.Transition(r)}{(delta.Length > 0 ? $" ({delta})" : "")}\n\n");
        sb.Append("**Evidence:**\n\n");
        foreach (var (label, value) in ReportFormat.EvidenceRows(r))
        {
            sb.Append(Inv, $"- {label}: {Escape(value)}\n");
        }
        sb.Append('\n');
        if (r.Change is { } change)
        {
            sb.Append("**The change:**\n\n");
            sb.Append(CodeBlock(change.Command, "sh")).Append('\n');
            sb.Append(CodeBlock(change.Yaml, "yaml")).Append('\n');
        }
    }

    private static void AppendNodes(StringBuilder sb, IReadOnlyList<NodeOvercommit> nodes)
    {
        sb.Append("## Node overcommit\n\n");
        if (nodes.Count == 0)
        {
            sb.Append("No node data in the range.\n\n");
            return;
        }
        sb.Append("A node whose CPU limits add up to more than its allocatable CPU (ratio above 1, in bold) can't give every container its limit at once.\n\n");
        sb.Append(Row("Node", "Allocatable cores", "Sum of limits (cores)", "Limits / allocatable", "Usage p95")).Append('\n');
        sb.Append("|---|---:|---:|---:|---:|\n");
        foreach (var n in nodes)
        {
            var ratio = ReportFormat.Number(n.LimitsOverAllocatable);
            if (n.LimitsOverAllocatable > 1)
            {
                ratio = $"**{ratio}**";
            }
            sb.Append(Row(
                Escape(n.Node), ReportFormat.Cores(n.AllocatableCores, "n/a"), ReportFormat.Cores(n.LimitsCores, "n/a"),
                ratio, ReportFormat.Percent(n.UsageP95))).Append('\n');
        }
        sb.Append('\n');
    }

    private static void AppendComparison(StringBuilder sb, ReportComparison c)
    {
        sb.Append("## Compared with the previous report\n\n");
        sb.Append(Inv, $"Previous report generated {Escape(c.PreviousGeneratedAt)}.\n\n");
        AppendKeys(sb, "New", c.New);
        AppendKeys(sb, "Resolved", c.Resolved);
        AppendKeys(sb, "Worsened", c.Worsened);
    }

    private static void AppendKeys(StringBuilder sb, string title, IReadOnlyList<string> keys)
    {
        sb.Append(Inv, $"**{title} ({keys.Count})**\n\n");
        if (keys.Count == 0)
        {
            sb.Append("None.\n\n");
            return;
        }
        foreach (var k in keys)
        {
            sb.Append(Inv, $"- {Escape(k)}\n");
        }
        sb.Append('\n');
    }
}
