using System.Text.Json;
using ThrottleWatch.Agent.Commands;

namespace ThrottleWatch.Agent.Tests;

/// <summary>The snapshot command as a user runs it: flags, exit codes, the JSON contract.</summary>
public class CliTests
{
    internal static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await AgentCli.RunAsync(args, new CliContext(stdout, stderr));
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("snapshot", "--bogus")]
    [InlineData("snapshot", "--interval", "soon")]
    [InlineData("snapshot", "--interval", "0s")]
    [InlineData("snapshot", "--interval", "-1s")]
    [InlineData("snapshot", "--format", "xml")]
    [InlineData("snapshot", "--cgroup-root")]
    [InlineData("no-such-command")]
    [InlineData("run", "--watch-limits", "maybe")]
    public async Task Bad_flags_give_one_line_and_exit_code_2(params string[] args)
    {
        var (code, stdout, stderr) = await Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_validates_every_value_at_start_one_line_each()
    {
        var (code, stdout, stderr) = await Run("run", "--listen", "nowhere", "--interval", "0s", "--otlp-protocol", "carrier-pigeon", "--kubeconfig", "/no/such/file");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("error: ", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("--listen", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("--interval", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("carrier-pigeon", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("--kubeconfig", StringComparison.Ordinal));

        (code, _, stderr) = await Run("--cgroup-root", "/no/such/root");
        Assert.Equal(2, code);
        Assert.Equal("error: cgroup root '/no/such/root' does not exist or is not a folder", stderr.Trim());
    }

    [Fact]
    public async Task Top_shows_the_most_throttled_containers_first()
    {
        using var tree = Fixtures.CopyToTemp("v1-cgroupfs-separate");
        var expected = Fixtures.LoadExpected("v1-cgroupfs-separate");
        // Make one container throttle between the sweeps: rewrite its counters while top runs.
        var hot = expected.Containers.First(c => File.ReadAllText(tree.Path + "/cpu" + c.CgroupPath + "/cpu.cfs_quota_us").Trim() != "-1");
        var stat = tree.Path + "/cpu" + hot.CgroupPath + "/cpu.stat";
        using var cancel = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (ulong i = 1; !cancel.IsCancellationRequested; i++)
            {
                File.WriteAllText(stat, $"nr_periods {1000 + i * 10}\nnr_throttled {900 + i * 9}\nthrottled_time {i * 500_000_000}\n");
                await Task.Delay(20);
            }
        });
        var (code, stdout, stderr) = await Run("top", "--cgroup-root", tree.Path, "--proc-root", "/nonexistent", "--interval", "200ms", "--count", "3");
        await cancel.CancelAsync();
        await writer;
        Assert.True(code == 0, stderr);
        Assert.Contains("throttlewatch top", stdout, StringComparison.Ordinal);
        Assert.Contains($"{expected.Containers.Count} containers", stdout, StringComparison.Ordinal);
        // The last frame's first row is the hot container.
        var lastFrame = stdout[stdout.LastIndexOf("throttlewatch top", StringComparison.Ordinal)..];
        var firstRow = lastFrame.Split('\n').First(l => l.Contains(" / ", StringComparison.Ordinal));
        Assert.Contains(hot.ContainerId[..12], firstRow, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreadable_root_gives_one_line_and_exit_code_2()
    {
        var (code, stdout, stderr) = await Run("snapshot", "--cgroup-root", "/no/such/root", "--interval", "10ms");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("error: cgroup root '/no/such/root' does not exist or is not a folder", stderr.Trim());

        (code, _, stderr) = await Run("snapshot", "--cgroup-root", Fixtures.Root("v2-no-kube"), "--cgroup-subtree", "nope.slice", "--interval", "10ms");
        Assert.Equal(2, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("v1-cgroupfs-separate")]
    [InlineData("v1-systemd-combined")]
    [InlineData("v2-systemd-crio")]
    [InlineData("v2-kind-nested")]
    public async Task Json_snapshot_of_a_fixture_node_follows_the_contract(string fixture)
    {
        var expected = Fixtures.LoadExpected(fixture);
        var (code, stdout, stderr) = await Run("snapshot", "--cgroup-root", Fixtures.Root(fixture), "--proc-root", "/nonexistent", "--interval", "20ms", "--format", "json");
        Assert.True(code == 0, stderr);

        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.Equal(expected.CgroupVersion, root.GetProperty("cgroupVersion").GetInt32());
        Assert.Equal(0.02, root.GetProperty("intervalSeconds").GetDouble());
        var containers = root.GetProperty("containers").EnumerateArray().ToList();
        Assert.Equal(expected.Containers.Select(c => c.ContainerId), containers.Select(c => c.GetProperty("containerId").GetString()));

        foreach (var c in containers)
        {
            foreach (var key in new[] { "podUid", "containerId", "qosClass", "runtime", "cgroupPath", "limitCores", "periodSeconds", "shares", "weight", "delta" })
            {
                Assert.True(c.TryGetProperty(key, out _), $"missing {key}");
            }
            var delta = c.GetProperty("delta");
            foreach (var key in new[] { "periods", "throttledPeriods", "throttledRatio", "throttledSeconds", "usageCores" })
            {
                Assert.True(delta.TryGetProperty(key, out _), $"missing delta.{key}");
            }
            // Fixture files do not change between the readings: nothing elapsed, so no ratio.
            Assert.Equal(0UL, delta.GetProperty("periods").GetUInt64());
            Assert.Equal(JsonValueKind.Null, delta.GetProperty("throttledRatio").ValueKind);
            Assert.Equal(0.1, c.GetProperty("periodSeconds").GetDouble());
            var weightKey = expected.CgroupVersion == 1 ? "shares" : "weight";
            Assert.Equal(JsonValueKind.Number, c.GetProperty(weightKey).ValueKind);
        }
        // Both kinds of container exist in every fixture: with a limit, and without one (null).
        Assert.Contains(containers, c => c.GetProperty("limitCores").ValueKind == JsonValueKind.Number);
        Assert.Contains(containers, c => c.GetProperty("limitCores").ValueKind == JsonValueKind.Null);
        Assert.Equal(expected.Pods.Count, root.GetProperty("pods").GetArrayLength());
    }

    [Fact]
    public async Task Table_snapshot_lists_containers_and_says_when_there_are_none()
    {
        var (code, stdout, _) = await Run("snapshot", "--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--interval", "10ms");
        Assert.Equal(0, code);
        var expected = Fixtures.LoadExpected("v2-cgroupfs");
        Assert.All(expected.Containers, c => Assert.Contains(c.ContainerId[..12], stdout, StringComparison.Ordinal));

        (code, stdout, _) = await Run("snapshot", "--cgroup-root", Fixtures.Root("v2-no-kube"), "--interval", "10ms");
        Assert.Equal(0, code);
        Assert.Contains("No containers found", stdout, StringComparison.Ordinal);

        (code, stdout, _) = await Run("snapshot", "--cgroup-root", Fixtures.Root("v2-no-kube"), "--cgroup-subtree", "system.slice", "--interval", "10ms");
        Assert.Equal(0, code);
        Assert.Contains("/system.slice/", stdout, StringComparison.Ordinal);
    }
}
