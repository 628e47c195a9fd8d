using Microsoft.Extensions.Logging.Abstractions;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Hosting;
using ThrottleWatch.Agent.Sampling;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// The sampling loop's cadences, counted in sweeps (no clocks): discovery every
/// <c>--discovery-interval</c> and right after a cgroup went, configuration reads spread over the
/// sweeps of one <c>--config-interval</c>.
/// </summary>
public sealed class SamplingCadenceTests : IDisposable
{
    private const string PodUid = "0f8e9a7b-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    private static readonly string Pod = $"/kubepods/burstable/pod{PodUid}";

    private readonly TempTree _tree = new();
    private ContainerDiscovery? _discovery;

    public void Dispose() => _tree.Dispose();

    private static string Cid(int i) => i.ToString("x64", System.Globalization.CultureInfo.InvariantCulture);

    private void WriteCgroup(string path, string quota)
    {
        _tree.Write($"cpu{path}/cpu.stat", "nr_periods 10\nnr_throttled 1\nthrottled_time 1000\n");
        _tree.Write($"cpu{path}/cpu.cfs_quota_us", quota + "\n");
        _tree.Write($"cpu{path}/cpu.cfs_period_us", "100000\n");
        _tree.Write($"cpu{path}/cpu.shares", "204\n");
        _tree.Write($"cpuacct{path}/cpuacct.usage", "5000\n");
    }

    /// <summary>A pod with <paramref name="containers"/> containers; every read reopens its file (no kept handles), so a deleted file reads as gone.</summary>
    private (NodeState, Sampler, SamplingService) Start(int containers, TimeSpan discovery, TimeSpan config, int handles = 0, string podQuota = "-1", TimeSpan? compact = null, string containerQuota = "20000", ConfigWatch? watch = null)
    {
        _tree.Write("cpu/cpu.shares", "1024\n");
        _tree.Write("cpuacct/cpuacct.usage", "1\n");
        WriteCgroup(Pod, podQuota);
        for (int i = 0; i < containers; i++)
        {
            WriteCgroup($"{Pod}/{Cid(i)}", containerQuota);
        }
        Assert.True(CgroupHierarchy.TryDetect(_tree.Path, "/nonexistent-proc", out var h, out var error), error);
        var options = new AgentOptions { CgroupRoot = _tree.Path, ProcRoot = "/nonexistent-proc", Interval = TimeSpan.FromSeconds(1), DiscoveryInterval = discovery, ConfigInterval = config, CompactInterval = compact ?? TimeSpan.FromMinutes(1) };
        var state = new NodeState("n1", h!, "6.8.0");
        _discovery = new ContainerDiscovery(h!.CpuRoot);
        var sampler = new Sampler(h!, _discovery, new HandleBudget(handles)) { Watch = watch };
        var loop = new SamplingService(options, state, sampler, [], NullLogger<SamplingService>.Instance);
        return (state, sampler, loop);
    }

    [Fact]
    public void A_cgroup_keeps_updating_the_series_the_state_holds_for_it_when_that_series_is_replaced_or_dropped()
    {
        var (state, sampler, loop) = Start(containers: 1, discovery: TimeSpan.FromSeconds(5), config: TimeSpan.FromSeconds(10));
        using var _ = sampler;
        using var __ = loop;
        loop.SweepOnce();
        var t = sampler.Tracked.Single(x => x.Identity.Kind == CgroupKind.Container);
        var first = state.SeriesOf(t);
        Assert.NotNull(first);
        Assert.Same(first, state.Find(t.Identity.CgroupPath));
        Assert.True(first!.Initialized);

        // The same path added again (a new identity for it): the cgroup's remembered series is stale.
        var replaced = new DiscoveryChanges();
        replaced.Added.Add(t.Identity);
        state.Apply(replaced, TimeSpan.FromSeconds(1));
        var second = state.Find(t.Identity.CgroupPath);
        Assert.NotSame(first, second);
        loop.SweepOnce();
        Assert.Same(second, state.SeriesOf(t));
        Assert.True(second!.Initialized); // updated by the sweep, not the dropped one

        var gone = new DiscoveryChanges();
        gone.Removed.Add(t.Identity);
        state.Apply(gone, TimeSpan.FromSeconds(1));
        Assert.Null(state.SeriesOf(t));
    }

