using ThrottleWatch.Analyzer.Rules;
using ThrottleWatch.Analyzer.Sources;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Evidence;

/// <summary>The whole analysis: evidence from a source, recommendations from the rules, the summary for reports.</summary>
public static class Analysis
{
    public static async Task<AnalysisResult> RunAsync(
        IMetricSource source,
        Selector selector,
        DateTimeOffset start,
        DateTimeOffset end,
        TimeSpan? step,
        Thresholds thresholds,
        bool keepLimits,
        DateTimeOffset generatedAt,
        CancellationToken cancel)
    {
        var grid = StepGrid.For(start, end, step, source.SampleInterval);
        var builder = new EvidenceBuilder(source, selector);
        var (containers, nodes) = await builder.BuildAsync(grid, start, end, cancel).ConfigureAwait(false);
        var nodeMap = nodes.ToDictionary(n => n.Node, StringComparer.Ordinal);
        var engine = new RuleEngine(thresholds, keepLimits);
        var recommendations = containers.SelectMany(c => engine.Recommend(c, nodeMap)).ToList();

        var series = containers.ToDictionary(c => c.Key, c => new ContainerSeries(
            c.Times,
            Nullable(c.UsageCores),
            Nullable(c.Ratio),
            Nullable(c.Request),
            Nullable(c.Limit)));

        string[] harmful = [RuleEngine.RemoveLimit, RuleEngine.RaiseLimit, RuleEngine.TuneApp];
        var byKey = recommendations.GroupBy(AnalysisResult.KeyOf).ToDictionary(g => g.Key, g => g.ToList());
        double unused = 0;
        foreach (var c in containers)
        {
            var ev = byKey[c.Key][0].Evidence;
            if (ContainerEvidence.Last(c.Request) is { } req && ev.UsageCoresP95 is { } p95 && req > p95)
            {
                unused += (req - p95) * ev.Replicas;
            }
        }
        var summary = new ReportSummary(
            containers.Count,
            byKey.Count(kv => kv.Value.Any(r => harmful.Contains(r.Action))),
            Math.Round(containers.Sum(c => c.ThrottledCoreSeconds), 3),
            Math.Round(unused, 3),
            containers.Where(c => c.ThrottledCoreSeconds > 0)
                .OrderByDescending(c => c.ThrottledCoreSeconds)
                .Take(10)
                .Select(c => new Offender(c.Key.Namespace, c.Key.WorkloadKind, c.Key.Workload, c.Key.Container, Math.Round(c.ThrottledCoreSeconds, 3), c.RatioMean is { } m ? Math.Round(m, 6) : null))
                .ToList());
        var overcommit = nodes.Select(n => new NodeOvercommit(n.Node, n.AllocatableCores, n.LimitsCores,
            n.AllocatableCores is > 0 && n.LimitsCores is { } l ? Math.Round(l / n.AllocatableCores.Value, 4) : null,
            n.UsageRatioP95 is { } u ? Math.Round(u, 4) : null)).ToList();

        var report = new ReportDocument(generatedAt, new TimeRange(start, end), source.Description, summary, recommendations, overcommit, null);
        return new AnalysisResult(report, series);
    }

    /// <summary>The values as the charts take them: null for NaN, rounded to 6 decimals; a view, not a copy (1,000 containers × 2,000 steps).</summary>
    private static NullableView Nullable(double[] values) => new(values);

    private sealed class NullableView(double[] values) : IReadOnlyList<double?>
    {
        public double? this[int index] => double.IsNaN(values[index]) ? null : Math.Round(values[index], 6);

        public int Count => values.Length;

        public IEnumerator<double?> GetEnumerator()
        {
            for (int i = 0; i < values.Length; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
