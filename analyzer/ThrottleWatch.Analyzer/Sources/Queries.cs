using System.Globalization;
using System.Text;

namespace ThrottleWatch.Analyzer.Sources;

/// <summary>How a query treats the raw samples in its window.</summary>
public enum RangeFunction
{
    /// <summary>PromQL <c>rate(m[w])</c>: per-second increase, counter resets handled, extrapolated to the window's edges as Prometheus does.</summary>
    Rate,
    /// <summary>PromQL <c>max_over_time(m[w])</c>.</summary>
    MaxOverTime,
}

/// <summary>How series are combined.</summary>
public enum Aggregation
{
    Sum,
    Avg,
    Max,
    Count,
}

/// <summary>
/// One evidence query in a form both sources evaluate alike: <c>AGG by (BY) (FUNC(METRIC{matchers}[window]))</c>.
/// <see cref="PrometheusSource"/> sends its PromQL; <see cref="RecordingSource"/> evaluates it itself,
/// with the same step alignment and the same rate extrapolation.
/// </summary>
public sealed record EvidenceQuery(string Metric, RangeFunction Function, Aggregation Aggregation, IReadOnlyList<string> By)
{
    /// <summary>
    /// A recording rule (deploy/prometheus) whose series are exactly <c>FUNC(METRIC[5m])</c> per
    /// container: with a 5-minute window, a server that has it answers from it instead of raw samples.
    /// </summary>
    public string? Recorded5m { get; init; }

    /// <summary>The PromQL over the recording rule: <c>AGG by (BY) (RULE{matchers})</c>.</summary>
    public string ToRecordedPromQl(Selector selector)
        => $"{Aggregation.ToString().ToLowerInvariant()} by ({string.Join(", ", By)}) ({Recorded5m}{selector.ToPromQl()})";

    public string ToPromQl(Selector selector, TimeSpan window)
    {
        var sb = new StringBuilder();
        sb.Append(Aggregation.ToString().ToLowerInvariant()).Append(" by (").Append(string.Join(", ", By)).Append(") (");
        sb.Append(Function == RangeFunction.Rate ? "rate(" : "max_over_time(");
        sb.Append(Metric).Append(selector.ToPromQl()).Append('[').Append(Duration(window)).Append("]))");
        return sb.ToString();
    }

