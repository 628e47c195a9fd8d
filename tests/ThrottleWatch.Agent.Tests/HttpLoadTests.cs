using System.Net.Sockets;
using System.Text;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>The HTTP server under concurrent scrapers, slow clients and oversized headers (short versions; no timings asserted).</summary>
public class HttpLoadTests
{
    [Fact]
    public async Task A_hundred_concurrent_scrapers_all_get_complete_expositions()
    {
        var expected = Fixtures.LoadExpected("v2-systemd-crio").Containers.Count;
        await using var agent = new AgentRunner("--cgroup-root", Fixtures.Root("v2-systemd-crio"), "--proc-root", "/nonexistent", "--interval", "100ms");
        await agent.WaitReadyAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var scrapes = Enumerable.Range(0, 100).Select(async _ =>
        {
            int ok = 0;
            for (int i = 0; i < 5; i++)
            {
                var text = await http.GetStringAsync(agent.Url + "/metrics");
                var samples = Sample.Parse(text);
                Assert.Equal(expected, samples.Count(s => s.Name == MetricCatalog.ContainerUsageSeconds));
                ok++;
            }
            return ok;
        });
        var results = await Task.WhenAll(scrapes);
        Assert.Equal(500, results.Sum());
    }

    [Fact]
    public async Task Slow_clients_that_never_finish_a_request_do_not_block_scrapes()
    {
        await using var agent = new AgentRunner("--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", "/nonexistent", "--interval", "100ms");
        await agent.WaitReadyAsync();
        var stalled = new List<TcpClient>();
        try
        {
            for (int i = 0; i < 50; i++)
            {
                var c = new TcpClient();
                await c.ConnectAsync("127.0.0.1", agent.Port);
                // Half a request line, then silence.
                await c.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET /metr"));
                stalled.Add(c);
            }
            for (int i = 0; i < 5; i++)
            {
                var s = await agent.ScrapeAsync();
                Assert.Contains(s, x => x.Name == MetricCatalog.ContainerUsageSeconds);
            }
        }
        finally
        {
            foreach (var c in stalled)
            {
                c.Dispose();
            }
        }
    }

    [Fact]
    public async Task Oversized_headers_are_refused_and_the_server_goes_on()
    {
        await using var agent = new AgentRunner("--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", "/nonexistent", "--interval", "100ms");
        await agent.WaitReadyAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, agent.Url + "/metrics");
        request.Headers.TryAddWithoutValidation("X-Padding", new string('a', 64 * 1024));
        var response = await agent.Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Contains(await agent.ScrapeAsync(), x => x.Name == MetricCatalog.ContainerUsageSeconds);
    }
}