    [Theory]
    [InlineData(60, new[] { 20, 60, 120 })]
    [InlineData(30, new[] { 10, 30, 60, 90, 120 })]
    [InlineData(0, new int[0])]
    public void The_heap_is_compacted_a_third_of_the_interval_after_start_then_every_interval(int compactSeconds, int[] atSweeps)
    {
        var (_, sampler, loop) = Start(containers: 1, discovery: TimeSpan.FromSeconds(5), config: TimeSpan.FromSeconds(10), compact: TimeSpan.FromSeconds(compactSeconds));
        using var _ = sampler;
        using var __ = loop;
        int gen2 = GC.CollectionCount(2);
        var seen = new List<int>();
        for (int sweep = 0; sweep <= 120; sweep++)
        {
            int before = loop.Compactions;
            loop.SweepOnce();
            if (loop.Compactions > before)
            {
                seen.Add(sweep);
            }
        }
        Assert.Equal(atSweeps, seen);
        Assert.True(GC.CollectionCount(2) - gen2 >= atSweeps.Length, "each compaction is a full collection");
    }

    [Fact]
    public void Malloc_trim_gives_back_what_the_native_heap_freed()
    {
        // 63 freed blocks of 64 KiB (under glibc's mmap threshold: they come from an arena) below one still held.
        var ones = Enumerable.Repeat((byte)1, 64 * 1024).ToArray();
        var blocks = new List<nint>();
        for (int i = 0; i < 64; i++)
        {
            var p = System.Runtime.InteropServices.Marshal.AllocHGlobal(ones.Length);
            System.Runtime.InteropServices.Marshal.Copy(ones, 0, p, ones.Length);
            blocks.Add(p);
        }
        for (int i = 0; i < 63; i++)
        {
            System.Runtime.InteropServices.Marshal.FreeHGlobal(blocks[i]);
        }
        Assert.Equal(1, Native.MallocTrim(0));
        System.Runtime.InteropServices.Marshal.FreeHGlobal(blocks[63]);
    }

    [Fact]
    public void A_new_pod_is_tracked_at_the_next_discovery_and_not_before()
    {
        var (state, sampler, loop) = Start(containers: 2, discovery: TimeSpan.FromSeconds(5), config: TimeSpan.FromSeconds(10));
        using var _ = sampler;
        using var __ = loop;
        loop.SweepOnce();
        Assert.Equal(2, state.Containers);

        const string pod2 = "/kubepods/burstable/pod11111111-2222-4333-8444-555555555555";
        WriteCgroup(pod2, "-1");
        WriteCgroup($"{pod2}/{Cid(99)}", "20000");
        // Sweeps 1-4 only read what is tracked: the tree is not walked every second.
        for (int sweep = 1; sweep < 5; sweep++)
        {
            loop.SweepOnce();
            Assert.Equal(2, state.Containers);
        }
        // Sweep 5 is a discovery: within --discovery-interval, the new pod and its container are tracked and read.
        loop.SweepOnce();
        Assert.Equal(3, state.Containers);
        var series = state.Series.Single(s => s.Identity.ContainerId == Cid(99));
        Assert.True(series.Initialized);
        Assert.Equal(0.2, series.LimitCores);
    }

