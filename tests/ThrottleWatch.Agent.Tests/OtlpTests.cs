using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>OTLP push to a receiver in the test (protobuf over HTTP), and a collector that is down.</summary>
public class OtlpTests
{
    [Fact]
    public async Task Otlp_receiver_gets_protobuf_payloads_with_the_throttling_metrics()
    {
        var bodies = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var receiver = builder.Build();
        receiver.MapPost("/v1/metrics", async context =>
        {
            using var ms = new MemoryStream();
            await context.Request.Body.CopyToAsync(ms);
            bodies.Enqueue(ms.ToArray());
            context.Response.ContentType = "application/x-protobuf";
        });
        await receiver.StartAsync();
        var url = receiver.Urls.First();

        var expected = Fixtures.LoadExpected("v1-cgroupfs-separate");
        await using var agent = new AgentRunner("--cgroup-root", Fixtures.Root("v1-cgroupfs-separate"), "--proc-root", "/nonexistent",
            "--node-name", "otlp-node", "--interval", "200ms", "--otlp-endpoint", url, "--otlp-protocol", "http/protobuf", "--otlp-interval", "500ms");
        await agent.WaitReadyAsync();

        string[] required = ["container.cpu.time", "throttlewatch.container.cpu.throttled.periods", "throttlewatch.container.cpu.throttled.time",
            "throttlewatch.container.cpu.periods", "throttlewatch.container.cpu.usage.peak", "throttlewatch.container.cpu.throttled.ratio.peak",
            "throttlewatch.pod.cpu.time", "throttlewatch.agent.sweep.duration"];
        OtlpPayload? payload = null;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < until && payload is null)
        {
            while (bodies.TryDequeue(out var body))
            {
                var p = OtlpPayload.Parse(body);
                // The first pushes may come before two sweeps gave an interval (no peak yet).
                if (required.All(name => p.Points.Any(x => x.Metric == name)))
                {
                    payload = p;
                }
            }
            await Task.Delay(100);
        }
        Assert.NotNull(payload);
        Assert.Equal("otlp-node", payload.Resource["k8s.node.name"]);
        Assert.Equal("throttlewatch-agent", payload.Resource["service.name"]);
        var usage = payload.Points.Where(p => p.Metric == "container.cpu.time").ToList();
        Assert.Equal(expected.Containers.Select(c => c.ContainerId).Order(), usage.Select(p => p.Attributes["container.id"]).Order());
        Assert.All(usage, p => Assert.True(p.Value > 0));
    }

    /// <summary>An in-process OTLP/HTTP receiver keeping every request body; <paramref name="delay"/> holds each answer back.</summary>
    private static async Task<(WebApplication App, string Url, System.Collections.Concurrent.ConcurrentQueue<byte[]> Bodies)> Receiver(TimeSpan? delay = null)
    {
        var bodies = new System.Collections.Concurrent.ConcurrentQueue<byte[]>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapPost("/v1/metrics", async context =>
        {
            using var ms = new MemoryStream();
            await context.Request.Body.CopyToAsync(ms);
            bodies.Enqueue(ms.ToArray());
            if (delay is { } d)
            {
                await Task.Delay(d, context.RequestAborted);
            }
            context.Response.ContentType = "application/x-protobuf";
        });
        await app.StartAsync();
        return (app, app.Urls.First(), bodies);
    }

    /// <summary>Waits for a pushed payload that satisfies <paramref name="condition"/>; discards the ones before it.</summary>
    private static async Task<OtlpPayload> NextPayload(System.Collections.Concurrent.ConcurrentQueue<byte[]> bodies, Func<OtlpPayload, bool> condition, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < until)
        {
            while (bodies.TryDequeue(out var body))
            {
                var p = OtlpPayload.Parse(body);
                if (condition(p))
                {
                    return p;
                }
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("no such OTLP payload");
    }

    [Fact]
    public async Task Containers_that_go_leave_the_otlp_export_too()
    {
        var (receiver, url, bodies) = await Receiver();
        await using var _ = receiver;
        using var tree = Fixtures.CopyToTemp("v2-cgroupfs");
        var expected = Fixtures.LoadExpected("v2-cgroupfs");
        await using var agent = new AgentRunner("--cgroup-root", tree.Path, "--proc-root", "/nonexistent",
            "--interval", "100ms", "--otlp-endpoint", url, "--otlp-protocol", "http/protobuf", "--otlp-interval", "200ms");
        await agent.WaitReadyAsync();
        static HashSet<string> Ids(OtlpPayload p) => p.Points.Where(x => x.Metric == "container.cpu.time").Select(x => x.Attributes["container.id"]).ToHashSet(StringComparer.Ordinal);
        await NextPayload(bodies, p => Ids(p).Count == expected.Containers.Count);

        var gone = expected.Containers[0];
        Directory.Delete(tree.Path + gone.CgroupPath, recursive: true);
        await agent.ScrapeUntilAsync(x => !x.Any(y => y["container_id"] == gone.ContainerId));
        // Pushes after the container went: its points are gone from every metric, the others stay.
        bodies.Clear();
        var after = await NextPayload(bodies, p => Ids(p).Count > 0);
        after = await NextPayload(bodies, p => Ids(p).Count > 0);
        Assert.DoesNotContain(after.Points, x => x.Attributes.GetValueOrDefault("container.id") == gone.ContainerId);
        Assert.Equal(expected.Containers.Count - 1, Ids(after).Count);
    }

    /// <summary>
    /// Cumulative temporality keeps a slot per attribute set ever seen; churn past the cardinality
    /// limit would push new containers into the SDK's overflow point. Here the limit is 24 per metric
    /// on a node of 10 series, and 30 containers come and go one after another: every push still
    /// names the newest container, no point is an overflow point, and no series that went comes back.
    /// </summary>
    [Fact]
    public async Task Churn_past_the_cardinality_limit_never_crowds_out_new_containers()
    {
        var (receiver, url, bodies) = await Receiver();
        await using var _ = receiver;
        using var tree = Fixtures.CopyToTemp("v2-cgroupfs");
        var expected = Fixtures.LoadExpected("v2-cgroupfs");
        await using var agent = new AgentRunner("--cgroup-root", tree.Path, "--proc-root", "/nonexistent", "--interval", "100ms",
            "--otlp-endpoint", url, "--otlp-protocol", "http/protobuf", "--otlp-interval", "100ms", "--otlp-cardinality-limit", "24", "--discovery-interval", "100ms");
        await agent.WaitReadyAsync();
        static HashSet<string> Ids(OtlpPayload p) => p.Points.Where(x => x.Metric == "container.cpu.time").Select(x => x.Attributes.GetValueOrDefault("container.id") ?? "(overflow point)").ToHashSet(StringComparer.Ordinal);
        await NextPayload(bodies, p => Ids(p).Count == expected.Containers.Count);

        var template = tree.Path + expected.Containers[0].CgroupPath;
        var gone = new HashSet<string>(StringComparer.Ordinal);
        string? previous = null;
        for (int i = 0; i < 30; i++)
        {
            var id = $"{i:x2}".PadLeft(64, 'c');
            var dir = Path.Combine(Path.GetDirectoryName(template)!, id);
            Directory.CreateDirectory(dir);
            foreach (var f in Directory.GetFiles(template))
            {
                File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            }
            if (previous is not null)
            {
                Directory.Delete(Path.Combine(Path.GetDirectoryName(template)!, previous), recursive: true);
                gone.Add(previous);
            }
            // Pushed, and not as an overflow point.
            bodies.Clear();
            var seen = await NextPayload(bodies, p => Ids(p).Contains(id));
            Assert.DoesNotContain(seen.Points, x => x.Attributes.ContainsKey("otel.metric.overflow"));
            previous = id;
        }
        bodies.Clear();
        var last = await NextPayload(bodies, p => Ids(p).Contains(previous!));
        last = await NextPayload(bodies, p => Ids(p).Count > 0);
        Assert.Equal(expected.Containers.Count + 1, Ids(last).Count);
        Assert.DoesNotContain(last.Points, x => gone.Contains(x.Attributes.GetValueOrDefault("container.id") ?? ""));
        Assert.DoesNotContain(last.Points, x => x.Attributes.ContainsKey("otel.metric.overflow"));
        // Counters continue across a restart: the agent's own totals.
        var usage = last.Points.Where(x => x.Metric == "container.cpu.time").ToList();
        Assert.All(usage, p => Assert.True(p.Value > 0));
    }

    /// <summary>
    /// A collector that answers each push only after 2 s while pushes are due every 100 ms: pushes
    /// never pile up (one at a time), and /metrics is served meanwhile as usual.
    /// </summary>
    [Fact]
    public async Task A_slow_collector_gets_one_push_at_a_time_and_prometheus_export_goes_on()
    {
        int inFlight = 0, maxInFlight = 0, received = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var receiver = builder.Build();
        receiver.MapPost("/v1/metrics", async context =>
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen)
            {
            }
            Interlocked.Increment(ref received);
            try
            {
                using var ms = new MemoryStream();
                await context.Request.Body.CopyToAsync(ms);
                await Task.Delay(TimeSpan.FromSeconds(2), context.RequestAborted);
                context.Response.ContentType = "application/x-protobuf";
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        });
        await receiver.StartAsync();

        await using var agent = new AgentRunner("--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", "/nonexistent",
            "--interval", "100ms", "--otlp-endpoint", receiver.Urls.First(), "--otlp-protocol", "http/protobuf", "--otlp-interval", "100ms");
        await agent.WaitReadyAsync();
        var expected = Fixtures.LoadExpected("v2-cgroupfs").Containers.Count;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(7);
        int scrapes = 0;
        while (DateTime.UtcNow < until)
        {
            var s = await agent.ScrapeAsync();
            Assert.Equal(expected, s.Count(x => x.Name == MetricCatalog.ContainerUsageSeconds));
            scrapes++;
            await Task.Delay(100);
        }
        Assert.True(scrapes >= 20, $"only {scrapes} scrapes in 7 s");
        Assert.Equal(1, maxInFlight);
        // About one push per 2 s answer, not one per 100 ms interval.
        Assert.InRange(received, 2, 6);
    }

    [Fact]
    public async Task A_collector_that_is_down_never_stops_prometheus_export()
    {
        int closed = AgentRunner.FreePort();
        await using var agent = new AgentRunner("--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", "/nonexistent",
            "--interval", "100ms", "--otlp-endpoint", $"http://127.0.0.1:{closed}", "--otlp-protocol", "http/protobuf", "--otlp-interval", "200ms");
        await agent.WaitReadyAsync();
        var expected = Fixtures.LoadExpected("v2-cgroupfs").Containers.Count;
        for (int i = 0; i < 10; i++)
        {
            var s = await agent.ScrapeAsync();
            Assert.Equal(expected, s.Count(x => x.Name == MetricCatalog.ContainerUsageSeconds));
            await Task.Delay(300);
        }
    }
}

