using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;

namespace ThrottleWatch.Agent.Tests;

/// <summary>Discovery on node-shaped fixture trees: exactly the expected containers and pods, for every layout.</summary>
public class DiscoveryTests
{
    public static TheoryData<string> FixtureNames() => new(Fixtures.All);

    [Theory]
    [MemberData(nameof(FixtureNames))]
    public void Finds_exactly_the_expected_containers_and_pods(string fixture)
    {
        var expected = Fixtures.LoadExpected(fixture);
        Assert.True(CgroupHierarchy.TryDetect(Fixtures.Root(fixture), "/nonexistent-proc", out var h, out var error), error);
        Assert.Equal(expected.CgroupVersion, h!.Version);

        var discovery = new ContainerDiscovery(h.CpuRoot);
        var changes = discovery.Refresh();

        var containers = changes.Added.Where(i => i.Kind == CgroupKind.Container)
            .OrderBy(i => i.CgroupPath, StringComparer.Ordinal)
            .Select(i => new ExpectedContainer(i.PodUid!, i.ContainerId!, CgroupIdentity.QosName(i.Qos), i.Runtime, i.CgroupPath))
            .ToList();
        var pods = changes.Added.Where(i => i.Kind == CgroupKind.Pod)
            .OrderBy(i => i.CgroupPath, StringComparer.Ordinal)
            .Select(i => new ExpectedPod(i.PodUid!, CgroupIdentity.QosName(i.Qos), i.CgroupPath))
            .ToList();

        Assert.Equal(expected.Containers, containers);
        Assert.Equal(expected.Pods, pods);
        Assert.Empty(changes.Removed);
    }

    [Fact]
    public void Conmon_scopes_are_not_containers()
    {
        Assert.True(CgroupHierarchy.TryDetect(Fixtures.Root("v2-systemd-crio"), "/nonexistent-proc", out var h, out _));
        var found = new ContainerDiscovery(h!.CpuRoot).Refresh().Added;
        Assert.DoesNotContain(found, i => i.CgroupPath.Contains("conmon", StringComparison.Ordinal));
        Assert.True(Directory.EnumerateDirectories(h.CpuRoot, "crio-conmon-*", SearchOption.AllDirectories).Any(), "the fixture must hold conmon scopes");
    }

    [Fact]
    public void Links_inside_the_hierarchy_are_never_followed()
    {
        Assert.True(CgroupHierarchy.TryDetect(Fixtures.Root("v1-systemd-combined"), "/nonexistent-proc", out var h, out _));
        var found = new ContainerDiscovery(h!.CpuRoot).Refresh().Added;
        Assert.DoesNotContain(found, i => i.CgroupPath.Contains("link-to", StringComparison.Ordinal));
        Assert.Equal(found.Count, found.Select(i => i.ContainerId ?? i.PodUid).Distinct().Count());
    }

    [Fact]
    public void Static_pods_keep_their_config_hash_as_uid()
    {
        Assert.True(CgroupHierarchy.TryDetect(Fixtures.Root("v1-cgroupfs-separate"), "/nonexistent-proc", out var h, out _));
        var pods = new ContainerDiscovery(h!.CpuRoot).Refresh().Added.Where(i => i.Kind == CgroupKind.Pod);
        Assert.Contains(pods, p => p.PodUid == "8f6a44fc62e8cb075753c843896568ca" && p.Qos == QosClass.Burstable);
    }

