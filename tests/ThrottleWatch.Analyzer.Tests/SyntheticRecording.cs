using System.Globalization;
using System.Text;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>
/// Writes an OpenMetrics recording shaped like the agent's (same names and labels) for containers
/// whose behaviour is known, so each rule has a right answer. Counters are integrals of the given
/// rates; a reset can be put in the middle.
/// </summary>
internal sealed class SyntheticRecording
{
    private readonly Dictionary<string, StringBuilder> _families = new(StringComparer.Ordinal);
    private readonly List<(string Family, string Type)> _order = [];

    public SyntheticRecording(DateTimeOffset start, TimeSpan duration, TimeSpan step)
    {
        Start = start;
        Step = step;
        Count = (int)(duration / step) + 1;
    }

    public DateTimeOffset Start { get; }
    public TimeSpan Step { get; }
    public int Count { get; }
    public DateTimeOffset End => Start + Step * (Count - 1);

    /// <summary>A container with its per-step behaviour (functions of the step index; null = no sample at that step).</summary>
    public sealed record Container(
        string Namespace, string Workload, string Name, string Node, string Pod,
        double? Request, double? Limit, string Qos,
        Func<int, double?> Usage,
        Func<int, double> ThrottledRatio,
        Func<int, double> ThrottledSecondsPerSecond,
        int? ResetAt = null,
        string WorkloadKind = "Deployment");

    public void Add(Container c)
    {
        var labels = $"node=\"{c.Node}\",namespace=\"{c.Namespace}\",pod=\"{c.Pod}\",container=\"{c.Name}\",qos_class=\"{c.Qos}\",workload_kind=\"{c.WorkloadKind}\",workload=\"{c.Workload}\",pod_uid=\"{Guid.NewGuid()}\",container_id=\"{Guid.NewGuid():N}{Guid.NewGuid():N}\"";
        double usage = 1000, periods = 5000, throttled = 400, throttledSec = 30;
        bool limited = c.Limit is not null;
        for (int i = 0; i < Count; i++)
        {
            if (c.Usage(i) is not { } u)
            {
                continue;
            }
            if (c.ResetAt == i)
            {
                usage = periods = throttled = throttledSec = 0;
            }
            double dt = Step.TotalSeconds;
            usage += u * dt;
            double p = limited ? 10 * dt * Math.Min(1, 0.2 + u * 2) : 0;
            periods += p;
            throttled += p * c.ThrottledRatio(i);
            throttledSec += c.ThrottledSecondsPerSecond(i) * dt;
            string ts = (Start + Step * i).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            Sample(MetricCatalog.ContainerUsageSeconds, "counter", labels, usage, ts);
            Sample(MetricCatalog.ContainerUsagePeak, "gauge", labels, u * 1.5, ts);
            if (c.Request is { } rq)
            {
                Sample(MetricCatalog.ContainerRequestCores, "gauge", labels, rq, ts);
            }
            if (limited)
            {
                Sample(MetricCatalog.ContainerLimitCores, "gauge", labels, c.Limit!.Value, ts);
                Sample(MetricCatalog.ContainerPeriods, "counter", labels, periods, ts);
                Sample(MetricCatalog.ContainerThrottledPeriods, "counter", labels, throttled, ts);
                Sample(MetricCatalog.ContainerThrottledSeconds, "counter", labels, throttledSec, ts);
                Sample(MetricCatalog.ContainerThrottledRatioPeak, "gauge", labels, Math.Min(1, c.ThrottledRatio(i) * 1.5), ts);
            }
        }
    }

    public void AddNode(string node, double allocatable, double limits, Func<int, double> usageCores)
    {
        var labels = $"node=\"{node}\"";
        double total = 100_000;
        for (int i = 0; i < Count; i++)
        {
            total += usageCores(i) * Step.TotalSeconds;
            string ts = (Start + Step * i).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            Sample(MetricCatalog.NodeUsageSeconds, "counter", labels, total, ts);
            Sample(MetricCatalog.NodeAllocatable, "gauge", labels, allocatable, ts);
            Sample(MetricCatalog.NodeCapacity, "gauge", labels, allocatable + 0.2, ts);
            Sample(MetricCatalog.NodeLimits, "gauge", labels, limits, ts);
        }
    }

    private void Sample(string metric, string type, string labels, double value, string ts)
    {
        // OpenMetrics: a counter family is named without _total; all samples of a family together.
        string family = type == "counter" ? metric[..^"_total".Length] : metric;
        if (!_families.TryGetValue(family, out var sb))
        {
            sb = new StringBuilder();
            _families[family] = sb;
            _order.Add((family, type));
        }
        sb.Append(metric).Append('{').Append(labels).Append("} ").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append(' ').Append(ts).Append('\n');
    }

