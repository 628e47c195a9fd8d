using ThrottleWatch.Analyzer.Sources;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Evidence;

/// <summary>
/// Asks a source for the evidence of every container in the range, a batch of namespaces at a time
/// (never one query for everything, never raw samples), and assembles it per container.
/// </summary>
public sealed class EvidenceBuilder(IMetricSource source, Selector selector, int namespacesPerBatch = 20, int parallelism = 2)
{
    private static readonly string[] Key = ["namespace", "workload_kind", "workload", "container"];

    /// <summary>Labels that node series do not carry: node queries leave out matchers on them.</summary>
    private static readonly HashSet<string> ContainerOnlyLabels =
        new(["namespace", "pod", "container", "workload_kind", "workload", "pod_uid", "container_id", "qos_class"], StringComparer.Ordinal);

    // Recording rules of deploy/prometheus that equal rate(…[5m]) per container: used when the server has them and the window is 5m.
    private const string UsageRule = "container:throttlewatch_cpu_usage_cores:rate5m";
    private const string ThrottledSecondsRule = "container:throttlewatch_throttled_seconds:rate5m";

    private static readonly EvidenceQuery Usage = new(MetricCatalog.ContainerUsageSeconds, RangeFunction.Rate, Aggregation.Avg, Key) { Recorded5m = UsageRule };
    private static readonly EvidenceQuery Replicas = new(MetricCatalog.ContainerUsageSeconds, RangeFunction.Rate, Aggregation.Count, Key) { Recorded5m = UsageRule };
    private static readonly EvidenceQuery ThrottledPeriods = new(MetricCatalog.ContainerThrottledPeriods, RangeFunction.Rate, Aggregation.Sum, Key);
    private static readonly EvidenceQuery Periods = new(MetricCatalog.ContainerPeriods, RangeFunction.Rate, Aggregation.Sum, Key);
    private static readonly EvidenceQuery ThrottledSecondsAvg = new(MetricCatalog.ContainerThrottledSeconds, RangeFunction.Rate, Aggregation.Avg, Key) { Recorded5m = ThrottledSecondsRule };
    private static readonly EvidenceQuery ThrottledSecondsSum = new(MetricCatalog.ContainerThrottledSeconds, RangeFunction.Rate, Aggregation.Sum, Key) { Recorded5m = ThrottledSecondsRule };
    private static readonly EvidenceQuery UsagePeak = new(MetricCatalog.ContainerUsagePeak, RangeFunction.MaxOverTime, Aggregation.Max, Key);
    private static readonly EvidenceQuery RatioPeak = new(MetricCatalog.ContainerThrottledRatioPeak, RangeFunction.MaxOverTime, Aggregation.Max, Key);
    private static readonly EvidenceQuery Request = new(MetricCatalog.ContainerRequestCores, RangeFunction.MaxOverTime, Aggregation.Max, Key);
    private static readonly EvidenceQuery Limit = new(MetricCatalog.ContainerLimitCores, RangeFunction.MaxOverTime, Aggregation.Max, Key);
    private static readonly EvidenceQuery Placement = new(MetricCatalog.ContainerUsageSeconds, RangeFunction.MaxOverTime, Aggregation.Count, [.. Key, "node", "qos_class"]);
    private static readonly EvidenceQuery NodeUsage = new(MetricCatalog.NodeUsageSeconds, RangeFunction.Rate, Aggregation.Max, ["node"]);
    private static readonly EvidenceQuery NodeAllocatable = new(MetricCatalog.NodeAllocatable, RangeFunction.MaxOverTime, Aggregation.Max, ["node"]);
    private static readonly EvidenceQuery NodeCapacity = new(MetricCatalog.NodeCapacity, RangeFunction.MaxOverTime, Aggregation.Max, ["node"]);
    private static readonly EvidenceQuery NodeLimits = new(MetricCatalog.NodeLimits, RangeFunction.MaxOverTime, Aggregation.Max, ["node"]);

    /// <summary>Queries asked so far (a test can see that batches, not one query, were sent).</summary>
    public int QueriesAsked => _queries;
    private int _queries;

