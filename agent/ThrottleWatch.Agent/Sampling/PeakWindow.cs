using System.Diagnostics;

namespace ThrottleWatch.Agent.Sampling;

/// <summary>
/// The highest value recorded within a trailing time window (60 s for the peak gauges). A 15 s
/// scrape of counters cannot show a 2 s saturation; the agent samples every interval and keeps the
/// peak. A fixed ring of (time, value), sized at start: recording allocates nothing.
/// </summary>
public sealed class PeakWindow
{
    private readonly long[] _times;
    private readonly double[] _values;
    private readonly long _windowTicks;
    private int _next;
    private int _count;

    /// <param name="window">How far back the peak looks.</param>
    /// <param name="interval">The sampling interval: the ring holds window/interval samples, plus slack for late sweeps.</param>
    public PeakWindow(TimeSpan window, TimeSpan interval)
    {
        int capacity = (int)Math.Clamp(Math.Ceiling(window / interval) + 2, 2, 1024);
        _times = new long[capacity];
        _values = new double[capacity];
        _windowTicks = (long)(window.TotalSeconds * Stopwatch.Frequency);
    }

    public void Record(long timestamp, double value)
    {
        _times[_next] = timestamp;
        _values[_next] = value;
        _next = (_next + 1) % _times.Length;
        _count = Math.Min(_count + 1, _times.Length);
    }

    /// <summary>The peak over the window ending at <paramref name="now"/>; null when nothing was recorded in it.</summary>
    public double? Peak(long now)
    {
        double? peak = null;
        for (int i = 0; i < _count; i++)
        {
            if (now - _times[i] <= _windowTicks && (peak is null || _values[i] > peak))
            {
                peak = _values[i];
            }
        }
        return peak;
    }
}
