using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ThrottleWatch.Agent.Commands;

namespace ThrottleWatch.Agent.Tests;

/// <summary>Runs <c>throttlewatch-agent run</c> in this process on a free loopback port, and scrapes it.</summary>
internal sealed partial class AgentRunner : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<int> _run;
    private readonly StringWriter _err = new();

    public AgentRunner(params string[] args)
    {
        Port = FreePort();
        _run = Task.Run(() => AgentCli.RunAsync(["run", "--listen", $"127.0.0.1:{Port}", .. args], new CliContext(TextWriter.Null, _err), _stop.Token));
    }

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };
    public string Errors => _err.ToString();

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Waits until /readyz answers 200 (the first sweep, and the first pod list with Kubernetes).</summary>
    public async Task WaitReadyAsync(TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < until)
        {
            if (_run.IsCompleted)
            {
                throw new InvalidOperationException($"agent exited with {await _run}: {Errors}");
            }
            try
            {
                var r = await Http.GetAsync(Url + "/readyz");
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("agent not ready: " + Errors);
    }

    public async Task<string> MetricsTextAsync() => await Http.GetStringAsync(Url + "/metrics");

    public async Task<List<Sample>> ScrapeAsync() => Sample.Parse(await MetricsTextAsync());

    /// <summary>Scrapes until <paramref name="condition"/> holds; returns the last scrape.</summary>
    public async Task<List<Sample>> ScrapeUntilAsync(Func<List<Sample>, bool> condition, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        List<Sample> last = [];
        while (DateTime.UtcNow < until)
        {
            if (_run.IsCompleted)
            {
                throw new InvalidOperationException($"agent exited with {await _run}: {Errors}");
            }
            try
            {
                last = await ScrapeAsync();
                if (condition(last))
                {
                    return last;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("condition not met; last scrape:\n" + string.Join('\n', last.Take(80)));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(15));
        }
        catch (OperationCanceledException)
        {
        }
        Http.Dispose();
        _stop.Dispose();
    }
}

/// <summary>One line of the Prometheus text exposition.</summary>
internal sealed partial record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string this[string label] => Labels.TryGetValue(label, out var v) ? v : "";

    public override string ToString() => $"{Name}{{{string.Join(",", Labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}} {Value}";

    public static List<Sample> Parse(string text)
    {
        var result = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var m = LineRegex().Match(line);
            if (!m.Success)
            {
                throw new FormatException("bad exposition line: " + line);
            }
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match l in LabelRegex().Matches(m.Groups["labels"].Value))
            {
                labels[l.Groups[1].Value] = l.Groups[2].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            }
            result.Add(new Sample(m.Groups["name"].Value, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return result;
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \S+)?$""")]
    private static partial Regex LineRegex();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?""")]
    private static partial Regex LabelRegex();
}
