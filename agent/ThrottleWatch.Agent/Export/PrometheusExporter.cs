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

    /// <summary>Which container metrics a series has, as bits of <see cref="ContainerMetricOrder"/>.</summary>
    private static readonly string[] ContainerMetricOrder =
    [
        MetricCatalog.ContainerUsageSeconds, MetricCatalog.ContainerRequestCores, MetricCatalog.ContainerUsagePeak,
        MetricCatalog.ContainerLimitCores, MetricCatalog.ContainerPeriods, MetricCatalog.ContainerThrottledPeriods,
        MetricCatalog.ContainerThrottledSeconds, MetricCatalog.ContainerThrottledRatioPeak, MetricCatalog.ContainerThrottledLocalSeconds,
        MetricCatalog.ContainerBurstPeriods, MetricCatalog.ContainerBurstSeconds, MetricCatalog.ContainerPressureWaiting,
        MetricCatalog.ContainerPressureStalled,
    ];

    private static readonly string[] PodMetricOrder =
    [
        MetricCatalog.PodUsageSeconds, MetricCatalog.PodLimitCores, MetricCatalog.PodPeriods,
        MetricCatalog.PodThrottledPeriods, MetricCatalog.PodThrottledSeconds,
    ];

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
                foreach (var s in _state.Series)
                {
                    if (!s.Initialized)
                    {
                        continue;
                    }
                    var labels = SeriesLabels.Resolve(s, _index, _excluded);
                    if (labels is null)
                    {
                        continue;
                    }
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
        void Set(int bit, double? value, bool counter)
        {
            if (value is not { } v)
            {
                return;
            }
            mask |= 1 << bit;
            if (counter)
            {
                Counter(ContainerMetricOrder[bit]).WithLabels(labels).IncTo(v);
            }
            else
            {
                Gauge(ContainerMetricOrder[bit]).WithLabels(labels).Set(v);
            }
        }

        Set(0, s.UsageSeconds, counter: true);
        Set(1, l.RequestCores, counter: false);
        Set(2, s.UsagePeak.Peak(now) ?? s.UsageCoresNow ?? (s.UsageSeconds is null ? null : 0), counter: false);
        if (s.HasQuota)
        {
            Set(3, s.LimitCores, counter: false);
            Set(4, s.Periods, counter: true);
            Set(5, s.ThrottledPeriods, counter: true);
            Set(6, s.ThrottledSeconds, counter: true);
            Set(7, s.RatioPeak.Peak(now) ?? 0, counter: false);
            Set(8, s.ThrottledLocalSeconds, counter: true);
            Set(9, s.BurstPeriods, counter: true);
            Set(10, s.BurstTimeSeconds, counter: true);
        }
        Set(11, s.PressureWaitingSeconds, counter: true);
        Set(12, s.PressureStalledSeconds, counter: true);
        Track(s, labels, mask);
    }

    private void ExportPod(SeriesState s, SeriesLabels l)
    {
        string[] labels = [_state.NodeName, l.Namespace, l.Pod, l.QosClass, l.WorkloadKind, l.Workload, l.PodUid];
        int mask = 0;
        if (s.UsageSeconds is { } u)
        {
            Counter(PodMetricOrder[0]).WithLabels(labels).IncTo(u);
            mask |= 1;
        }
        if (s.LimitCores is { } limit)
        {
            Gauge(PodMetricOrder[1]).WithLabels(labels).Set(limit);
            Counter(PodMetricOrder[2]).WithLabels(labels).IncTo(s.Periods);
            Counter(PodMetricOrder[3]).WithLabels(labels).IncTo(s.ThrottledPeriods);
            Counter(PodMetricOrder[4]).WithLabels(labels).IncTo(s.ThrottledSeconds);
            mask |= 0b11110;
        }
        Track(s, labels, mask);
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
        if (_index is not null && _kube.Listed)
        {
            double requests = 0, limits = 0;
            foreach (var p in _index.Pods())
            {
                if (p.IsActive)
                {
                    requests += p.RequestCores;
                    limits += p.LimitCores ?? 0;
                }
            }
            Gauge(MetricCatalog.NodeRequests).WithLabels(node).Set(requests);
            Gauge(MetricCatalog.NodeLimits).WithLabels(node).Set(limits);
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