    [Fact]
    public void Refresh_reports_only_what_appeared_and_what_went()
    {
        using var tree = Fixtures.CopyToTemp("v1-cgroupfs-separate");
        Assert.True(CgroupHierarchy.TryDetect(tree.Path, "/nonexistent-proc", out var h, out _));
        var discovery = new ContainerDiscovery(h!.CpuRoot);
        int initial = discovery.Refresh().Added.Count;
        Assert.True(initial > 0);

        var again = discovery.Refresh();
        Assert.Empty(again.Added);
        Assert.Empty(again.Removed);

        // A new pod with one container appears, and an existing container goes.
        var podDir = Path.Combine(h.CpuRoot, "kubepods", "besteffort", "pod11111111-2222-4333-8444-555555555555");
        var newCid = new string('c', 64);
        Directory.CreateDirectory(Path.Combine(podDir, newCid));
        var victim = discovery.Current.Values.First(i => i.Kind == CgroupKind.Container);
        Directory.Delete(discovery.AbsolutePath(victim.CgroupPath), recursive: true);

        var changes = discovery.Refresh();
        Assert.Equal(2, changes.Added.Count);
        Assert.Contains(changes.Added, i => i.Kind == CgroupKind.Pod && i.PodUid == "11111111-2222-4333-8444-555555555555" && i.Qos == QosClass.BestEffort);
        Assert.Contains(changes.Added, i => i.ContainerId == newCid && i.Runtime == "unknown");
        Assert.Equal([victim], changes.Removed);
        Assert.Equal(initial + 1, discovery.Current.Count);

        // A whole pod goes: the pod and its containers are reported removed.
        Directory.Delete(podDir, recursive: true);
        var gone = discovery.Refresh();
        Assert.Equal(2, gone.Removed.Count);
        Assert.Empty(gone.Added);
    }

    [Fact]
    public void Cgroup_subtree_reports_each_child_as_a_container()
    {
        Assert.True(CgroupHierarchy.TryDetect(Fixtures.Root("v2-no-kube"), "/nonexistent-proc", out var h, out _));
        var expectedChildren = Directory.GetDirectories(Path.Combine(h!.CpuRoot, "system.slice")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expectedChildren);

        var found = new ContainerDiscovery(h.CpuRoot, ["system.slice"]).Refresh().Added;
        Assert.All(found, i => Assert.Equal(CgroupKind.Subtree, i.Kind));
        Assert.Equal(expectedChildren.Select(n => "/system.slice/" + n), found.Select(i => i.CgroupPath).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("kubepods-burstable-pod1234abcd_5678_4abc_9def_0123456789ab.slice", "1234abcd-5678-4abc-9def-0123456789ab")]
    [InlineData("pod1234abcd-5678-4abc-9def-0123456789ab", "1234abcd-5678-4abc-9def-0123456789ab")]
    [InlineData("kubelet-kubepods-besteffort-pod1234abcd_5678_4abc_9def_0123456789ab.slice", "1234abcd-5678-4abc-9def-0123456789ab")]
    [InlineData("kubepods-pod8f6a44fc62e8cb075753c843896568ca.slice", "8f6a44fc62e8cb075753c843896568ca")]
    public void Pod_names(string name, string uid)
    {
        Assert.True(KubeletLayout.TryParsePod(name, out var parsed));
        Assert.Equal(uid, parsed);
    }

    [Theory]
    [InlineData("kubepods-burstable.slice")]
    [InlineData("burstable")]
    [InlineData("pod1234")]
    [InlineData("kubepods-podXYZabcd_5678_4abc_9def_0123456789ab.slice")]
    [InlineData("pod1234abcd_5678-4abc-9def-0123456789ab")]
    public void Not_pod_names(string name) => Assert.False(KubeletLayout.TryParsePod(name, out _));

    [Theory]
    [InlineData("cri-containerd-{0}.scope", "containerd")]
    [InlineData("crio-{0}.scope", "crio")]
    [InlineData("docker-{0}.scope", "docker")]
    [InlineData("{0}", "unknown")]
    [InlineData("crio-{0}", "crio")]
    public void Container_names(string pattern, string runtime)
    {
        var cid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        Assert.True(KubeletLayout.TryParseContainer(string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, cid), out var id, out var rt));
        Assert.Equal(cid, id);
        Assert.Equal(runtime, rt);
    }

    [Theory]
    [InlineData("crio-conmon-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope")]
    [InlineData("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("init.scope")]
    [InlineData("cri-containerd-0123.scope")]
    public void Not_container_names(string name) => Assert.False(KubeletLayout.TryParseContainer(name, out _, out _));
}
