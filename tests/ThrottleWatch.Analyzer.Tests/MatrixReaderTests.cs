using System.Text;
using System.Text.Json;
using ThrottleWatch.Analyzer.Sources;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>The streaming reader of query_range answers: the shapes Prometheus and its look-alikes send.</summary>
public sealed class MatrixReaderTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_764_201_600);
    private static readonly StepGrid Grid = new(T0, T0.AddMinutes(20), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5));

    private static List<StepSeries> Read(string json) => MatrixReader.Read(Encoding.UTF8.GetBytes(json), Grid);

    [Fact]
    public void Points_land_on_their_steps_and_gaps_stay_NaN()
    {
        // As Prometheus 2.42 writes it: status first, then data; the time a number, the value a string.
        var series = Assert.Single(Read("""
            {"status":"success","data":{"resultType":"matrix","result":[
              {"metric":{"namespace":"shop","container":"app"},"values":[[1764201600,"0.25"],[1764201900.000,"1e-3"],[1764202500,"NaN"]]}]}}
            """));
        Assert.Equal("shop", series.Labels["namespace"]);
        Assert.Equal("app", series.Labels["container"]);
        Assert.Equal(5, series.Values.Length);
        Assert.Equal(0.25, series.Values[0]);
        Assert.Equal(0.001, series.Values[1]);
        Assert.True(double.IsNaN(series.Values[2]), "no point at this step");
        Assert.True(double.IsNaN(series.Values[4]), "a NaN point");
    }

    [Fact]
    public void Members_in_any_order_and_unknown_members_are_skipped()
    {
        // Thanos and VictoriaMetrics add members (stats, warnings, isPartial) and may order them otherwise.
        var result = Read("""
            {"isPartial":false,"data":{"result":[{"values":[[1764202800,"+Inf"]],"extra":{"a":[1,2]},"metric":{"x":"a\"b"}}],
              "stats":{"seriesFetched":"1"},"resultType":"matrix"},"warnings":["partial"],"status":"success"}
            """);
        var series = Assert.Single(result);
        Assert.Equal("a\"b", series.Labels["x"]);
        // "+Inf" is no number .NET reads: no point, as the recording source drops values that are not finite.
        Assert.True(double.IsNaN(series.Values[4]));
    }

    [Fact]
    public void An_empty_result_is_no_series()
        => Assert.Empty(Read("""{"status":"success","data":{"resultType":"matrix","result":[]}}"""));

    [Theory]
    [InlineData("""{"status":"success","data":[1,2,3]}""")]
    [InlineData("""{"status":"success","data":{"resultType":"vector","result":[]}}""")]
    [InlineData("""{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1},"values":[]}]}}""")]
    [InlineData("""{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1764201600,0.5]]}]}}""")]
    public void Another_shape_is_an_invalid_operation(string json)
        => Assert.Throws<InvalidOperationException>(() => Read(json));

    [Theory]
    [InlineData("""{"hello":"world"}""")]
    [InlineData("""{"status":"error","data":{"resultType":"matrix","result":[]}}""")]
    [InlineData("""[1,2]""")]
    public void JSON_that_is_not_an_answer_is_told_apart(string json)
        => Assert.Throws<MatrixReader.NotPrometheusException>(() => Read(json));

    [Theory]
    [InlineData("<html>proxy error</html>")]
    [InlineData("""{"status":"success","data":{"resultType":"matrix","result":[""")]
    public void Text_that_is_not_JSON_is_a_JSON_error(string text)
        => Assert.ThrowsAny<JsonException>(() => Read(text));
}
