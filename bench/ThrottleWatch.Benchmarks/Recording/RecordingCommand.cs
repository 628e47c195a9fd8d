using System.Globalization;
using System.Text;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Benchmarks.Recording;

/// <summary>
/// <c>recording --containers N --out FILE [--days D] [--step-seconds S] [--end UNIX] [--nodes K]</c>: writes an
/// agent-shaped OpenMetrics recording for <c>promtool tsdb create-blocks-from openmetrics</c>, as a
/// stream (one family after another, one series after another, in time order), so 20 M samples take
/// a file on disk and a few kilobytes of memory.
/// </summary>
/// <remarks>
/// Containers are <c>N / 10</c> namespaces of 10 workloads; workload <c>w</c> has behaviour <c>w</c> of
/// <see cref="Behaviours"/>, so every recommendation kind comes out about <c>N / 10</c> times. Every
/// value is a pure function of (container, step), so a family can be written without remembering the
/// others. A sample line, as the agent exports it:
/// <code>throttlewatch_container_cpu_usage_seconds_total{node="node-07",namespace="ns-003",pod="w2-6f9c7-0",container="app",qos_class="burstable",workload_kind="Deployment",workload="w2",pod_uid="…",container_id="…"} 1234.5 1764201600</code>
/// </remarks>
internal static class RecordingCommand
{
    public const string Usage =
        "usage: recording --containers N --out FILE [--days D] [--step-seconds S] [--end UNIX] [--nodes K]\n" +
        "  --containers  containers, a multiple of 10 (10 workloads per namespace)\n" +
        "  --out         the OpenMetrics file to write (- for stdout)\n" +
        "  --days        length of the recording (default 7)\n" +
        "  --step-seconds  sample spacing (default 300)\n" +
        "  --end         last sample time, Unix seconds (default: now, rounded down to the step)\n" +
        "  --nodes       nodes (default N / 20, at least 5); the last fifth are busy (~90% of allocatable)";

    /// <summary>One behaviour per workload index: the action the analyzer should pick, and the inputs that lead there.</summary>
    private sealed record Behaviour(
        string Expect, string Kind, double? Request, double? Limit, string Qos, bool BusyNode, bool DailyRollout,
        double UsageLo, double UsageHi, double ThrottledRatio, double ThrottledSecondsPerSecond);

    private static readonly Behaviour[] Behaviours =
    [
        // Saturates a 0.5-core limit, throttled hard, request covers its use, on a quiet node.
        new("remove-limit", "Deployment", 0.5, 0.5, "guaranteed", false, false, 0.44, 0.5, 0.6, 0.3),
        // The same on a busy node.
        new("raise-limit", "Deployment", 0.5, 0.5, "guaranteed", true, false, 0.44, 0.5, 0.6, 0.3),
        // Throttled hard while using a fifth of a 2-core limit: bursts of threads.
        new("tune-app", "CronJob", 0.5, 2, "burstable", false, false, 0.3, 0.5, 0.45, 0.25),
        // Near idle under a small limit, throttled in 30% of periods for a millisecond: not harmed.
        new("none", "Deployment", 0.1, 0.1, "guaranteed", false, false, 0.004, 0.006, 0.3, 0.003),
        // No limit, uses five times its request.
        new("raise-request", "StatefulSet", 0.1, null, "burstable", false, false, 0.45, 0.55, 0, 0),
        // No limit, reserves 2 cores and uses 0.2.
        new("lower-request", "StatefulSet", 2, null, "burstable", false, false, 0.15, 0.25, 0, 0),
        // Request mismatch under a limit: reserves 1.5 cores, uses 0.25, never throttled.
        new("lower-request", "Deployment", 1.5, 2, "burstable", false, false, 0.2, 0.3, 0, 0),
        // Healthy under its limit, a new pod every day (rollouts: new pod, pod_uid and container_id series).
        new("none", "Deployment", 0.5, 1, "burstable", false, true, 0.4, 0.6, 0.01, 0.001),
        // No limit, request fits.
        new("none", "Deployment", 0.3, null, "burstable", false, false, 0.25, 0.35, 0, 0),
        // Request mismatch under a limit: requests 0.2, uses 0.7, not throttled.
        new("raise-request", "Deployment", 0.2, 2, "burstable", false, false, 0.6, 0.8, 0, 0),
    ];