/// <summary>
/// The parts of an OTLP ExportMetricsServiceRequest a test needs, read field by field with
/// Google.Protobuf's CodedInputStream (field numbers from opentelemetry-proto metrics/v1).
/// </summary>
internal sealed record OtlpPayload(Dictionary<string, string> Resource, List<(string Metric, Dictionary<string, string> Attributes, double Value)> Points)
{
    public static OtlpPayload Parse(byte[] body)
    {
        var resource = new Dictionary<string, string>();
        var points = new List<(string, Dictionary<string, string>, double)>();
        foreach (var (f, rm) in Fields(body))
        {
            if (f != 1) continue; // resource_metrics
            foreach (var (rf, rv) in Fields(rm))
            {
                if (rf == 1) // resource
                {
                    foreach (var (af, av) in Fields(rv))
                    {
                        if (af == 1) Add(resource, av);
                    }
                }
                else if (rf == 2) // scope_metrics
                {
                    foreach (var (sf, sv) in Fields(rv))
                    {
                        if (sf != 2) continue; // metrics
                        string name = "";
                        foreach (var (mf, mv) in Fields(sv))
                        {
                            if (mf == 1) name = mv.ToStringUtf8();
                            else if (mf is 5 or 7 or 9) // gauge, sum, histogram
                            {
                                foreach (var (df, dv) in Fields(mv))
                                {
                                    if (df != 1) continue; // data_points
                                    var attrs = new Dictionary<string, string>();
                                    double value = 0;
                                    var input = new CodedInputStream(dv.ToByteArray());
                                    uint tag;
                                    while ((tag = input.ReadTag()) != 0)
                                    {
                                        int n = WireFormat.GetTagFieldNumber(tag);
                                        if (n == 7 && mf != 9 || n == 9 && mf == 9) Add(attrs, input.ReadBytes());
                                        else if (n == 4 && mf != 9) value = input.ReadDouble();
                                        else if (n == 5 && mf == 9) value = input.ReadDouble(); // histogram sum
                                        else input.SkipLastField();
                                    }
                                    points.Add((name, attrs, value));
                                }
                            }
                        }
                    }
                }
            }
        }
        return new OtlpPayload(resource, points);
    }

    private static void Add(Dictionary<string, string> into, ByteString keyValue)
    {
        string key = "", value = "";
        foreach (var (f, v) in Fields(keyValue))
        {
            if (f == 1) key = v.ToStringUtf8();
            else if (f == 2)
            {
                foreach (var (af, av) in Fields(v))
                {
                    if (af == 1) value = av.ToStringUtf8(); // string_value
                }
            }
        }
        into[key] = value;
    }

    /// <summary>The length-delimited fields of a message (the others are skipped).</summary>
    private static List<(int Field, ByteString Value)> Fields(ByteString message) => Fields(message.ToByteArray());

    private static List<(int Field, ByteString Value)> Fields(byte[] message)
    {
        var result = new List<(int, ByteString)>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                result.Add((WireFormat.GetTagFieldNumber(tag), input.ReadBytes()));
            }
            else
            {
                input.SkipLastField();
            }
        }
        return result;
    }
}
