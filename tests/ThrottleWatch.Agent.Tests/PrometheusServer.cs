using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// A real Prometheus (Debian's package) on a loopback port, with its own config and data folder,
/// scraping the given targets every second. Stopped and removed on dispose.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempTree _dir = new();

    public PrometheusServer(IEnumerable<string> targets, string? rulesFile = null)
        : this($"""
            - job_name: throttlewatch
              honor_labels: true
              static_configs:
              - targets: [{string.Join(", ", targets.Select(t => $"\"{t}\""))}]
            """, rulesFile)
    {
    }

    /// <summary>With the given <c>scrape_configs</c> entries (YAML, one job per list item).</summary>
    public PrometheusServer(string scrapeConfigs, string? rulesFile = null)
    {
        Port = AgentRunner.FreePort();
        var config = $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            {(rulesFile is null ? "" : $"rule_files: [\"{rulesFile}\"]")}
            scrape_configs:
            {scrapeConfigs}
            """;
        var configPath = _dir.Write("prometheus.yml", config);
        _process = Process.Start(new ProcessStartInfo("prometheus",
        [
            "--config.file=" + configPath,
            "--storage.tsdb.path=" + Path.Combine(_dir.Path, "data"),
            "--web.listen-address=127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture),
            "--log.level=warn",
        ])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("prometheus did not start");
        _process.ErrorDataReceived += (_, _) => { };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public int Port { get; }
    private HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    public async Task WaitReadyAsync()
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < until)
        {
            Assert.False(_process.HasExited, "prometheus exited");
            try
            {
                if ((await Http.GetAsync($"http://127.0.0.1:{Port}/-/ready")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("prometheus not ready");
    }

    /// <summary>Each scrape target's health and last error, from <c>/api/v1/targets</c>.</summary>
    public async Task<List<(string Job, string Health, string LastError)>> TargetsAsync()
    {
        using var doc = JsonDocument.Parse(await Http.GetStringAsync($"http://127.0.0.1:{Port}/api/v1/targets"));
        return doc.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .Select(t => (t.GetProperty("labels").GetProperty("job").GetString()!, t.GetProperty("health").GetString()!, t.GetProperty("lastError").GetString()!))
            .ToList();
    }

    /// <summary>The evaluation time every later query uses, once <see cref="PinAsync"/> found one.</summary>
    private string? _time;

    /// <summary>
    /// Fixes the evaluation time of every later query at a scrape where all <paramref name="targets"/>
    /// were up. A scrape that fails (a 1 s timeout on a loaded machine) marks every series of its
    /// target stale, and an instant query just after it finds nothing; pinning the time to the
    /// latest moment all targets' scrapes had succeeded makes the answers independent of scrapes
    /// that happen while the test asks. Gives up after 20 s with each target's last error.
    /// </summary>
    public async Task PinAsync(int targets)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < until)
        {
            // The oldest of the targets' latest scrapes: every scrape at or before it has finished.
            if (await QueryAsync("min(timestamp(up))") is [var latest])
            {
                var at = latest.Value.ToString("R", CultureInfo.InvariantCulture);
                _time = at;
                if (await QueryAsync("count(up == 1)") is [var up] && (int)up.Value == targets)
                {
                    return;
                }
                _time = null;
            }
            await Task.Delay(500);
        }
        using var doc = JsonDocument.Parse(await Http.GetStringAsync($"http://127.0.0.1:{Port}/api/v1/targets"));
        var errors = doc.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .Select(t => $"{t.GetProperty("scrapeUrl").GetString()}: {t.GetProperty("health").GetString()} {t.GetProperty("lastError").GetString()} ({t.GetProperty("lastScrapeDuration").GetDouble():0.000} s)");
        throw new TimeoutException("no moment when every target was up:\n" + string.Join("\n", errors));
    }

    /// <summary>An instant query (at the pinned time, if any); each result's labels and value (NaN kept as NaN).</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        var url = $"http://127.0.0.1:{Port}/api/v1/query?query={Uri.EscapeDataString(promql)}";
        if (_time is not null)
        {
            url += "&time=" + _time;
        }
        using var doc = JsonDocument.Parse(await Http.GetStringAsync(url));
        var root = doc.RootElement;
        Assert.Equal("success", root.GetProperty("status").GetString());
        var result = new List<(Dictionary<string, string>, double)>();
        foreach (var r in root.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            var value = double.Parse(r.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            result.Add((labels, value));
        }
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
        Http.Dispose();
        _dir.Dispose();
    }
}
