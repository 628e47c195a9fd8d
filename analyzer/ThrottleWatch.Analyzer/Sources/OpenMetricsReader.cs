using System.Globalization;
using System.Text;

namespace ThrottleWatch.Analyzer.Sources;

/// <summary>One series of a recording: its metric name (with <c>_total</c> on counters), labels and samples in time order.</summary>
public sealed class RecordedSeries(string name, IReadOnlyDictionary<string, string> labels)
{
    public string Name { get; } = name;
    public IReadOnlyDictionary<string, string> Labels { get; } = labels;
    public List<double> Times { get; } = [];
    public List<double> Values { get; } = [];
}

/// <summary>
/// Reads an OpenMetrics 1.0 text recording (what <c>throttlewatch-agent record</c> writes and
/// <c>promtool tsdb create-blocks-from openmetrics</c> reads): <c># TYPE</c>/<c># HELP</c>/<c># UNIT</c>
/// lines, samples <c>name{labels} value timestamp</c> with timestamps in seconds, ending with <c># EOF</c>.
/// A malformed line is one clear error with its line number; nothing is half-read.
/// </summary>
public static class OpenMetricsReader
{
    public static IReadOnlyList<RecordedSeries> Read(TextReader reader, string name)
    {
        var series = new Dictionary<string, RecordedSeries>(StringComparer.Ordinal);
        int lineNo = 0;
        bool eof = false;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (eof)
            {
                if (line.Length > 0)
                {
                    throw new BadInputException($"{name}:{lineNo}: text after # EOF");
                }
                continue;
            }
            if (line == "# EOF")
            {
                eof = true;
                continue;
            }
            if (line.StartsWith('#'))
            {
                if (!(line.StartsWith("# TYPE ", StringComparison.Ordinal) || line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# UNIT ", StringComparison.Ordinal)))
                {
                    throw new BadInputException($"{name}:{lineNo}: unknown comment line: {Cut(line)}");
                }
                continue;
            }
            if (line.Length == 0)
            {
                throw new BadInputException($"{name}:{lineNo}: empty line (OpenMetrics has none)");
            }
            if (!TryParseSample(line, out var metric, out var labels, out var value, out var timestamp, out var error))
            {
                throw new BadInputException($"{name}:{lineNo}: {error}: {Cut(line)}");
            }
            if (timestamp is null)
            {
                throw new BadInputException($"{name}:{lineNo}: a recording needs a timestamp on every sample: {Cut(line)}");
            }
            var key = metric + "{" + string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value)) + "}";
            if (!series.TryGetValue(key, out var s))
            {
                s = new RecordedSeries(metric, labels);
                series[key] = s;
            }
            if (s.Times.Count > 0 && timestamp <= s.Times[^1])
            {
                throw new BadInputException($"{name}:{lineNo}: timestamps of a series must increase: {Cut(line)}");
            }
            s.Times.Add(timestamp.Value);
            s.Values.Add(value);
        }
        if (!eof)
        {
            throw new BadInputException($"{name}: no '# EOF' line: the recording is truncated");
        }
        if (series.Count == 0)
        {
            throw new BadInputException($"{name}: the recording holds no samples");
        }
        return [.. series.Values];
    }

    private static bool TryParseSample(string line, out string metric, out Dictionary<string, string> labels, out double value, out double? timestamp, out string error)
    {
        labels = new Dictionary<string, string>(StringComparer.Ordinal);
        value = 0;
        timestamp = null;
        error = "";
        int i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':'))
        {
            i++;
        }
        metric = line[..i];
        if (metric.Length == 0 || char.IsAsciiDigit(metric[0]))
        {
            error = "no metric name";
            return false;
        }
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (i < line.Length && line[i] != '}')
            {
                int start = i;
                while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] == '_'))
                {
                    i++;
                }
                var label = line[start..i];
                if (label.Length == 0 || i + 1 >= line.Length || line[i] != '=' || line[i + 1] != '"')
                {
                    error = "bad label";
                    return false;
                }
                i += 2;
                var v = new StringBuilder();
                while (i < line.Length && line[i] != '"')
                {
                    if (line[i] == '\\' && i + 1 < line.Length)
                    {
                        i++;
                        v.Append(line[i] switch { 'n' => '\n', _ => line[i] });
                    }
                    else
                    {
                        v.Append(line[i]);
                    }
                    i++;
                }
                if (i >= line.Length)
                {
                    error = "unterminated label value";
                    return false;
                }
                i++;
                labels[label] = v.ToString();
                if (i < line.Length && line[i] == ',')
                {
                    i++;
                }
            }
            if (i >= line.Length)
            {
                error = "unterminated label set";
                return false;
            }
            i++;
        }
        if (i >= line.Length || line[i] != ' ')
        {
            error = "no value";
            return false;
        }
        var rest = line[(i + 1)..].Split(' ');
        if (rest.Length is < 1 or > 2 || !TryNumber(rest[0], out value))
        {
            error = "bad value";
            return false;
        }
        if (rest.Length == 2)
        {
            if (!double.TryParse(rest[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var t) || !double.IsFinite(t))
            {
                error = "bad timestamp";
                return false;
            }
            timestamp = t;
        }
        return true;
    }

    private static bool TryNumber(string s, out double v)
    {
        switch (s)
        {
            case "NaN": v = double.NaN; return true;
            case "+Inf": v = double.PositiveInfinity; return true;
            case "-Inf": v = double.NegativeInfinity; return true;
            default: return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v);
        }
    }

    private static string Cut(string s) => s.Length > 160 ? s[..160] + "…" : s;
}