    public async Task<(IReadOnlyList<ContainerEvidence> Containers, IReadOnlyList<NodeEvidence> Nodes)> BuildAsync(StepGrid grid, DateTimeOffset start, DateTimeOffset end, CancellationToken cancel)
    {
        var namespaces = await source.NamespacesAsync(selector, start, end, cancel).ConfigureAwait(false);
        var batches = namespaces.Chunk(Math.Max(1, namespacesPerBatch)).ToList();
        var containers = new List<ContainerEvidence>();
        // The gate bounds the queries in flight, not the batches: every batch starts at once and its
        // queries take turns, so the server has `parallelism` queries to the end. Gating whole batches
        // left the last of 5 batches (2 at a time) running alone, a fifth of the work at half the pace.
        using var gate = new SemaphoreSlim(Math.Max(1, parallelism));
        var tasks = batches.Select(batch =>
        {
            var regex = string.Join("|", batch.Select(System.Text.RegularExpressions.Regex.Escape));
            return BuildBatchAsync(selector.With(new Matcher("namespace", "=~", regex)), grid, gate, cancel);
        }).ToList();
        foreach (var t in tasks)
        {
            containers.AddRange(await t.ConfigureAwait(false));
        }
        var nodes = await BuildNodesAsync(grid, cancel).ConfigureAwait(false);
        containers.Sort((a, b) => string.CompareOrdinal(a.Key.ToString(), b.Key.ToString()));
        return (containers, nodes);
    }

