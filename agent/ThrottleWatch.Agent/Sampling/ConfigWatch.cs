using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Agent.Sampling;

/// <summary>
/// Tells the sampler which cgroups' CPU limits were written, so that it need not poll them: one
/// inotify watch (<c>IN_MODIFY</c>) on each tracked cgroup's quota file (<c>cpu.cfs_quota_us</c> on v1,
/// <c>cpu.max</c> on v2). Every change to a limit is a <c>write</c> to that file (the kubelet, the
/// container runtime, systemd), and the kernel reports every write to a watched file, cgroup files
/// included. A written cgroup gets <see cref="TrackedCgroup.ConfigAsked"/>: its configuration is read
/// at the next sweep, whatever <c>--config-interval</c> says.
/// Watches are a budget the node's root user shares (<c>fs.inotify.max_user_watches</c>, 8,192 on
/// older kernels, with the kubelet and systemd as other users): the agent takes at most a quarter of
/// it, and a cgroup without a watch (past that, or when the kernel refuses one) is polled as before.
/// Not thread-safe: the sampling thread only.
/// </summary>
internal sealed unsafe class ConfigWatch : IDisposable
{
    private const int EventHeader = 16;

    private readonly int _fd;
    private readonly ILogger _logger;
    private readonly Dictionary<int, TrackedCgroup> _byWatch = [];
    private readonly byte[] _events = GC.AllocateArray<byte>(4096, pinned: true);
    private bool _limitLogged;

    private ConfigWatch(int fd, int capacity, ILogger logger)
    {
        _fd = fd;
        Capacity = capacity;
        _logger = logger;
    }

    /// <summary>
    /// An inotify instance for up to <paramref name="capacity"/> watches (default: a quarter of
    /// <c>/proc/sys/fs/inotify/max_user_watches</c>), or null, logged once, when the kernel gives none
    /// (<c>fs.inotify.max_user_instances</c> reached): every cgroup is then polled.
    /// </summary>
    public static ConfigWatch? TryCreate(ILogger? logger = null, int? capacity = null)
    {
        logger ??= NullLogger.Instance;
        int fd = Native.InotifyInit(Native.IN_NONBLOCK | Native.IN_CLOEXEC);
        if (fd < 0)
        {
            SamplerLog.WatchUnavailable(logger, Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
            return null;
        }
        return new ConfigWatch(fd, capacity ?? DefaultCapacity(), logger);
    }

    /// <summary>A quarter of the node's inotify watch limit (2,048 where it is the old default of 8,192).</summary>
    internal static int DefaultCapacity()
    {
        try
        {
            var text = File.ReadAllText("/proc/sys/fs/inotify/max_user_watches").Trim();
            return long.TryParse(text, out long max) && max > 0 ? (int)Math.Min(max / 4, int.MaxValue) : 2048;
        }
        catch (IOException)
        {
            return 2048;
        }
        catch (UnauthorizedAccessException)
        {
            return 2048;
        }
    }

    /// <summary>The most watches this agent takes.</summary>
    public int Capacity { get; }

    /// <summary>Cgroups whose limit is watched now.</summary>
    public int Count => _byWatch.Count;

    /// <summary>Times events were lost (the kernel's queue overflowed): every watched cgroup was read again.</summary>
    public long Overflows { get; private set; }

    /// <summary>Watches <paramref name="t"/>'s quota file; false (the cgroup is polled) past <see cref="Capacity"/> or when the kernel refuses.</summary>
    public bool Add(TrackedCgroup t)
    {
        if (t.WatchId >= 0)
        {
            return true;
        }
        if (_byWatch.Count >= Capacity)
        {
            LogLimit("this agent's share of fs.inotify.max_user_watches");
            return false;
        }
        int wd = t.Quota.AddWatch(_fd, Native.IN_MODIFY);
        if (wd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Native.ENOSPC)
            {
                LogLimit("fs.inotify.max_user_watches (shared by every process of this user)");
            }
            // ENOENT and the like: the cgroup went; its next read says so.
            return false;
        }
        // The same file watched twice gives the same descriptor: the one cgroup it belongs to keeps it.
        if (_byWatch.TryGetValue(wd, out var other) && other != t)
        {
            other.WatchId = -1;
        }
        _byWatch[wd] = t;
        t.WatchId = wd;
        return true;
    }

    /// <summary>Stops watching <paramref name="t"/> (untracked). A cgroup's removal does not end its watch by itself.</summary>
    public void Remove(TrackedCgroup t)
    {
        int wd = t.WatchId;
        t.WatchId = -1;
        if (wd >= 0 && _byWatch.TryGetValue(wd, out var owner) && owner == t)
        {
            _byWatch.Remove(wd);
            Native.InotifyRmWatch(_fd, wd);
        }
    }

    /// <summary>
    /// Reads what the kernel reported since the last call, without waiting: each written cgroup gets
    /// <see cref="TrackedCgroup.ConfigAsked"/>; after lost events, every watched one. Allocates nothing.
    /// </summary>
    public void Drain()
    {
        while (true)
        {
            nint n;
            fixed (byte* b = _events)
            {
                n = Native.Read(_fd, b, (nuint)_events.Length);
            }
            if (n <= 0)
            {
                // EAGAIN: nothing more. EINTR: the next sweep reads on.
                return;
            }
            var span = _events.AsSpan(0, (int)n);
            while (span.Length >= EventHeader)
            {
                int wd = MemoryMarshal.Read<int>(span);
                uint mask = MemoryMarshal.Read<uint>(span[4..]);
                int len = (int)MemoryMarshal.Read<uint>(span[12..]);
                span = span[Math.Min(span.Length, EventHeader + len)..];
                if ((mask & Native.IN_Q_OVERFLOW) != 0)
                {
                    Overflows++;
                    foreach (var t in _byWatch.Values)
                    {
                        t.ConfigAsked = true;
                    }
                    continue;
                }
                if (!_byWatch.TryGetValue(wd, out var cgroup))
                {
                    continue;
                }
                if ((mask & Native.IN_IGNORED) != 0)
                {
                    // The kernel dropped the watch: polled from now on, and read once more now.
                    _byWatch.Remove(wd);
                    cgroup.WatchId = -1;
                }
                cgroup.ConfigAsked = true;
            }
        }
    }

    private void LogLimit(string what)
    {
        if (!_limitLogged)
        {
            _limitLogged = true;
            SamplerLog.WatchLimit(_logger, _byWatch.Count, what);
        }
    }

    public void Dispose()
    {
        Native.Close(_fd);
        foreach (var t in _byWatch.Values)
        {
            t.WatchId = -1;
        }
        _byWatch.Clear();
    }
}
