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
