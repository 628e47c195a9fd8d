using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Agent.Tests;

public class HierarchyTests
{
    [Theory]
    [InlineData("v1-cgroupfs-separate", 1, "v1", "cpu", "cpuacct")]
    [InlineData("v1-systemd-combined", 1, "v1", "cpu", "cpuacct")]
    [InlineData("hybrid", 1, "hybrid", "cpu", "cpuacct")]
    [InlineData("v2-systemd-crio", 2, "v2", "", null)]
    public void Detects_layout_from_the_tree_alone(string fixture, int version, string mode, string cpuDir, string? cpuacctDir)
    {
        Assert.True(CgroupHierarchy.TryDetect(Fixtures.Root(fixture), "/nonexistent-proc", out var h, out var error), error);
        Assert.Equal(version, h!.Version);
        Assert.Equal(mode, h.Mode);
        Assert.Equal(Path.GetFullPath(Path.Combine(Fixtures.Root(fixture), cpuDir)).TrimEnd('/'), h.CpuRoot.TrimEnd('/'));
        Assert.Equal(cpuacctDir is null ? null : Path.Combine(Fixtures.Root(fixture), cpuacctDir), h.CpuacctRoot);
    }

    [Fact]
    public void Mountinfo_finds_an_unusually_named_controller_folder()
    {
        using var tree = new TempTree();
        tree.Write("odd-name/cpu.shares", "1024\n");
        tree.Write("odd-name/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
        tree.Write("odd-name/cpuacct.usage", "5\n");
        tree.Write("proc/1/mountinfo",
            "22 1 0:21 / / rw - ext4 /dev/vda rw\n" +
            "31 30 0:28 / /sys/fs/cgroup/odd-name rw,relatime - cgroup cgroup rw,cpu,cpuacct\n");
        Assert.True(CgroupHierarchy.TryDetect(tree.Path, Path.Combine(tree.Path, "proc"), out var h, out var error), error);
        Assert.Equal(Path.Combine(tree.Path, "odd-name"), h!.CpuRoot);
        Assert.Equal(Path.Combine(tree.Path, "odd-name"), h.CpuacctRoot);
    }

    [Fact]
    public void Cpu_on_unified_beside_other_v1_controllers()
    {
        using var tree = new TempTree();
        tree.Write("memory/memory.usage_in_bytes", "1\n");
        tree.Write("unified/cgroup.controllers", "cpuset cpu io memory pids\n");
        tree.Write("unified/cpu.stat", "usage_usec 1\n");
        Assert.True(CgroupHierarchy.TryDetect(tree.Path, "/nonexistent-proc", out var h, out var error), error);
        Assert.Equal(2, h!.Version);
        Assert.Equal("hybrid", h.Mode);
        Assert.Equal(Path.Combine(tree.Path, "unified"), h.CpuRoot);
    }

    [Fact]
    public void A_root_without_a_cpu_controller_is_one_clear_error()
    {
        using var tree = new TempTree();
        tree.Write("memory/memory.usage_in_bytes", "1\n");
        Assert.False(CgroupHierarchy.TryDetect(tree.Path, "/nonexistent-proc", out _, out var error));
        Assert.Contains("no cpu controller", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);

        Assert.False(CgroupHierarchy.TryDetect("/does/not/exist", "/proc", out _, out error));
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public void This_machine_is_v1_hybrid_with_cpu_and_cpuacct_apart()
    {
        // BACKGROUND §5: the CI and development machines mount cpu and cpuacct apart, with cgroup2 at unified/.
        Assert.True(CgroupHierarchy.TryDetect("/sys/fs/cgroup", "/proc", out var h, out var error), error);
        Assert.Equal(1, h!.Version);
        Assert.Equal("/sys/fs/cgroup/cpu", h.CpuRoot);
        Assert.Equal("/sys/fs/cgroup/cpuacct", h.CpuacctRoot);
        Assert.Equal("hybrid", h.Mode);
    }
}
