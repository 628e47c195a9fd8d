using System.Globalization;
using System.Text.Json;

namespace ThrottleWatch.Analyzer.Sources;

/// <summary>
/// Reads a <c>query_range</c> answer straight from its UTF-8 bytes into one <c>double[]</c> per series
/// on the step grid (NaN where a step has no point):
/// <code>{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"namespace":"shop",…},"values":[[1764201600,"0.25"],…]}]}}</code>
/// A batch of 20 namespaces over 7 days at 5 minutes is some 10 MB of this; a <see cref="JsonDocument"/>
/// (and the UTF-16 string before it) would hold it two to four times over. Members in any order, unknown
/// members skipped (Thanos and VictoriaMetrics add some).
/// </summary>
internal static class MatrixReader
{
    /// <summary>The JSON is well formed but has no <c>"status":"success"</c> and <c>data</c>.</summary>
    public sealed class NotPrometheusException : Exception;

    /// <exception cref="JsonException">not JSON</exception>
    /// <exception cref="NotPrometheusException">JSON, but not a Prometheus API answer</exception>
    /// <exception cref="InvalidOperationException">a Prometheus answer of another shape than a matrix</exception>
    public static List<StepSeries> Read(ReadOnlySpan<byte> json, StepGrid grid)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            // Read the rest so that text which is not JSON at all is told apart from a JSON array or number.
            reader.Skip();
            throw new NotPrometheusException();
        }
        string? status = null;
        List<StepSeries>? result = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            if (reader.ValueTextEquals("status"u8))
            {
                Next(ref reader);
                status = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                Next(ref reader);
                result = Data(ref reader, grid);
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }
        if (status != "success" || result is null)
        {
            throw new NotPrometheusException();
        }
        return result;
    }

    private static List<StepSeries> Data(ref Utf8JsonReader reader, StepGrid grid)
    {
        Expect(ref reader, JsonTokenType.StartObject, "data");
        List<StepSeries>? result = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            if (reader.ValueTextEquals("resultType"u8))
            {
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals("matrix"u8))
                {
                    throw new InvalidOperationException("data.resultType is not \"matrix\"");
                }
            }
            else if (reader.ValueTextEquals("result"u8))
            {
                Next(ref reader);
                Expect(ref reader, JsonTokenType.StartArray, "data.result");
                result = [];
                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    result.Add(Series(ref reader, grid));
                }
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }
        return result ?? throw new InvalidOperationException("data has no result");
    }

    private static StepSeries Series(ref Utf8JsonReader reader, StepGrid grid)
    {
        Expect(ref reader, JsonTokenType.StartObject, "a series");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var values = new double[grid.Count];
        Array.Fill(values, double.NaN);
        long start = grid.Start.ToUnixTimeSeconds();
        long step = (long)grid.Step.TotalSeconds;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            if (reader.ValueTextEquals("metric"u8))
            {
                Next(ref reader);
                Expect(ref reader, JsonTokenType.StartObject, "metric");
                while (Next(ref reader) != JsonTokenType.EndObject)
                {
                    string name = reader.GetString()!;
                    Next(ref reader);
                    labels[name] = reader.GetString() ?? "";
                }
            }
            else if (reader.ValueTextEquals("values"u8))
            {
                Next(ref reader);
                Expect(ref reader, JsonTokenType.StartArray, "values");
                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    // [1764201600.5, "0.25"]: a time in seconds, the value as a string ("NaN", "+Inf" included).
                    Expect(ref reader, JsonTokenType.StartArray, "a point");
                    Next(ref reader);
                    double t = reader.GetDouble();
                    Next(ref reader);
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw new InvalidOperationException("a point's value is not a string");
                    }
                    int i = (int)Math.Round((t - start) / step);
                    if (i >= 0 && i < values.Length && TryValue(ref reader, out var v))
                    {
                        values[i] = v;
                    }
                    while (Next(ref reader) != JsonTokenType.EndArray)
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }
        return new StepSeries(labels, values);
    }

    private static bool TryValue(ref Utf8JsonReader reader, out double value)
        => reader.ValueIsEscaped
            ? double.TryParse(reader.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            : double.TryParse(reader.ValueSpan, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    private static JsonTokenType Next(ref Utf8JsonReader reader)
        => reader.Read() ? reader.TokenType : throw new JsonException("the answer ends early");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (reader.TokenType != type)
        {
            throw new InvalidOperationException($"{what} is {reader.TokenType}, not {type}");
        }
    }
}