    private sealed record Options(int Containers, string Out, int Days, int StepSeconds, long End, int Nodes);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (!TryParse(args, out var o, out var error))
        {
            stderr.WriteLine("error: " + error);
            stderr.WriteLine(Usage);
            return 2;
        }
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var file = o.Out == "-" ? Console.OpenStandardOutput() : new FileStream(o.Out, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var writer = new Writer(file, o);
        writer.WriteAll();
        file.Flush();
        // One line the bench script reads: key=value pairs.
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"recording containers={o.Containers} nodes={o.Nodes} series={writer.Series} samples={writer.Samples} bytes={writer.Bytes} start={writer.Start} end={o.End} step={o.StepSeconds} seconds={started.Elapsed.TotalSeconds:0.0}"));
        var expected = string.Join(" ", Enumerable.Range(0, Behaviours.Length).GroupBy(w => Behaviours[w].Expect)
            .Select(g => $"{g.Key}={g.Count() * (o.Containers / Behaviours.Length)}"));
        stderr.WriteLine("expected " + expected);
        return 0;
    }

    private static bool TryParse(string[] args, out Options options, out string error)
    {
        options = null!;
        error = "";
        int containers = 0, days = 7, step = 300, nodes = 0;
        long end = 0;
        string? output = null;
        for (int i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length)
            {
                error = $"{args[i]} needs a value";
                return false;
            }
            string name = args[i], value = args[i + 1];
            bool ok = name switch
            {
                "--containers" => int.TryParse(value, CultureInfo.InvariantCulture, out containers) && containers > 0 && containers % Behaviours.Length == 0,
                "--days" => int.TryParse(value, CultureInfo.InvariantCulture, out days) && days > 0,
                "--step-seconds" => int.TryParse(value, CultureInfo.InvariantCulture, out step) && step > 0,
                "--end" => long.TryParse(value, CultureInfo.InvariantCulture, out end) && end > 0,
                "--nodes" => int.TryParse(value, CultureInfo.InvariantCulture, out nodes) && nodes >= 5,
                "--out" => (output = value).Length > 0,
                _ => false,
            };
            if (!ok)
            {
                error = $"bad option or value: {name} {value}";
                return false;
            }
        }
        if (containers == 0 || output is null)
        {
            error = "--containers and --out are required";
            return false;
        }
        if (end == 0)
        {
            end = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / step * step;
        }
        options = new Options(containers, output, days, step, end, nodes > 0 ? nodes : Math.Max(5, containers / 20));
        return true;
    }

    /// <summary>Formats lines into one reused buffer and hands it to the stream when it fills.</summary>
    private sealed class Writer(Stream stream, Options o)
    {
        private readonly byte[] _buffer = new byte[1 << 20];
        private int _used;
        private readonly int _count = o.Days * 86_400 / o.StepSeconds + 1;

        public long Series { get; private set; }
        public long Samples { get; private set; }
        public long Bytes { get; private set; }
        public long Start => o.End - (long)(_count - 1) * o.StepSeconds;

        private int Busy(int node) => node >= o.Nodes - Math.Max(1, o.Nodes / 5) ? 1 : 0;

        public void WriteAll()
        {
            // Container families: the analyzer's evidence, and the two pressure counters every container has.
            Family(MetricCatalog.ContainerUsageSeconds, counter: true, limitedOnly: false, (c, i, acc) => acc + c.Usage(i) * o.StepSeconds, 1000);
            Family(MetricCatalog.ContainerUsagePeak, counter: false, limitedOnly: false, (c, i, _) => c.Usage(i) * (1.3 + 0.4 * c.Noise(i, 1)), 0);
            Family(MetricCatalog.ContainerRequestCores, counter: false, limitedOnly: false, (c, _, _) => c.B.Request ?? double.NaN, 0);
            Family(MetricCatalog.ContainerLimitCores, counter: false, limitedOnly: true, (c, _, _) => c.B.Limit!.Value, 0);
            Family(MetricCatalog.ContainerPeriods, counter: true, limitedOnly: true, (c, i, acc) => acc + c.Periods(i, o.StepSeconds), 5000);
            Family(MetricCatalog.ContainerThrottledPeriods, counter: true, limitedOnly: true, (c, i, acc) => acc + c.Periods(i, o.StepSeconds) * c.Ratio(i), 400);
            Family(MetricCatalog.ContainerThrottledSeconds, counter: true, limitedOnly: true, (c, i, acc) => acc + c.ThrottledSeconds(i) * o.StepSeconds, 30);
            Family(MetricCatalog.ContainerThrottledRatioPeak, counter: false, limitedOnly: true, (c, i, _) => Math.Min(1, c.Ratio(i) * 1.5), 0);
            Family(MetricCatalog.ContainerPressureWaiting, counter: true, limitedOnly: false, (c, i, acc) => acc + c.Usage(i) * 0.05 * o.StepSeconds, 10);
            Family(MetricCatalog.ContainerPressureStalled, counter: true, limitedOnly: false, (c, i, acc) => acc + c.Usage(i) * 0.01 * o.StepSeconds, 2);

            // Node families: quiet nodes 25-40% busy, the last fifth ~90%; limits twice allocatable on busy nodes.
            const double allocatable = 8;
            NodeFamily(MetricCatalog.NodeUsageSeconds, counter: true, (n, i, acc) => acc + NodeUsage(n, i) * o.StepSeconds, 100_000);
            NodeFamily(MetricCatalog.NodeAllocatable, counter: false, (_, _, _) => allocatable, 0);
            NodeFamily(MetricCatalog.NodeCapacity, counter: false, (_, _, _) => allocatable + 0.2, 0);
            NodeFamily(MetricCatalog.NodeLimits, counter: false, (n, _, _) => Busy(n) == 1 ? 2 * allocatable : 0.75 * allocatable, 0);
            double NodeUsage(int n, int i) => allocatable * (Busy(n) == 1 ? 0.88 + 0.03 * Wave(i, n) : 0.25 + 0.15 * Wave(i, n));
            Append("# EOF\n");
            Flush();
        }

        /// <summary>0..1, a daily cycle with a phase per key.</summary>
        private double Wave(int i, int key) => 0.5 + 0.5 * Math.Sin(2 * Math.PI * (i * (double)o.StepSeconds / 86_400 + key * 0.137));

        private delegate double NextValue(Container c, int step, double previous);

        private void Family(string metric, bool counter, bool limitedOnly, NextValue next, double initial)
        {
            WriteType(metric, counter);
            for (int index = 0; index < o.Containers; index++)
            {
                var b = Behaviours[index % Behaviours.Length];
                if (limitedOnly && b.Limit is null || metric == MetricCatalog.ContainerRequestCores && b.Request is null)
                {
                    continue;
                }
                // A daily rollout is one series per pod; otherwise one pod for the whole range.
                int podSteps = b.DailyRollout ? 86_400 / o.StepSeconds : _count;
                for (int first = 0, generation = 0; first < _count; first += podSteps, generation++)
                {
                    var c = new Container(index, generation, b, this);
                    var labels = c.Labels(o.Nodes);
                    double value = initial;
                    Series++;
                    for (int i = first; i < Math.Min(_count, first + podSteps); i++)
                    {
                        value = next(c, i, value);
                        Line(metric, labels, value, Start + (long)i * o.StepSeconds);
                    }
                }
            }
        }

        private void NodeFamily(string metric, bool counter, Func<int, int, double, double> next, double initial)
        {
            WriteType(metric, counter);
            for (int n = 0; n < o.Nodes; n++)
            {
                var labels = Encoding.UTF8.GetBytes($"{{node=\"{NodeName(n)}\"}} ");
                double value = initial;
                Series++;
                for (int i = 0; i < _count; i++)
                {
                    value = next(n, i, value);
                    Line(metric, labels, value, Start + (long)i * o.StepSeconds);
                }
            }
        }

        private static string NodeName(int n) => "node-" + n.ToString("D3", CultureInfo.InvariantCulture);

        private void WriteType(string metric, bool counter)
        {
            // OpenMetrics: a counter family is named without _total, its samples with it.
            string family = counter ? metric[..^"_total".Length] : metric;
            Append("# TYPE " + family + (counter ? " counter\n" : " gauge\n"));
        }

        private void Line(string metric, byte[] labels, double value, long timestamp)
        {
            if (double.IsNaN(value))
            {
                return;
            }
            if (_buffer.Length - _used < 1024)
            {
                Flush();
            }
            var span = _buffer.AsSpan(_used);
            int n = Encoding.UTF8.GetBytes(metric, span);
            labels.CopyTo(span[n..]);
            n += labels.Length;
            value.TryFormat(span[n..], out int w, "0.######", CultureInfo.InvariantCulture);
            n += w;
            span[n++] = (byte)' ';
            timestamp.TryFormat(span[n..], out w, default, CultureInfo.InvariantCulture);
            n += w;
            span[n++] = (byte)'\n';
            _used += n;
            Samples++;
        }

        private void Append(string text)
        {
            if (_buffer.Length - _used < text.Length * 3)
            {
                Flush();
            }
            _used += Encoding.UTF8.GetBytes(text, _buffer.AsSpan(_used));
        }

        private void Flush()
        {
            stream.Write(_buffer, 0, _used);
            Bytes += _used;
            _used = 0;
        }

        /// <summary>A container (or, with daily rollouts, one day's pod of it): labels and per-step values.</summary>
        private readonly struct Container(int index, int generation, Behaviour b, Writer w)
        {
            public Behaviour B => b;

            public byte[] Labels(int nodes)
            {
                int ns = index / Behaviours.Length, workload = index % Behaviours.Length;
                int busyNodes = Math.Max(1, nodes / 5), quietNodes = nodes - busyNodes;
                int node = b.BusyNode ? quietNodes + (index + generation) % busyNodes : (index + generation * 7) % quietNodes;
                ulong h = Hash((ulong)index, (ulong)generation);
                string pod = $"w{workload}-{h % 0xfffff:x5}-{generation}";
                var uid = new Guid((int)h, (short)(h >> 32), (short)(h >> 48), (byte)index, (byte)(index >> 8), (byte)generation, 1, 2, 3, 4, 5);
                string id = $"{Hash(h, 1):x16}{Hash(h, 2):x16}{Hash(h, 3):x16}{Hash(h, 4):x16}";
                return Encoding.UTF8.GetBytes(
                    $"{{node=\"{NodeName(node)}\",namespace=\"ns-{ns:D3}\",pod=\"{pod}\",container=\"app\",qos_class=\"{b.Qos}\",workload_kind=\"{b.Kind}\",workload=\"w{workload}\",pod_uid=\"{uid}\",container_id=\"{id}\"}} ");
            }

            /// <summary>Cores used: the behaviour's band, a daily cycle, a little noise.</summary>
            public double Usage(int i) => b.UsageLo + (b.UsageHi - b.UsageLo) * (0.7 * w.Wave(i, index) + 0.3 * Noise(i, 0));

            public double Ratio(int i) => b.ThrottledRatio * (0.9 + 0.2 * Noise(i, 2));

            public double ThrottledSeconds(int i) => b.ThrottledSecondsPerSecond * (0.8 + 0.4 * Noise(i, 3));

            /// <summary>CFS periods per step: 10 a second while busy, fewer when idle (as for the synthetic cast).</summary>
            public double Periods(int i, int step) => 10.0 * step * Math.Min(1, 0.2 + Usage(i) * 2);

            /// <summary>Deterministic noise in [0, 1).</summary>
            public double Noise(int i, int salt) => (Hash(Hash((ulong)index, (ulong)i), (ulong)salt) >> 11) * (1.0 / (1UL << 53));
        }

        private static ulong Hash(ulong a, ulong b)
        {
            // SplitMix64 over the pair: cheap and well spread.
            ulong z = a * 0x9E3779B97F4A7C15UL + b + 0x632BE59BD9B4E019UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
