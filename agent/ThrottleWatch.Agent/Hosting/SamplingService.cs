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
/// The sampling loop: every interval, rediscover (incremental), sweep the per-second files, and on
/// the slow cadence the rest; then fold the readings into <see cref="NodeState"/>. A sweep slower
/// than the interval delays the next tick instead of piling up (<see cref="PeriodicTimer"/> never
/// queues more than one tick).
/// </summary>
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

    public SamplingService(AgentOptions options, NodeState state, Sampler sampler, IEnumerable<ISweepObserver> observers, ILogger<SamplingService> logger)
    {
        _options = options;
        _state = state;
        _sampler = sampler;
        _observers = observers;
        _logger = logger;
        _procStat = new CgroupFile(Path.Combine(options.ProcRoot, "stat"), new HandleBudget(1));
        _configEvery = Math.Max(1, (int)Math.Round(options.ConfigInterval / options.Interval));
    }

    /// <summary>One sweep; public so that <c>top</c> and tests drive it without the timer.</summary>
    public void SweepOnce()
    {
        long start = Stopwatch.GetTimestamp();
        var changes = _sampler.Rediscover();
        bool full = _state.Sweeps % _configEvery == 0 || changes.Added.Count > 0;
        _sampler.Sweep(full);
        double? nodeUsage = _procStat.Read(_buffer, out int n) == ReadStatus.Ok && ProcStat.TryParseBusySeconds(_buffer.AsSpan(0, n), out var busy) ? busy : null;

        lock (_state.Gate)
        {
            _state.Apply(changes, _options.Interval);
            foreach (var t in _sampler.Tracked)
            {
                _state.Find(t.Identity.CgroupPath)?.Update(t);
            }
            _state.NodeUsageSeconds = nodeUsage ?? _state.NodeUsageSeconds;
            _state.HandlesDegraded = _sampler.DegradedCount;
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
