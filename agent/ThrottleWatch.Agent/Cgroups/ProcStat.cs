namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// The first line of <c>/proc/stat</c>: the node's CPU time in USER_HZ ticks.
/// </summary>
/// <remarks>
/// <code>
/// cpu  84911 120 52481 9912345 1234 0 567 0 0 0
///      user  nice system idle   iowait irq softirq steal guest guest_nice
/// </code>
/// Busy time is everything but idle and iowait; guest time is already inside user and nice.
/// See https://man7.org/linux/man-pages/man5/proc_stat.5.html.
/// </remarks>
public static class ProcStat
{
    /// <summary>USER_HZ: 100 on every Linux architecture Kubernetes runs on.</summary>
    public const double TicksPerSecond = 100;

    public static bool TryParseBusySeconds(ReadOnlySpan<byte> utf8, out double seconds)
    {
        seconds = 0;
        var rest = utf8;
        if (!KernelText.TryReadLine(ref rest, out var line) || !line.StartsWith("cpu "u8))
        {
            return false;
        }
        line = line[4..];
        ulong busy = 0;
        int field = 0;
        while (!line.IsEmpty)
        {
            line = line.TrimStart((byte)' ');
            int sp = line.IndexOf((byte)' ');
            var token = sp < 0 ? line : line[..sp];
            line = sp < 0 ? default : line[(sp + 1)..];
            if (token.IsEmpty)
            {
                continue;
            }
            if (!KernelText.TryParseUInt64(token, out ulong ticks))
            {
                return false;
            }
            // user nice system [idle iowait] irq softirq steal; guest fields are inside user/nice.
            if (field is 0 or 1 or 2 or 5 or 6 or 7)
            {
                busy += ticks;
            }
            field++;
        }
        if (field < 4)
        {
            return false;
        }
        seconds = busy / TicksPerSecond;
        return true;
    }
}
