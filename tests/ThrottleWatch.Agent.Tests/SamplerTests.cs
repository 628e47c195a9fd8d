using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Sampling;

namespace ThrottleWatch.Agent.Tests;

/// <summary>The sampler on small v1 and v2 trees whose files the test rewrites between sweeps.</summary>
public sealed class SamplerTests : IDisposable
{
    private const string PodUid = "0f8e9a7b-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
    private static readonly string CidA = new('a', 64);
    private static readonly string CidB = new('b', 64);
    private static readonly string Pod = $"/kubepods/burstable/pod{PodUid}";

    private readonly TempTree _tree = new();
    private readonly CapturingLogger _log = new();

    public void Dispose() => _tree.Dispose();

    private void WriteV1Container(string cid, string cpuStat, ulong usageNs, string quota = "20000", string? local = "throttled_time 0\n")
    {
        var dir = $"cpu{Pod}/{cid}";
        _tree.Write($"{dir}/cpu.stat", cpuStat);
        _tree.Write($"{dir}/cpu.cfs_quota_us", quota + "\n");
        _tree.Write($"{dir}/cpu.cfs_period_us", "100000\n");
        _tree.Write($"{dir}/cpu.cfs_burst_us", "0\n");
        _tree.Write($"{dir}/cpu.shares", "204\n");
        if (local is not null)
        {
            _tree.Write($"{dir}/cpu.stat.local", local);
        }
        _tree.Write($"cpuacct{Pod}/{cid}/cpuacct.usage", $"{usageNs}\n");
    }

