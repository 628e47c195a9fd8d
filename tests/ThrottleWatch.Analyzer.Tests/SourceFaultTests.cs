using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>A Prometheus that errors, answers garbage, is slow, or rejects the query: one line, the right exit code, nothing written.</summary>
public sealed class SourceFaultTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tw-faults-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<WebApplication> Serve(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        return app;
    }

    [Theory]
    [InlineData("500", 3, "HTTP 500")]
    [InlineData("garbage", 3, "not JSON")]
    [InlineData("not-prometheus", 3, "did not answer like the Prometheus API")]
    [InlineData("slow", 3, "did not answer within")]
    [InlineData("bad-query", 2, "rejected a query")]
    [InlineData("wrong-shape", 3, "unexpected shape")]
    public async Task Faults_give_one_line_and_the_right_exit_code(string fault, int exitCode, string message)
    {
        await using var server = await Serve(async context =>
        {
            switch (fault)
            {
                case "500":
                    context.Response.StatusCode = 500;
                    await context.Response.WriteAsync("{\"status\":\"error\",\"errorType\":\"internal\",\"error\":\"boom\"}");
                    break;
                case "garbage":
                    await context.Response.WriteAsync("<html>proxy error</html>");
                    break;
                case "not-prometheus":
                    await context.Response.WriteAsync("{\"hello\":\"world\"}");
                    break;
                case "slow":
                    await Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted).ContinueWith(_ => { });
                    break;
                case "wrong-shape":
                    await context.Response.WriteAsync(context.Request.Path.Value!.Contains("/label/", StringComparison.Ordinal)
                        ? "{\"status\":\"success\",\"data\":[\"shop\"]}"
                        : "{\"status\":\"success\",\"data\":[1,2,3]}");
                    break;
                case "bad-query":
                    context.Response.StatusCode = 400;
                    await context.Response.WriteAsync("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error at char 12\"}");
                    break;
            }
        });
        var out_ = Path.Combine(_dir, "report");
        var (code, stdout, stderr) = await RecommendationTests.Run("report", "--prometheus", server.Urls.First(), "--out", out_, "--timeout", "1s");
        Assert.Equal(exitCode, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(out_) && Directory.EnumerateFileSystemEntries(out_).Any(), "nothing half-written");
    }

    [Fact]
    public async Task Bearer_token_and_headers_reach_the_server()
    {
        string? auth = null, tenant = null;
        await using var server = await Serve(async context =>
        {
            auth = context.Request.Headers.Authorization;
            tenant = context.Request.Headers["X-Scope-OrgID"];
            await context.Response.WriteAsync(context.Request.Path.Value!.Contains("/label/", StringComparison.Ordinal)
                ? "{\"status\":\"success\",\"data\":[]}"
                : "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}");
        });
        var token = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(token, "s3cret\n");
        var (code, _, stderr) = await RecommendationTests.Run("recommend", "--prometheus", server.Urls.First(), "--bearer-token-file", token, "--header", "X-Scope-OrgID: team-a");
        Assert.Equal(2, code); // no data: an empty range
        Assert.Contains("no named ThrottleWatch container series", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", stderr, StringComparison.Ordinal);
        Assert.Equal("Bearer s3cret", auth);
        Assert.Equal("team-a", tenant);
    }
}

/// <summary>The recording rules of deploy/prometheus are used when the server has them, and only then.</summary>
public sealed class RecordingRuleTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Queries_use_the_recording_rules_when_the_server_has_them(bool hasRules)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.Run(async context =>
        {
            var path = context.Request.Path.Value!;
            await context.Response.WriteAsync(path.EndsWith("/rules", StringComparison.Ordinal)
                ? (hasRules
                    ? "{\"status\":\"success\",\"data\":{\"groups\":[{\"name\":\"throttlewatch.rules\",\"rules\":[{\"type\":\"recording\",\"name\":\"container:throttlewatch_cpu_usage_cores:rate5m\"},{\"type\":\"recording\",\"name\":\"container:throttlewatch_throttled_seconds:rate5m\"}]}]}}"
                    : "{\"status\":\"success\",\"data\":{\"groups\":[]}}")
                : path.Contains("/label/", StringComparison.Ordinal)
                    ? "{\"status\":\"success\",\"data\":[\"shop\"]}"
                    : "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}");
        });
        await app.StartAsync();
        using var source = new ThrottleWatch.Analyzer.Sources.PrometheusSource(new Uri(app.Urls.First()), null, [], TimeSpan.FromSeconds(10));
        var end = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
        var grid = ThrottleWatch.Analyzer.Sources.StepGrid.For(end.AddDays(-7), end);
        Assert.Equal(TimeSpan.FromMinutes(5), grid.Window);
        var builder2 = new ThrottleWatch.Analyzer.Evidence.EvidenceBuilder(source, new ThrottleWatch.Analyzer.Sources.Selector([]));
        await builder2.BuildAsync(grid, end.AddDays(-7), end, default);

        var usage = source.Sent.Where(q => q.StartsWith("avg by (namespace, workload_kind, workload, container)", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(usage);
        if (hasRules)
        {
            Assert.Contains(usage, q => q.Contains("container:throttlewatch_cpu_usage_cores:rate5m{namespace=~\"shop\"}", StringComparison.Ordinal));
            Assert.Contains(source.Sent, q => q.Contains("container:throttlewatch_throttled_seconds:rate5m", StringComparison.Ordinal));
        }
        else
        {
            Assert.DoesNotContain(source.Sent, q => q.Contains("container:", StringComparison.Ordinal));
        }
        // Never one query for all raw samples: every query aggregates.
        Assert.All(source.Sent, q => Assert.Matches("^(sum|avg|max|count) by \\(", q));
    }
}
