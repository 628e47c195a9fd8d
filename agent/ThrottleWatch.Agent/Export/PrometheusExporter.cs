using Prometheus;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Hosting;
using ThrottleWatch.Agent.Metadata;
using ThrottleWatch.Agent.Sampling;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Export;

/// <summary>
/// Exposes <see cref="NodeState"/> as Prometheus metrics (prometheus-net). Values are copied from
/// the state just before each scrape (a before-collect callback), so the per-second loop does no
/// export work. Series of cgroups that went, or whose labels changed when the API named them, are
/// removed: memory stays flat under churn.
/// </summary>
public sealed class PrometheusExporter : ISweepObserver
{
    private readonly NodeState _state;
    private readonly PodIndex? _index;
    private readonly KubernetesStatus _kube;
    private readonly IReadOnlySet<string> _excluded;
    private readonly Dictionary<string, Collector> _metrics = new(StringComparer.Ordinal);
    private readonly Dictionary<SeriesState, Exported> _exported = new(ReferenceEqualityComparer.Instance);
    private readonly Histogram _sweep;
    private readonly Lock _syncGate = new();
    private string[]? _nodeInfoLabels;

    public PrometheusExporter(NodeState state, PodIndex? index, KubernetesStatus kube, IEnumerable<string> excludeNamespaces, string version)
    {
        _state = state;
        _index = index;
        _kube = kube;
        _excluded = new HashSet<string>(excludeNamespaces, StringComparer.Ordinal);
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        foreach (var m in MetricCatalog.All)
        {
            var labels = MetricCatalog.LabelsOf(m);
            _metrics[m.Name] = m.Type switch
            {
                MetricType.Counter => factory.CreateCounter(m.Name, m.Help, labels),
                MetricType.Gauge => factory.CreateGauge(m.Name, m.Help, labels),
                _ => factory.CreateHistogram(m.Name, m.Help, labels, new HistogramConfiguration
                {
                    Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
                }),
            };
        }
        _sweep = (Histogram)_metrics[MetricCatalog.AgentSweepDuration];
        _containerCollectors = [.. ContainerMetricOrder.Select(m => _metrics[m])];
        _podCollectors = [.. PodMetricOrder.Select(m => _metrics[m])];
        Gauge(MetricCatalog.AgentBuildInfo).WithLabels(version).Set(1);
        Registry.AddBeforeCollectCallback(Sync);
    }

    public CollectorRegistry Registry { get; }

    public void ObserveSweep(double seconds) => _sweep.WithLabels(_state.NodeName).Observe(seconds);

    private Gauge Gauge(string name) => (Gauge)_metrics[name];
    private Counter Counter(string name) => (Counter)_metrics[name];

    private static readonly string[] ContainerMetricOrder = ExportValues.ContainerMetrics;
    private static readonly string[] PodMetricOrder = ExportValues.PodMetrics;

    /// <summary>The collectors of <see cref="ContainerMetricOrder"/> and <see cref="PodMetricOrder"/>, by bit: no lookup by name per series.</summary>
    private readonly Collector[] _containerCollectors;
    private readonly Collector[] _podCollectors;
    private long _generation;

    /// <summary>
    /// What one series exports: its label values, a bit per metric it has, and that metric's child
    /// (kept, so that a scrape sets values without building label sets and looking children up:
    /// at 2,000 containers that was about 6,600 lookups and 1 MB of garbage per scrape).
    /// </summary>
    private sealed class Exported(int metrics)
    {
        public string[] Labels = [];
        public int Mask;
        public readonly ChildBase?[] Children = new ChildBase?[metrics];
        public long Generation;
    }

    /// <summary>Copies the state into the metrics. Called by prometheus-net before each collection.</summary>
    internal void Sync()
    {
        lock (_syncGate)
        {
            lock (_state.Gate)
            {
                long now = System.Diagnostics.Stopwatch.GetTimestamp();
                long generation = ++_generation;
                foreach (var (s, labels) in ExportValues.Exported(_state, _index, _excluded))
                {
                    bool pod = s.Identity.Kind == CgroupKind.Pod;
                    var order = pod ? PodMetricOrder : ContainerMetricOrder;
                    if (!_exported.TryGetValue(s, out var e))
                    {
                        e = new Exported(order.Length);
                        _exported[s] = e;
                    }
                    e.Generation = generation;
                    if (!SameLabels(e.Labels, labels, pod))
                    {
                        // New, or named since (the API answered): the old children go, new ones come.
                        Remove(e, pod, keep: 0);
                        e.Labels = pod
                            ? [_state.NodeName, labels.Namespace, labels.Pod, labels.QosClass, labels.WorkloadKind, labels.Workload, labels.PodUid]
                            : [_state.NodeName, labels.Namespace, labels.Pod, labels.Container, labels.QosClass, labels.WorkloadKind, labels.Workload, labels.PodUid, labels.ContainerId];
                    }
                    int mask = 0;
                    for (int bit = 0; bit < order.Length; bit++)
                    {
                        if ((pod ? ExportValues.Pod(order[bit], s) : ExportValues.Container(order[bit], s, labels, now)) is { } v)
                        {
                            Set(e, bit, pod ? _podCollectors[bit] : _containerCollectors[bit], v);
                            mask |= 1 << bit;
                        }
                    }
                    Remove(e, pod, keep: mask);
                    e.Mask = mask;
                }
                List<SeriesState>? gone = null;
                foreach (var (s, e) in _exported)
                {
                    if (e.Generation != generation)
                    {
                        Remove(e, s.Identity.Kind == CgroupKind.Pod, keep: 0);
                        (gone ??= []).Add(s);
                    }
                }
                foreach (var s in gone ?? [])
                {
                    _exported.Remove(s);
                }
                ExportNode();
                ExportAgent();
            }
        }
    }

