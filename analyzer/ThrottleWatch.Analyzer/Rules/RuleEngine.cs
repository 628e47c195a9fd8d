using System.Globalization;
using ThrottleWatch.Analyzer.Evidence;
using ThrottleWatch.Contracts;
using static ThrottleWatch.Analyzer.Evidence.ContainerEvidence;

namespace ThrottleWatch.Analyzer.Rules;

/// <summary>
/// Turns one container's evidence into its recommendations: at most one about the limit
/// (remove-limit, raise-limit, tune-app) and one about the request (raise-request, lower-request),
/// or a single <c>none</c>. The exact rules are in docs/recommendations.md.
/// </summary>
public sealed class RuleEngine(Thresholds thresholds, bool keepLimits)
{
    public const string RemoveLimit = "remove-limit";
    public const string RaiseLimit = "raise-limit";
    public const string TuneApp = "tune-app";
    public const string RaiseRequest = "raise-request";
    public const string LowerRequest = "lower-request";
    public const string None = "none";

    public IReadOnlyList<Recommendation> Recommend(ContainerEvidence e, IReadOnlyDictionary<string, NodeEvidence> nodes)
    {
        var t = thresholds;
        double? request = Last(e.Request);
        double? limit = Last(e.Limit);
        var current = new Resources(request, limit);
        var evidence = Summarise(e, nodes);
        double confidence = Confidence(e);

        if (e.Coverage < t.MinCoverage || e.StepsWithData < t.MinSteps)
        {
            return [Make(e, None, F($"not enough data: {e.Coverage:P0} of the range has samples ({e.StepsWithData} steps of {e.Step.TotalSeconds:0}s); at least {t.MinCoverage:P0} and {t.MinSteps} steps are needed"),
                current, null, evidence, confidence, null, null)];
        }

        var result = new List<Recommendation>();
        double usageMean = evidence.UsageCoresMean ?? 0;
        double usageP50 = evidence.UsageCoresP50 ?? 0;
        double usageP90 = evidence.UsageCoresP90 ?? 0;
        double usageP95 = evidence.UsageCoresP95 ?? 0;
        double usageP99 = evidence.UsageCoresP99 ?? 0;
        double thrP95 = evidence.ThrottledSecondsPerSecondP95 ?? 0;
        double ratioP95 = evidence.ThrottledRatioP95 ?? 0;
        bool harmful = thrP95 >= t.HarmfulThrottledSecondsPerSecondP95 && ratioP95 >= t.HarmfulRatioP95;

        if (harmful && limit is { } lim && lim > 0)
        {
            bool bursty = usageMean < t.BurstyUsageMeanOverLimit * lim && usageP95 < t.BurstyUsageP95OverLimit * lim;
            bool headroom = evidence.NodeUsageP95 is { } nu && nu < t.HeadroomNodeUsageP95;
            bool requestCovers = request is { } rq && rq >= usageP50;
            string throttled = F($"throttled {thrP95:0.###} s/s at p95 (ratio p95 {ratioP95:P0}, {evidence.ThrottledCoreSeconds:0} core-seconds lost)");
            if (bursty)
            {
                result.Add(Make(e, TuneApp,
                    F($"{throttled} while using on average {usageMean:0.###} of its {lim:0.###}-core limit: bursts of many threads spend the quota early in each period. Size thread pools to the limit (GOMAXPROCS={Math.Max(1, (int)Math.Ceiling(lim))}, -XX:ActiveProcessorCount, DOTNET_PROCESSOR_COUNT) or allow a CFS burst (cpu.max.burst, kernel 5.14+)"),
                    current, current, evidence, confidence, null, null));
            }
            else if (headroom && requestCovers && !keepLimits)
            {
                result.Add(Make(e, RemoveLimit,
                    F($"{throttled}; its nodes have headroom (usage p95 {evidence.NodeUsageP95:P0} of allocatable) and the request {request:0.###} covers typical usage ({usageP50:0.###} cores at p50): the limit only hurts"),
                    current, new Resources(request, null), evidence, confidence, ChangeWriter.For(e.Key, request, null, removeLimit: true), null));
            }
            else
            {
                double demand = (usageP95 + thrP95) * t.LimitMargin;
                double next = Cores.RoundLimitUp(Math.Max(demand, lim + 0.1));
                string why = keepLimits ? "limits are kept (--keep-limits)"
                    : !headroom ? (evidence.NodeUsageP95 is null ? "node headroom is unknown (no node metrics)" : F($"its nodes are busy (usage p95 {evidence.NodeUsageP95:P0} of allocatable)"))
                    : F($"the request ({Cores.Text(request)}) is below typical usage ({usageP50:0.###} at p50)");
                result.Add(Make(e, RaiseLimit,
                    F($"{throttled}; removing the limit is unsafe or unwanted: {why}. Demand the data shows: usage p95 {usageP95:0.###} + throttled {thrP95:0.###} s/s, × {t.LimitMargin} margin"),
                    current, new Resources(request, next), evidence, confidence, ChangeWriter.For(e.Key, null, next, removeLimit: false), null));
            }
        }

        int replicas = Math.Max(1, (int)Math.Round(Max(e.Replicas) ?? 1));
        if ((request ?? 0) * t.RaiseRequestOver < usageP50 && usageP50 - (request ?? 0) >= t.RaiseRequestMinCores)
        {
            double next = Cores.RoundRequestUp(usageP90 * t.RequestMargin);
            // A request above the limit is invalid: cap it at the limit the other recommendation leaves.
            double? newLimit = result.Count > 0 && result[0].Recommended is { } rec ? rec.LimitCores : limit;
            if (newLimit is { } l && next > l)
            {
                next = l;
            }
            result.Add(Make(e, RaiseRequest,
                F($"uses {usageP50:0.###} cores at p50, above its request of {Cores.Text(request)}: it lives on other pods' spare CPU and is the first to suffer under contention. New request: usage p90 {usageP90:0.###} × {t.RequestMargin}"),
                current, new Resources(next, newLimit), evidence, confidence,
                ChangeWriter.For(e.Key, next, null, removeLimit: false), Math.Round((next - (request ?? 0)) * replicas, 3)));
        }
        else if (request is { } req && usageP99 < req * t.LowerRequestUnder && req - usageP99 >= t.LowerRequestMinCores)
        {
            double next = Math.Min(req, Cores.RoundRequestUp(Math.Max(usageP90 * t.RequestMargin, 0.01)));
            result.Add(Make(e, LowerRequest,
                F($"requests {req:0.###} cores but uses at most {usageP99:0.###} (p99): {req - next:0.###} cores per replica reserved and unused. New request: usage p90 {usageP90:0.###} × {t.RequestMargin}"),
                current, new Resources(next, limit), evidence, confidence,
                ChangeWriter.For(e.Key, next, null, removeLimit: false), Math.Round((next - req) * replicas, 3)));
        }

        if (result.Count == 0)
        {
            string why = limit is null
                ? F($"healthy: no CPU limit, usage {usageP50:0.###} cores at p50 against a request of {Cores.Text(request)}")
                : thrP95 < t.HarmfulThrottledSecondsPerSecondP95
                    ? F($"healthy: throttled {thrP95:0.###} s/s at p95 (below {t.HarmfulThrottledSecondsPerSecondP95}) even in {ratioP95:P0} of periods: not enough lost time to matter")
                    : F($"healthy: throttled in only {ratioP95:P0} of periods at p95");
            result.Add(Make(e, None, why, current, null, evidence, confidence, null, null));
        }
        return result;
    }

