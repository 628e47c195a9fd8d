using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using ThrottleWatch.Agent.Hosting;

namespace ThrottleWatch.Agent.Export;

/// <summary>
/// Pushes <see cref="OtlpExporter"/>'s instruments over OTLP with cumulative temporality, and keeps
/// the SDK's memory bounded under container churn.
/// </summary>
/// <remarks>
/// With cumulative temporality the SDK keeps a slot for every attribute set it has ever seen, up to
/// its cardinality limit per metric; past the limit, new series fall into one overflow point. On a
/// node where containers come and go, departed containers' slots would fill it in hours to days and
/// crowd out new ones. So once the attribute sets seen since the pipeline started reach half the
/// limit, and at least half of them belong to series that went, the pipeline is rebuilt: the old MeterProvider is flushed and disposed (its slots freed)
/// and a new one starts. Counters carry the agent's own totals, so values continue; the series'
/// start time moves to the rebuild. At most one push interval passes without a push meanwhile.
/// </remarks>
public sealed class OtlpPipeline : IHostedService, ISweepObserver, IDisposable
{
    private readonly OtlpExporter _exporter;
    private readonly AgentOptions _options;
    private readonly string _version;
    private readonly ILogger<OtlpPipeline> _logger;
    private readonly Lock _gate = new();
    private MeterProvider? _provider;
    private int _rebuilding;
    private bool _stopped;

    public OtlpPipeline(OtlpExporter exporter, AgentOptions options, string version, ILogger<OtlpPipeline> logger)
    {
        _exporter = exporter;
        _options = options;
        _version = version;
        _logger = logger;
    }

    /// <summary>How many times the pipeline was rebuilt to let departed series go.</summary>
    public int Rebuilds { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _provider = Build();
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        MeterProvider? old;
        lock (_gate)
        {
            _stopped = true;
            old = _provider;
            _provider = null;
        }
        old?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>After each sweep: starts a rebuild in the background when the seen attribute sets reach half the limit.</summary>
    public void ObserveSweep(double seconds)
    {
        if (Volatile.Read(ref _rebuilding) != 0 || !_exporter.DepartedFill(_options.OtlpCardinalityLimit) || Interlocked.CompareExchange(ref _rebuilding, 1, 0) != 0)
        {
            return;
        }
        _ = Task.Run(() =>
        {
            try
            {
                Rebuild();
            }
            finally
            {
                Volatile.Write(ref _rebuilding, 0);
            }
        });
    }

    /// <summary>Flushes and disposes the provider, then starts a new one with empty slots.</summary>
    internal void Rebuild()
    {
        MeterProvider? old;
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }
            old = _provider;
            _provider = null;
        }
        int seen = _exporter.AttributeSetsSeen;
        // Disposing exports what it holds, then frees its slots (a slow collector makes this slow, off the sampling loop).
        old?.Dispose();
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }
            _exporter.ForgetSeen();
            _provider = Build();
            Rebuilds++;
        }
        OtlpLog.Rebuilt(_logger, seen, _options.OtlpCardinalityLimit);
    }

    private MeterProvider Build() => Sdk.CreateMeterProviderBuilder()
        .ConfigureResource(r => r.AddService("throttlewatch-agent", serviceVersion: _version)
            .AddAttributes([new("k8s.node.name", _options.NodeName), new("host.name", Environment.MachineName)]))
        .AddMeter(OtlpExporter.MeterName)
        // A dense node has far more than the SDK's default 2,000 series per metric.
        .AddView(i => i.Meter.Name == OtlpExporter.MeterName ? new MetricStreamConfiguration { CardinalityLimit = _options.OtlpCardinalityLimit } : null)
        .AddOtlpExporter((exporter, reader) =>
        {
            if (_options.OtlpEndpoint is { } endpoint)
            {
                exporter.Endpoint = AgentHost.OtlpEndpointUri(endpoint, _options.OtlpProtocol);
            }
            exporter.Protocol = _options.OtlpProtocol == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
            exporter.TimeoutMilliseconds = 10_000;
            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)_options.OtlpInterval.TotalMilliseconds;
            reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
        })
        .Build();

    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            _provider?.Dispose();
            _provider = null;
        }
    }
}

internal static partial class OtlpLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information,
        Message = "OTLP pipeline restarted to let departed series go: {Seen} attribute sets seen, limit {Limit} per metric")]
    public static partial void Rebuilt(ILogger logger, int seen, int limit);
}