    [Fact]
    public void A_container_started_in_a_settled_pod_is_tracked_within_six_discoveries_or_at_the_next_sweep_when_the_api_reports_it()
    {
        var (state, sampler, loop) = Start(containers: 2, discovery: TimeSpan.FromSeconds(5), config: TimeSpan.FromSeconds(10));
        using var _ = sampler;
        using var __ = loop;
        loop.SweepOnce();

        // Without the API: the pod was there at start (settled), so its folder is listed at one
        // discovery in six: found by a discovery sweep, within 30 sweeps.
        WriteCgroup($"{Pod}/{Cid(99)}", "20000");
        int sweeps = 0;
        while (state.Containers == 2 && sweeps <= 6 * 5)
        {
            loop.SweepOnce();
            sweeps++;
        }
        Assert.Equal(3, state.Containers);
        Assert.Equal(0, sweeps % 5);

        // The API reports a change to the pod (ContainerDiscovery.ListPodSoon, wired to the pod
        // watch): the very next sweep, not a discovery one, lists that pod's folder.
        WriteCgroup($"{Pod}/{Cid(100)}", "20000");
        loop.SweepOnce();
        Assert.Equal(3, state.Containers);
        _discovery!.ListPodSoon(PodUid);
        loop.SweepOnce();
        Assert.Equal(4, state.Containers);
        Assert.True(state.Series.Single(s => s.Identity.ContainerId == Cid(100)).Initialized);
    }

    [Fact]
    public void A_removed_container_is_dropped_by_the_sweep_that_found_it_gone()
    {
        var (state, sampler, loop) = Start(containers: 2, discovery: TimeSpan.FromMinutes(10), config: TimeSpan.FromSeconds(10));
        using var _ = sampler;
        using var __ = loop;
        loop.SweepOnce();
        loop.SweepOnce();
        Assert.Equal(2, state.Containers);

        foreach (var c in new[] { "cpu", "cpuacct" })
        {
            Directory.Delete(Path.Combine(_tree.Path, c + Pod, Cid(0)), recursive: true);
        }
        // Far from the next scheduled discovery: the failed read itself triggers one.
        loop.SweepOnce();
        Assert.Equal(1, state.Containers);
        Assert.DoesNotContain(state.Series, s => s.Identity.ContainerId == Cid(0));
        Assert.False(sampler.SawVanished);
    }

    [Fact]
    public void Configuration_reads_are_spread_over_the_config_interval()
    {
        const int containers = 29;
        const int slices = 10;
        var (_, sampler, loop) = Start(containers, discovery: TimeSpan.FromSeconds(5), config: TimeSpan.FromSeconds(slices));
        using var _ = sampler;
        using var __ = loop;
        loop.SweepOnce();
        Assert.Equal(containers + 1, sampler.Tracked.Count);
        Assert.All(sampler.Tracked.Where(t => t.Identity.Kind == CgroupKind.Container), t => Assert.Equal(0.2, t.Config.LimitCores));

        // Every quota changes (a resize of every pod at once): each sweep picks up a tenth of them.
        for (int i = 0; i < containers; i++)
        {
            _tree.Write($"cpu{Pod}/{Cid(i)}/cpu.cfs_quota_us", "50000\n");
        }
        int seen = 0;
        for (int sweep = 1; sweep <= slices; sweep++)
        {
            loop.SweepOnce();
            int now = sampler.Tracked.Count(t => t.Config.LimitCores == 0.5);
            Assert.InRange(now - seen, 0, (containers + 1 + slices - 1) / slices);
            seen = now;
        }
        // One whole --config-interval later, all of them.
        Assert.Equal(containers, seen);
    }
    [Fact]
    public void With_the_api_reporting_resizes_a_quota_where_there_was_none_is_read_every_minute_and_at_the_sweep_after_the_pods_event()
    {
        // --config-interval equal to --interval: every sweep is a configuration round. No quota anywhere.
        var (_, sampler, loop) = Start(containers: 2, discovery: TimeSpan.FromMinutes(10), config: TimeSpan.FromSeconds(1), containerQuota: "-1");
        using var _ = sampler;
        using var __ = loop;
        bool watchUp = true;
        sampler.ConfigChangesReported = () => watchUp;
        loop.SweepOnce(); // found: configuration read 0, everything
        TrackedCgroup Tracked(int i) => sampler.Tracked.Single(t => t.Identity.ContainerId == Cid(i));
        TrackedCgroup PodCgroup() => sampler.Tracked.Single(t => t.Identity.Kind == CgroupKind.Pod);
        Assert.True(Tracked(0).QuotaOnly);
        Assert.True(PodCgroup().QuotaOnly);

        // A limit added to container 0 without an event for its pod: rounds 1 to 5 leave the quota out...
        _tree.Write($"cpu{Pod}/{Cid(0)}/cpu.cfs_quota_us", "50000\n");
        for (int round = 1; round < Sampler.FullConfigEvery; round++)
        {
            loop.SweepOnce();
            Assert.Null(Tracked(0).Config.LimitCores);
        }
        Assert.Equal(3 * (Sampler.FullConfigEvery - 1), sampler.QuotaReadsSkipped); // two containers and the pod
        // ...round 6 reads everything, the quota too.
        loop.SweepOnce();
        Assert.Equal(0.5, Tracked(0).Config.LimitCores);

        // A limit added to container 1, and the API's event for the pod: read at the next sweep.
        _tree.Write($"cpu{Pod}/{Cid(1)}/cpu.cfs_quota_us", "30000\n");
        loop.SweepOnce();
        Assert.Null(Tracked(1).Config.LimitCores);
        sampler.ReadConfigSoon(PodUid);
        loop.SweepOnce();
        Assert.Equal(0.3, Tracked(1).Config.LimitCores);

        // The watch is down: events may be late, so every round reads the quota again (here the pod's).
        watchUp = false;
        long skipped = sampler.QuotaReadsSkipped;
        _tree.Write($"cpu{Pod}/cpu.cfs_quota_us", "100000\n");
        loop.SweepOnce();
        Assert.Equal(100000UL, PodCgroup().Config.QuotaMicros);
        Assert.Equal(skipped, sampler.QuotaReadsSkipped);
    }

