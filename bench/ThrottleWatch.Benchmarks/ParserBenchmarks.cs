using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Benchmarks;

/// <summary>
/// One benchmark per cgroup file format, each parsing literal text from real kernels (BACKGROUND §2,
/// the same samples as the parsers' doc comments). The agent parses these every second for every
/// container, so each must show 0 B allocated.
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Performance", "CA1822:Mark members as static",
    Justification = "BenchmarkDotNet runs instance methods only; the samples are static so every benchmark reads the same literal text")]
public class ParserBenchmarks
{
    // v1 cpu.stat, kernel 6.x: times in nanoseconds.
    private static readonly byte[] CpuStatV1Text =
        "nr_periods 31\nnr_throttled 30\nthrottled_time 2387047315\nnr_bursts 0\nburst_time 0\n"u8.ToArray();

    // v2 cpu.stat with the cpu controller enabled: times in microseconds.
    private static readonly byte[] CpuStatV2Text =
        ("usage_usec 1369702923\nuser_usec 846509997\nsystem_usec 523192926\nnice_usec 0\n"u8
        + "core_sched.force_idle_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n"u8).ToArray();

    private static readonly byte[] CpuMaxText = "50000 100000\n"u8.ToArray();
    private static readonly byte[] CfsQuotaText = "20000\n"u8.ToArray();
    private static readonly byte[] CfsPeriodText = "100000\n"u8.ToArray();
    private static readonly byte[] CpuSharesText = "1024\n"u8.ToArray();
    private static readonly byte[] CpuWeightText = "100\n"u8.ToArray();
    private static readonly byte[] CpuacctUsageText = "24923982598\n"u8.ToArray();

    private static readonly byte[] CpuPressureText =
        "some avg10=47.01 avg60=46.98 avg300=35.92 total=244258934\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"u8.ToArray();

    [Benchmark]
    public CpuStat CpuStatV1() => CpuStat.TryParse(CpuStatV1Text, out var s) ? s : Throw<CpuStat>();

    [Benchmark]
    public CpuStat CpuStatV2() => CpuStat.TryParse(CpuStatV2Text, out var s) ? s : Throw<CpuStat>();

    [Benchmark]
    public CpuMax CpuMaxV2() => CpuMax.TryParse(CpuMaxText, out var m) ? m : Throw<CpuMax>();

    [Benchmark]
    public ulong CfsQuotaAndPeriod()
        => CfsQuota.TryParseQuota(CfsQuotaText, out var quota) && CfsQuota.TryParsePeriod(CfsPeriodText, out ulong period)
            ? quota.GetValueOrDefault() + period
            : Throw<ulong>();

    [Benchmark]
    public ulong CpuSharesV1() => CpuShares.TryParse(CpuSharesText, out ulong v) ? v : Throw<ulong>();

    [Benchmark]
    public ulong CpuWeightV2() => CpuWeight.TryParse(CpuWeightText, out ulong v) ? v : Throw<ulong>();

    [Benchmark]
    public ulong CpuacctUsageV1() => CpuacctUsage.TryParse(CpuacctUsageText, out ulong v) ? v : Throw<ulong>();

    [Benchmark]
    public CpuPressure CpuPressureV2() => CpuPressure.TryParse(CpuPressureText, out var p) ? p : Throw<CpuPressure>();

    /// <summary>A sample that fails to parse is a broken benchmark, not a result.</summary>
    private static T Throw<T>() => throw new InvalidOperationException("the kernel sample did not parse");
}