    /// <summary>A window in whole seconds, as PromQL takes it.</summary>
    public static string Duration(TimeSpan t) => ((long)Math.Round(t.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s";
}

/// <summary>A label matcher: <c>=</c>, <c>!=</c>, <c>=~</c>, <c>!~</c>.</summary>
public sealed record Matcher(string Label, string Op, string Value)
{
    private System.Text.RegularExpressions.Regex? _regex;

    /// <summary>PromQL semantics: a missing label is the empty string; regexes are fully anchored.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        var v = labels.TryGetValue(Label, out var x) ? x : "";
        return Op switch
        {
            "=" => v == Value,
            "!=" => v != Value,
            "=~" => Regex().IsMatch(v),
            "!~" => !Regex().IsMatch(v),
            _ => false,
        };
    }

    private System.Text.RegularExpressions.Regex Regex()
        => _regex ??= new System.Text.RegularExpressions.Regex("^(?:" + Value + ")$", System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    public string ToPromQl() => $"{Label}{Op}\"{Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
}

/// <summary>The label matchers added to every query: <c>--namespace</c> and <c>--selector</c>.</summary>
public sealed class Selector
{
    public Selector(IEnumerable<Matcher> matchers) => Matchers = [.. matchers];

    public IReadOnlyList<Matcher> Matchers { get; }

    public string ToPromQl() => Matchers.Count == 0 ? "" : "{" + string.Join(", ", Matchers.Select(m => m.ToPromQl())) + "}";

    public bool Matches(IReadOnlyDictionary<string, string> labels) => Matchers.All(m => m.Matches(labels));

    public Selector With(Matcher m) => new([.. Matchers, m]);

    /// <summary>
    /// Parses <c>--selector</c> text: comma-separated matchers such as <c>namespace=~"shop|pay", container!="istio-proxy"</c>.
    /// </summary>
    public static bool TryParse(string? text, out Selector selector, out string error)
    {
        selector = new Selector([]);
        error = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }
        var matchers = new List<Matcher>();
        int i = 0;
        text = text.Trim().TrimStart('{').TrimEnd('}');
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ' ' || text[i] == ','))
            {
                i++;
            }
            if (i >= text.Length)
            {
                break;
            }
            int start = i;
            while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_'))
            {
                i++;
            }
            var label = text[start..i];
            while (i < text.Length && text[i] == ' ')
            {
                i++;
            }
            string? op = null;
            foreach (var candidate in new[] { "=~", "!~", "!=", "=" })
            {
                if (string.CompareOrdinal(text, i, candidate, 0, candidate.Length) == 0)
                {
                    op = candidate;
                    break;
                }
            }
            if (label.Length == 0 || op is null)
            {
                error = $"--selector: cannot read a matcher at '{text[start..]}' (expected label=\"value\", label=~\"regex\", != or !~)";
                return false;
            }
            i += op.Length;
            while (i < text.Length && text[i] == ' ')
            {
                i++;
            }
            if (i >= text.Length || text[i] != '"')
            {
                error = $"--selector: the value of '{label}' must be in double quotes";
                return false;
            }
            i++;
            var value = new StringBuilder();
            while (i < text.Length && text[i] != '"')
            {
                if (text[i] == '\\' && i + 1 < text.Length)
                {
                    i++;
                }
                value.Append(text[i]);
                i++;
            }
            if (i >= text.Length)
            {
                error = $"--selector: unterminated value for '{label}'";
                return false;
            }
            i++;
            var m = new Matcher(label, op, value.ToString());
            if (op is "=~" or "!~")
            {
                try
                {
                    m.Matches(new Dictionary<string, string>());
                }
                catch (ArgumentException e)
                {
                    error = $"--selector: bad regex for '{label}': {e.Message}";
                    return false;
                }
            }
            matchers.Add(m);
        }
        selector = new Selector(matchers);
        return true;
    }
}

/// <summary>A series returned by a query: its labels and its per-step values (NaN where absent).</summary>
public sealed record StepSeries(IReadOnlyDictionary<string, string> Labels, double[] Values);

/// <summary>The evaluation grid: <c>Start</c>, <c>Start+Step</c>, … up to <c>End</c>, each over a window ending there.</summary>
public sealed record StepGrid(DateTimeOffset Start, DateTimeOffset End, TimeSpan Step, TimeSpan Window)
{
    public int Count => (int)((End - Start).Ticks / Step.Ticks) + 1;

    public DateTimeOffset At(int i) => Start + TimeSpan.FromTicks(Step.Ticks * i);

    /// <summary>
    /// A grid from <paramref name="start"/> to <paramref name="end"/>: the step keeps about 2,000
    /// points (5 minutes for 7 days), never under 15 s nor under <paramref name="minStep"/> (a
    /// recording's sample spacing); the rate window is the step, at least 2 minutes, so that it holds
    /// two samples even at a 1-minute scrape interval.
    /// </summary>
    public static StepGrid For(DateTimeOffset start, DateTimeOffset end, TimeSpan? step = null, TimeSpan? minStep = null)
    {
        TimeSpan[] nice = [TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2),
            TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2)];
        var floor = minStep ?? TimeSpan.Zero;
        var s = step ?? nice.FirstOrDefault(n => (end - start) / n <= 2100 && n >= floor, nice[^1]);
        var window = s < TimeSpan.FromMinutes(2) ? TimeSpan.FromMinutes(2) : s;
        // The first evaluation is one window in: every window lies inside the range.
        var first = start + window;
        if (first > end)
        {
            first = end;
        }
        return new StepGrid(first, end, s, window);
    }
}
