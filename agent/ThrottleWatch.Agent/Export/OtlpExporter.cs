using System.Diagnostics.Metrics;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Hosting;
using ThrottleWatch.Agent.Metadata;
using ThrottleWatch.Agent.Sampling;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Export;

/// <summary>
/// The same measurements as <see cref="PrometheusExporter"/>, as .NET observable instruments that the
/// OpenTelemetry SDK pushes over OTLP. Instrument names come from <see cref="MetricCatalog"/>
/// (OpenTelemetry semantic conventions where one exists: <c>container.cpu.time</c>,
/// <c>k8s.node.cpu.time</c>); attributes follow the Kubernetes conventions (docs/metrics.md).
/// </summary>
public sealed class OtlpExporter : ISweepObserver, IDisposable
{
    public const string MeterName = "ThrottleWatch.Agent";

    private readonly NodeState _state;
    private readonly PodIndex? _index;
    private readonly KubernetesStatus _kube;
    private readonly IReadOnlySet<string> _excluded;
    private readonly Meter _meter;
    private readonly Histogram<double> _sweep;
    /// <summary>The attribute sets observed since <see cref="ForgetSeen"/>: what the SDK holds a slot for (under <see cref="NodeState.Gate"/>).</summary>
    private readonly HashSet<SeriesLabels> _seen = [];

    public OtlpExporter(NodeState state, PodIndex? index, KubernetesStatus kube, IEnumerable<string> excludeNamespaces, string version)
    {
        _state = state;
        _index = index;
        _kube = kube;
        _excluded = new HashSet<string>(excludeNamespaces, StringComparer.Ordinal);
        _meter = new Meter(MeterName, version);

        long Now() => System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var metric in ExportValues.ContainerMetrics)
        {
            Container(metric, ExportValues.IsCounter(metric), (s, l) => ExportValues.Container(metric, s, l, Now()));
        }
        foreach (var metric in ExportValues.PodMetrics)
        {
            Pod(metric, ExportValues.IsCounter(metric), s => ExportValues.Pod(metric, s));
        }
        Node(MetricCatalog.NodeUsageSeconds, counter: true, () => _state.NodeUsageSeconds);
        Node(MetricCatalog.NodeCapacity, counter: false, () => _kube.NodeCapacityCores);
        Node(MetricCatalog.NodeAllocatable, counter: false, () => _kube.NodeAllocatableCores);
        Node(MetricCatalog.NodeRequests, counter: false, () => ExportValues.NodeCommitments(_index, _kube)?.Requests);
        Node(MetricCatalog.NodeLimits, counter: false, () => ExportValues.NodeCommitments(_index, _kube)?.Limits);
        Node(MetricCatalog.AgentContainers, counter: false, () => _state.Containers);
        Node(MetricCatalog.AgentKubernetesUp, counter: false, () => _kube.Up ? 1 : 0);
        Node(MetricCatalog.AgentHandlesDegraded, counter: false, () => _state.HandlesDegraded);
        Node(MetricCatalog.AgentLimitsWatched, counter: false, () => _state.LimitsWatched);
        var sweep = MetricCatalog.Get(MetricCatalog.AgentSweepDuration);
        _sweep = _meter.CreateHistogram<double>(sweep.OtlpName, sweep.Unit, sweep.Help);
    }

    public void ObserveSweep(double seconds) => _sweep.Record(seconds);

    /// <summary>Distinct attribute sets (containers and pods, each naming) pushed since the pipeline last started.</summary>
    public int AttributeSetsSeen
    {
        get
        {
            lock (_state.Gate)
            {
                return _seen.Count;
            }
        }
    }

    /// <summary>
    /// True when the attribute sets seen reach half of <paramref name="limit"/> and at least half of
    /// them are gone: starting afresh frees that many slots. Live series alone near the limit are
    /// not helped by it (the limit is too low for the node), so that never triggers a restart.
    /// </summary>
    public bool DepartedFill(int limit)
    {
        lock (_state.Gate)
        {
            if (_seen.Count < limit / 2)
            {
                return false;
            }
            int live = ExportValues.Exported(_state, _index, _excluded).Count();
            return _seen.Count >= 2 * live;
        }
    }

    /// <summary>Called when the pipeline starts afresh: only what is observed from now on holds a slot.</summary>
    public void ForgetSeen()
    {
        lock (_state.Gate)
        {
            _seen.Clear();
        }
    }

    private void Container(string name, bool counter, Func<SeriesState, SeriesLabels, double?> value)
    {
        var m = MetricCatalog.Get(name);
        bool track = name == MetricCatalog.ContainerUsageSeconds;
        IEnumerable<Measurement<double>> Observe() => Collect(CgroupKind.Container, (s, l) => value(s, l), track);
        Create(m, counter, Observe);
    }

    private void Pod(string name, bool counter, Func<SeriesState, double?> value)
    {
        var m = MetricCatalog.Get(name);
        bool track = name == MetricCatalog.PodUsageSeconds;
        IEnumerable<Measurement<double>> Observe() => Collect(CgroupKind.Pod, (s, _) => value(s), track);
        Create(m, counter, Observe);
    }

    private void Node(string name, bool counter, Func<double?> value)
    {
        var m = MetricCatalog.Get(name);
        IEnumerable<Measurement<double>> Observe()
        {
            lock (_state.Gate)
            {
                return value() is { } v ? [new Measurement<double>(v, new KeyValuePair<string, object?>("k8s.node.name", _state.NodeName))] : [];
            }
        }
        Create(m, counter, Observe);
    }

    private void Create(MetricDefinition m, bool counter, Func<IEnumerable<Measurement<double>>> observe)
    {
        if (counter)
        {
            _meter.CreateObservableCounter(m.OtlpName, observe, m.Unit, m.Help);
        }
        else
        {
            _meter.CreateObservableGauge(m.OtlpName, observe, m.Unit, m.Help);
        }
    }

    /// <param name="track">Count the attribute sets (once per series: on its usage metric, which every series has).</param>
    private List<Measurement<double>> Collect(CgroupKind kind, Func<SeriesState, SeriesLabels, double?> value, bool track)
    {
        var result = new List<Measurement<double>>();
        lock (_state.Gate)
        {
            foreach (var (s, l) in ExportValues.Exported(_state, _index, _excluded))
            {
                bool match = kind == CgroupKind.Pod ? s.Identity.Kind == CgroupKind.Pod : s.Identity.Kind != CgroupKind.Pod;
                if (!match || value(s, l) is not { } v)
                {
                    continue;
                }
                result.Add(new Measurement<double>(v, Attributes(l, kind)));
                if (track)
                {
                    _seen.Add(l);
                }
            }
        }
        return result;
    }

    /// <summary>OpenTelemetry's Kubernetes attribute names; the node is a resource attribute.</summary>
    private static KeyValuePair<string, object?>[] Attributes(SeriesLabels l, CgroupKind kind)
    {
        var list = new List<KeyValuePair<string, object?>>(9)
        {
            new("k8s.namespace.name", l.Namespace),
            new("k8s.pod.name", l.Pod),
            new("k8s.pod.uid", l.PodUid),
            new("k8s.pod.qos_class", l.QosClass),
            new("k8s.workload.kind", l.WorkloadKind),
            new("k8s.workload.name", l.Workload),
        };
        if (kind != CgroupKind.Pod)
        {
            list.Add(new("k8s.container.name", l.Container));
            list.Add(new("container.id", l.ContainerId));
        }
        return [.. list];
    }

    public void Dispose() => _meter.Dispose();
}
