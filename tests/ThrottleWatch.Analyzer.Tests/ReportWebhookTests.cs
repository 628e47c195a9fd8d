using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ThrottleWatch.Analyzer.Reports;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>The Slack payload, and posting it to a real HTTP server on the loopback.</summary>
public class ReportWebhookTests
{
    [Fact]
    public void Payload_is_json_with_the_summary_as_text()
    {
        var summary = MarkdownReport.Summary(ReportSample.Build().Report);
        var payload = Webhook.BuildSlackPayload(summary);
        using var json = JsonDocument.Parse(payload);
        Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        Assert.Equal(["text"], json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(summary, json.RootElement.GetProperty("text").GetString());
        Assert.DoesNotContain("<", payload, StringComparison.Ordinal); // even escaped markup is \u003C in the JSON
    }

    [Fact]
    public void Payload_escapes_quotes_backslashes_and_control_characters()
    {
        var text = "a \"quote\" \\ back\nnew\ttab \u0001 ünï";
        using var json = JsonDocument.Parse(Webhook.BuildSlackPayload(text));
        Assert.Equal(text, json.RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Posts_to_a_server_and_reports_success_or_the_failing_status()
    {
        string? received = null;
        string? contentType = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.MapPost("/hook", async (HttpContext ctx) =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            received = await reader.ReadToEndAsync();
            contentType = ctx.Request.ContentType;
            return Results.Text("ok");
        });
        app.MapPost("/broken", () => Results.Text("invalid_payload", statusCode: 500));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var payload = Webhook.BuildSlackPayload(MarkdownReport.Summary(ReportSample.Build().Report));

        var ok = await Webhook.PostAsync(client, new Uri(address + "/hook"), payload, CancellationToken.None);
        Assert.Equal(new WebhookResult(true, 200, null), ok);
        Assert.Equal(payload, received);
        Assert.StartsWith("application/json", contentType, StringComparison.Ordinal);

        var failed = await Webhook.PostAsync(client, new Uri(address + "/broken"), payload, CancellationToken.None);
        Assert.False(failed.Success);
        Assert.Equal(500, failed.StatusCode);
        Assert.Contains("invalid_payload", failed.Error, StringComparison.Ordinal);

        await app.StopAsync();
    }

    [Fact]
    public async Task A_refused_connection_is_a_failure_not_an_exception()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var result = await Webhook.PostAsync(client, new Uri($"http://127.0.0.1:{port}/hook"), "{}", CancellationToken.None);
        Assert.False(result.Success);
        Assert.Null(result.StatusCode);
        Assert.False(string.IsNullOrEmpty(result.Error));
    }
}
