using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Evidence;

/// <summary>A container of a workload, replicas aggregated.</summary>
public sealed record ContainerKey(string Namespace, string WorkloadKind, string Workload, string Container)
{
    public override string ToString() => $"{Namespace}/{WorkloadKind}/{Workload}/{Container}";
}

/// <summary>
/// Per-step values of one container over the range, for charts: usage per replica in cores, the
/// throttled ratio, and the request and limit at each step (null where there is no data).
/// </summary>
public sealed record ContainerSeries(
    IReadOnlyList<DateTimeOffset> Times,
    IReadOnlyList<double?> UsageCores,
    IReadOnlyList<double?> ThrottledRatio,
    IReadOnlyList<double?> RequestCores,
    IReadOnlyList<double?> LimitCores);

/// <summary>Everything the reports show: the recommendations, their series, the nodes, the summary.</summary>
public sealed record AnalysisResult(
    ReportDocument Report,
    IReadOnlyDictionary<ContainerKey, ContainerSeries> Series)
{
    public RecommendationDocument Recommendations => new(Report.GeneratedAt, Report.Range, Report.Source, Report.Recommendations);

    public static ContainerKey KeyOf(Recommendation r) => new(r.Namespace, r.WorkloadKind, r.Workload, r.Container);
}