    private static Recommendation Make(ContainerEvidence e, string action, string reason, Resources current, Resources? recommended, Contracts.Evidence evidence, double confidence, Change? change, double? delta)
        => new(e.Key.Namespace, e.Key.WorkloadKind, e.Key.Workload, e.Key.Container, action, reason, current, recommended, evidence, confidence, change, delta);

    public static Contracts.Evidence Summarise(ContainerEvidence e, IReadOnlyDictionary<string, NodeEvidence> nodes)
    {
        var ratio = e.Ratio;
        var mine = e.Nodes.Select(n => nodes.GetValueOrDefault(n)).Where(n => n is not null).ToList();
        double? nodeUsage = mine.Count == e.Nodes.Count && mine.Count > 0 && mine.All(n => n!.UsageRatioP95 is not null) ? mine.Max(n => n!.UsageRatioP95) : null;
        double? overcommit = mine.Where(n => n!.AllocatableCores is > 0 && n.LimitsCores is not null).Select(n => n!.LimitsCores / n.AllocatableCores).DefaultIfEmpty(null).Max();
        return new Contracts.Evidence(
            Math.Max(1, (int)Math.Round(Max(e.Replicas) ?? 1)),
            e.Nodes,
            e.QosClass,
            R(e.RatioMean),
            R(Percentile(ratio, 95)),
            R(Mean(e.ThrottledSecondsPerReplica)),
            R(Percentile(e.ThrottledSecondsPerReplica, 95)),
            Math.Round(e.ThrottledCoreSeconds, 3),
            R(Mean(e.UsageCores)),
            R(Percentile(e.UsageCores, 50)),
            R(Percentile(e.UsageCores, 90)),
            R(Percentile(e.UsageCores, 95)),
            R(Percentile(e.UsageCores, 99)),
            R(Max(e.UsagePeak)),
            R(Max(e.RatioPeak)),
            R(nodeUsage),
            R(overcommit),
            Math.Round(e.Coverage, 4));
    }

    /// <summary>Coverage × √(observed time / a day), capped at 1: a 10-minute recording is a hint, a full week is evidence.</summary>
    public double Confidence(ContainerEvidence e)
        => Math.Round(e.Coverage * Math.Min(1, Math.Sqrt(e.Observed / thresholds.FullConfidenceAfter)), 3);

    private static double? R(double? v) => v is { } x && double.IsFinite(x) ? Math.Round(x, 6) : null;

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
