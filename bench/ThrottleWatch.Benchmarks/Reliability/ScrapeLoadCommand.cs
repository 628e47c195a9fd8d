using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace ThrottleWatch.Benchmarks.Reliability;

/// <summary>
/// <c>scrape-load --url URL [--scrapers N] [--seconds S] [--min-containers C]</c>: N concurrent
/// scrapers, each on its own kept-alive connection, GET the URL back to back for S seconds; every
/// response is checked and timed (request sent to last body byte read). For
/// <c>bench/scripts/reliability.sh</c>; timings are reported, never asserted.
/// </summary>
/// <remarks>
/// A response counts as an error when its status is not 200, the request throws (refused, reset,
/// timed out, a body shorter than its Content-Length), or the body is not a whole exposition: it
/// must end with the same last line as the first response (the agent's
/// <c>throttlewatch_agent_build_info{…} 1</c>, written last) and hold at least C samples of
/// <c>throttlewatch_container_cpu_usage_seconds_total</c> (one per container). The last line of
/// stdout is machine-readable: <c>RESULT key=value …</c>.
/// </remarks>
internal static class ScrapeLoadCommand
{
    public const string Usage =
        "usage: scrape-load --url URL [--scrapers N] [--seconds S] [--min-containers C]\n" +
        "  N concurrent scrapers GET URL for S seconds; prints requests, errors and latency percentiles; exit 1 on any error";

    private static readonly byte[] ContainerUsage = "\nthrottlewatch_container_cpu_usage_seconds_total{"u8.ToArray();

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (BenchFlags.Parse(args, Usage, output, error, ["--url"], ["--scrapers", "--seconds", "--min-containers"], out var flags) is { } exit)
        {
            return exit;
        }
        string? url = flags.Text("--url");
        int scrapers = flags.Number("--scrapers", 100), seconds = flags.Number("--seconds", 60), minContainers = flags.Number("--min-containers", 0);
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || scrapers < 1 || seconds < 1)
        {
            error.WriteLine("error: --url must be an absolute URL, --scrapers and --seconds at least 1");
            error.WriteLine(Usage);
            return 2;
        }
        return RunAsync(uri, scrapers, seconds, minContainers, output, error).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(Uri uri, int scrapers, int seconds, int minContainers, TextWriter output, TextWriter error)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = scrapers,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };

        // The reference: the last line every complete exposition must end with.
        byte[] first;
        try
        {
            first = await http.GetByteArrayAsync(uri).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            error.WriteLine($"error: the first scrape failed: {e.Message}");
            return 1;
        }
        byte[] lastLine = LastLine(first);
        if (lastLine.Length == 0)
        {
            error.WriteLine("error: the first scrape's body does not end with a newline");
            return 1;
        }
        int firstContainers = Count(first, ContainerUsage);
        output.WriteLine($"reference: {first.Length} bytes, {firstContainers} containers, last line '{Encoding.UTF8.GetString(lastLine).TrimEnd('\n')}'");

        var stats = new Stats();
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * (double)Stopwatch.Frequency);
        long started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, scrapers)
            .Select(_ => Task.Run(() => ScrapeUntil(http, uri, deadline, lastLine, minContainers, stats)))
            .ToArray();
        var latencies = (await Task.WhenAll(workers).ConfigureAwait(false)).SelectMany(l => l).ToArray();
        double wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Array.Sort(latencies);

        long requests = latencies.Length + stats.Exceptions;
        long errors = stats.Errors + stats.Exceptions;
        string P(double q) => latencies.Length == 0 ? "-" : latencies[Math.Max(0, (int)Math.Ceiling(q * latencies.Length) - 1)].ToString("0.0", CultureInfo.InvariantCulture);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{scrapers} scrapers, {wall:0.0} s: {requests} requests ({requests / wall:0.0}/s), {errors} errors (status {stats.BadStatus}, incomplete {stats.Incomplete}, exceptions {stats.Exceptions})"));
        output.WriteLine($"latency ms: p50 {P(0.5)}, p90 {P(0.9)}, p99 {P(0.99)}, max {P(1)}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bodies: {stats.MinBytes}-{stats.MaxBytes} bytes, {stats.MinContainers}-{stats.MaxContainers} containers"));
        foreach (var m in stats.FirstMessages())
        {
            output.WriteLine($"error sample: {m}");
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT requests={requests} errors={errors} rps={requests / wall:0.0} p50={P(0.5)} p90={P(0.9)} p99={P(0.99)} max={P(1)} bytes={stats.MaxBytes} containers={stats.MinContainers}"));
        return errors == 0 && latencies.Length > 0 ? 0 : 1;
    }

    private static async Task<List<double>> ScrapeUntil(HttpClient http, Uri uri, long deadline, byte[] lastLine, int minContainers, Stats stats)
    {
        var latencies = new List<double>(4096);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
                byte[] body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    stats.Error(ref stats.BadStatus, $"status {(int)response.StatusCode}");
                    continue;
                }
                int containers = Count(body, ContainerUsage);
                stats.Body(body.Length, containers);
                if (!body.AsSpan().EndsWith(lastLine) || containers < minContainers)
                {
                    stats.Error(ref stats.Incomplete, $"incomplete body: {body.Length} bytes, {containers} containers, ends '{Tail(body)}'");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                stats.Exception($"{e.GetType().Name}: {e.Message}");
            }
        }
        return latencies;
    }

    /// <summary>The body's last line with its newline, or nothing when the body does not end with one.</summary>
    private static byte[] LastLine(byte[] body)
    {
        if (body.Length == 0 || body[^1] != (byte)'\n')
        {
            return [];
        }
        int start = body.AsSpan(0, body.Length - 1).LastIndexOf((byte)'\n') + 1;
        return body[start..];
    }

    private static int Count(ReadOnlySpan<byte> body, ReadOnlySpan<byte> needle)
    {
        int n = 0;
        for (int at; (at = body.IndexOf(needle)) >= 0; body = body[(at + needle.Length)..])
        {
            n++;
        }
        return n;
    }

    private static string Tail(byte[] body) =>
        Encoding.UTF8.GetString(body.AsSpan(Math.Max(0, body.Length - 60))).ReplaceLineEndings("\\n");

    /// <summary>Counters shared by the scrapers; errors keep their first few messages.</summary>
    private sealed class Stats
    {
        private readonly Lock _gate = new();
        private readonly List<string> _messages = [];
        public long BadStatus;
        public long Incomplete;
        public long Exceptions;
        public long MinBytes = long.MaxValue;
        public long MaxBytes;
        public int MinContainers = int.MaxValue;
        public int MaxContainers;

        public long Errors => Interlocked.Read(ref BadStatus) + Interlocked.Read(ref Incomplete);

        public void Body(long bytes, int containers)
        {
            lock (_gate)
            {
                MinBytes = Math.Min(MinBytes, bytes);
                MaxBytes = Math.Max(MaxBytes, bytes);
                MinContainers = Math.Min(MinContainers, containers);
                MaxContainers = Math.Max(MaxContainers, containers);
            }
        }

        public void Error(ref long counter, string message)
        {
            Interlocked.Increment(ref counter);
            Remember(message);
        }

        public void Exception(string message)
        {
            Interlocked.Increment(ref Exceptions);
            Remember(message);
        }

        private void Remember(string message)
        {
            lock (_gate)
            {
                if (_messages.Count < 5)
                {
                    _messages.Add(message);
                }
            }
        }

        public IReadOnlyList<string> FirstMessages()
        {
            lock (_gate)
            {
                return [.. _messages];
            }
        }
    }
}
