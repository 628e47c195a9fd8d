using System.Text;
using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Agent.Tests;

/// <summary>Each kernel format from literal kernel text (BACKGROUND §2), old and new kernels, and broken text.</summary>
public class ParserTests
{
    private static byte[] U(string s) => Encoding.ASCII.GetBytes(s);

    [Fact]
    public void CpuStat_v1_new_kernel_with_bursts()
    {
        Assert.True(CpuStat.TryParse(U("nr_periods 31\nnr_throttled 30\nthrottled_time 2387047315\nnr_bursts 2\nburst_time 5000\n"), out var s));
        Assert.Equal(31UL, s.NrPeriods);
        Assert.Equal(30UL, s.NrThrottled);
        Assert.Equal(2387047315UL, s.ThrottledNanos);
        Assert.Equal(2UL, s.NrBursts);
        Assert.Equal(5000UL, s.BurstNanos);
        Assert.True(s.Has(CpuStat.Keys.NrBursts));
        Assert.False(s.Has(CpuStat.Keys.Usage));
    }

    [Fact]
    public void CpuStat_v1_old_kernel_without_bursts_and_with_wait_sum()
    {
        Assert.True(CpuStat.TryParse(U("nr_periods 5\nnr_throttled 1\nthrottled_time 100\nwait_sum 987654321\n"), out var s));
        Assert.Equal(5UL, s.NrPeriods);
        Assert.Equal(100UL, s.ThrottledNanos);
        Assert.False(s.Has(CpuStat.Keys.NrBursts));
        Assert.False(s.Has(CpuStat.Keys.BurstTime));
    }

    [Fact]
    public void CpuStat_v2_normalises_microseconds_to_nanoseconds()
    {
        const string text = "usage_usec 1369702923\nuser_usec 846509997\nsystem_usec 523192926\nnice_usec 0\n" +
                            "core_sched.force_idle_usec 0\nnr_periods 40\nnr_throttled 12\nthrottled_usec 3456\nnr_bursts 1\nburst_usec 7\n";
        Assert.True(CpuStat.TryParse(U(text), out var s));
        Assert.Equal(1369702923000UL, s.UsageNanos);
        Assert.Equal(846509997000UL, s.UserNanos);
        Assert.Equal(523192926000UL, s.SystemNanos);
        Assert.Equal(40UL, s.NrPeriods);
        Assert.Equal(12UL, s.NrThrottled);
        Assert.Equal(3456000UL, s.ThrottledNanos);
        Assert.Equal(7000UL, s.BurstNanos);
    }

    [Fact]
    public void CpuStat_v2_without_cpu_controller_has_usage_only()
    {
        Assert.True(CpuStat.TryParse(U("usage_usec 30504000\nuser_usec 15076000\nsystem_usec 15428000\nnice_usec 0\n"), out var s));
        Assert.True(s.Has(CpuStat.Keys.Usage));
        Assert.False(s.Has(CpuStat.Keys.NrPeriods));
        Assert.Equal(0UL, s.NrPeriods);
    }

    [Theory]
    [InlineData("throttled_time 0\n", 0UL)]
    [InlineData("throttled_time 2387047315\n", 2387047315UL)]
    [InlineData("throttled_usec 42\n", 42000UL)]
    public void CpuStatLocal_both_versions(string text, ulong nanos)
    {
        Assert.True(CpuStat.TryParse(U(text), out var s));
        Assert.True(s.Has(CpuStat.Keys.ThrottledTime));
        Assert.Equal(nanos, s.ThrottledNanos);
    }

    [Theory]
    [InlineData("nr_periods 31\nnr_throttled 3x\n")]          // non-numeric
    [InlineData("nr_periods -1\n")]                             // negative
    [InlineData("nr_periods 18446744073709551616\n")]           // overflows ulong
    [InlineData("nr_periods\n")]                                // key without value
    [InlineData("nr_periods 1 2\n")]                            // trailing text
    [InlineData("garbage")]
    public void CpuStat_rejects_broken_text(string text)
    {
        Assert.False(CpuStat.TryParse(U(text), out _));
    }

    [Fact]
    public void CpuStat_tolerates_a_truncated_last_line_and_an_empty_file()
    {
        Assert.True(CpuStat.TryParse(U("nr_periods 31\nnr_throttled 30"), out var s));
        Assert.Equal(30UL, s.NrThrottled);
        Assert.True(CpuStat.TryParse(U(""), out var empty));
        Assert.Equal(CpuStat.Keys.None, empty.Present);
    }

    [Theory]
    [InlineData("max 100000\n", null, 100000UL)]
    [InlineData("20000 100000\n", 20000UL, 100000UL)]
    [InlineData("150000 50000", 150000UL, 50000UL)]
    public void CpuMax_parses_quota_and_max(string text, ulong? quota, ulong period)
    {
        Assert.True(CpuMax.TryParse(U(text), out var m));
        Assert.Equal(quota, m.QuotaMicros);
        Assert.Equal(period, m.PeriodMicros);
    }

