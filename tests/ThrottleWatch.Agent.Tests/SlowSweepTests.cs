using System.Diagnostics;
using System.Net;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// A sweep far slower than the interval: a container's <c>cpu.max</c> becomes a FIFO with no
/// writer, so opening it blocks (as a read from a hung filesystem would). Scrapes go on with the
/// last values, <c>/healthz</c> reports the stall, the slow sweep is logged, and once the read
/// returns, sampling resumes at its interval: the ticks missed meanwhile are skipped, not run in a burst.
/// </summary>
public class SlowSweepTests
{
    private static double Sweeps(List<Sample> s) =>
        s.Single(x => x.Name == MetricCatalog.AgentSweepDuration + "_count").Value;

    [Fact]
    public async Task A_sweep_stuck_on_a_read_skips_ticks_keeps_scrapes_and_fails_healthz_until_it_returns()
    {
        using var tree = Fixtures.CopyToTemp("v2-cgroupfs");
        var expected = Fixtures.LoadExpected("v2-cgroupfs");
        await using var agent = new AgentRunner("--cgroup-root", tree.Path, "--proc-root", "/nonexistent", "--interval", "100ms", "--config-interval", "200ms");
        await agent.WaitReadyAsync();
        await agent.ScrapeUntilAsync(x => x.Count(y => y.Name == MetricCatalog.ContainerUsageSeconds) == expected.Containers.Count);

        var cpuMax = Path.Combine(tree.Path + expected.Containers[0].CgroupPath, "cpu.max");
        var text = await File.ReadAllTextAsync(cpuMax);
        File.Delete(cpuMax);
        using (var mkfifo = Process.Start("mkfifo", [cpuMax]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        // Stuck: the sweep count stops, /healthz turns 503 (5 intervals, at least 10 s), scrapes still answer.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        HttpStatusCode health = HttpStatusCode.OK;
        while (DateTime.UtcNow < until && (health = (await agent.Http.GetAsync(agent.Url + "/healthz")).StatusCode) == HttpStatusCode.OK)
        {
            await Task.Delay(200);
        }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health);
        var stuck = await agent.ScrapeAsync();
        Assert.Equal(expected.Containers.Count, stuck.Count(y => y.Name == MetricCatalog.ContainerUsageSeconds));
        double stalledAt = Sweeps(stuck);
        await Task.Delay(1000);
        Assert.Equal(stalledAt, Sweeps(await agent.ScrapeAsync()));

        // Release it: a plain file takes the path back for later sweeps, then a writer opens the FIFO
        // (the blocked open returns; the read that follows fails on a pipe and is counted, as I/O).
        var plain = cpuMax + ".new";
        await File.WriteAllTextAsync(plain, text);
        var fifo = cpuMax + ".fifo";
        File.Move(cpuMax, fifo);
        File.Move(plain, cpuMax);
        await using (new FileStream(fifo, FileMode.Open, FileAccess.Write))
        {
        }

        await agent.ScrapeUntilAsync(x => Sweeps(x) > stalledAt);
        var resumedAt = Stopwatch.GetTimestamp();
        double first = Sweeps(await agent.ScrapeAsync());
        // Missed ticks (more than 100 over the stall) are not made up in a burst.
        Assert.InRange(first - stalledAt, 1, 10);
        // Then it goes on at its interval, and the kubelet sees it alive again.
        var after = await agent.ScrapeUntilAsync(x => Sweeps(x) >= first + 5);
        Assert.InRange(Sweeps(after) - first, 5, 10 * Stopwatch.GetElapsedTime(resumedAt).TotalSeconds + 5);
        Assert.Equal(HttpStatusCode.OK, (await agent.Http.GetAsync(agent.Url + "/healthz")).StatusCode);
        Assert.Contains("longer than the", agent.Errors, StringComparison.Ordinal);
    }
}
