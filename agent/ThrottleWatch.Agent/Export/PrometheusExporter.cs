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
        Gauge(MetricCatalog.AgentBuildInfo).WithLabels(version).Set(1);
        Registry.AddBeforeCollectCallback(Sync);
    }

    public CollectorRegistry Registry { get; }

    public void ObserveSweep(double seconds) => _sweep.WithLabels(_state.NodeName).Observe(seconds);

    private Gauge Gauge(string name) => (Gauge)_metrics[name];
    private Counter Counter(string name) => (Counter)_metrics[name];

    private static readonly string[] ContainerMetricOrder = ExportValues.ContainerMetrics;
    private static readonly string[] PodMetricOrder = ExportValues.PodMetrics;
    private static readonly bool[] ContainerIsCounter = [.. ContainerMetricOrder.Select(ExportValues.IsCounter)];
    private static readonly bool[] PodIsCounter = [.. PodMetricOrder.Select(ExportValues.IsCounter)];

    private sealed class Exported
    {
        public string[] Labels = [];
        public int Mask;
    }

    /// <summary>Copies the state into the metrics. Called by prometheus-net before each collection.</summary>
    internal void Sync()
    {
        lock (_syncGate)
        {
            lock (_state.Gate)
            {
                long now = System.Diagnostics.Stopwatch.GetTimestamp();
                var seen = new HashSet<SeriesState>(ReferenceEqualityComparer.Instance);
                foreach (var (s, labels) in ExportValues.Exported(_state, _index, _excluded))
                {
                    seen.Add(s);
                    if (s.Identity.Kind == CgroupKind.Pod)
                    {
                        ExportPod(s, labels);
                    }
                    else
                    {
                        ExportContainer(s, labels, now);
                    }
                }
                foreach (var gone in _exported.Keys.Where(k => !seen.Contains(k)).ToList())
                {
                    Remove(gone, _exported[gone], 0);
                    _exported.Remove(gone);
                }
                ExportNode();
                ExportAgent();
            }
        }
    }

    private void ExportContainer(SeriesState s, SeriesLabels l, long now)
    {
        string[] labels = [_state.NodeName, l.Namespace, l.Pod, l.Container, l.QosClass, l.WorkloadKind, l.Workload, l.PodUid, l.ContainerId];
        int mask = 0;
        for (int bit = 0; bit < ContainerMetricOrder.Length; bit++)
        {
            if (ExportValues.Container(ContainerMetricOrder[bit], s, l, now) is { } v)
            {
                Set(ContainerMetricOrder[bit], ContainerIsCounter[bit], labels, v);
                mask |= 1 << bit;
            }
        }
        Track(s, labels, mask);
    }

    private void ExportPod(SeriesState s, SeriesLabels l)
    {
        string[] labels = [_state.NodeName, l.Namespace, l.Pod, l.QosClass, l.WorkloadKind, l.Workload, l.PodUid];
        int mask = 0;
        for (int bit = 0; bit < PodMetricOrder.Length; bit++)
        {
            if (ExportValues.Pod(PodMetricOrder[bit], s) is { } v)
            {
                Set(PodMetricOrder[bit], PodIsCounter[bit], labels, v);
                mask |= 1 << bit;
            }
        }
        Track(s, labels, mask);
    }

    private void Set(string metric, bool counter, string[] labels, double value)
    {
        if (counter)
        {
            Counter(metric).WithLabels(labels).IncTo(value);
        }
        else
        {
            Gauge(metric).WithLabels(labels).Set(value);
        }
    }

    /// <summary>Remembers what a series exports; drops what it no longer does (a label change drops everything old).</summary>
    private void Track(SeriesState s, string[] labels, int mask)
    {
        if (_exported.TryGetValue(s, out var old))
        {
            if (!old.Labels.AsSpan().SequenceEqual(labels))
            {
                Remove(s, old, 0);
            }
            else
            {
                Remove(s, old, mask);
            }
        }
        else
        {
            old = new Exported();
            _exported[s] = old;
        }
        old.Labels = labels;
        old.Mask = mask;
    }

    /// <summary>Removes the children in <paramref name="e"/>'s mask that are not in <paramref name="keep"/>.</summary>
    private void Remove(SeriesState s, Exported e, int keep)
    {
        var order = s.Identity.Kind == CgroupKind.Pod ? PodMetricOrder : ContainerMetricOrder;
        int drop = e.Mask & ~keep;
        for (int bit = 0; bit < order.Length; bit++)
        {
            if ((drop & (1 << bit)) != 0)
            {
                RemoveLabelled(order[bit], e.Labels);
            }
        }
        e.Mask &= keep;
    }

    private void RemoveLabelled(string name, string[] labels)
    {
        switch (_metrics[name])
        {
            case Counter c: c.RemoveLabelled(labels); break;
            case Gauge g: g.RemoveLabelled(labels); break;
            case Histogram h: h.RemoveLabelled(labels); break;
        }
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
        if (_state.Errors is { } errors)
        {
            foreach (var (reason, count) in errors.All())
            {
                Counter(MetricCatalog.AgentReadErrors).WithLabels(node, reason).IncTo(count);
            }
        }
    }
}
