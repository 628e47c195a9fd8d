using System.Diagnostics;
using System.Globalization;
using System.Text;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Metadata;
using ThrottleWatch.Agent.Sampling;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Export;

/// <summary>
/// Records <see cref="NodeState"/> over time as an OpenMetrics 1.0 text file with timestamps: what
/// <c>throttlewatch-agent record</c> writes and <c>promtool tsdb create-blocks-from openmetrics</c>
/// (and the analyzer) read. Each <see cref="Capture"/> takes what a scrape of <c>/metrics</c> would
/// see at that moment: the same metric names, the same label names and values
/// (<see cref="SeriesLabels.Resolve"/>), the same rules for which series exist
/// (<see cref="PrometheusExporter"/>); only the sweep-duration histogram is left out.
/// </summary>
/// <remarks>
/// <para>Samples are spooled to disk (<see cref="OpenMetricsSpool"/>), not held in memory; only the
/// series table is. <see cref="WriteTo"/> then writes each family once, in catalog order, each
/// series' samples together and in time order, and <c># EOF</c>: OpenMetrics forbids interleaving
/// families, series or points.</para>
/// <para>Counters never decrease within a recorded series: the state's totals only grow, and should
/// a series' counter still go backwards (a cgroup that went and came back under the same labels),
/// the new value is added to the last, as <see cref="SeriesState"/> does with kernel counters.</para>
/// </remarks>
public sealed class OpenMetricsRecorder : IDisposable
{
    /// <summary>Points of one family held in memory at once while regrouping (16 bytes each).</summary>
    internal const int DefaultRegroupPoints = 1 << 20;

    private static readonly MetricDefinition[] Families = [.. MetricCatalog.All.Where(m => m.Type != MetricType.Histogram)];