    [Fact]
    public void Shares_alone_are_read_every_sixth_configuration_read_and_with_any_quota_change()
    {
        // --config-interval equal to --interval: every sweep reads every cgroup's configuration.
        var (_, sampler, loop) = Start(containers: 2, discovery: TimeSpan.FromMinutes(10), config: TimeSpan.FromSeconds(1));
        using var _ = sampler;
        using var __ = loop;
        loop.SweepOnce(); // found: configuration read 0, everything
        TrackedCgroup Tracked(int i) => sampler.Tracked.Single(t => t.Identity.ContainerId == Cid(i));
        Assert.Equal(204UL, Tracked(0).Config.Shares);

        // Container 0: a request-only resize (shares). Container 1: request and limit (shares and quota).
        _tree.Write($"cpu{Pod}/{Cid(0)}/cpu.shares", "512\n");
        _tree.Write($"cpu{Pod}/{Cid(1)}/cpu.shares", "512\n");
        _tree.Write($"cpu{Pod}/{Cid(1)}/cpu.cfs_quota_us", "50000\n");

        loop.SweepOnce(); // configuration read 1: the quota only, but it changed for container 1
        Assert.Equal(0.5, Tracked(1).Config.LimitCores);
        Assert.Equal(512UL, Tracked(1).Config.Shares);
        Assert.Equal(204UL, Tracked(0).Config.Shares);
        for (int read = 2; read < Sampler.FullConfigEvery; read++)
        {
            loop.SweepOnce();
            Assert.Equal(204UL, Tracked(0).Config.Shares);
        }
        loop.SweepOnce(); // configuration read 6: everything again
        Assert.Equal(512UL, Tracked(0).Config.Shares);
        Assert.Equal(0.2, Tracked(0).Config.LimitCores);
    }
    [Fact]
    public void A_pods_counters_are_read_with_its_slow_files_and_keep_no_descriptors()
    {
        const int slices = 10;
        // A Guaranteed pod: its quota is its containers' sum (a pod without one: A_v1_container_without_a_quota_… in SamplerTests).
        var (state, sampler, loop) = Start(containers: 2, discovery: TimeSpan.FromMinutes(10), config: TimeSpan.FromSeconds(slices), handles: 100, podQuota: "40000");
        using var _ = sampler;
        using var __ = loop;
        loop.SweepOnce();
        loop.SweepOnce();
        // cpu.stat and cpuacct.usage of each container are kept open; the pod's are not.
        Assert.Equal(4, sampler.Budget.Kept);
        var pod = state.Series.Single(s => s.Identity.Kind == CgroupKind.Pod);
        var container = state.Series.Single(s => s.Identity.ContainerId == Cid(0));
        int podSlot = sampler.Tracked.Single(t => t.Identity.Kind == CgroupKind.Pod).SlowSlot % slices;
        Assert.Equal(10UL, pod.Periods);

        _tree.Write($"cpu{Pod}/cpu.stat", "nr_periods 30\nnr_throttled 1\nthrottled_time 1000\n");
        _tree.Write($"cpu{Pod}/{Cid(0)}/cpu.stat", "nr_periods 30\nnr_throttled 1\nthrottled_time 1000\n");
        for (int i = 0; i < slices; i++)
        {
            long sweep = state.Sweeps;
            loop.SweepOnce();
            // A container's counters: in the very next sweep.
            Assert.Equal(30UL, container.Periods);
            // The pod's: in the sweep of its slot, not before.
            bool read = sweep % slices == podSlot || pod.Periods == 30;
            Assert.Equal(read ? 30UL : 10UL, pod.Periods);
        }
        Assert.Equal(30UL, pod.Periods);
    }

