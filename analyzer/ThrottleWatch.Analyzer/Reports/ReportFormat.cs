using System.Globalization;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>
/// How every report writes numbers, dates and keys, so Markdown, HTML, CSV and the Slack summary
/// agree to the digit. Always the invariant culture.
/// </summary>
internal static class ReportFormat
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The action that means "leave it as it is".</summary>
    public const string NoAction = "none";

    /// <summary>Cores as a person reads them: <c>0.25</c>, <c>1.5</c>, <c>2</c>; null as <paramref name="whenNull"/>.</summary>
    public static string Cores(double? cores, string whenNull = "none")
        => cores is { } v && double.IsFinite(v) ? Trim(v, "0.###") : whenNull;

    /// <summary>A ratio 0..1 as a percentage: <c>0.3124</c> → <c>31.2%</c>.</summary>
    public static string Percent(double? ratio, string whenNull = "n/a")
        => ratio is { } v && double.IsFinite(v) ? Trim(v * 100, "0.#") + "%" : whenNull;

    /// <summary>A count of seconds, whole, with thousands separators: <c>18432.5</c> → <c>18,433</c> (half away from zero).</summary>
    public static string Seconds(double seconds)
        => double.IsFinite(seconds) ? Trim(seconds, "#,0") : "n/a";

    /// <summary>A plain number with up to 3 decimals, or <paramref name="whenNull"/>.</summary>
    public static string Number(double? value, string whenNull = "n/a")
        => value is { } v && double.IsFinite(v) ? Trim(v, "0.###") : whenNull;

    /// <summary>A signed core delta: <c>+1.5</c>, <c>-0.75</c>.</summary>
    public static string SignedCores(double value)
    {
        var s = Trim(value, "0.###");
        return s.StartsWith('-') || s == "0" ? s : "+" + s;
    }

    /// <summary>A number for a machine (CSV): up to 6 decimals, no separators, empty for null.</summary>
    public static string Machine(double? value)
        => value is { } v && double.IsFinite(v) ? Trim(v, "0.######") : "";

    /// <summary>A UTC time to the minute: <c>2026-11-18 00:00</c>.</summary>
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", Inv);

    /// <summary>The analysed range: <c>2026-11-18 00:00 → 2026-11-25 00:00 UTC</c>.</summary>
    public static string Range(TimeRange range) => $"{Time(range.Start)} → {Time(range.End)} UTC";

    /// <summary>Request and limit together: <c>request 0.5, limit 1</c> (<c>no limit</c>, <c>no request</c>).</summary>
    public static string Resources(Resources? r)
        => r is null
            ? "unchanged"
            : (r.RequestCores is null ? "no request" : "request " + Cores(r.RequestCores))
              + ", " + (r.LimitCores is null ? "no limit" : "limit " + Cores(r.LimitCores));

    /// <summary>What changes, in words: <c>request 0.5, limit 1 → request 0.5, no limit</c>.</summary>
    public static string Transition(Recommendation r)
        => r.Recommended is null ? Resources(r.Current) + " (unchanged)" : Resources(r.Current) + " → " + Resources(r.Recommended);

    /// <summary>The core delta as a phrase, or empty: <c>+1.5 cores over all replicas</c>.</summary>
    public static string Delta(double? coresDelta)
        => coresDelta is { } d && double.IsFinite(d) ? $"{SignedCores(d)} cores over all replicas" : "";

    /// <summary>The key of a recommendation, as <see cref="Comparison"/> and the reports use it.</summary>
    public static string Key(Recommendation r)
        => $"{r.Namespace}/{r.WorkloadKind}/{r.Workload}/{r.Container}/{r.Action}";

    /// <summary>The short name of a container: <c>namespace/workload/container</c>.</summary>
    public static string Name(string ns, string workload, string container) => $"{ns}/{workload}/{container}";

    /// <summary>Whether a recommendation asks for a change.</summary>
    public static bool IsActionable(Recommendation r) => !string.Equals(r.Action, NoAction, StringComparison.Ordinal);

    /// <summary>
    /// The evidence as label/value lines in plain (unescaped) text: each report escapes them its way.
    /// Nodes are listed up to five, then counted.
    /// </summary>
    public static IReadOnlyList<(string Label, string Value)> EvidenceRows(Recommendation r)
    {
        var e = r.Evidence;
        var nodes = e.Nodes.Count <= 5
            ? string.Join(", ", e.Nodes)
            : string.Join(", ", e.Nodes.Take(5)) + $" and {e.Nodes.Count - 5} more";
        var noThrottling = r.Current.LimitCores is null ? "no data (no CPU limit, so no throttling)" : "no data";
        return
        [
            ("Replicas", $"{e.Replicas.ToString(Inv)} (QoS {e.QosClass})"),
            ("Nodes", nodes.Length == 0 ? "none seen" : nodes),
            ("Throttled periods", e.ThrottledRatioMean is null && e.ThrottledRatioP95 is null && e.ThrottledRatioPeakMax is null
                ? noThrottling
                : $"mean {Percent(e.ThrottledRatioMean)}, p95 {Percent(e.ThrottledRatioP95)}, peak {Percent(e.ThrottledRatioPeakMax)}"),
            ("Throttled seconds per second (per replica)", e.ThrottledSecondsPerSecondMean is null && e.ThrottledSecondsPerSecondP95 is null
                ? noThrottling
                : $"mean {Number(e.ThrottledSecondsPerSecondMean)}, p95 {Number(e.ThrottledSecondsPerSecondP95)}"),
            ("Throttled core-seconds lost", Seconds(e.ThrottledCoreSeconds)),
            ("Usage per replica (cores)", $"mean {Number(e.UsageCoresMean)}, p50 {Number(e.UsageCoresP50)}, p90 {Number(e.UsageCoresP90)}, p95 {Number(e.UsageCoresP95)}, p99 {Number(e.UsageCoresP99)}, peak {Number(e.UsagePeakMax)}"),
            ("Busiest node, usage p95", Percent(e.NodeUsageP95)),
            ("Node limits / allocatable", e.NodeLimitsOverAllocatable is { } o ? Number(o) + "×" : "n/a"),
            ("Coverage", $"{Percent(e.Coverage)} of the range (confidence {Number(r.Confidence)})"),
        ];
    }

    /// <summary>Formats, then turns "-0" (a tiny negative rounded away) into "0".</summary>
    private static string Trim(double v, string format)
    {
        var s = v.ToString(format, Inv);
        return s == "-0" ? "0" : s;
    }
}
