using System.Globalization;
using System.Text;
using CsCheck;
using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// The kernel-format parsers against random and mutated input (CsCheck): never an exception, and
/// for valid text built from random values, exactly those values. THROTTLEWATCH_FUZZ_ITER sets the
/// number of inputs per property (default 1,000,000 random and mutated inputs per format, as
/// docs/reliability.md reports).
/// </summary>
public class FuzzTests
{
    private static readonly long Iter = long.TryParse(Environment.GetEnvironmentVariable("THROTTLEWATCH_FUZZ_ITER"), out var n) ? n : 1_000_000;

    private static readonly string[] Samples =
    [
        "nr_periods 31\nnr_throttled 30\nthrottled_time 2387047315\nnr_bursts 0\nburst_time 0\n",
        "usage_usec 1369702923\nuser_usec 846509997\nsystem_usec 523192926\nnice_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n",
        "max 100000\n", "20000 100000\n", "-1\n", "1024\n",
        "some avg10=47.01 avg60=46.98 avg300=35.92 total=244258934\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        "cpu  84911 120 52481 9912345 1234 0 567 0 0 0\n",
    ];

    /// <summary>Every parser on one input: none may throw.</summary>
    private static void ParseAll(byte[] b)
    {
        _ = CpuStat.TryParse(b, out _);
        _ = CpuMax.TryParse(b, out _);
        _ = CfsQuota.TryParseQuota(b, out _);
        _ = CfsQuota.TryParsePeriod(b, out _);
        _ = CpuShares.TryParse(b, out _);
        _ = CpuWeight.TryParse(b, out _);
        _ = CpuBurst.TryParse(b, out _);
        _ = CpuacctUsage.TryParse(b, out _);
        _ = CpuPressure.TryParse(b, out _);
        _ = ProcStat.TryParseBusySeconds(b, out _);
    }

    [Fact]
    public void Random_bytes_never_throw()
        => Gen.Byte.Array[0, 256].Sample(ParseAll, iter: Iter);

    [Fact]
    public void Mutated_kernel_text_never_throws()
    {
        // A real sample with bytes flipped, inserted, deleted, or cut short.
        var gen = Gen.Select(Gen.Int[0, Samples.Length - 1], Gen.Int[0, 3], Gen.Int[0, 400], Gen.Byte)
            .Select(t =>
            {
                var (which, op, at, value) = t;
                var bytes = Encoding.ASCII.GetBytes(Samples[which]).ToList();
                int i = at % (bytes.Count + 1);
                switch (op)
                {
                    case 0 when i < bytes.Count: bytes[i] = value; break;
                    case 1: bytes.Insert(i, value); break;
                    case 2 when i < bytes.Count: bytes.RemoveAt(i); break;
                    default: bytes = bytes.Take(i).ToList(); break;
                }
                return bytes.ToArray();
            });
        gen.Sample(ParseAll, iter: Iter);
    }

    [Fact]
    public void Valid_cpu_stat_gives_exactly_its_values_in_any_order_with_unknown_keys()
    {
        var gen = Gen.Select(Gen.ULong, Gen.ULong, Gen.ULong[0, ulong.MaxValue / 1000], Gen.Bool, Gen.Int[0, 1000]);
        gen.Sample(t =>
        {
            var (periods, throttled, time, v2, seed) = t;
            var lines = new List<string>
            {
                $"nr_periods {periods}",
                $"nr_throttled {throttled}",
                v2 ? $"throttled_usec {time}" : $"throttled_time {time}",
                $"wait_sum {seed}",
                $"some_future_key {seed * 3}",
            };
            var rnd = new Random(seed);
            var text = string.Join("\n", lines.OrderBy(_ => rnd.Next())) + "\n";
            Assert.True(CpuStat.TryParse(Encoding.ASCII.GetBytes(text), out var s));
            Assert.Equal(periods, s.NrPeriods);
            Assert.Equal(throttled, s.NrThrottled);
            Assert.Equal(v2 ? time * 1000 : time, s.ThrottledNanos);
        }, iter: Iter / 10);
    }

    [Fact]
    public void Valid_cpu_max_and_quota_files_give_exactly_their_values()
    {
        Gen.Select(Gen.ULong[1, uint.MaxValue], Gen.ULong[1, 1_000_000], Gen.Bool).Sample(t =>
        {
            var (quota, period, unlimited) = t;
            var text = (unlimited ? "max" : quota.ToString(CultureInfo.InvariantCulture)) + " " + period.ToString(CultureInfo.InvariantCulture) + "\n";
            Assert.True(CpuMax.TryParse(Encoding.ASCII.GetBytes(text), out var m));
            Assert.Equal(unlimited ? null : quota, m.QuotaMicros);
            Assert.Equal(period, m.PeriodMicros);

            Assert.True(CfsQuota.TryParseQuota(Encoding.ASCII.GetBytes(unlimited ? "-1\n" : quota + "\n"), out var q));
            Assert.Equal(unlimited ? null : quota, q);
        }, iter: Iter / 10);
    }

    [Fact]
    public void Valid_pressure_gives_exactly_its_totals()
    {
        Gen.Select(Gen.ULong[0, ulong.MaxValue / 1000], Gen.ULong[0, ulong.MaxValue / 1000], Gen.Double[0, 100]).Sample(t =>
        {
            var (some, full, avg) = t;
            var a = avg.ToString("0.00", CultureInfo.InvariantCulture);
            var text = $"some avg10={a} avg60={a} avg300={a} total={some}\nfull avg10={a} avg60={a} avg300={a} total={full}\n";
            Assert.True(CpuPressure.TryParse(Encoding.ASCII.GetBytes(text), out var p));
            Assert.Equal(some * 1000, p.SomeNanos);
            Assert.Equal(full * 1000, p.FullNanos);
        }, iter: Iter / 10);
    }
}
