using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Sampling;

namespace ThrottleWatch.Agent.Hosting;

/// <summary>Receives each sweep's duration (the Prometheus histogram, the OTLP histogram).</summary>
public interface ISweepObserver
{
    void ObserveSweep(double seconds);
}

/// <summary>
/// The sampling loop: every interval, sweep the per-second files, and the slow files of one slice of
/// the cgroups (each cgroup once per <c>--config-interval</c>); every <c>--discovery-interval</c>,
/// rediscover first (incremental: settled pods' folders are listed every sixth time, see
/// <see cref="ContainerDiscovery"/>), in between list the pods the API reported changed, and after a
/// sweep that found a cgroup gone, rediscover again;
/// then fold the readings into <see cref="NodeState"/>. A sweep slower than the interval delays the next tick
/// instead of piling up (<see cref="PeriodicTimer"/> never queues more than one tick).
/// </summary>
/// <remarks>
/// Rediscovery walks every pod folder: at 2,000 containers it cost as much as the sweep itself when
/// it ran every second. A new container is therefore tracked within one discovery interval plus one
/// interval; its counters are cumulative, so what it did before its first reading still shows in its
/// totals. A cgroup that goes is seen by the first sweep that fails to read it, and dropped in that
/// same sweep by the rediscovery that follows.
/// </remarks>
internal sealed partial class SamplingService : BackgroundService
{
    private readonly AgentOptions _options;
    private readonly NodeState _state;
    private readonly Sampler _sampler;
    private readonly IEnumerable<ISweepObserver> _observers;
    private readonly ILogger<SamplingService> _logger;
    private readonly CgroupFile _procStat;
    private readonly byte[] _buffer = new byte[4096];
    private readonly int _configEvery;
    private readonly int _discoverEvery;
    private readonly int _compactEvery;
    private readonly DiscoveryChanges _noChanges = new();

    public SamplingService(AgentOptions options, NodeState state, Sampler sampler, IEnumerable<ISweepObserver> observers, ILogger<SamplingService> logger)
    {
        _options = options;
        _state = state;
        _sampler = sampler;
        _observers = observers;
        _logger = logger;
        _procStat = new CgroupFile(Path.Combine(options.ProcRoot, "stat"), new HandleBudget(1));
        _configEvery = Math.Max(1, (int)Math.Round(options.ConfigInterval / options.Interval));
        _discoverEvery = Math.Max(1, (int)Math.Round(options.DiscoveryInterval / options.Interval));
        _compactEvery = options.CompactInterval > TimeSpan.Zero ? Math.Max(1, (int)Math.Round(options.CompactInterval / options.Interval)) : 0;
    }

    /// <summary>How many times the loop had the heap compacted (<see cref="AgentOptions.CompactInterval"/>).</summary>
    public int Compactions { get; private set; }

    /// <summary>One sweep; public so that <c>top</c> and tests drive it without the timer.</summary>
    public void SweepOnce()
    {
        long start = Stopwatch.GetTimestamp();
        long sweep = _state.Sweeps;
        // Between discoveries, the pods the API reported changed (a container started or restarted)
        // have their folders listed at once.
        var changes = sweep % _discoverEvery == 0 ? _sampler.Rediscover()
            : _sampler.DiscoveryRequested ? _sampler.Rediscover(onlyRequested: true)
            : _noChanges;
        _sampler.Sweep((int)(sweep % _configEvery), _configEvery);
        // A cgroup gone is dropped now, as a rediscovery before the sweep would have done; the walk
        // also finds what appeared meanwhile (a restarted container's new cgroup, when it is there yet).
        var afterGone = _sampler.SawVanished ? _sampler.Rediscover() : _noChanges;
        double? nodeUsage = _procStat.Read(_buffer, out int n) == ReadStatus.Ok && ProcStat.TryParseBusySeconds(_buffer.AsSpan(0, n), out var busy) ? busy : null;

        lock (_state.Gate)
        {
            _state.Apply(changes, _options.Interval);
            if (afterGone != _noChanges)
            {
                _state.Apply(afterGone, _options.Interval);
            }
            foreach (var t in _sampler.Tracked)
            {
                _state.SeriesOf(t)?.Update(t);
            }
            _state.NodeUsageSeconds = nodeUsage ?? _state.NodeUsageSeconds;
            _state.HandlesDegraded = _sampler.DegradedCount;
            _state.LimitsWatched = _sampler.Watch?.Count ?? 0;
            _state.Errors = _sampler.Errors;
            _state.Sweeps++;
            _state.LastSweepTimestamp = Stopwatch.GetTimestamp();
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        foreach (var o in _observers)
        {
            o.ObserveSweep(seconds);
        }
        if (seconds > _options.Interval.TotalSeconds)
        {
            SlowSweep(_logger, seconds, _options.Interval.TotalSeconds);
        }
        if (_compactEvery > 0 && sweep > 0 && (sweep % _compactEvery == 0 || sweep == Math.Max(1, _compactEvery / 3)))
        {
            // What the agent allocates is the scrapes' and discoveries' short-lived garbage; the GC
            // otherwise lets it pile up in the older generations for minutes and keeps the memory.
            // A blocking compacting collection of the live heap (15 MiB at 2,000 containers) that
            // returns the free memory: outside the sweep's measured time.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            TrimNativeHeap();
            Compactions++;
        }
    }

    private static bool _trimUnavailable;

    /// <summary>
    /// The native side of the same: memory the runtime's native code (gzip's buffers for a compressed
    /// scrape, sockets) freed stays in glibc's per-thread arenas, which grew by about 0.5 MiB a minute
    /// at 2,000 containers; <c>malloc_trim</c> returns their free pages. Not there (another libc): skipped.
    /// </summary>
    private static void TrimNativeHeap()
    {
        if (_trimUnavailable)
        {
            return;
        }
        try
        {
            _ = Native.MallocTrim(0); // 0 only says nothing was free to give back
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _trimUnavailable = true;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_options.Interval);
        do
        {
            SweepOnce();
        }
        while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
    }

    public override void Dispose()
    {
        _procStat.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Sweep took {Seconds:0.000}s, longer than the {Interval}s interval: the next one is skipped, not queued")]
    private static partial void SlowSweep(ILogger logger, double seconds, double interval);
}