    private (CgroupHierarchy, Sampler) Start(HandleBudget? budget = null)
    {
        _tree.Write("cpu/cpu.shares", "1024\n");
        _tree.Write("cpuacct/cpuacct.usage", "1\n");
        foreach (var c in new[] { "cpu", "cpuacct" })
        {
            Directory.CreateDirectory(Path.Combine(_tree.Path, c + Pod));
        }
        _tree.Write($"cpu{Pod}/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
        _tree.Write($"cpu{Pod}/cpu.cfs_quota_us", "-1\n");
        _tree.Write($"cpu{Pod}/cpu.cfs_period_us", "100000\n");
        _tree.Write($"cpu{Pod}/cpu.shares", "408\n");
        _tree.Write($"cpuacct{Pod}/cpuacct.usage", "0\n");
        Assert.True(CgroupHierarchy.TryDetect(_tree.Path, "/nonexistent-proc", out var h, out var error), error);
        var sampler = new Sampler(h!, new ContainerDiscovery(h!.CpuRoot), budget ?? new HandleBudget(1000), _log);
        return (h, sampler);
    }

    private static TrackedCgroup Find(Sampler s, string cid) => s.Tracked.Single(t => t.Identity.ContainerId == cid);

    [Fact]
    public void Reads_counters_and_config_and_computes_the_delta()
    {
        WriteV1Container(CidA, "nr_periods 10\nnr_throttled 4\nthrottled_time 1000000000\nnr_bursts 0\nburst_time 0\n", 5_000_000_000, local: "throttled_time 1000000000\n");
        var (_, sampler) = Start();
        using var _ = sampler;
        sampler.Rediscover();
        sampler.Sweep(full: true);
        var t = Find(sampler, CidA);
        Assert.Equal(0.2, t.Config.LimitCores);
        Assert.Equal(204UL, t.Config.Shares);
        Assert.Equal(0UL, t.Config.BurstMicros);
        Assert.Equal(5_000_000_000UL, t.Current.UsageNanos);

        WriteV1Container(CidA, "nr_periods 20\nnr_throttled 13\nthrottled_time 1500000000\nnr_bursts 1\nburst_time 7000\n", 5_200_000_000, local: "throttled_time 1700000000\n");
        sampler.Sweep(full: true);

        var prev = t.Previous;
        var cur = t.Current;
        cur.Timestamp = prev.Timestamp + Stopwatch.Frequency; // exactly one second apart
        var d = SnapshotBuilder.Delta(prev, cur);
        Assert.Equal(10UL, d.Periods);
        Assert.Equal(9UL, d.ThrottledPeriods);
        Assert.Equal(0.9, d.ThrottledRatio);
        Assert.Equal(0.5, d.ThrottledSeconds, 9);
        Assert.Equal(0.7, d.ThrottledLocalSeconds!.Value, 9);
        Assert.Equal(1UL, d.BurstPeriods);
        Assert.Equal(0.2, d.UsageCores);
        Assert.Equal(0, sampler.Errors.All().Sum(e => e.Count));
    }

    [Fact]
    public void A_counter_that_goes_backwards_was_reset_and_never_yields_a_negative_delta()
    {
        WriteV1Container(CidA, "nr_periods 100\nnr_throttled 90\nthrottled_time 9000000000\n", 9_000_000_000);
        var (_, sampler) = Start();
        using var _ = sampler;
        sampler.Rediscover();
        sampler.Sweep(full: false);
        // The container restarted in place: its counters start again from zero.
        WriteV1Container(CidA, "nr_periods 3\nnr_throttled 1\nthrottled_time 2000000\n", 100_000_000);
        sampler.Sweep(full: false);
        var t = Find(sampler, CidA);
        var cur = t.Current;
        cur.Timestamp = t.Previous.Timestamp + Stopwatch.Frequency;
        var d = SnapshotBuilder.Delta(t.Previous, cur);
        Assert.Equal(3UL, d.Periods);
        Assert.Equal(1UL, d.ThrottledPeriods);
        Assert.Equal(0.002, d.ThrottledSeconds, 9);
        Assert.Equal(0.1, d.UsageCores!.Value, 6);
    }

    [Fact]
    public void A_malformed_file_is_counted_every_time_logged_once_and_the_sweep_goes_on()
    {
        WriteV1Container(CidA, "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n", 1);
        WriteV1Container(CidB, "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n", 1);
        var (_, sampler) = Start();
        using var _ = sampler;
        sampler.Rediscover();
        _tree.Write($"cpu{Pod}/{CidA}/cpu.stat", "nr_periods 1\nnr_throttled \u0001garbage\n");
        sampler.Sweep(full: false);
        sampler.Sweep(full: false);

        Assert.Equal(2, sampler.Errors[ReadStatus.Malformed]);
        var logged = Assert.Single(_log.Messages, m => m.Contains("Malformed", StringComparison.Ordinal));
        Assert.Contains($"{CidA}/cpu.stat", logged, StringComparison.Ordinal);
        Assert.Contains("nr_throttled \\x01garbage", logged, StringComparison.Ordinal);
        Assert.False(Find(sampler, CidA).Current.Valid);
        Assert.True(Find(sampler, CidB).Current.Valid);
    }

    [Fact]
    public void A_cgroup_that_vanishes_between_listing_and_reading_is_counted_not_an_error()
    {
        WriteV1Container(CidA, "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n", 1);
        WriteV1Container(CidB, "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n", 1);
        var (_, sampler) = Start(new HandleBudget(0)); // reopen per read, as for a cgroup first read after listing
        using var _ = sampler;
        sampler.Rediscover();
        Directory.Delete(Path.Combine(_tree.Path, $"cpu{Pod}/{CidA}"), recursive: true);
        Directory.Delete(Path.Combine(_tree.Path, $"cpuacct{Pod}/{CidA}"), recursive: true);
        sampler.Sweep(full: true);

        Assert.Equal(1, sampler.Errors[ReadStatus.Vanished]);
        Assert.Equal(0, sampler.Errors[ReadStatus.Io] + sampler.Errors[ReadStatus.Malformed]);
        Assert.False(Find(sampler, CidA).Alive);
        Assert.Empty(_log.Messages);

        var changes = sampler.Rediscover();
        Assert.Contains(changes.Removed, i => i.ContainerId == CidA);
        Assert.DoesNotContain(sampler.Tracked, t => t.Identity.ContainerId == CidA);
    }

    [Theory]
    [InlineData(0)]     // reopened per read: the open walks a path whose folder is now a file (ENOTDIR)
    [InlineData(1000)]  // kept handles and a folder handle: the slow files' open finds the folder gone
    public void A_cgroup_folder_replaced_by_a_file_is_vanished_not_an_error(int budget)
    {
        WriteV1Container(CidA, "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n", 1);
        WriteV1Container(CidB, "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n", 1);
        var (_, sampler) = Start(new HandleBudget(budget));
        using var _ = sampler;
        sampler.Rediscover();
        sampler.Sweep(full: true);
        foreach (var controller in new[] { "cpu", "cpuacct" })
        {
            var dir = Path.Combine(_tree.Path, $"{controller}{Pod}/{CidA}");
            Directory.Delete(dir, recursive: true);
            File.WriteAllText(dir, "nr_periods 1\n");
        }
        sampler.Sweep(full: true);

        Assert.Equal(0, sampler.Errors[ReadStatus.Io] + sampler.Errors[ReadStatus.Malformed]);
        Assert.Empty(_log.Messages);
        Assert.True(Find(sampler, CidB).Current.Valid);
        var changes = sampler.Rediscover();
        Assert.Contains(changes.Removed, i => i.ContainerId == CidA);
    }

    [Fact]
    public void Files_an_older_kernel_lacks_are_absent_not_errors()
    {
        WriteV1Container(CidA, "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n", 1, local: null);
        File.Delete(Path.Combine(_tree.Path, $"cpu{Pod}/{CidA}/cpu.cfs_burst_us"));
        var (_, sampler) = Start();
        using var _ = sampler;
        sampler.Rediscover();
        sampler.Sweep(full: true);
        sampler.Sweep(full: true);
        var t = Find(sampler, CidA);
        Assert.Null(t.Current.LocalThrottledNanos);
        Assert.Null(t.Config.BurstMicros);
        Assert.Equal(0, sampler.Errors.All().Sum(e => e.Count));
    }

    [Fact]
    public void Past_the_handle_budget_reads_degrade_to_reopening_and_recover_when_a_slot_frees()
    {
        WriteV1Container(CidA, "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n", 1);
        WriteV1Container(CidB, "nr_periods 1\nnr_throttled 0\nthrottled_time 0\n", 1);
        var budget = new HandleBudget(2); // two containers want two handles each (a pod keeps none)
        var (_, sampler) = Start(budget);
        using var _ = sampler;
        sampler.Rediscover();
        sampler.Sweep(full: false);
        Assert.Equal(2, budget.Kept);
        Assert.Equal(1, sampler.DegradedCount);
        Assert.All(sampler.Tracked, t => Assert.False(t.Identity.Kind == CgroupKind.Pod && t.Degraded));
        Assert.All(sampler.Tracked, t => Assert.True(t.Current.Valid));
        Assert.Single(_log.Messages, m => m.Contains("budget", StringComparison.Ordinal));

        // Values still come fresh through reopening.
        WriteV1Container(CidB, "nr_periods 7\nnr_throttled 0\nthrottled_time 0\n", 1);
        sampler.Sweep(full: false);
        Assert.Equal(7UL, Find(sampler, CidB).Current.Stat.NrPeriods);

        // The container holding the handles goes; they return to the budget and the degraded one takes them.
        var holder = sampler.Tracked.Single(t => t.Identity.Kind == CgroupKind.Container && !t.Degraded).Identity.ContainerId!;
        Directory.Delete(Path.Combine(_tree.Path, $"cpu{Pod}/{holder}"), true);
        Directory.Delete(Path.Combine(_tree.Path, $"cpuacct{Pod}/{holder}"), true);
        // On this temporary tree (not kernfs) a kept descriptor still reads a deleted file, so no sweep
        // notices; the settled pod's turn in discovery (within six refreshes) does.
        for (int r = 0; r < ContainerDiscovery.SettledPodEvery && sampler.Tracked.Any(t => t.Identity.ContainerId == holder); r++)
        {
            sampler.Rediscover();
        }
        Assert.DoesNotContain(sampler.Tracked, t => t.Identity.ContainerId == holder);
        sampler.Sweep(full: false);
        Assert.Equal(0, sampler.DegradedCount);
        Assert.Equal(2, budget.Kept);
    }

    [Fact]
    public void Totals_lose_nothing_across_a_failed_read()
    {
        WriteV1Container(CidA, "nr_periods 100\nnr_throttled 10\nthrottled_time 1000\n", 1_000_000_000);
        var (_, sampler) = Start();
        using var _ = sampler;
        sampler.Rediscover();
        var t = Find(sampler, CidA);
        var series = new SeriesState(t.Identity, TimeSpan.FromSeconds(1));
        sampler.Sweep(full: true);
        series.Update(t);
        _tree.Write($"cpu{Pod}/{CidA}/cpu.stat", "garbage\n");
        sampler.Sweep(full: false);
        series.Update(t);
        WriteV1Container(CidA, "nr_periods 130\nnr_throttled 25\nthrottled_time 5000\n", 3_000_000_000);
        sampler.Sweep(full: false);
        series.Update(t);
        Assert.Equal(130UL, series.Periods);
        Assert.Equal(25UL, series.ThrottledPeriods);
        Assert.Equal(3.0, series.UsageSeconds!.Value, 9);
        Assert.Equal(1, sampler.Errors[ReadStatus.Malformed]);
    }

    [Fact]
    public void A_steady_state_sweep_allocates_nothing()
    {
        using var tree = Fixtures.CopyToTemp("v1-systemd-combined");
        Assert.True(CgroupHierarchy.TryDetect(tree.Path, "/nonexistent-proc", out var h, out _));
        using var sampler = new Sampler(h!, new ContainerDiscovery(h!.CpuRoot), new HandleBudget(1000)) { Watch = ConfigWatch.TryCreate() };
        sampler.Rediscover();
        Assert.True(sampler.Tracked.Count > 10);
        sampler.Sweep(full: true);
        sampler.Sweep(full: false);
        // A limit written: the first sweep below reads the watch's event and that cgroup's configuration.
        var written = sampler.Tracked.First(t => t.WatchId >= 0 && t.Config.QuotaMicros is not null);
        File.WriteAllText(written.Quota.Path, "-1\n");

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++)
        {
            sampler.Sweep(full: false);
        }
        long hot = GC.GetAllocatedBytesForCurrentThread() - before;

        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            sampler.Sweep(full: true);
        }
        long full = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, hot);
        Assert.Equal(0, full);
        Assert.All(sampler.Tracked, t => Assert.True(t.Current.Valid));
        Assert.Null(written.Config.QuotaMicros);
        Assert.Equal(sampler.Tracked.Count, sampler.Watch!.Count);
    }

    [Fact]
    public void V2_reads_usage_pressure_and_weight_from_a_fixture()
    {
        Assert.True(CgroupHierarchy.TryDetect(Fixtures.Root("v2-systemd-crio"), "/nonexistent-proc", out var h, out _));
        using var sampler = new Sampler(h!, new ContainerDiscovery(h!.CpuRoot), new HandleBudget(1000));
        sampler.Rediscover();
        sampler.Sweep(full: true);
        Assert.NotEmpty(sampler.Tracked);
        Assert.All(sampler.Tracked, t =>
        {
            Assert.True(t.Current.Valid);
            Assert.NotNull(t.Current.UsageNanos);
            Assert.NotNull(t.Current.Pressure);
            Assert.NotNull(t.Config.Weight);
            Assert.Null(t.Config.Shares);
            Assert.True(t.Config.PeriodMicros > 0);
        });
        Assert.Contains(sampler.Tracked, t => t.Config.QuotaMicros is not null);
        Assert.Contains(sampler.Tracked, t => t.Config.QuotaMicros is null);
        Assert.Equal(0, sampler.Errors.All().Sum(e => e.Count));
        // v2's cpu.stat carries the usage: every container's is read every sweep, quota or not.
        Assert.All(sampler.Tracked.Where(t => t.ReadEverySweep), t => Assert.True(t.StatEverySweep));
        Assert.Contains(sampler.Tracked, t => t.ReadEverySweep && t.Config.QuotaMicros is null && t.CpuStat.IsKept);
    }

    [Fact]
    public void A_v1_container_without_a_quota_reads_cpu_stat_when_found_and_again_every_sweep_once_it_gets_one()
    {
        WriteV1Container(CidA, "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n", 1_000_000_000, quota: "-1");
        var budget = new HandleBudget(1000);
        var (_, sampler) = Start(budget);
        using var _ = sampler;
        sampler.Rediscover();
        sampler.Sweep(full: true);
        var t = Find(sampler, CidA);
        Assert.False(t.StatEverySweep);
        Assert.False(t.CpuStat.IsKept);
        Assert.True(t.Usage!.IsKept);
        Assert.Equal(1, budget.Kept);
        Assert.Equal(0, sampler.DegradedCount);

        // The per-second sweep reads the usage only; the counters it did not read stand. (The kernel
        // cannot move them without a quota: this tree's file is changed only to see that nothing reads it.)
        WriteV1Container(CidA, "nr_periods 5\nnr_throttled 2\nthrottled_time 300\n", 2_000_000_000, quota: "-1");
        sampler.Sweep(full: false);
        Assert.True(t.Current.Valid);
        Assert.Equal(2_000_000_000UL, t.Current.UsageNanos);
        Assert.Equal(0UL, t.Current.Stat.NrPeriods);
        // Nor do the slow passes, the minute's full configuration read included.
        for (int pass = 0; pass <= Sampler.FullConfigEvery; pass++)
        {
            sampler.Sweep(full: true);
            Assert.Equal(0UL, t.Current.Stat.NrPeriods);
        }
        Assert.Equal(2_000_000_000UL, t.Current.UsageNanos);
        Assert.False(t.CpuStat.IsKept);

        // A quota (a resize, or a new limit): from the next sweep cpu.stat is read every sweep through a kept descriptor.
        WriteV1Container(CidA, "nr_periods 5\nnr_throttled 2\nthrottled_time 300\n", 2_000_000_000, quota: "20000");
        sampler.Sweep(full: true);
        Assert.True(t.StatEverySweep);
        WriteV1Container(CidA, "nr_periods 9\nnr_throttled 6\nthrottled_time 900\n", 2_100_000_000, quota: "20000");
        sampler.Sweep(full: false);
        Assert.Equal(9UL, t.Current.Stat.NrPeriods);
        Assert.True(t.CpuStat.IsKept);
        Assert.Equal(2, budget.Kept);

        // The quota removed again: the descriptor goes back to the budget.
        WriteV1Container(CidA, "nr_periods 9\nnr_throttled 6\nthrottled_time 900\n", 2_200_000_000, quota: "-1");
        sampler.Sweep(full: true);
        Assert.False(t.StatEverySweep);
        Assert.False(t.CpuStat.IsKept);
        Assert.Equal(1, budget.Kept);
        Assert.Equal(0, sampler.DegradedCount);
        Assert.Equal(0, sampler.Errors.All().Sum(e => e.Count));
    }

    [Fact]
    public void Cpu_stat_local_without_a_quota_in_the_container_or_its_pod_is_read_when_found_and_again_once_either_gets_one()
    {
        WriteV1Container(CidA, "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n", 1_000_000_000, quota: "-1", local: "throttled_time 0\n");
        WriteV1Container(CidB, "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n", 1_000_000_000, quota: "20000", local: "throttled_time 0\n");
        var (_, sampler) = Start(); // the pod has no quota
        using var _ = sampler;
        sampler.Rediscover();
        sampler.Sweep(full: true);
        var a = Find(sampler, CidA);
        var b = Find(sampler, CidB);
        Assert.Equal(0UL, a.Current.LocalThrottledNanos);
        Assert.True(a.LocalStill);
        Assert.False(b.LocalStill);

        // The container with a quota: every slow pass. The one without, in a pod without: not again, the
        // minute's full configuration read included (which reads its quota and shares, not its period).
        _tree.Write($"cpu{Pod}/{CidA}/cpu.stat.local", "throttled_time 500\n");
        _tree.Write($"cpu{Pod}/{CidB}/cpu.stat.local", "throttled_time 500\n");
        _tree.Write($"cpu{Pod}/{CidA}/cpu.shares", "512\n");
        _tree.Write($"cpu{Pod}/{CidA}/cpu.cfs_period_us", "50000\n");
        for (int pass = 1; pass <= Sampler.FullConfigEvery; pass++)
        {
            sampler.Sweep(full: true);
            Assert.Equal(500UL, b.Current.LocalThrottledNanos);
            Assert.Equal(0UL, a.Current.LocalThrottledNanos);
            Assert.True(a.FewFiles);
        }
        Assert.Equal(512UL, a.Config.Shares);
        Assert.Equal(100000UL, a.Config.PeriodMicros);
        // Between the minute's reads only the quota is opened (by its path, without the folder)...
        Assert.True(a.QuotaOnly);
        Assert.False(b.QuotaOnly);
        Assert.False(b.FewFiles);
        // ...and a quota found there still brings the rest along at once.
        WriteV1Container(CidA, "nr_periods 3\nnr_throttled 1\nthrottled_time 70\n", 1_500_000_000, quota: "30000", local: "throttled_time 500\n");
        _tree.Write($"cpu{Pod}/{CidA}/cpu.cfs_period_us", "50000\n");
        sampler.Sweep(full: true);
        Assert.Equal(30000UL, a.Config.QuotaMicros);
        Assert.Equal(50000UL, a.Config.PeriodMicros);
        Assert.False(a.LocalStill);
        Assert.False(a.QuotaOnly);
        sampler.Sweep(full: false);
        Assert.Equal(3UL, a.Current.Stat.NrPeriods);
        WriteV1Container(CidA, "nr_periods 3\nnr_throttled 1\nthrottled_time 70\n", 1_500_000_000, quota: "-1", local: "throttled_time 500\n");
        sampler.Sweep(full: true);
        Assert.True(a.LocalStill);

        // The pod gets a quota: its throttling lands in its containers' cpu.stat.local, read at every slow pass again.
        _tree.Write($"cpu{Pod}/cpu.cfs_quota_us", "40000\n");
        sampler.Sweep(full: true);
        sampler.Sweep(full: true);
        Assert.False(a.LocalStill);
        _tree.Write($"cpu{Pod}/{CidA}/cpu.stat.local", "throttled_time 900\n");
        sampler.Sweep(full: true);
        Assert.Equal(900UL, a.Current.LocalThrottledNanos);
        Assert.Equal(0, sampler.Errors.All().Sum(e => e.Count));
    }

    [Fact]
    public void A_cpu_stat_that_failed_is_read_again_at_the_next_sweep_quota_or_not()
    {
        WriteV1Container(CidA, "garbage\n", 1_000_000_000, quota: "-1");
        var (_, sampler) = Start();
        using var _ = sampler;
        sampler.Rediscover();
        sampler.Sweep(full: true);
        var t = Find(sampler, CidA);
        Assert.False(t.Current.Valid);
        Assert.Equal(1, sampler.Errors[ReadStatus.Malformed]);

        sampler.Sweep(full: false);
        Assert.False(t.Current.Valid);
        Assert.Equal(2, sampler.Errors[ReadStatus.Malformed]);

        WriteV1Container(CidA, "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n", 2_000_000_000, quota: "-1");
        sampler.Sweep(full: false);
        Assert.True(t.Current.Valid);
        Assert.Equal(2_000_000_000UL, t.Current.UsageNanos);
        Assert.Equal(2, sampler.Errors[ReadStatus.Malformed]);
        Assert.False(t.CpuStat.IsKept);
    }
}