    /// <summary>Whether <paramref name="old"/> holds the label values <paramref name="l"/> gives (in <see cref="Sync"/>'s order), without building them.</summary>
    private bool SameLabels(string[] old, SeriesLabels l, bool pod) => pod
        ? old.Length == 7 && old[0] == _state.NodeName && old[1] == l.Namespace && old[2] == l.Pod && old[3] == l.QosClass
            && old[4] == l.WorkloadKind && old[5] == l.Workload && old[6] == l.PodUid
        : old.Length == 9 && old[0] == _state.NodeName && old[1] == l.Namespace && old[2] == l.Pod && old[3] == l.Container
            && old[4] == l.QosClass && old[5] == l.WorkloadKind && old[6] == l.Workload && old[7] == l.PodUid && old[8] == l.ContainerId;

    private static void Set(Exported e, int bit, Collector collector, double value)
    {
        switch (e.Children[bit] ??= collector switch
        {
            Counter c => c.WithLabels(e.Labels),
            Gauge g => g.WithLabels(e.Labels),
            _ => throw new InvalidOperationException($"{collector.Name}: a container or pod metric is a counter or a gauge"),
        })
        {
            case Counter.Child counter: counter.IncTo(value); break;
            case Gauge.Child gauge: gauge.Set(value); break;
        }
    }

    /// <summary>Removes the children in <paramref name="e"/>'s mask that are not in <paramref name="keep"/>.</summary>
    private void Remove(Exported e, bool pod, int keep)
    {
        var collectors = pod ? _podCollectors : _containerCollectors;
        int drop = e.Mask & ~keep;
        for (int bit = 0; bit < collectors.Length; bit++)
        {
            if ((drop & (1 << bit)) != 0)
            {
                switch (collectors[bit])
                {
                    case Counter c: c.RemoveLabelled(e.Labels); break;
                    case Gauge g: g.RemoveLabelled(e.Labels); break;
                }
                e.Children[bit] = null;
            }
        }
        e.Mask &= keep;
    }

    private void ExportNode()
    {
        string node = _state.NodeName;
        if (_state.NodeUsageSeconds is { } usage)
        {
            Counter(MetricCatalog.NodeUsageSeconds).WithLabels(node).IncTo(usage);
        }
        if (_kube.NodeCapacityCores is { } cap)
        {
            Gauge(MetricCatalog.NodeCapacity).WithLabels(node).Set(cap);
        }
        if (_kube.NodeAllocatableCores is { } alloc)
        {
            Gauge(MetricCatalog.NodeAllocatable).WithLabels(node).Set(alloc);
        }
        if (ExportValues.NodeCommitments(_index, _kube) is { } sums)
        {
            Gauge(MetricCatalog.NodeRequests).WithLabels(node).Set(sums.Requests);
            Gauge(MetricCatalog.NodeLimits).WithLabels(node).Set(sums.Limits);
        }
        string[] info = [node, _state.KernelVersion, _state.Hierarchy.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), _state.CgroupDriver];
        if (_nodeInfoLabels is not null && !_nodeInfoLabels.AsSpan().SequenceEqual(info))
        {
            Gauge(MetricCatalog.NodeInfo).RemoveLabelled(_nodeInfoLabels);
        }
        _nodeInfoLabels = info;
        Gauge(MetricCatalog.NodeInfo).WithLabels(info).Set(1);
    }

    private void ExportAgent()
    {
        string node = _state.NodeName;
        Gauge(MetricCatalog.AgentContainers).WithLabels(node).Set(_state.Containers);
        Gauge(MetricCatalog.AgentKubernetesUp).WithLabels(node).Set(_kube.Up ? 1 : 0);
        Gauge(MetricCatalog.AgentHandlesDegraded).WithLabels(node).Set(_state.HandlesDegraded);
        Gauge(MetricCatalog.AgentLimitsWatched).WithLabels(node).Set(_state.LimitsWatched);
        if (_state.Errors is { } errors)
        {
            foreach (var (reason, count) in errors.All())
            {
                Counter(MetricCatalog.AgentReadErrors).WithLabels(node, reason).IncTo(count);
            }
        }
    }
}
