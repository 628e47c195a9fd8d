using System.Diagnostics;
using ThrottleWatch.Agent.Sampling;

namespace ThrottleWatch.Agent.Tests;

/// <summary>The 60 s peak: the same answer as the maximum over every value in the window, in little memory.</summary>
public class PeakWindowTests
{
    private static readonly long Second = Stopwatch.Frequency;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void The_peak_is_the_maximum_of_every_value_recorded_in_the_window(int seed)
    {
        var random = new Random(seed);
        var window = new PeakWindow(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1));
        var all = new List<(long Time, double Value)>();
        long t = 1_000 * Second;
        double level = 0.5;
        for (int i = 0; i < 3_000; i++)
        {
            // Sweeps a second apart or late (never early), now and then a long stall.
            t += random.Next(20) == 0 ? random.Next(30, 90) * Second : Second + (long)(random.NextDouble() * 2 * Second);
            // Values that rise, fall, repeat exactly and sit at zero, as usage and ratios do.
            level = random.Next(6) switch
            {
                0 => 0,
                1 => level,
                2 => level + random.NextDouble(),
                _ => Math.Max(0, level - random.NextDouble() / 2),
            };
            window.Record(t, level);
            all.Add((t, level));
            foreach (long now in new[] { t, t + random.Next(0, 90) * Second + random.Next(1_000) })
            {
                var inWindow = all.Where(x => now - x.Time <= 60 * Second).Select(x => x.Value).ToList();
                double? expected = inWindow.Count == 0 ? null : inWindow.Max();
                Assert.Equal(expected, window.Peak(now));
            }
        }
        Assert.InRange(window.Capacity, 4, 62);
    }

    [Fact]
    public void An_idle_or_rising_series_keeps_one_value_a_falling_one_grows_to_the_window_and_then_allocates_nothing()
    {
        var idle = new PeakWindow(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1));
        var rising = new PeakWindow(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1));
        var falling = new PeakWindow(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1));
        for (int i = 0; i < 600; i++)
        {
            idle.Record(i * Second, 0);
            rising.Record(i * Second, i);
            falling.Record(i * Second, 1_000_000 - i);
        }
        Assert.Equal((1, 4), (idle.Kept, idle.Capacity));
        Assert.Equal((1, 4), (rising.Kept, rising.Capacity));
        Assert.Equal(61, falling.Kept); // every value of the last minute can still become the peak
        Assert.Equal(62, falling.Capacity);
        Assert.Equal(1_000_000 - 539, falling.Peak(599 * Second));

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 600; i < 1_600; i++)
        {
            falling.Record(i * Second, 1_000_000 - i);
            idle.Record(i * Second, i % 7 == 0 ? 1 : 0);
        }
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal(1, idle.Peak(1_599 * Second));
        Assert.Null(idle.Peak(1_700 * Second));
    }
}
