using System.Globalization;
using System.Text.Json;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>
/// This report against the previous one (<c>--previous report.json</c>). A recommendation is known
/// by "namespace/workloadKind/workload/container/action"; <c>none</c> is not a finding and is left out.
/// </summary>
internal static class Comparison
{
    /// <summary>A finding has worsened when its throttling grew by more than this share.</summary>
    public const double WorsenedGrowth = 0.20;

    /// <summary>
    /// New: in <paramref name="current"/> only. Resolved: in <paramref name="previous"/> only.
    /// Worsened: in both, with throttled core-seconds or the p95 of throttled seconds per second up by
    /// more than 20% (from zero, any rise counts). Each list is sorted (ordinal).
    /// </summary>
    public static ReportComparison Compare(ReportDocument current, ReportDocument previous)
    {
        var now = Index(current);
        var before = Index(previous);
        var added = now.Keys.Where(k => !before.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var resolved = before.Keys.Where(k => !now.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var worsened = now
            .Where(kv => before.TryGetValue(kv.Key, out var old) && Worse(kv.Value.Evidence, old.Evidence))
            .Select(kv => kv.Key)
            .Order(StringComparer.Ordinal)
            .ToList();
        var at = previous.GeneratedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return new ReportComparison(at, added, resolved, worsened);
    }

    /// <summary>
    /// Reads a previous <c>report.json</c>. A file that is not one (bad JSON, or without the parts a
    /// comparison needs) throws <see cref="InvalidDataException"/> with a one-line message naming the
    /// file; a missing file throws <see cref="FileNotFoundException"/>.
    /// </summary>
    public static ReportDocument ReadPrevious(string path)
    {
        ReportDocument? doc;
        try
        {
            using var stream = File.OpenRead(path);
            doc = JsonSerializer.Deserialize(stream, RecommendationJsonContext.Default.ReportDocument);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a ThrottleWatch report.json: {OneLine(e.Message)}", e);
        }
        if (doc?.Range is null || doc.Recommendations is null)
        {
            throw new InvalidDataException($"{path} is not a ThrottleWatch report.json: it has no range or no recommendations.");
        }
        for (int i = 0; i < doc.Recommendations.Count; i++)
        {
            var r = doc.Recommendations[i];
            if (r is null || r.Namespace is null || r.WorkloadKind is null || r.Workload is null || r.Container is null
                || r.Action is null || r.Evidence is null)
            {
                throw new InvalidDataException($"{path} is not a ThrottleWatch report.json: recommendation {i} lacks its key or evidence.");
            }
        }
        return doc;
    }

    private static Dictionary<string, Recommendation> Index(ReportDocument doc)
    {
        var map = new Dictionary<string, Recommendation>(StringComparer.Ordinal);
        foreach (var r in doc.Recommendations)
        {
            if (ReportFormat.IsActionable(r))
            {
                map.TryAdd(ReportFormat.Key(r), r);
            }
        }
        return map;
    }

    private static bool Worse(Contracts.Evidence now, Contracts.Evidence before)
        => Grew(now.ThrottledCoreSeconds, before.ThrottledCoreSeconds)
           || (now.ThrottledSecondsPerSecondP95 is { } a && before.ThrottledSecondsPerSecondP95 is { } b && Grew(a, b));

    private static bool Grew(double now, double before)
        => double.IsFinite(now) && double.IsFinite(before) && now > before * (1 + WorsenedGrowth) && now > before;

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
