using System.Globalization;

namespace ThrottleWatch.Benchmarks.Sweep;

/// <summary>
/// How much CPU the rest of the machine used while the rounds ran: all busy time in /proc/stat less
/// this process's, its waited-for children's (cgread) and the busy loops'. Timings from a run where
/// other work took a good part of a core deserve less trust; the table says so.
/// </summary>
internal sealed class MachineLoad
{
    private const double TicksPerSecond = 100; // USER_HZ on Linux

    private readonly IReadOnlyList<int> _ownChildren;
    private readonly long _busy0, _steal0, _own0;
    private readonly DateTime _start;

    private MachineLoad(IReadOnlyList<int> ownChildren)
    {
        _ownChildren = ownChildren;
        (_busy0, _steal0) = MachineTicks();
        _own0 = OwnTicks();
        _start = DateTime.UtcNow;
    }

    /// <summary>Starts counting; <paramref name="ownChildren"/> are processes of this run not waited for (the busy loops).</summary>
    public static MachineLoad Start(IReadOnlyList<int> ownChildren) => new(ownChildren);

    /// <summary>Cores' worth of CPU used by other processes since the start, and stolen by the hypervisor.</summary>
    public (double OtherCores, double StealCores) Stop()
    {
        var (busy, steal) = MachineTicks();
        long own = OwnTicks();
        double seconds = (DateTime.UtcNow - _start).TotalSeconds;
        double other = Math.Max(0, (busy - _busy0) - (own - _own0)) / TicksPerSecond / seconds;
        return (other, (steal - _steal0) / TicksPerSecond / seconds);
    }

    /// <summary>From the "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal …</summary>
    private static (long Busy, long Steal) MachineTicks()
    {
        var line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        long steal = f.Length > 7 ? f[7] : 0;
        return (f[0] + f[1] + f[2] + f[5] + f[6], steal);
    }

    private long OwnTicks()
    {
        long ticks = ProcessTicks("self", withChildren: true);
        foreach (var pid in _ownChildren)
        {
            ticks += ProcessTicks(pid.ToString(CultureInfo.InvariantCulture), withChildren: false);
        }
        return ticks;
    }

    /// <summary>utime + stime (and cutime + cstime) from /proc/PID/stat, whose second field may hold spaces.</summary>
    private static long ProcessTicks(string pid, bool withChildren)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return 0;
        }
        var f = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        // f[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
        long t = long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
        if (withChildren)
        {
            t += long.Parse(f[13], CultureInfo.InvariantCulture) + long.Parse(f[14], CultureInfo.InvariantCulture);
        }
        return t;
    }
}
