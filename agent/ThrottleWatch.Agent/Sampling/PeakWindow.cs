using System.Diagnostics;

namespace ThrottleWatch.Agent.Sampling;

/// <summary>
/// The highest value recorded within a trailing time window (60 s for the peak gauges). A 15 s
/// scrape of counters cannot show a 2 s saturation; the agent samples every interval and keeps the
/// peak.
/// </summary>
/// <remarks>
/// Keeps only the values that can still be the peak (a monotonic queue): a value recorded after a
/// higher or equal one never is, so it is dropped when the higher one comes; what is kept runs from
/// the oldest and highest to the newest and lowest, and the peak is the first kept value still in the
/// window. An idle container's window, or one whose usage only rises, holds one value. The ring
/// starts at four slots and doubles when it must, up to the window's length in intervals (plus slack
/// for late sweeps): after the first minute recording allocates nothing. At 2,000 containers the fixed
/// 62-slot rings were about 5 MiB of the agent's live heap.
/// </remarks>
public sealed class PeakWindow
{
    private const int InitialCapacity = 4;

    private readonly int _maxCapacity;
    private readonly long _windowTicks;
    private long[] _times;
    private double[] _values;
    private int _head;
    private int _count;

    /// <param name="window">How far back the peak looks.</param>
    /// <param name="interval">The sampling interval: the ring holds at most window/interval samples, plus slack for late sweeps.</param>
    public PeakWindow(TimeSpan window, TimeSpan interval)
    {
        _maxCapacity = (int)Math.Clamp(Math.Ceiling(window / interval) + 2, 2, 1024);
        _times = new long[Math.Min(InitialCapacity, _maxCapacity)];
        _values = new double[_times.Length];
        _windowTicks = (long)(window.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Slots allocated (grows to what the values needed, never past the window's length).</summary>
    internal int Capacity => _times.Length;

    /// <summary>Values kept: those that can still be the peak.</summary>
    internal int Kept => _count;

    public void Record(long timestamp, double value)
    {
        while (_count > 0 && _values[Slot(_count - 1)] <= value)
        {
            _count--;
        }
        while (_count > 0 && timestamp - _times[_head] > _windowTicks)
        {
            Drop();
        }
        if (_count == _times.Length)
        {
            if (_times.Length < _maxCapacity)
            {
                Grow();
            }
            else
            {
                // More values in the window than it was sized for (a clock step): the oldest goes.
                Drop();
            }
        }
        int i = Slot(_count);
        _times[i] = timestamp;
        _values[i] = value;
        _count++;
    }

    /// <summary>The peak over the window ending at <paramref name="now"/>; null when nothing was recorded in it.</summary>
    public double? Peak(long now)
    {
        for (int k = 0; k < _count; k++)
        {
            int i = Slot(k);
            if (now - _times[i] <= _windowTicks)
            {
                return _values[i];
            }
        }
        return null;
    }

    private int Slot(int k) => (_head + k) % _times.Length;

    private void Drop()
    {
        _head = (_head + 1) % _times.Length;
        _count--;
    }

    private void Grow()
    {
        int capacity = Math.Min(_times.Length * 2, _maxCapacity);
        var times = new long[capacity];
        var values = new double[capacity];
        for (int k = 0; k < _count; k++)
        {
            times[k] = _times[Slot(k)];
            values[k] = _values[Slot(k)];
        }
        _times = times;
        _values = values;
        _head = 0;
    }
}
