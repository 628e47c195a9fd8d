using System.Reflection;
using ThrottleWatch.Analyzer.Evidence;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>
/// A hand-made analysis for the report tests: one recommendation per action (none included), a week
/// of 5-minute series with a six-hour gap, two nodes (one overcommitted), a comparison, and label
/// values that try to break out of Markdown, HTML and spreadsheets.
/// </summary>
internal static class ReportSample
{
    public const string HostileNamespace = "shop|<b>x</b>";
    public const string HostileWorkload = "*bold* _it_ [link](http://evil)";
    public const string FormulaContainer = "=cmd()";

    public static readonly DateTimeOffset Start = new(2026, 11, 16, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset End = Start.AddDays(7);
    public static readonly DateTimeOffset GeneratedAt = End.AddHours(6);
    public static readonly TimeSpan Step = TimeSpan.FromMinutes(5);

    /// <summary>Steps 700 to 771 (six hours on the third day) have no data: the agent was down.</summary>
    public const int GapFrom = 700, GapTo = 772;

    public static string RepoRoot { get; } = typeof(ReportSample).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    public static string GoldenDir => Path.Combine(RepoRoot, "tests", "ThrottleWatch.Analyzer.Tests", "Golden");

    public static AnalysisResult Build()
    {
        var recs = Recommendations();
        var summary = new ReportSummary(
            ContainersAnalyzed: 42,
            ContainersThrottled: 3,
            ThrottledCoreSecondsLost: 28317.8,
            CoresReservedUnused: 7.35,
            TopOffenders:
            [
                new Offender(HostileNamespace, "Deployment", "checkout", "app", 18230.4, 0.312),
                new Offender("payments", "StatefulSet", HostileWorkload, "db", 6120.7, 0.121),
                new Offender("search", "Deployment", "indexer", FormulaContainer, 3954.2, 0.224),
                new Offender("batch", "CronJob", "nightly-report", "worker", 12.5, 0.004),
            ]);
        var nodes = new List<NodeOvercommit>
        {
            new("node-a", 16, 23.2, 1.45, 0.55),
            new("node-b_2*", 16, 12, 0.75, 0.85),
        };
        var comparison = new ReportComparison(
            "2026-11-16T06:00:00Z",
            ["batch/CronJob/nightly-report/worker/lower-request"],
            ["legacy/Deployment/old-api/app/raise-limit"],
            [$"{HostileNamespace}/Deployment/checkout/app/raise-limit"]);
        var doc = new ReportDocument(GeneratedAt, new TimeRange(Start, End), "prometheus (prometheus.monitoring.svc:9090)", summary, recs, nodes, comparison);

        var series = new Dictionary<ContainerKey, ContainerSeries>
        {
            [AnalysisResult.KeyOf(recs[0])] = Series(seed: 1, usageBase: 0.55, usageAmp: 0.35, request: _ => 0.5, limit: i => i < 288 * 2 ? 0.8 : 1.0),
            [AnalysisResult.KeyOf(recs[1])] = Series(seed: 2, usageBase: 1.1, usageAmp: 0.5, request: _ => 2, limit: _ => 2),
            [AnalysisResult.KeyOf(recs[2])] = Series(seed: 3, usageBase: 0.35, usageAmp: 0.2, request: _ => 1, limit: _ => 1, burstyThrottle: true),
            [AnalysisResult.KeyOf(recs[3])] = Series(seed: 4, usageBase: 0.28, usageAmp: 0.12, request: _ => 0.1, limit: _ => null),
            [AnalysisResult.KeyOf(recs[4])] = Series(seed: 5, usageBase: 0.4, usageAmp: 0.3, request: _ => 4, limit: _ => 4),
            // The "none" recommendation has no series: charts must cope with a missing entry.
        };
        return new AnalysisResult(doc, series);
    }

    private static List<Recommendation> Recommendations() =>
    [
        new(HostileNamespace, "Deployment", "checkout", "app", "raise-limit",
            "Throttled 31.2% of periods while p95 usage (0.95 cores) is near the 1-core limit, and its nodes have headroom (p95 55%).",
            new Resources(0.5, 1), new Resources(0.5, 2),
            Ev(3, ["node-a", "node-b_2*"], "Burstable", ratioMean: 0.312, ratioP95: 0.62, tspsMean: 0.12, tspsP95: 0.41, coreSeconds: 18230.4,
                usage: (0.62, 0.58, 0.88, 0.95, 0.99), peak: 1.0, ratioPeak: 0.93, nodeUsage: 0.55, nodeLimits: 1.45, coverage: 0.964),
            0.95,
            new Change("kubectl -n 'shop|<b>x</b>' set resources deployment/checkout -c app --limits=cpu=2,memory=512Mi",
                "resources:\n  requests:\n    cpu: 500m\n  limits:\n    cpu: \"2\"\n"),
            null),
        new("payments", "StatefulSet", HostileWorkload, "db", "remove-limit",
            "Short bursts throttle 12.1% of periods while mean usage is 1.1 of 2 cores; its nodes have headroom, so the limit only adds latency.",
            new Resources(2, 2), new Resources(2, null),
            Ev(2, ["node-a"], "Guaranteed", ratioMean: 0.121, ratioP95: 0.35, tspsMean: 0.05, tspsP95: 0.2, coreSeconds: 6120.7,
                usage: (1.1, 1.05, 1.45, 1.6, 1.85), peak: 2.0, ratioPeak: 0.71, nodeUsage: 0.55, nodeLimits: 1.45, coverage: 0.964),
            0.9,
            new Change("kubectl -n payments patch statefulset '*bold* _it_ [link](http://evil)' --type=json -p '[{\"op\":\"remove\",\"path\":\"/spec/template/spec/containers/0/resources/limits/cpu\"}]'",
                "resources:\n  requests:\n    cpu: \"2\"\n  # limits.cpu removed (``` stays inside the block)\n"),
            null),
        new("search", "Deployment", "indexer", FormulaContainer, "tune-app",
            "Throttled 22.4% of periods at a mean usage of 0.35 of 1 core: many threads burst within each 100 ms period; size \"GOMAXPROCS\" or thread pools to the limit.",
            new Resources(1, 1), null,
            Ev(4, ["node-b_2*"], "Guaranteed", ratioMean: 0.224, ratioP95: 0.51, tspsMean: 0.09, tspsP95: 0.3, coreSeconds: 3954.2,
                usage: (0.35, 0.33, 0.5, 0.55, 0.61), peak: 1.0, ratioPeak: 0.8, nodeUsage: 0.85, nodeLimits: 0.75, coverage: 0.964),
            0.9,
            null,
            null),
        new("web", "Deployment", "frontend", "nginx", "raise-request",
            "Usage p95 of 0.38 cores is 3.8× the 0.1-core request on nodes 85% busy (p95): under contention it gets too small a share.",
            new Resources(0.1, null), new Resources(0.4, null),
            Ev(6, ["node-b_2*"], "Burstable", ratioMean: null, ratioP95: null, tspsMean: null, tspsP95: null, coreSeconds: 0,
                usage: (0.28, 0.27, 0.36, 0.38, 0.4), peak: 0.52, ratioPeak: null, nodeUsage: 0.85, nodeLimits: 0.75, coverage: 0.964),
            0.88,
            new Change("kubectl -n web set resources deployment/frontend -c nginx --requests=cpu=400m",
                "resources:\n  requests:\n    cpu: 400m\n"),
            1.8),
        new("batch", "CronJob", "nightly-report", "worker", "lower-request",
            "Usage p95 is 0.7 cores against a 4-core request: 3.3 cores per replica reserved but unused.",
            new Resources(4, 4), new Resources(1, 4),
            Ev(2, ["node-a"], "Guaranteed", ratioMean: 0.004, ratioP95: 0.01, tspsMean: 0.001, tspsP95: 0.004, coreSeconds: 12.5,
                usage: (0.4, 0.38, 0.62, 0.7, 0.74), peak: 0.9, ratioPeak: 0.05, nodeUsage: 0.55, nodeLimits: 1.45, coverage: 0.964),
            0.93,
            new Change("kubectl -n batch set resources cronjob/nightly-report -c worker --requests=cpu=1",
                "resources:\n  requests:\n    cpu: \"1\"\n  limits:\n    cpu: \"4\"\n"),
            -6),
        new("kube-system", "DaemonSet", "coredns", "coredns", "none",
            "Usage p95 of 0.03 cores is within its 0.1-core request;\nit is not throttled.",
            new Resources(0.1, null), null,
            Ev(2, ["node-a", "node-b_2*"], "Burstable", ratioMean: null, ratioP95: null, tspsMean: null, tspsP95: null, coreSeconds: 0,
                usage: (0.02, 0.02, 0.03, 0.03, 0.04), peak: 0.06, ratioPeak: null, nodeUsage: 0.85, nodeLimits: 1.45, coverage: 0.964),
            0.96,
            null,
            null),
    ];

    private static Contracts.Evidence Ev(int replicas, string[] nodes, string qos, double? ratioMean, double? ratioP95, double? tspsMean, double? tspsP95,
        double coreSeconds, (double Mean, double P50, double P90, double P95, double P99) usage, double? peak, double? ratioPeak,
        double? nodeUsage, double? nodeLimits, double coverage)
        => new(replicas, nodes, qos, ratioMean, ratioP95, tspsMean, tspsP95, coreSeconds,
            usage.Mean, usage.P50, usage.P90, usage.P95, usage.P99, peak, ratioPeak, nodeUsage, nodeLimits, coverage);

    /// <summary>
    /// A week of 5-minute steps: a daily wave plus noise for usage, throttling that rises as usage
    /// nears the limit (or in bursts regardless of it), and null everywhere in the gap.
    /// </summary>
    private static ContainerSeries Series(int seed, double usageBase, double usageAmp, Func<int, double?> request, Func<int, double?> limit, bool burstyThrottle = false)
    {
        var rng = new Random(seed);
        int n = (int)((End - Start) / Step);
        var times = new DateTimeOffset[n];
        var usage = new double?[n];
        var ratio = new double?[n];
        var req = new double?[n];
        var lim = new double?[n];
        for (int i = 0; i < n; i++)
        {
            times[i] = Start + Step * i;
            if (i >= GapFrom && i < GapTo)
            {
                continue;
            }
            double hour = times[i].TimeOfDay.TotalHours;
            double wave = Math.Sin((hour - 8) / 24 * 2 * Math.PI);
            var l = limit(i);
            double u = Math.Max(0.01, usageBase + usageAmp * wave + (rng.NextDouble() - 0.5) * usageAmp * 0.6);
            if (l is { } cap)
            {
                u = Math.Min(u, cap);
                double nearness = u / cap;
                double r = burstyThrottle
                    ? 0.15 + 0.25 * rng.NextDouble() + 0.1 * Math.Max(0, wave)
                    : Math.Max(0, (nearness - 0.55) * 1.6) + 0.04 * rng.NextDouble();
                ratio[i] = Math.Round(Math.Clamp(r, 0, 1), 4);
            }
            usage[i] = Math.Round(u, 4);
            req[i] = request(i);
            lim[i] = l;
        }
        return new ContainerSeries(times, usage, ratio, req, lim);
    }
}
