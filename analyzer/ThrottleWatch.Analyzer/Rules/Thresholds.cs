namespace ThrottleWatch.Analyzer.Rules;

/// <summary>
/// Every number the rules decide by, in one place (docs/recommendations.md explains each).
/// </summary>
public sealed record Thresholds
{
    /// <summary>Harmful throttling: p95 of throttled seconds per second per replica at least this (0.05: the threads lose 50 ms of CPU every second).</summary>
    public double HarmfulThrottledSecondsPerSecondP95 { get; init; } = 0.05;

    /// <summary>…and the p95 of the throttled ratio at least this: a few long stalls in rare periods are not a pattern.</summary>
    public double HarmfulRatioP95 { get; init; } = 0.1;

    /// <summary>tune-app: mean usage below this share of the limit while harmfully throttled (bursts of many threads).</summary>
    public double BurstyUsageMeanOverLimit { get; init; } = 0.5;

    /// <summary>tune-app: and the p95 of usage below this share of the limit.</summary>
    public double BurstyUsageP95OverLimit { get; init; } = 0.8;

    /// <summary>remove-limit needs every node it ran on below this p95 usage / allocatable.</summary>
    public double HeadroomNodeUsageP95 { get; init; } = 0.8;

    /// <summary>raise-limit: new limit = (usage p95 + throttled s/s p95) × this, rounded up.</summary>
    public double LimitMargin { get; init; } = 1.2;

    /// <summary>raise-request: median usage above request × this…</summary>
    public double RaiseRequestOver { get; init; } = 1.3;

    /// <summary>…and above the request by at least this many cores.</summary>
    public double RaiseRequestMinCores { get; init; } = 0.05;

    /// <summary>lower-request: p99 usage below request × this…</summary>
    public double LowerRequestUnder { get; init; } = 0.5;

    /// <summary>…and below the request by at least this many cores.</summary>
    public double LowerRequestMinCores { get; init; } = 0.1;

    /// <summary>New requests: usage p90 × this (VPA's target is p90 + 15%).</summary>
    public double RequestMargin { get; init; } = 1.15;

    /// <summary>Not enough data: fewer steps with data than this share of the range…</summary>
    public double MinCoverage { get; init; } = 0.5;

    /// <summary>…or fewer steps than this.</summary>
    public int MinSteps { get; init; } = 8;

    /// <summary>Confidence reaches 1 with this much observed time (and full coverage).</summary>
    public TimeSpan FullConfidenceAfter { get; init; } = TimeSpan.FromDays(1);

    public static Thresholds Default { get; } = new();
}