/// <summary>
/// What the sampler's cadence relies on, asked of this machine's kernel: a v1 cgroup without a CFS
/// quota counts no periods, throttling or bursts however busy it is, and its counters stop where they
/// were when a quota is removed (so its <c>cpu.stat</c> need not be read every second).
/// </summary>
public sealed class UnlimitedCgroupKernelTests : IDisposable
{
    private readonly RealCgroups _cgroups = new();

    public void Dispose() => _cgroups.Dispose();

    private static string Stat(string path) => File.ReadAllText(RealCgroups.CpuMount + path + "/cpu.stat");

    private static ulong Usage(string path) => ulong.Parse(File.ReadAllText(RealCgroups.CpuacctMount + path + "/cpuacct.usage"), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_busy_v1_cgroup_without_a_quota_counts_no_periods_and_a_removed_quota_freezes_them()
    {
        var path = _cgroups.Create("kubepods/besteffort/pod" + Guid.NewGuid() + "/" + new string('c', 64));
        _cgroups.StartBusy(path);
        ulong usage0 = Usage(path);
        await Task.Delay(600);
        Assert.True(Usage(path) > usage0 + 50_000_000, "the busy loop runs");
        Assert.StartsWith("nr_periods 0\nnr_throttled 0\nthrottled_time 0\n", Stat(path), StringComparison.Ordinal);

        RealCgroups.SetQuota(path, 20000);
        await Task.Delay(600);
        Assert.DoesNotContain("nr_periods 0\n", Stat(path), StringComparison.Ordinal);

        RealCgroups.SetQuota(path, -1);
        string frozen = Stat(path);
        await Task.Delay(600);
        Assert.Equal(frozen, Stat(path));
    }
}

internal sealed class CapturingLogger : ILogger
{
    public List<string> Messages { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Messages)
        {
            Messages.Add(formatter(state, exception));
        }
    }
}

