using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Sources;

/// <summary>
/// Any server with the Prometheus HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics). Every query
/// aggregates by container at the step, so nothing returns raw samples; callers batch by namespace.
/// </summary>
public sealed class PrometheusSource : IMetricSource, IDisposable
{
    /// <summary>Largest answer accepted: a larger one is a misconfigured selector, not evidence.</summary>
    public const long MaxResponseBytes = 512L * 1024 * 1024;

    private readonly HttpClient _http;

    public PrometheusSource(Uri baseUrl, string? bearerToken, IEnumerable<KeyValuePair<string, string>> headers, TimeSpan timeout, HttpMessageHandler? handler = null)
    {
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.BaseAddress = new Uri(baseUrl.ToString().TrimEnd('/') + "/");
        _http.Timeout = timeout;
        _http.MaxResponseContentBufferSize = MaxResponseBytes;
        if (bearerToken is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        }
        foreach (var (name, value) in headers)
        {
            _http.DefaultRequestHeaders.TryAddWithoutValidation(name, value);
        }
        Description = "prometheus " + baseUrl;
    }

    public string Description { get; }

    public TimeSpan? SampleInterval => null;

    public async Task<IReadOnlyList<string>> NamespacesAsync(Selector selector, DateTimeOffset rangeStart, DateTimeOffset rangeEnd, CancellationToken cancel)
    {
        var match = MetricCatalog.ContainerUsageSeconds + selector.ToPromQl();
        var url = $"api/v1/label/namespace/values?match[]={Uri.EscapeDataString(match)}&start={Unix(rangeStart)}&end={Unix(rangeEnd)}";
        using var doc = await GetAsync(url, cancel).ConfigureAwait(false);
        var data = doc.RootElement.GetProperty("data");
        if (data.ValueKind != JsonValueKind.Array)
        {
            throw new SourceUnavailableException($"{_http.BaseAddress} answered label values that are not a list");
        }
        return data.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).Where(n => n.Length > 0).ToList();
    }

    /// <summary>Recording rules the server has (read once); empty where it has none or cannot say.</summary>
    private HashSet<string>? _recordingRules;

    /// <summary>PromQL sent so far (a test can see which used the recording rules).</summary>
    public IReadOnlyList<string> Sent => _sent;
    private readonly List<string> _sent = [];

    private async Task<HashSet<string>> RecordingRulesAsync(CancellationToken cancel)
    {
        if (_recordingRules is not null)
        {
            return _recordingRules;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var doc = await GetAsync("api/v1/rules?type=record", cancel).ConfigureAwait(false);
            foreach (var group in doc.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray())
            {
                foreach (var rule in group.GetProperty("rules").EnumerateArray())
                {
                    if (rule.TryGetProperty("name", out var n) && n.GetString() is { } name)
                    {
                        names.Add(name);
                    }
                }
            }
        }
        catch (Exception e) when (e is SourceUnavailableException or BadInputException or InvalidOperationException or KeyNotFoundException)
        {
            // Thanos, Mimir or an older server without the rules API: raw metrics only.
        }
        _recordingRules = names;
        return names;
    }

    public async Task<IReadOnlyList<StepSeries>> QueryAsync(EvidenceQuery query, Selector selector, StepGrid grid, CancellationToken cancel)
    {
        bool recorded = query.Recorded5m is { } rule && grid.Window == TimeSpan.FromMinutes(5)
            && (await RecordingRulesAsync(cancel).ConfigureAwait(false)).Contains(rule);
        var promql = recorded ? query.ToRecordedPromQl(selector) : query.ToPromQl(selector, grid.Window);
        lock (_sent)
        {
            _sent.Add(promql);
        }
        var url = $"api/v1/query_range?query={Uri.EscapeDataString(promql)}&start={Unix(grid.Start)}&end={Unix(grid.End)}&step={(long)grid.Step.TotalSeconds}";
        using var doc = await GetAsync(url, cancel).ConfigureAwait(false);
        try
        {
            return ReadMatrix(doc.RootElement.GetProperty("data"), grid);
        }
        catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new SourceUnavailableException($"{_http.BaseAddress} answered a range query in an unexpected shape: {e.Message}", e);
        }
    }

    private static List<StepSeries> ReadMatrix(JsonElement data, StepGrid grid)
    {
        var result = new List<StepSeries>();
        long start = grid.Start.ToUnixTimeSeconds();
        long step = (long)grid.Step.TotalSeconds;
        foreach (var s in data.GetProperty("result").EnumerateArray())
        {
            var labels = s.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
            var values = new double[grid.Count];
            Array.Fill(values, double.NaN);
            foreach (var point in s.GetProperty("values").EnumerateArray())
            {
                double t = point[0].GetDouble();
                int i = (int)Math.Round((t - start) / step);
                if (i >= 0 && i < values.Length && double.TryParse(point[1].GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                {
                    values[i] = v;
                }
            }
            result.Add(new StepSeries(labels, values));
        }
        return result;
    }

    private async Task<JsonDocument> GetAsync(string url, CancellationToken cancel)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new SourceUnavailableException($"cannot reach Prometheus at {_http.BaseAddress}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancel.IsCancellationRequested)
        {
            throw new SourceUnavailableException($"Prometheus at {_http.BaseAddress} did not answer within {_http.Timeout.TotalSeconds:0} s", e);
        }
        using (response)
        {
            if (response.Content.Headers.ContentLength > MaxResponseBytes)
            {
                throw new SourceUnavailableException($"Prometheus answered {response.Content.Headers.ContentLength} bytes, more than {MaxResponseBytes}: narrow --namespace or --selector");
            }
            string body;
            try
            {
                body = await response.Content.ReadAsStringAsync(cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancel.IsCancellationRequested)
            {
                throw new SourceUnavailableException($"Prometheus at {_http.BaseAddress} broke off its answer: {e.Message}", e);
            }
            if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity)
            {
                throw new BadInputException($"Prometheus rejected a query: {ErrorOf(body)}");
            }
            if (!response.IsSuccessStatusCode)
            {
                throw new SourceUnavailableException($"Prometheus at {_http.BaseAddress} answered HTTP {(int)response.StatusCode}: {ErrorOf(body)}");
            }
            try
            {
                var doc = JsonDocument.Parse(body);
                if (doc.RootElement.ValueKind != JsonValueKind.Object
                    || !doc.RootElement.TryGetProperty("status", out var status) || status.GetString() != "success"
                    || !doc.RootElement.TryGetProperty("data", out _))
                {
                    doc.Dispose();
                    throw new SourceUnavailableException($"{_http.BaseAddress} did not answer like the Prometheus API: {Cut(body)}");
                }
                return doc;
            }
            catch (JsonException e)
            {
                throw new SourceUnavailableException($"{_http.BaseAddress} answered something that is not JSON: {Cut(body)}", e);
            }
        }
    }

    private static string ErrorOf(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("error", out var e))
            {
                return e.GetString() ?? Cut(body);
            }
        }
        catch (JsonException)
        {
        }
        return Cut(body);
    }

    private static string Cut(string s) => (s.Length > 200 ? s[..200] + "…" : s).ReplaceLineEndings(" ");

    private static string Unix(DateTimeOffset t) => t.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    public void Dispose() => _http.Dispose();
}
