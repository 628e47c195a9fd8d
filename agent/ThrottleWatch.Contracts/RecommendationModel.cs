using System.Text.Json.Serialization;

namespace ThrottleWatch.Contracts;

/// <summary>
/// The JSON of <c>throttlewatch-analyzer recommend --format json</c> (and the base of
/// <c>report.json</c>): a contract, documented in docs/recommendations.md. camelCase; absent values are null.
/// </summary>
public sealed record RecommendationDocument(
    DateTimeOffset GeneratedAt,
    TimeRange Range,
    string Source,
    IReadOnlyList<Recommendation> Recommendations);

public sealed record TimeRange(DateTimeOffset Start, DateTimeOffset End);

/// <summary>One recommendation for one container of one workload (replicas aggregated).</summary>
/// <param name="Action">remove-limit, raise-limit, tune-app, raise-request, lower-request or none.</param>
/// <param name="Reason">One sentence: why this action, with the numbers that decided it.</param>
/// <param name="Recommended">Null for <c>none</c>. <c>LimitCores</c> null means no limit.</param>
/// <param name="Confidence">0 to 1, from how much of the range has data.</param>
/// <param name="CoresDelta">For request changes: cores added (positive) or saved (negative) over all replicas.</param>
public sealed record Recommendation(
    string Namespace,
    string WorkloadKind,
    string Workload,
    string Container,
    string Action,
    string Reason,
    Resources Current,
    Resources? Recommended,
    Evidence Evidence,
    double Confidence,
    Change? Change,
    double? CoresDelta);

/// <summary>CPU in cores; a null limit is no limit, a null request is none set.</summary>
public sealed record Resources(double? RequestCores, double? LimitCores);

/// <summary>The change as a ready command and as a YAML snippet for the manifest.</summary>
public sealed record Change(string Command, string Yaml);

/// <summary>The numbers behind a recommendation, over the analysed range.</summary>
/// <param name="ThrottledRatioMean">Throttled periods / periods over the whole range.</param>
/// <param name="ThrottledRatioP95">95th percentile of the per-step ratio.</param>
/// <param name="ThrottledSecondsPerSecondMean">Throttled seconds per second per replica (summed over CPUs).</param>
/// <param name="ThrottledCoreSeconds">Throttled seconds lost over the range, all replicas.</param>
/// <param name="UsageCoresP95">Per-replica CPU usage, 95th percentile of the per-step rates.</param>
/// <param name="UsagePeakMax">Highest 1-interval usage the agent saw (its peak gauge).</param>
/// <param name="ThrottledRatioPeakMax">Highest 1-interval throttled ratio the agent saw.</param>
/// <param name="NodeUsageP95">Busiest of the nodes it ran on: 95th percentile of node usage / allocatable.</param>
/// <param name="NodeLimitsOverAllocatable">Most overcommitted of its nodes: sum of limits / allocatable.</param>
/// <param name="Coverage">Share of the range's steps with data, 0 to 1.</param>
public sealed record Evidence(
    int Replicas,
    IReadOnlyList<string> Nodes,
    string QosClass,
    double? ThrottledRatioMean,
    double? ThrottledRatioP95,
    double? ThrottledSecondsPerSecondMean,
    double? ThrottledSecondsPerSecondP95,
    double ThrottledCoreSeconds,
    double? UsageCoresMean,
    double? UsageCoresP50,
    double? UsageCoresP90,
    double? UsageCoresP95,
    double? UsageCoresP99,
    double? UsagePeakMax,
    double? ThrottledRatioPeakMax,
    double? NodeUsageP95,
    double? NodeLimitsOverAllocatable,
    double Coverage);

/// <summary><c>report.json</c>: the recommendations, the summary, node overcommit and the comparison with last week.</summary>
public sealed record ReportDocument(
    DateTimeOffset GeneratedAt,
    TimeRange Range,
    string Source,
    ReportSummary Summary,
    IReadOnlyList<Recommendation> Recommendations,
    IReadOnlyList<NodeOvercommit> Nodes,
    ReportComparison? Comparison);

public sealed record ReportSummary(
    int ContainersAnalyzed,
    int ContainersThrottled,
    double ThrottledCoreSecondsLost,
    double CoresReservedUnused,
    IReadOnlyList<Offender> TopOffenders);

public sealed record Offender(string Namespace, string WorkloadKind, string Workload, string Container, double ThrottledCoreSeconds, double? ThrottledRatioMean);

public sealed record NodeOvercommit(string Node, double? AllocatableCores, double? LimitsCores, double? LimitsOverAllocatable, double? UsageP95);

/// <summary>Against <c>--previous</c>: keys are "namespace/workloadKind/workload/container/action".</summary>
public sealed record ReportComparison(string PreviousGeneratedAt, IReadOnlyList<string> New, IReadOnlyList<string> Resolved, IReadOnlyList<string> Worsened);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = true)]
[JsonSerializable(typeof(RecommendationDocument))]
[JsonSerializable(typeof(ReportDocument))]
public sealed partial class RecommendationJsonContext : JsonSerializerContext;