    private static readonly Dictionary<string, int> FamilyIndex =
        Families.Select((m, i) => (m.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);

    private readonly NodeState _state;
    private readonly PodIndex? _index;
    private readonly KubernetesStatus _kube;
    private readonly IReadOnlySet<string> _excluded;
    private readonly string _buildInfoLabels;
    private readonly int _regroupPoints;
    private readonly OpenMetricsSpool _spool;
    private readonly FamilySeries[] _series;
    private readonly Dictionary<SeriesState, (SeriesLabels Labels, string Text)> _labels = new(ReferenceEqualityComparer.Instance);
    private long _lastTimestamp = long.MinValue;

    /// <param name="spoolDirectory">A folder of its own for the sample spool (created; deleted on dispose).</param>
    public OpenMetricsRecorder(NodeState state, PodIndex? index, KubernetesStatus kube, IEnumerable<string> excludeNamespaces, string version,
        string spoolDirectory)
        : this(state, index, kube, excludeNamespaces, version, spoolDirectory, DefaultRegroupPoints)
    {
    }

    internal OpenMetricsRecorder(NodeState state, PodIndex? index, KubernetesStatus kube, IEnumerable<string> excludeNamespaces, string version,
        string spoolDirectory, int regroupPoints)
    {
        _state = state;
        _index = index;
        _kube = kube;
        _excluded = new HashSet<string>(excludeNamespaces, StringComparer.Ordinal);
        _buildInfoLabels = LabelText(MetricCatalog.LabelsOf(MetricCatalog.Get(MetricCatalog.AgentBuildInfo)), version);
        _regroupPoints = Math.Max(1, regroupPoints);
        _series = [.. Families.Select(_ => new FamilySeries())];
        _spool = new OpenMetricsSpool(spoolDirectory, Families.Length);
    }

    /// <summary>Captures taken.</summary>
    public int Captures { get; private set; }

    /// <summary>Samples recorded.</summary>
    public long Samples { get; private set; }

    /// <summary>Distinct series (metric name and label set) recorded.</summary>
    public int Series => _series.Sum(f => f.Series.Count);

    /// <summary>Families that have at least one sample: the ones <see cref="WriteTo"/> writes.</summary>
    public int FamiliesWithSamples => _series.Count(f => f.Series.Count > 0);

    /// <summary>Bytes of the on-disk spool.</summary>
    public long SpoolBytes => _spool.Bytes;

    /// <summary>
    /// Records every series as a scrape now would see it, at <paramref name="unixMillis"/> (ms since
    /// the epoch). Timestamps are made strictly increasing: a capture never shares or precedes the
    /// previous one's.
    /// </summary>
    public void Capture(long unixMillis)
    {
        long ts = _lastTimestamp == long.MinValue ? unixMillis : Math.Max(unixMillis, _lastTimestamp + 1);
        _lastTimestamp = ts;
        Captures++;
        lock (_state.Gate)
        {
            long now = Stopwatch.GetTimestamp();
            var seen = new HashSet<SeriesState>(ReferenceEqualityComparer.Instance);
            foreach (var (s, labels) in ExportValues.Exported(_state, _index, _excluded))
            {
                seen.Add(s);
                if (s.Identity.Kind == CgroupKind.Pod)
                {
                    CapturePod(s, Text(s, labels), ts);
                }
                else
                {
                    CaptureContainer(s, labels, Text(s, labels), ts, now);
                }
            }
            if (seen.Count != _labels.Count)
            {
                foreach (var gone in _labels.Keys.Where(k => !seen.Contains(k)).ToList())
                {
                    _labels.Remove(gone);
                }
            }
            CaptureNode(ts);
            CaptureAgent(ts);
        }
    }

    private string Text(SeriesState s, SeriesLabels l)
    {
        if (_labels.TryGetValue(s, out var cached) && cached.Labels == l)
        {
            return cached.Text;
        }
        string text = s.Identity.Kind == CgroupKind.Pod
            ? LabelText(MetricCatalog.PodLabels, _state.NodeName, l.Namespace, l.Pod, l.QosClass, l.WorkloadKind, l.Workload, l.PodUid)
            : LabelText(MetricCatalog.ContainerLabels, _state.NodeName, l.Namespace, l.Pod, l.Container, l.QosClass, l.WorkloadKind, l.Workload, l.PodUid, l.ContainerId);
        _labels[s] = (l, text);
        return text;
    }

    private void CaptureContainer(SeriesState s, SeriesLabels l, string labels, long ts, long now)
    {
        foreach (var metric in ExportValues.ContainerMetrics)
        {
            Put(metric, labels, ExportValues.Container(metric, s, l, now), ts);
        }
    }

    private void CapturePod(SeriesState s, string labels, long ts)
    {
        foreach (var metric in ExportValues.PodMetrics)
        {
            Put(metric, labels, ExportValues.Pod(metric, s), ts);
        }
    }

    private void CaptureNode(long ts)
    {
        string node = LabelText(MetricCatalog.NodeLabels, _state.NodeName);
        Put(MetricCatalog.NodeUsageSeconds, node, _state.NodeUsageSeconds, ts);
        Put(MetricCatalog.NodeCapacity, node, _kube.NodeCapacityCores, ts);
        Put(MetricCatalog.NodeAllocatable, node, _kube.NodeAllocatableCores, ts);
        if (ExportValues.NodeCommitments(_index, _kube) is { } sums)
        {
            Put(MetricCatalog.NodeRequests, node, sums.Requests, ts);
            Put(MetricCatalog.NodeLimits, node, sums.Limits, ts);
        }
        var info = LabelText(MetricCatalog.LabelsOf(MetricCatalog.Get(MetricCatalog.NodeInfo)), _state.NodeName, _state.KernelVersion,
            _state.Hierarchy.Version.ToString(CultureInfo.InvariantCulture), _state.CgroupDriver);
        Put(MetricCatalog.NodeInfo, info, 1, ts);
    }

    private void CaptureAgent(long ts)
    {
        string node = LabelText(MetricCatalog.NodeLabels, _state.NodeName);
        Put(MetricCatalog.AgentContainers, node, _state.Containers, ts);
        Put(MetricCatalog.AgentKubernetesUp, node, _kube.Up ? 1 : 0, ts);
        Put(MetricCatalog.AgentHandlesDegraded, node, _state.HandlesDegraded, ts);
        Put(MetricCatalog.AgentLimitsWatched, node, _state.LimitsWatched, ts);
        if (_state.Errors is { } errors)
        {
            var names = MetricCatalog.LabelsOf(MetricCatalog.Get(MetricCatalog.AgentReadErrors));
            foreach (var (reason, count) in errors.All())
            {
                Put(MetricCatalog.AgentReadErrors, LabelText(names, _state.NodeName, reason), count, ts);
            }
        }
        Put(MetricCatalog.AgentBuildInfo, _buildInfoLabels, 1, ts);
    }

    private void Put(string name, string labels, double? value, long ts)
    {
        if (value is not { } v)
        {
            return;
        }
        int family = FamilyIndex[name];
        var table = _series[family];
        if (!table.Ids.TryGetValue(labels, out int id))
        {
            id = table.Series.Count;
            table.Series.Add(new RecordedSeries(labels));
            table.Ids[labels] = id;
        }
        var series = table.Series[id];
        if (series.LastTimestamp == ts)
        {
            return; // two cgroups under one label set: the first one's value, as a scrape would hold one
        }
        if (Families[family].Type == MetricType.Counter)
        {
            if (double.IsNaN(v) || double.IsInfinity(v))
            {
                return;
            }
            if (v < series.LastRaw)
            {
                series.Offset += series.LastRaw;
            }
            series.LastRaw = v;
            v += series.Offset;
        }
        series.LastTimestamp = ts;
        series.Count++;
        Samples++;
        _spool.Append(family, id, ts, v);
    }

    /// <summary>
    /// Writes the recording as UTF-8: per family (catalog order) <c># TYPE</c> and <c># HELP</c>, then
    /// each series' samples in time order, then <c># EOF</c>. Families without samples are left out.
    /// Returns the bytes written.
    /// </summary>
    public long WriteTo(Stream output)
    {
        using var w = new Utf8Output(output);
        for (int f = 0; f < Families.Length; f++)
        {
            var table = _series[f];
            if (table.Series.Count == 0)
            {
                continue;
            }
            var m = Families[f];
            bool counter = m.Type == MetricType.Counter;
            string family = counter && m.Name.EndsWith("_total", StringComparison.Ordinal) ? m.Name[..^"_total".Length] : m.Name;
            w.Append($"# TYPE {family} {(counter ? "counter" : "gauge")}\n# HELP {family} {Escape(m.Help)}\n");
            var counts = table.Series.Select(s => s.Count).ToList();
            _spool.Regroup(f, counts, _regroupPoints, (id, times, values) =>
            {
                byte[] prefix = Encoding.UTF8.GetBytes(m.Name + table.Series[id].Labels + " ");
                for (int i = 0; i < times.Length; i++)
                {
                    w.Append(prefix);
                    w.AppendValue(values[i]);
                    w.Append((byte)' ');
                    w.AppendTimestamp(times[i]);
                    w.Append((byte)'\n');
                }
            });
        }
        w.Append("# EOF\n");
        w.Flush();
        return w.Written;
    }

    public void Dispose() => _spool.Dispose();

    /// <summary><c>{a="x",b="y"}</c>, values escaped.</summary>
    internal static string LabelText(IReadOnlyList<string> names, params string[] values)
    {
        var sb = new StringBuilder(16 * names.Count + 2).Append('{');
        for (int i = 0; i < names.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }
            sb.Append(names[i]).Append("=\"").Append(Escape(values[i])).Append('"');
        }
        return sb.Append('}').ToString();
    }

