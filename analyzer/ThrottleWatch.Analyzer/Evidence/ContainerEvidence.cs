namespace ThrottleWatch.Analyzer.Evidence;

/// <summary>
/// One container of one workload over the range, replicas aggregated: the per-step values the
/// rules and the charts read, and the summary numbers derived from them.
/// </summary>
public sealed class ContainerEvidence
{
    public required ContainerKey Key { get; init; }
    public required IReadOnlyList<DateTimeOffset> Times { get; init; }
    public required TimeSpan Step { get; init; }

    /// <summary>Usage per replica (cores) at each step; NaN where there is no data.</summary>
    public required double[] UsageCores { get; init; }
    public required double[] Replicas { get; init; }
    public required double[] ThrottledPeriodsRate { get; init; }
    public required double[] PeriodsRate { get; init; }
    /// <summary>Throttled seconds per second per replica.</summary>
    public required double[] ThrottledSecondsPerReplica { get; init; }
    /// <summary>Throttled seconds per second, all replicas.</summary>
    public required double[] ThrottledSecondsTotal { get; init; }
    public required double[] UsagePeak { get; init; }
    public required double[] RatioPeak { get; init; }
    public required double[] Request { get; init; }
    public required double[] Limit { get; init; }
    public required IReadOnlyList<string> Nodes { get; init; }
    public required string QosClass { get; init; }

    /// <summary>Throttled ratio at each step: throttled periods / periods (NaN where no period ran).</summary>
    public double[] Ratio => ThrottledPeriodsRate.Zip(PeriodsRate, (t, p) => p > 0 && !double.IsNaN(t) ? Math.Min(1, t / p) : double.NaN).ToArray();

    /// <summary>Share of the steps with usage data.</summary>
    public double Coverage => UsageCores.Length == 0 ? 0 : UsageCores.Count(v => !double.IsNaN(v)) / (double)UsageCores.Length;

    public int StepsWithData => UsageCores.Count(v => !double.IsNaN(v));

    /// <summary>Time covered by data.</summary>
    public TimeSpan Observed => TimeSpan.FromTicks(Step.Ticks * StepsWithData);

    public double? RatioMean
    {
        get
        {
            double t = Sum(ThrottledPeriodsRate), p = Sum(PeriodsRate);
            return p > 0 ? Math.Min(1, t / p) : null;
        }
    }

    public double ThrottledCoreSeconds => Sum(ThrottledSecondsTotal) * Step.TotalSeconds;

    /// <summary>The latest known value (request and limit as they are now).</summary>
    public static double? Last(double[] values)
    {
        for (int i = values.Length - 1; i >= 0; i--)
        {
            if (!double.IsNaN(values[i]))
            {
                return values[i];
            }
        }
        return null;
    }

    public static double? Max(double[] values) => values.Any(v => !double.IsNaN(v)) ? values.Where(v => !double.IsNaN(v)).Max() : null;

    public static double? Mean(double[] values) => values.Any(v => !double.IsNaN(v)) ? values.Where(v => !double.IsNaN(v)).Average() : null;

    public static double Sum(double[] values) => values.Where(v => !double.IsNaN(v)).Sum();

    /// <summary>Percentile with linear interpolation between closest ranks (numpy's default); null without data.</summary>
    public static double? Percentile(double[] values, double p)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }
        double rank = p / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}

/// <summary>A node over the range: usage against allocatable, and its commitments.</summary>
public sealed record NodeEvidence(string Node, double? AllocatableCores, double? CapacityCores, double? LimitsCores, double? UsageRatioP95);
