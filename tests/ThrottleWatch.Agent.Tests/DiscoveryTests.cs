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

        // A new pod with one container appears, and an existing container goes (its pod is asked for,
        // as the sampler does when a sweep finds a container gone).
        var podDir = Path.Combine(h.CpuRoot, "kubepods", "besteffort", "pod11111111-2222-4333-8444-555555555555");
        var newCid = new string('c', 64);
        Directory.CreateDirectory(Path.Combine(podDir, newCid));
        var victim = discovery.Current.Values.First(i => i.Kind == CgroupKind.Container);
        Directory.Delete(discovery.AbsolutePath(victim.CgroupPath), recursive: true);
        discovery.ListPodSoon(victim.PodUid!);

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
    public void Settled_pods_are_listed_every_sixth_refresh_new_and_changed_ones_every_refresh()
    {
        using var tree = Fixtures.CopyToTemp("v1-cgroupfs-separate");
        Assert.True(CgroupHierarchy.TryDetect(tree.Path, "/nonexistent-proc", out var h, out _));
        var discovery = new ContainerDiscovery(h!.CpuRoot);
        var first = discovery.Refresh();
        var pods = first.Added.Where(i => i.Kind == CgroupKind.Pod).ToList();
        Assert.True(pods.Count >= 2, "the fixture must hold pods");
        Assert.Equal(0, discovery.PodsSkipped);

        // Pods found by the first refresh were there before: settled. Over six refreshes each is
        // listed exactly once...
        int skipped = 0;
        for (int r = 1; r <= ContainerDiscovery.SettledPodEvery; r++)
        {
            discovery.Refresh();
            skipped += discovery.PodsSkipped;
        }
        Assert.Equal(pods.Count * (ContainerDiscovery.SettledPodEvery - 1), skipped);

        // ...so a container started in one of them is found within six refreshes, once.
        var settled = pods[0];
        var lateCid = new string('d', 64);
        Directory.CreateDirectory(Path.Combine(discovery.AbsolutePath(settled.CgroupPath), lateCid));
        int found = 0;
        for (int r = 1; r <= ContainerDiscovery.SettledPodEvery; r++)
        {
            found += discovery.Refresh().Added.Count(i => i.ContainerId == lateCid);
        }
        Assert.Equal(1, found);

        // That change unsettled the pod: the next container in it is found at the very next refresh.
        var nextCid = new string('e', 64);
        Directory.CreateDirectory(Path.Combine(discovery.AbsolutePath(settled.CgroupPath), nextCid));
        Assert.Contains(discovery.Refresh().Added, i => i.ContainerId == nextCid);

        // A pod that appears after the first refresh is listed at every refresh while it starts...
        var podDir = Path.Combine(h.CpuRoot, "kubepods", "besteffort", "pod11111111-2222-4333-8444-555555555555");
        Directory.CreateDirectory(podDir);
        Assert.Contains(discovery.Refresh().Added, i => i.Kind == CgroupKind.Pod && i.PodUid == "11111111-2222-4333-8444-555555555555");
        for (int r = 1; r <= 3; r++)
        {
            var cid = new string((char)('0' + r), 64);
            Directory.CreateDirectory(Path.Combine(podDir, cid));
            Assert.Contains(discovery.Refresh().Added, i => i.ContainerId == cid);
        }

        // ...and settles once nothing changed in it for UnsettledRefreshes refreshes: then it too is skipped.
        for (int r = 0; r < ContainerDiscovery.UnsettledRefreshes + ContainerDiscovery.SettledPodEvery; r++)
        {
            discovery.Refresh();
        }
        skipped = 0;
        for (int r = 0; r < ContainerDiscovery.SettledPodEvery; r++)
        {
            discovery.Refresh();
            skipped += discovery.PodsSkipped;
        }
        Assert.Equal((pods.Count + 1) * (ContainerDiscovery.SettledPodEvery - 1), skipped);

        // A pod gone is seen at the next refresh, settled or not: its parent is listed every time.
        var goneCids = discovery.Current.Values.Where(i => i.PodUid == settled.PodUid && i.Kind == CgroupKind.Container).ToList();
        Directory.Delete(discovery.AbsolutePath(settled.CgroupPath), recursive: true);
        var gone = discovery.Refresh();
        Assert.Equal(goneCids.Count + 1, gone.Removed.Count);
    }

    [Fact]
    public void A_pod_asked_for_is_listed_at_the_next_refresh_and_only_it_between_refreshes()
    {
        using var tree = Fixtures.CopyToTemp("v1-cgroupfs-separate");
        Assert.True(CgroupHierarchy.TryDetect(tree.Path, "/nonexistent-proc", out var h, out _));
        var discovery = new ContainerDiscovery(h!.CpuRoot);
        var pods = discovery.Refresh().Added.Where(i => i.Kind == CgroupKind.Pod).ToList();
        Assert.False(discovery.PodsRequested);

        // Containers start in two settled pods; only one is asked for (its API status changed).
        var asked = pods[0];
        var other = pods[1];
        var askedCid = new string('a', 64);
        var otherCid = new string('b', 64);
        Directory.CreateDirectory(Path.Combine(discovery.AbsolutePath(asked.CgroupPath), askedCid));
        Directory.CreateDirectory(Path.Combine(discovery.AbsolutePath(other.CgroupPath), otherCid));
        // A new pod folder too: only a full refresh lists the folders above the pods.
        var newPod = Path.Combine(h.CpuRoot, "kubepods", "besteffort", "pod11111111-2222-4333-8444-555555555555");
        Directory.CreateDirectory(newPod);

        discovery.ListPodSoon(asked.PodUid!);
        Assert.True(discovery.PodsRequested);
        var requested = discovery.RefreshRequested();
        Assert.False(discovery.PodsRequested);
        Assert.Equal([askedCid], requested.Added.Select(i => i.ContainerId));
        Assert.Equal(1, discovery.FoldersListed);
        Assert.Empty(requested.Removed);

        // With nothing asked, a requested-only refresh lists nothing.
        Assert.Empty(discovery.RefreshRequested().Added);
        Assert.Equal(0, discovery.FoldersListed);

        // A full refresh finds the new pod; the other container once its settled pod's turn comes.
        var full = discovery.Refresh();
        Assert.Contains(full.Added, i => i.Kind == CgroupKind.Pod && i.PodUid == "11111111-2222-4333-8444-555555555555");
        bool found = full.Added.Any(i => i.ContainerId == otherCid);
        for (int r = 1; r < ContainerDiscovery.SettledPodEvery && !found; r++)
        {
            found = discovery.Refresh().Added.Any(i => i.ContainerId == otherCid);
        }
        Assert.True(found);
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
