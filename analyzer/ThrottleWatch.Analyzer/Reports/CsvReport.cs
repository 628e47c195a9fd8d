using System.Text;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>
/// <c>recommend --format csv</c>: one row per recommendation, RFC 4180 (CRLF line ends; a field
/// with a comma, quote or line break is quoted and its quotes doubled). Text from the cluster is
/// also defused for spreadsheets: a text field starting with <c>= + - @</c>, a tab or a carriage
/// return gets a leading apostrophe, so <c>=cmd()</c> stays text (OWASP "CSV injection").
/// Numbers are written by us (invariant, no separators, empty when absent) and are left as they are,
/// so a negative <c>cores_delta</c> stays a number.
/// </summary>
internal static class CsvReport
{
    /// <summary>The header, in column order.</summary>
    public static readonly IReadOnlyList<string> Columns =
    [
        "namespace", "workload_kind", "workload", "container", "action", "confidence",
        "current_request", "current_limit", "recommended_request", "recommended_limit", "cores_delta",
        "throttled_ratio_mean", "throttled_seconds_per_second_p95", "usage_cores_p95", "reason", "command",
    ];

    /// <summary>The CSV text: the header line, then one line per recommendation.</summary>
    public static string Recommendations(RecommendationDocument document)
    {
        var sb = new StringBuilder();
        AppendRow(sb, Columns);
        foreach (var r in document.Recommendations)
        {
            AppendRow(sb,
            [
                Text(r.Namespace), Text(r.WorkloadKind), Text(r.Workload), Text(r.Container), Text(r.Action),
                ReportFormat.Machine(r.Confidence),
                ReportFormat.Machine(r.Current.RequestCores), ReportFormat.Machine(r.Current.LimitCores),
                ReportFormat.Machine(r.Recommended?.RequestCores), ReportFormat.Machine(r.Recommended?.LimitCores),
                ReportFormat.Machine(r.CoresDelta),
                ReportFormat.Machine(r.Evidence.ThrottledRatioMean),
                ReportFormat.Machine(r.Evidence.ThrottledSecondsPerSecondP95),
                ReportFormat.Machine(r.Evidence.UsageCoresP95),
                Text(r.Reason), Text(r.Change?.Command),
            ]);
        }
        return sb.ToString();
    }

    /// <summary>A text value defused for spreadsheets: a leading apostrophe before a formula start.</summary>
    public static string Text(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }
        return value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + value : value;
    }

    /// <summary>One field, quoted when RFC 4180 requires it.</summary>
    public static string Quote(string field)
        => field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static void AppendRow(StringBuilder sb, IReadOnlyList<string> fields)
    {
        for (int i = 0; i < fields.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }
            sb.Append(Quote(fields[i]));
        }
        sb.Append("\r\n");
    }
}
