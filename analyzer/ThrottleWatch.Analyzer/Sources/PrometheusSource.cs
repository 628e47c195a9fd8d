using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
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
        // A matrix for a batch of namespaces is tens of megabytes of JSON: it is read straight from
        // the UTF-8 bytes into the per-step arrays, with neither a string nor a document tree in between.
        var (body, length) = await GetBytesAsync(url, cancel).ConfigureAwait(false);
        try
        {
            return MatrixReader.Read(body.AsSpan(0, length), grid);
        }
        catch (JsonException e)
        {
            throw new SourceUnavailableException($"{_http.BaseAddress} answered something that is not JSON: {Head(body, length)}", e);
        }
        catch (MatrixReader.NotPrometheusException)
        {
            throw new SourceUnavailableException($"{_http.BaseAddress} did not answer like the Prometheus API: {Head(body, length)}");
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new SourceUnavailableException($"{_http.BaseAddress} answered a range query in an unexpected shape: {e.Message}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    private async Task<JsonDocument> GetAsync(string url, CancellationToken cancel)
    {
        var (body, length) = await GetBytesAsync(url, cancel).ConfigureAwait(false);
        try
        {
            var doc = JsonDocument.Parse(body.AsMemory(0, length).ToArray());
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("status", out var status) || status.GetString() != "success"
                || !doc.RootElement.TryGetProperty("data", out _))
            {
                doc.Dispose();
                throw new SourceUnavailableException($"{_http.BaseAddress} did not answer like the Prometheus API: {Head(body, length)}");
            }
            return doc;
        }
        catch (JsonException e)
        {
            throw new SourceUnavailableException($"{_http.BaseAddress} answered something that is not JSON: {Head(body, length)}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>
    /// A successful answer's body in a pooled buffer (the caller returns it), at most
    /// <see cref="MaxResponseBytes"/>; errors of the server or the network become the source's exceptions.
    /// </summary>
    private async Task<(byte[] Body, int Length)> GetBytesAsync(string url, CancellationToken cancel)
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
            byte[] body = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(response.Content.Headers.ContentLength ?? 0, 0, MaxResponseBytes) + 4096);
            int length = 0;
            try
            {
                using var stream = await response.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
                while (true)
                {
                    if (length == body.Length)
                    {
                        if (length >= MaxResponseBytes)
                        {
                            throw new SourceUnavailableException($"Prometheus answered more than {MaxResponseBytes} bytes: narrow --namespace or --selector");
                        }
                        var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(2L * body.Length, MaxResponseBytes));
                        body.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(body);
                        body = bigger;
                    }
                    int n = await stream.ReadAsync(body.AsMemory(length), cancel).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }
                    length += n;
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancel.IsCancellationRequested)
            {
                ArrayPool<byte>.Shared.Return(body);
                throw new SourceUnavailableException($"Prometheus at {_http.BaseAddress} broke off its answer: {e.Message}", e);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(body);
                throw;
            }
            if (!response.IsSuccessStatusCode)
            {
                string text = Encoding.UTF8.GetString(body, 0, length);
                ArrayPool<byte>.Shared.Return(body);
                throw response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity
                    ? new BadInputException($"Prometheus rejected a query: {ErrorOf(text)}")
                    : new SourceUnavailableException($"Prometheus at {_http.BaseAddress} answered HTTP {(int)response.StatusCode}: {ErrorOf(text)}");
            }
            return (body, length);
        }
    }

    private static string Head(byte[] body, int length) => Cut(Encoding.UTF8.GetString(body, 0, Math.Min(length, 400)));

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