    /// <summary>OpenMetrics escaping for label values and help text: backslash, double quote, line feed.</summary>
    internal static string Escape(string value)
    {
        if (value.AsSpan().IndexOfAny('\\', '"', '\n') < 0)
        {
            return value;
        }
        return value.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);
    }

    /// <summary>The shortest text that reads back as <paramref name="value"/> (<c>1e-07</c>, <c>0.5</c>, <c>42</c>; <c>NaN</c>, <c>+Inf</c>).</summary>
    internal static int FormatValue(double value, Span<byte> destination)
    {
        ReadOnlySpan<byte> special = double.IsNaN(value) ? "NaN"u8 : double.IsPositiveInfinity(value) ? "+Inf"u8 : double.IsNegativeInfinity(value) ? "-Inf"u8 : default;
        if (!special.IsEmpty)
        {
            special.CopyTo(destination);
            return special.Length;
        }
        value.TryFormat(destination, out int n, "R", CultureInfo.InvariantCulture);
        destination[..n].Replace((byte)'E', (byte)'e');
        return n;
    }

    /// <summary>Milliseconds since the epoch as seconds with three decimals: <c>1764230400.123</c>.</summary>
    internal static int FormatTimestamp(long unixMillis, Span<byte> destination)
    {
        long seconds = Math.DivRem(unixMillis, 1000, out long millis);
        if (millis < 0)
        {
            seconds--;
            millis += 1000;
        }
        seconds.TryFormat(destination, out int n, default, CultureInfo.InvariantCulture);
        destination[n++] = (byte)'.';
        millis.TryFormat(destination[n..], out int m, "D3", CultureInfo.InvariantCulture);
        return n + m;
    }

    /// <summary>A large byte buffer in front of the output: the recording can be hundreds of MB, written line by line.</summary>
    private sealed class Utf8Output(Stream output) : IDisposable
    {
        private readonly byte[] _buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        private int _used;

        public long Written { get; private set; }

        public void Append(string text) => Append(Encoding.UTF8.GetBytes(text));

        public void Append(byte b)
        {
            Reserve(1);
            _buffer[_used++] = b;
        }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length > _buffer.Length)
            {
                Flush();
                output.Write(bytes);
                Written += bytes.Length;
                return;
            }
            Reserve(bytes.Length);
            bytes.CopyTo(_buffer.AsSpan(_used));
            _used += bytes.Length;
        }

        public void AppendValue(double value)
        {
            Reserve(32);
            _used += FormatValue(value, _buffer.AsSpan(_used));
        }

        public void AppendTimestamp(long unixMillis)
        {
            Reserve(32);
            _used += FormatTimestamp(unixMillis, _buffer.AsSpan(_used));
        }

        public void Flush()
        {
            output.Write(_buffer, 0, _used);
            Written += _used;
            _used = 0;
        }

        public void Dispose() => System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);

        private void Reserve(int bytes)
        {
            if (_used + bytes > _buffer.Length)
            {
                Flush();
            }
        }
    }

    private sealed class FamilySeries
    {
        public Dictionary<string, int> Ids { get; } = new(StringComparer.Ordinal);
        public List<RecordedSeries> Series { get; } = [];
    }

    private sealed class RecordedSeries(string labels)
    {
        public string Labels { get; } = labels;
        public int Count { get; set; }
        public long LastTimestamp { get; set; } = long.MinValue;
        public double LastRaw { get; set; } = double.NaN;
        public double Offset { get; set; }
    }
}