    [Theory]
    [InlineData("")]
    [InlineData("max\n")]
    [InlineData("max max\n")]
    [InlineData("-1 100000\n")]
    [InlineData("20000 0\n")]
    [InlineData("20000 100000 7\n")]
    [InlineData("99999999999999999999 100000\n")]
    public void CpuMax_rejects_broken_text(string text) => Assert.False(CpuMax.TryParse(U(text), out _));

    [Theory]
    [InlineData("-1\n", null)]
    [InlineData("20000\n", 20000UL)]
    [InlineData("0\n", 0UL)]
    public void CfsQuota_quota(string text, ulong? quota)
    {
        Assert.True(CfsQuota.TryParseQuota(U(text), out var q));
        Assert.Equal(quota, q);
    }

    [Theory]
    [InlineData("-2\n")]
    [InlineData("max\n")]
    [InlineData("")]
    [InlineData("9223372036854775808\n")]
    public void CfsQuota_rejects(string text) => Assert.False(CfsQuota.TryParseQuota(U(text), out _));

    [Fact]
    public void CfsPeriod_parses_and_rejects_zero()
    {
        Assert.True(CfsQuota.TryParsePeriod(U("100000\n"), out var p));
        Assert.Equal(100000UL, p);
        Assert.False(CfsQuota.TryParsePeriod(U("0\n"), out _));
        Assert.False(CfsQuota.TryParsePeriod(U("-100000\n"), out _));
    }

    [Theory]
    [InlineData("1024\n", true, 1024UL)]
    [InlineData("2\n", true, 2UL)]
    [InlineData("1\n", false, 0UL)]
    [InlineData("abc\n", false, 0UL)]
    public void CpuShares_file(string text, bool ok, ulong shares)
    {
        Assert.Equal(ok, CpuShares.TryParse(U(text), out var s));
        if (ok) Assert.Equal(shares, s);
    }

    [Theory]
    [InlineData("100\n", true)]
    [InlineData("1\n", true)]
    [InlineData("10000\n", true)]
    [InlineData("0\n", false)]
    [InlineData("10001\n", false)]
    public void CpuWeight_range(string text, bool ok) => Assert.Equal(ok, CpuWeight.TryParse(U(text), out _));

    [Fact]
    public void CpuacctUsage_and_burst()
    {
        Assert.True(CpuacctUsage.TryParse(U("24923982598\n"), out var u));
        Assert.Equal(24923982598UL, u);
        Assert.False(CpuacctUsage.TryParse(U("\n"), out _));
        Assert.True(CpuBurst.TryParse(U("0\n"), out var b));
        Assert.Equal(0UL, b);
    }

    [Fact]
    public void CpuPressure_some_and_full_totals_in_nanoseconds()
    {
        var text = "some avg10=47.01 avg60=46.98 avg300=35.92 total=244258934\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=12\n";
        Assert.True(CpuPressure.TryParse(U(text), out var p));
        Assert.Equal(244258934000UL, p.SomeNanos);
        Assert.Equal(12000UL, p.FullNanos);
    }

    [Fact]
    public void CpuPressure_old_kernel_without_full_line()
    {
        Assert.True(CpuPressure.TryParse(U("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n"), out var p));
        Assert.Equal(5000UL, p.SomeNanos);
        Assert.Null(p.FullNanos);
    }

    [Theory]
    [InlineData("")]
    [InlineData("some avg10=1.00\n")]
    [InlineData("some total=abc\n")]
    [InlineData("full avg10=0.00 total=3\n")]
    public void CpuPressure_rejects(string text) => Assert.False(CpuPressure.TryParse(U(text), out _));

    [Fact]
    public void MountInfo_lines_from_this_kind_of_host()
    {
        Assert.True(MountInfo.TryParseLine("31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu", out var cpu));
        Assert.Equal("/sys/fs/cgroup/cpu", cpu!.MountPoint);
        Assert.True(cpu.HasV1Controller("cpu"));
        Assert.False(cpu.HasV1Controller("cpuacct"));

        Assert.True(MountInfo.TryParseLine("25 20 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct", out var both));
        Assert.True(both!.HasV1Controller("cpuacct"));
        Assert.True(both.HasV1Controller("cpu"));

        Assert.True(MountInfo.TryParseLine("40 30 0:37 / /sys/fs/cgroup/my\\040mount rw,relatime - cgroup2 cgroup2 rw", out var v2));
        Assert.Equal("/sys/fs/cgroup/my mount", v2!.MountPoint);
        Assert.Equal("cgroup2", v2.FsType);

        Assert.False(MountInfo.TryParseLine("garbage", out _));
    }
}
