using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>
/// The same data through both inputs: the recording read directly, and the recording backfilled
/// into a real Prometheus with promtool and queried over its HTTP API. Same actions; numbers within 5%.
/// </summary>
public sealed class EquivalenceTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("tw-equivalence-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_recording_and_prometheus_give_the_same_recommendations()
    {
        var recording = SyntheticRecording.Standard(Start);
        var file = RecommendationTests.Write(_dir, recording);
        var data = Path.Combine(_dir, "data");
        var (code, output) = Run("promtool", ["tsdb", "create-blocks-from", "openmetrics", file, data]);
        Assert.True(code == 0, "promtool backfill: " + output);

        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }
        var config = Path.Combine(_dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, "global:\n  scrape_interval: 1m\n");
        using var prometheus = Process.Start(new ProcessStartInfo("prometheus",
            ["--config.file=" + config, "--storage.tsdb.path=" + data, "--storage.tsdb.retention.time=3650d",
             $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])
        { RedirectStandardError = true, RedirectStandardOutput = true })!;
        prometheus.OutputDataReceived += (_, _) => { };
        prometheus.ErrorDataReceived += (_, _) => { };
        prometheus.BeginOutputReadLine();
        prometheus.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient();
            for (int i = 0; i < 150; i++)
            {
                try
                {
                    if ((await http.GetAsync($"http://127.0.0.1:{port}/-/ready")).IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(200);
            }

            string end = recording.End.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
            var fromFile = await RecommendationTests.Run("recommend", "--input", file, "--step", "1m", "--format", "json");
            var fromProm = await RecommendationTests.Run("recommend", "--prometheus", $"http://127.0.0.1:{port}", "--end", end, "--range", "6h", "--step", "1m", "--format", "json");
            Assert.True(fromFile.Code == 0, fromFile.Err);
            Assert.True(fromProm.Code == 0, fromProm.Err);

            var a = Index(fromFile.Out);
            var b = Index(fromProm.Out);
            Assert.Equal(a.Keys.Order(StringComparer.Ordinal), b.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(SyntheticRecording.Expected.Count, a.Count);
            foreach (var (key, ra) in a)
            {
                var rb = b[key];
                foreach (var field in new[] { "throttledRatioMean", "throttledSecondsPerSecondP95", "usageCoresMean", "usageCoresP95", "throttledCoreSeconds", "usagePeakMax" })
                {
                    var x = ra.GetProperty("evidence").GetProperty(field);
                    var y = rb.GetProperty("evidence").GetProperty(field);
                    Assert.Equal(x.ValueKind, y.ValueKind);
                    if (x.ValueKind == JsonValueKind.Number)
                    {
                        double dx = x.GetDouble(), dy = y.GetDouble();
                        Assert.True(Math.Abs(dx - dy) <= 0.05 * Math.Max(Math.Abs(dx), Math.Abs(dy)) + 1e-9, $"{key} {field}: recording {dx}, prometheus {dy}");
                    }
                }
            }
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
        }
    }

    private static Dictionary<string, JsonElement> Index(string json)
    {
        var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("recommendations").EnumerateArray()
            .ToDictionary(r => $"{r.GetProperty("namespace").GetString()}/{r.GetProperty("workload").GetString()}/{r.GetProperty("container").GetString()}/{r.GetProperty("action").GetString()}", r => r.Clone());
    }

    private static (int Code, string Output) Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, o.Result + e.Result);
    }
}