    private static TrackedCgroup Container(Sampler sampler, int i) => sampler.Tracked.Single(t => t.Identity.ContainerId == Cid(i));

    private void WriteQuota(string cgroup, string quota) => _tree.Write($"cpu{cgroup}/cpu.cfs_quota_us", quota + "\n");

    [Fact]
    public void A_written_limit_is_read_at_the_next_sweep_when_the_quota_files_are_watched()
    {
        // --config-interval 10 s: a cgroup's turn to be polled comes once in ten sweeps.
        var (_, sampler, loop) = Start(containers: 2, discovery: TimeSpan.FromMinutes(10), config: TimeSpan.FromSeconds(10), watch: ConfigWatch.TryCreate());
        using var _ = sampler;
        using var __ = loop;
        loop.SweepOnce();
        loop.SweepOnce();
        Assert.Equal(3, sampler.Watch!.Count);
        var pod = sampler.Tracked.Single(t => t.Identity.Kind == CgroupKind.Pod);

        // A resize of the whole pod: polled, one of the three would be seen per sweep; watched, all three at the next.
        WriteQuota(Pod, "200000");
        WriteQuota($"{Pod}/{Cid(0)}", "50000");
        WriteQuota($"{Pod}/{Cid(1)}", "150000");
        loop.SweepOnce();
        Assert.Equal(2.0, pod.Config.LimitCores);
        Assert.Equal(0.5, Container(sampler, 0).Config.LimitCores);
        Assert.Equal(1.5, Container(sampler, 1).Config.LimitCores);

        // A limit removed: gone at the next sweep too.
        WriteQuota($"{Pod}/{Cid(1)}", "-1");
        loop.SweepOnce();
        Assert.Null(Container(sampler, 1).Config.LimitCores);
    }