    private async Task<IReadOnlyList<StepSeries>> QueryAsync(EvidenceQuery q, Selector s, StepGrid grid, SemaphoreSlim gate, CancellationToken cancel)
    {
        Interlocked.Increment(ref _queries);
        await gate.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            return await source.QueryAsync(q, s, grid, cancel).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<Dictionary<ContainerKey, double[]>> Ask(EvidenceQuery q, Selector s, StepGrid grid, SemaphoreSlim gate, CancellationToken cancel)
    {
        var result = new Dictionary<ContainerKey, double[]>();
        foreach (var series in await QueryAsync(q, s, grid, gate, cancel).ConfigureAwait(false))
        {
            if (KeyOf(series.Labels) is { } key)
            {
                result[key] = series.Values;
            }
        }
        return result;
    }

    private static ContainerKey? KeyOf(IReadOnlyDictionary<string, string> labels)
    {
        var ns = labels.GetValueOrDefault("namespace", "");
        var workload = labels.GetValueOrDefault("workload", "");
        var container = labels.GetValueOrDefault("container", "");
        // Series the API never named cannot become a recommendation for a workload.
        return ns.Length == 0 || workload.Length == 0 || container.Length == 0
            ? null
            : new ContainerKey(ns, labels.GetValueOrDefault("workload_kind", ""), workload, container);
    }

    private async Task<List<ContainerEvidence>> BuildBatchAsync(Selector s, StepGrid grid, SemaphoreSlim gate, CancellationToken cancel)
    {
        var usage = await Ask(Usage, s, grid, gate, cancel).ConfigureAwait(false);
        var replicas = await Ask(Replicas, s, grid, gate, cancel).ConfigureAwait(false);
        var throttledPeriods = await Ask(ThrottledPeriods, s, grid, gate, cancel).ConfigureAwait(false);
        var periods = await Ask(Periods, s, grid, gate, cancel).ConfigureAwait(false);
        var throttledAvg = await Ask(ThrottledSecondsAvg, s, grid, gate, cancel).ConfigureAwait(false);
        var throttledSum = await Ask(ThrottledSecondsSum, s, grid, gate, cancel).ConfigureAwait(false);
        var usagePeak = await Ask(UsagePeak, s, grid, gate, cancel).ConfigureAwait(false);
        var ratioPeak = await Ask(RatioPeak, s, grid, gate, cancel).ConfigureAwait(false);
        var request = await Ask(Request, s, grid, gate, cancel).ConfigureAwait(false);
        var limit = await Ask(Limit, s, grid, gate, cancel).ConfigureAwait(false);

        // Where each container ran needs no steps: one point whose window is the whole range (the same
        // samples the grid's windows cover) answers it, a few hundred bytes per container instead of a
        // count at each of 2,000 steps, and the server reads each sample once instead of twice.
        var whole = grid.End - (grid.Start - grid.Window);
        var once = new StepGrid(grid.End, grid.End, whole, whole);
        var placement = new Dictionary<ContainerKey, (SortedSet<string> Nodes, string Qos)>();
        foreach (var series in await QueryAsync(Placement, s, once, gate, cancel).ConfigureAwait(false))
        {
            if (KeyOf(series.Labels) is not { } key)
            {
                continue;
            }
            if (!placement.TryGetValue(key, out var p))
            {
                p = (new SortedSet<string>(StringComparer.Ordinal), "");
            }
            if (series.Labels.TryGetValue("node", out var node) && node.Length > 0)
            {
                p.Nodes.Add(node);
            }
            placement[key] = (p.Nodes, series.Labels.GetValueOrDefault("qos_class", p.Qos));
        }

        var times = Enumerable.Range(0, grid.Count).Select(grid.At).ToList();
        double[] Or(Dictionary<ContainerKey, double[]> d, ContainerKey k)
        {
            if (d.TryGetValue(k, out var v))
            {
                return v;
            }
            var nan = new double[grid.Count];
            Array.Fill(nan, double.NaN);
            return nan;
        }
        return usage.Keys.Select(k => new ContainerEvidence
        {
            Key = k,
            Times = times,
            Step = grid.Step,
            UsageCores = usage[k],
            Replicas = Or(replicas, k),
            ThrottledPeriodsRate = Or(throttledPeriods, k),
            PeriodsRate = Or(periods, k),
            ThrottledSecondsPerReplica = Or(throttledAvg, k),
            ThrottledSecondsTotal = Or(throttledSum, k),
            UsagePeak = Or(usagePeak, k),
            RatioPeak = Or(ratioPeak, k),
            Request = Or(request, k),
            Limit = Or(limit, k),
            Nodes = placement.TryGetValue(k, out var p) ? [.. p.Nodes] : [],
            QosClass = placement.TryGetValue(k, out var q) ? q.Qos : "",
        }).ToList();
    }

    private async Task<List<NodeEvidence>> BuildNodesAsync(StepGrid grid, CancellationToken cancel)
    {
        var s = new Selector(selector.Matchers.Where(m => !ContainerOnlyLabels.Contains(m.Label)));
        async Task<Dictionary<string, double[]>> AskNodes(EvidenceQuery q)
        {
            Interlocked.Increment(ref _queries);
            return (await source.QueryAsync(q, s, grid, cancel).ConfigureAwait(false))
                .Where(x => x.Labels.ContainsKey("node"))
                .ToDictionary(x => x.Labels["node"], x => x.Values, StringComparer.Ordinal);
        }
        var usage = await AskNodes(NodeUsage).ConfigureAwait(false);
        var allocatable = await AskNodes(NodeAllocatable).ConfigureAwait(false);
        var capacity = await AskNodes(NodeCapacity).ConfigureAwait(false);
        var limits = await AskNodes(NodeLimits).ConfigureAwait(false);
        return usage.Keys.Union(allocatable.Keys).Distinct().Order(StringComparer.Ordinal).Select(node =>
        {
            var alloc = allocatable.TryGetValue(node, out var a) ? ContainerEvidence.Last(a) : null;
            double? usageP95 = null;
            if (alloc is > 0 && usage.TryGetValue(node, out var u))
            {
                usageP95 = ContainerEvidence.Percentile(u.Select(v => v / alloc.Value).ToArray(), 95);
            }
            return new NodeEvidence(node, alloc, capacity.TryGetValue(node, out var c) ? ContainerEvidence.Last(c) : null,
                limits.TryGetValue(node, out var l) ? ContainerEvidence.Last(l) : null, usageP95);
        }).ToList();
    }
}