    /// <summary>The file: families in order, each contiguous; samples of a series in time order (they were added so).</summary>
    public string Text()
    {
        var sb = new StringBuilder();
        foreach (var (family, type) in _order)
        {
            sb.Append("# TYPE ").Append(family).Append(' ').Append(type).Append('\n');
            // Group each series' samples together (they were appended container by container, in time order).
            sb.Append(_families[family]);
        }
        sb.Append("# EOF\n");
        return sb.ToString();
    }

    /// <summary>
    /// The standard cast: one container per action and the traps. Known answers: see <see cref="Expected"/>.
    /// </summary>
    public static SyntheticRecording Standard(DateTimeOffset start)
    {
        var r = new SyntheticRecording(start, TimeSpan.FromHours(6), TimeSpan.FromMinutes(1));
        static double Wave(int i, double lo, double hi) => lo + (hi - lo) * (0.5 + 0.5 * Math.Sin(i / 17.0));
        r.AddNode("node-a", 4, 3, i => Wave(i, 1.0, 1.6));          // 25-40% busy: headroom
        r.AddNode("node-b", 4, 8, i => Wave(i, 3.5, 3.9));          // ~90% busy, limits 2× allocatable
        // remove-limit: saturates its 0.5-core limit, request covers typical use, on a quiet node.
        r.Add(new("shop", "web", "app", "node-a", "web-1", 0.5, 0.5, "guaranteed", i => Wave(i, 0.44, 0.5), _ => 0.6, i => Wave(i, 0.2, 0.4)));
        // raise-limit: the same on a busy node.
        r.Add(new("shop", "api", "app", "node-b", "api-1", 0.5, 0.5, "guaranteed", i => Wave(i, 0.44, 0.5), _ => 0.6, i => Wave(i, 0.2, 0.4)));
        // tune-app: throttled hard while using a fifth of a 2-core limit.
        r.Add(new("batch", "report", "worker", "node-a", "report-1", 0.5, 2, "burstable", i => Wave(i, 0.3, 0.5), _ => 0.45, i => Wave(i, 0.2, 0.3), WorkloadKind: "CronJob"));
        // raise-request: no limit, uses five times its request.
        r.Add(new("shop", "cache", "redis", "node-a", "cache-1", 0.1, null, "burstable", i => Wave(i, 0.45, 0.55), _ => 0, _ => 0, WorkloadKind: "StatefulSet"));
        // lower-request: reserves 2 cores, uses 0.2.
        r.Add(new("data", "db", "postgres", "node-a", "db-1", 2, null, "burstable", i => Wave(i, 0.15, 0.25), _ => 0, _ => 0, WorkloadKind: "StatefulSet"));
        // Trap: near-idle, throttled in 30% of its periods for a millisecond each: not harmed.
        r.Add(new("tools", "cron", "sidecar", "node-a", "cron-1", 0.1, 0.1, "guaranteed", _ => 0.005, _ => 0.3, _ => 0.003));
        // Trap: missing data: only the last half hour.
        r.Add(new("shop", "new", "app", "node-a", "new-1", 0.5, 0.5, "guaranteed", i => i > 330 ? 0.49 : null, _ => 0.6, _ => 0.3));
        // Trap: counters reset half way (restart in place): still remove-limit, never negative.
        r.Add(new("shop", "web2", "app", "node-a", "web2-1", 0.5, 0.5, "guaranteed", i => Wave(i, 0.44, 0.5), _ => 0.6, i => Wave(i, 0.2, 0.4), ResetAt: 180));
        // Trap: a container that comes and goes (two replicas, one present only in the first half).
        r.Add(new("shop", "worker", "app", "node-a", "worker-1", 0.2, null, "burstable", _ => 0.15, _ => 0, _ => 0));
        r.Add(new("shop", "worker", "app", "node-a", "worker-2", 0.2, null, "burstable", i => i < 180 ? 0.15 : null, _ => 0, _ => 0));
        return r;
    }

    /// <summary>Container → the actions the standard cast must get (sorted).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Expected = new Dictionary<string, string[]>
    {
        ["shop/web/app"] = ["remove-limit"],
        ["shop/api/app"] = ["raise-limit"],
        ["batch/report/worker"] = ["tune-app"],
        ["shop/cache/redis"] = ["raise-request"],
        ["data/db/postgres"] = ["lower-request"],
        ["tools/cron/sidecar"] = ["none"],
        ["shop/new/app"] = ["none"],
        ["shop/web2/app"] = ["remove-limit"],
        ["shop/worker/app"] = ["none"],
    };
}