    [Fact]
    public void Without_the_api_but_with_the_quota_files_watched_a_quota_where_there_was_none_is_read_every_minute_and_at_the_sweep_after_a_write()
    {
        // --config-interval equal to --interval: every sweep is a configuration round. No quota anywhere, no API.
        var (state, sampler, loop) = Start(containers: 2, discovery: TimeSpan.FromMinutes(10), config: TimeSpan.FromSeconds(1), containerQuota: "-1", watch: ConfigWatch.TryCreate());
        using var _ = sampler;
        using var __ = loop;
        Assert.Null(sampler.ConfigChangesReported);
        loop.SweepOnce(); // found: configuration read 0, everything
        Assert.True(Container(sampler, 0).QuotaOnly);
        Assert.Equal(3, state.LimitsWatched);

        // Rounds 1 to 5 leave the unwritten quotas out; round 6 reads them (the minute's files).
        for (int round = 1; round < Sampler.FullConfigEvery; round++)
        {
            loop.SweepOnce();
        }
        Assert.Equal(3 * (Sampler.FullConfigEvery - 1), sampler.QuotaReadsSkipped);
        loop.SweepOnce();
        Assert.Equal(3 * (Sampler.FullConfigEvery - 1), sampler.QuotaReadsSkipped);

        // A limit written to container 1 in round 7: read at once, the others still left out.
        WriteQuota($"{Pod}/{Cid(1)}", "30000");
        loop.SweepOnce();
        Assert.Equal(0.3, Container(sampler, 1).Config.LimitCores);
        Assert.Equal(3 * (Sampler.FullConfigEvery - 1) + 2, sampler.QuotaReadsSkipped);

        // A container removed: its watch goes with it.
        foreach (var c in new[] { "cpu", "cpuacct" })
        {
            Directory.Delete(Path.Combine(_tree.Path, c + Pod, Cid(0)), recursive: true);
        }
        loop.SweepOnce();
        Assert.Equal(2, sampler.Watch!.Count);
        Assert.Equal(2, state.LimitsWatched);
    }

    [Fact]
    public void Past_the_watch_capacity_the_rest_are_polled_every_config_interval_and_counted()
    {
        // Room for one watch: one of the three cgroups gets it; the other two are polled every round.
        var (state, sampler, loop) = Start(containers: 2, discovery: TimeSpan.FromMinutes(10), config: TimeSpan.FromSeconds(1), containerQuota: "-1", watch: ConfigWatch.TryCreate(capacity: 1));
        using var _ = sampler;
        using var __ = loop;
        loop.SweepOnce();
        Assert.Equal(1, sampler.Watch!.Count);
        Assert.Equal(1, state.LimitsWatched);
        var watched = Assert.Single(sampler.Tracked, t => t.WatchId >= 0);

        for (int round = 1; round < Sampler.FullConfigEvery; round++)
        {
            loop.SweepOnce();
        }
        Assert.Equal(Sampler.FullConfigEvery - 1, sampler.QuotaReadsSkipped);

        loop.SweepOnce(); // round 6: everything

        // An unwatched container still sees a write at its next round: polled.
        var unwatched = sampler.Tracked.First(t => t.WatchId < 0 && t.Identity.Kind == CgroupKind.Container);
        WriteQuota(unwatched.Identity.CgroupPath, "40000");
        loop.SweepOnce(); // round 7
        Assert.Equal(0.4, unwatched.Config.LimitCores);
        Assert.Equal(Sampler.FullConfigEvery, sampler.QuotaReadsSkipped); // the watched one, unwritten, left out again
        Assert.NotSame(watched, unwatched);
    }

    [Fact]
    public void Lost_watch_events_make_every_watched_limit_read_at_the_next_sweep()
    {
        // An inotify instance whose queue holds 4 events (fs.inotify.max_queued_events is read when an instance is made).
        const string queued = "/proc/sys/fs/inotify/max_queued_events";
        var before = File.ReadAllText(queued).Trim();
        ConfigWatch? watch;
        File.WriteAllText(queued, "4");
        try
        {
            watch = ConfigWatch.TryCreate();
        }
        finally
        {
            File.WriteAllText(queued, before);
        }
        var (_, sampler, loop) = Start(containers: 8, discovery: TimeSpan.FromMinutes(10), config: TimeSpan.FromSeconds(10), watch: watch);
        using var _ = sampler;
        using var __ = loop;
        loop.SweepOnce();
        Assert.Equal(9, watch!.Count);

        for (int i = 0; i < 8; i++)
        {
            WriteQuota($"{Pod}/{Cid(i)}", "60000");
        }
        loop.SweepOnce();
        Assert.Equal(1, watch.Overflows);
        Assert.All(Enumerable.Range(0, 8), i => Assert.Equal(0.6, Container(sampler, i).Config.LimitCores));
    }
}
