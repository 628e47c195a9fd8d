using System.Diagnostics;
using System.Text.Json;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// The agent as the DaemonSet runs it: not root. Root reads every file whatever its mode, so these
/// run the built agent as uid/gid 65534 (nobody) through <c>setpriv</c> (util-linux): on this
/// host's real cgroups, which are world-readable, it sees real throttling; on a tree where one file
/// is mode 000, that read fails with a real EACCES, is counted as <c>permission</c> and logged
/// once, and every other container is still read.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NonRootTests : IDisposable
{
    private const string Nobody = "65534";
    private readonly TempTree _agentCopy = new();

    /// <summary>
    /// A copy of the built agent in a folder every user can read: the checkout may sit under a
    /// folder only root can enter.
    /// </summary>
    private string AgentDll()
    {
        // tests/ThrottleWatch.Agent.Tests/bin/<Configuration>/net10.0 -> agent/ThrottleWatch.Agent/bin/<Configuration>/net10.0
        var testBin = AppContext.BaseDirectory.TrimEnd('/');
        var tfm = Path.GetFileName(testBin);
        var configuration = Path.GetFileName(Path.GetDirectoryName(testBin)!);
        var built = Path.GetFullPath(Path.Combine(testBin, "..", "..", "..", "..", "..", "agent", "ThrottleWatch.Agent", "bin", configuration, tfm));
        Assert.True(File.Exists(Path.Combine(built, "throttlewatch-agent.dll")), $"the agent is not built at {built}: run `dotnet build -c {configuration}`");
        foreach (var file in Directory.GetFiles(built, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(_agentCopy.Path, Path.GetRelativePath(built, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        MakeWorldReadable(_agentCopy.Path);
        return Path.Combine(_agentCopy.Path, "throttlewatch-agent.dll");
    }

    private static void MakeWorldReadable(string root)
    {
        const UnixFileMode Dir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(root, Dir);
        foreach (var d in Directory.GetDirectories(root, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(d, Dir);
        }
        foreach (var f in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(f, File.GetUnixFileMode(f) | UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
    }

    /// <summary>Runs <c>throttlewatch-agent snapshot --format json ARGS</c> as uid and gid 65534 with no supplementary groups.</summary>
    private async Task<(int Code, JsonDocument? Json, string Stderr)> SnapshotAsNobody(params string[] args)
    {
        var dll = AgentDll();
        var psi = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["--reuid", Nobody, "--regid", Nobody, "--clear-groups", "--", "dotnet", dll, "snapshot", "--format", "json", .. args])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["HOME"] = "/tmp";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("setpriv did not start");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var json = p.ExitCode == 0 ? JsonDocument.Parse(await stdout) : null;
        return (p.ExitCode, json, await stderr);
    }

    public void Dispose() => _agentCopy.Dispose();

    [Fact]
    public async Task As_nobody_it_reads_the_hosts_world_readable_cgroups_and_sees_real_throttling()
    {
        using var cgroups = new RealCgroups();
        var podUid = Guid.NewGuid().ToString();
        var cid = RealCgroups.NewContainerId();
        var busy = cgroups.Create($"kubepods/burstable/pod{podUid}/{cid}");
        RealCgroups.SetQuota(busy, 20000);
        cgroups.StartBusy(busy);

        var (code, json, stderr) = await SnapshotAsNobody("--interval", "1s");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        using var doc = json!;
        var c = Assert.Single(doc.RootElement.GetProperty("containers").EnumerateArray(), c => c.GetProperty("containerId").GetString() == cid);
        Assert.Equal(0.2, c.GetProperty("limitCores").GetDouble());
        Assert.InRange(c.GetProperty("delta").GetProperty("throttledRatio").GetDouble(), 0.5, 1.0);
        Assert.Equal(0, doc.RootElement.GetProperty("errors").GetProperty("permission").GetInt32());
    }

    [Fact]
    public async Task As_nobody_a_file_it_may_not_read_is_counted_logged_once_and_the_rest_is_read()
    {
        var expected = Fixtures.LoadExpected("v2-cgroupfs");
        using var tree = Fixtures.CopyToTemp("v2-cgroupfs");
        MakeWorldReadable(tree.Path);
        var denied = expected.Containers[0];
        var deniedFile = Path.Combine(tree.Path, denied.CgroupPath.TrimStart('/'), "cpu.stat");
        Assert.True(File.Exists(deniedFile), deniedFile);
        File.SetUnixFileMode(deniedFile, UnixFileMode.None);

        var (code, json, stderr) = await SnapshotAsNobody("--cgroup-root", tree.Path, "--proc-root", "/nonexistent", "--interval", "200ms");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        using var doc = json!;
        // Two readings of the file, both refused.
        Assert.True(doc.RootElement.GetProperty("errors").GetProperty("permission").GetInt32() >= 1, doc.RootElement.GetProperty("errors").ToString());
        foreach (var e in new[] { "malformed", "io", "openFiles" })
        {
            Assert.Equal(0, doc.RootElement.GetProperty("errors").GetProperty(e).GetInt32());
        }
        // Logged once, with the path.
        Assert.Single(stderr.Split('\n'), l => l.Contains(deniedFile, StringComparison.Ordinal));
        // Every other container is read as usual.
        var read = doc.RootElement.GetProperty("containers").EnumerateArray()
            .Where(c => c.GetProperty("delta").ValueKind == JsonValueKind.Object)
            .Select(c => c.GetProperty("containerId").GetString()!)
            .ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain(denied.ContainerId, read);
        foreach (var c in expected.Containers.Skip(1))
        {
            Assert.Contains(c.ContainerId, read);
        }
    }
}
