using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Sources;

/// <summary>
/// Evaluates the evidence queries on an OpenMetrics recording, as Prometheus 2.x would on the same
/// samples: windows closed at both ends, counter resets added back, <c>rate()</c> extrapolated to
/// the window's edges by Prometheus' rule, aggregation by the given labels (empty labels dropped).
/// </summary>
public sealed class RecordingSource : IMetricSource
{
    private readonly Dictionary<string, List<RecordedSeries>> _byMetric;

    public RecordingSource(IReadOnlyList<RecordedSeries> series, string file)
    {
        _byMetric = series.GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        Start = DateTimeOffset.FromUnixTimeMilliseconds((long)(series.Min(s => s.Times[0]) * 1000));
        End = DateTimeOffset.FromUnixTimeMilliseconds((long)(series.Max(s => s.Times[^1]) * 1000));
        Description = "recording " + file;
        var gaps = series.Where(s => s.Times.Count > 1).Take(200).SelectMany(s => s.Times.Zip(s.Times.Skip(1), (a, b) => b - a)).Order().ToList();
        SampleInterval = gaps.Count == 0 ? null : TimeSpan.FromSeconds(Math.Round(gaps[gaps.Count / 2], 3));
    }

    public TimeSpan? SampleInterval { get; }

    public static RecordingSource Load(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            return new RecordingSource(OpenMetricsReader.Read(reader, Path.GetFileName(path)), path);
        }
        catch (IOException e)
        {
            throw new BadInputException($"cannot read {path}: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new BadInputException($"cannot read {path}: {e.Message}", e);
        }
    }

    public string Description { get; }

    /// <summary>The first and last sample: the default range of <c>--input</c>.</summary>
    public DateTimeOffset Start { get; }
    public DateTimeOffset End { get; }

    public Task<IReadOnlyList<string>> NamespacesAsync(Selector selector, DateTimeOffset rangeStart, DateTimeOffset rangeEnd, CancellationToken cancel)
    {
        double s = rangeStart.ToUnixTimeMilliseconds() / 1000.0, e = rangeEnd.ToUnixTimeMilliseconds() / 1000.0;
        IReadOnlyList<string> result = Series(MetricCatalog.ContainerUsageSeconds)
            .Where(x => selector.Matches(x.Labels) && x.Times[^1] >= s && x.Times[0] <= e)
            .Select(x => x.Labels.GetValueOrDefault("namespace", ""))
            .Where(n => n.Length > 0)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
        return Task.FromResult(result);
    }

    public Task<IReadOnlyList<StepSeries>> QueryAsync(EvidenceQuery query, Selector selector, StepGrid grid, CancellationToken cancel)
    {
        int n = grid.Count;
        double window = grid.Window.TotalSeconds;
        var groups = new Dictionary<string, (Dictionary<string, string> Labels, double[] Acc, int[] Count)>(StringComparer.Ordinal);
        foreach (var s in Series(query.Metric))
        {
            if (!selector.Matches(s.Labels))
            {
                continue;
            }
            var key = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var l in query.By)
            {
                if (s.Labels.TryGetValue(l, out var v) && v.Length > 0)
                {
                    key[l] = v;
                }
            }
            var id = string.Join("\u0001", query.By.Select(l => key.GetValueOrDefault(l, "")));
            if (!groups.TryGetValue(id, out var g))
            {
                g = (key, new double[n], new int[n]);
                Array.Fill(g.Acc, double.NaN);
                groups[id] = g;
            }
            for (int i = 0; i < n; i++)
            {
                double t = grid.At(i).ToUnixTimeMilliseconds() / 1000.0;
                double? v = query.Function == RangeFunction.Rate ? Rate(s, t - window, t, window) : MaxOverTime(s, t - window, t);
                if (v is not { } x || !double.IsFinite(x))
                {
                    continue; // NaN and ±Inf samples are no evidence (and cannot go into the JSON)
                }
                g.Acc[i] = g.Count[i] == 0 ? x : query.Aggregation switch
                {
                    Aggregation.Max => Math.Max(g.Acc[i], x),
                    _ => g.Acc[i] + x,
                };
                g.Count[i]++;
            }
        }
        var result = new List<StepSeries>();
        foreach (var (labels, acc, count) in groups.Values)
        {
            var values = new double[n];
            bool any = false;
            for (int i = 0; i < n; i++)
            {
                values[i] = count[i] == 0 ? double.NaN : query.Aggregation switch
                {
                    Aggregation.Avg => acc[i] / count[i],
                    Aggregation.Count => count[i],
                    _ => acc[i],
                };
                any |= count[i] > 0;
            }
            if (any)
            {
                result.Add(new StepSeries(labels, values));
            }
        }
        return Task.FromResult<IReadOnlyList<StepSeries>>(result);
    }

    private List<RecordedSeries> Series(string metric) => _byMetric.TryGetValue(metric, out var list) ? list : [];

    /// <summary>Indexes of the samples with from ≤ t ≤ to.</summary>
    private static (int First, int Last) Window(RecordedSeries s, double from, double to)
    {
        int lo = s.Times.BinarySearch(from);
        if (lo < 0)
        {
            lo = ~lo;
        }
        int hi = s.Times.BinarySearch(to);
        hi = hi < 0 ? ~hi - 1 : hi;
        return (lo, hi);
    }

    private static double? MaxOverTime(RecordedSeries s, double from, double to)
    {
        var (first, last) = Window(s, from, to);
        if (first > last)
        {
            return null;
        }
        double max = double.NegativeInfinity;
        for (int i = first; i <= last; i++)
        {
            max = Math.Max(max, s.Values[i]);
        }
        return max;
    }

    /// <summary>Prometheus 2.x <c>extrapolatedRate</c> for a counter.</summary>
    private static double? Rate(RecordedSeries s, double rangeStart, double rangeEnd, double range)
    {
        var (first, last) = Window(s, rangeStart, rangeEnd);
        if (last - first < 1)
        {
            return null;
        }
        double result = s.Values[last] - s.Values[first];
        double previous = 0;
        for (int i = first; i <= last; i++)
        {
            if (s.Values[i] < previous)
            {
                result += previous;
            }
            previous = s.Values[i];
        }
        double durationToStart = s.Times[first] - rangeStart;
        double durationToEnd = rangeEnd - s.Times[last];
        double sampled = s.Times[last] - s.Times[first];
        double average = sampled / (last - first);
        if (result > 0 && s.Values[first] >= 0)
        {
            double durationToZero = sampled * (s.Values[first] / result);
            if (durationToZero < durationToStart)
            {
                durationToStart = durationToZero;
            }
        }
        double threshold = average * 1.1;
        double interval = sampled;
        interval += durationToStart < threshold ? durationToStart : average / 2;
        interval += durationToEnd < threshold ? durationToEnd : average / 2;
        return result * (interval / sampled) / range;
    }
}