/// <summary>A cgroup removed and made again under the same path between sweeps (a restarted service, a reused container id).</summary>
public sealed class RecreatedCgroupTests : IDisposable
{
    private readonly RealCgroups _cgroups = new();

    public void Dispose() => _cgroups.Dispose();

    [Fact]
    public void A_kept_handle_to_a_recreated_cgroup_reads_the_new_one_as_a_counter_reset_not_an_error()
    {
        var path = _cgroups.Create("svc/app.service");
        Assert.True(ThrottleWatch.Agent.Cgroups.CgroupHierarchy.TryDetect("/sys/fs/cgroup", "/proc", out var h, out _));
        using var sampler = new ThrottleWatch.Agent.Sampling.Sampler(h!, new ThrottleWatch.Agent.Discovery.ContainerDiscovery(h!.CpuRoot, [_cgroups.Name + "/svc"]), new ThrottleWatch.Agent.Cgroups.HandleBudget(100));
        sampler.Rediscover();
        sampler.Sweep(full: true);
        // Other tests (or a benchmark) may have Kubernetes-shaped cgroups on this machine too: pick ours.
        var tracked = Assert.Single(sampler.Tracked, t => t.Identity.CgroupPath == path);
        Assert.True(tracked.Current.Valid);

        // The kernel's cgroup goes and a new one comes under the same path: the kept handle now answers ENODEV.
        foreach (var mount in new[] { RealCgroups.CpuMount, RealCgroups.CpuacctMount })
        {
            Directory.Delete(mount + path);
            Directory.CreateDirectory(mount + path);
        }
        sampler.Sweep(full: false);
        Assert.True(tracked.Current.Valid);
        Assert.Equal(0, sampler.Errors.All().Sum(e => e.Count));
    }
}
