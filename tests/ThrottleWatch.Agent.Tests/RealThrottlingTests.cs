using System.Text.Json;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// Real throttling on this machine: a Kubernetes-shaped tree under the real v1 cpu and cpuacct
/// mounts, one container with a 0.2-core quota and a busy process, one unlimited and idle.
/// </summary>
public class RealThrottlingTests
{
    [Fact]
    public async Task Snapshot_sees_real_throttling_and_usage()
    {
        using var cgroups = new RealCgroups();
        var podUid = Guid.NewGuid().ToString();
        var busyCid = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var idleCid = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
        var busy = cgroups.Create($"kubepods/burstable/pod{podUid}/{busyCid}");
        var idle = cgroups.Create($"kubepods/burstable/pod{podUid}/{idleCid}");
        RealCgroups.SetQuota(busy, 20000);
        cgroups.StartBusy(busy);
        await Task.Delay(300);

        var (code, stdout, stderr) = await CliTests.Run("snapshot", "--format", "json", "--interval", "2s");
        Assert.True(code == 0, stderr);

        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(1, doc.RootElement.GetProperty("cgroupVersion").GetInt32());
        var containers = doc.RootElement.GetProperty("containers").EnumerateArray().ToList();
        var b = Assert.Single(containers, c => c.GetProperty("containerId").GetString() == busyCid);
        var i = Assert.Single(containers, c => c.GetProperty("containerId").GetString() == idleCid);

        Assert.Equal(podUid, b.GetProperty("podUid").GetString());
        Assert.Equal("burstable", b.GetProperty("qosClass").GetString());
        Assert.Equal(busy, b.GetProperty("cgroupPath").GetString());
        Assert.Equal(0.2, b.GetProperty("limitCores").GetDouble());
        var bd = b.GetProperty("delta");
        Assert.InRange(bd.GetProperty("throttledRatio").GetDouble(), 0.5, 1.0);
        Assert.InRange(bd.GetProperty("usageCores").GetDouble(), 0.15, 0.25);
        Assert.InRange(bd.GetProperty("periods").GetUInt64(), 15UL, 25UL);
        Assert.True(bd.GetProperty("throttledSeconds").GetDouble() > 0.5, "a 1-core loop under a 0.2-core quota stalls ~80% of each period");

        Assert.Equal(JsonValueKind.Null, i.GetProperty("limitCores").ValueKind);
        var id = i.GetProperty("delta");
        Assert.Equal(0UL, id.GetProperty("throttledPeriods").GetUInt64());
        Assert.Equal(0.0, id.GetProperty("throttledSeconds").GetDouble());
        Assert.InRange(id.GetProperty("usageCores").GetDouble(), 0.0, 0.01);

        var pod = Assert.Single(doc.RootElement.GetProperty("pods").EnumerateArray(), p => p.GetProperty("podUid").GetString() == podUid);
        Assert.InRange(pod.GetProperty("delta").GetProperty("usageCores").GetDouble(), 0.15, 0.25);
    }
}
