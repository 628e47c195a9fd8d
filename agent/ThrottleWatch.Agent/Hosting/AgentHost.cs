using System.Diagnostics;
using System.Net;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Prometheus;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Export;
using ThrottleWatch.Agent.Metadata;
using ThrottleWatch.Agent.Sampling;

namespace ThrottleWatch.Agent.Hosting;

/// <summary>
/// Builds the long-running agent: the generic host (Kestrel for <c>/metrics</c>, <c>/healthz</c>,
/// <c>/readyz</c>), the sampling loop, the pod watcher and the OTLP pipeline.
/// </summary>
public static partial class AgentHost
{
    public static string Version { get; } = typeof(AgentHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Builds the application. <paramref name="hierarchy"/> was detected (and validated) by the caller.</summary>
    /// <param name="log">Where logs go when not to the process's console (a test's writer); null: the console.</param>
    public static WebApplication Build(AgentOptions options, CgroupHierarchy hierarchy, IPEndPoint listen, TextWriter? log = null)
    {
        // The agent reads no appsettings.json: nothing to look for in the working directory, nothing to watch.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        if (log is not null)
        {
            builder.Logging.AddProvider(new TextWriterLoggerProvider(log));
        }
        else if (options.LogFormat == "json")
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        }
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        var certificate = options.TlsCertFile is { } certFile ? new Security.ReloadingCertificate(certFile, options.TlsKeyFile!) : null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(listen, l =>
            {
                if (certificate is not null)
                {
                    // The selector runs per handshake: a rotated certificate is served without a restart.
                    l.UseHttps(https => https.ServerCertificateSelector = (_, _) => certificate.Current);
                }
            });
            k.AddServerHeader = false;
            k.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        });
        builder.Services.AddResponseCompression(o =>
        {
            o.Providers.Add<GzipCompressionProvider>();
            o.MimeTypes = ["text/plain", "application/openmetrics-text"];
        });

        var kubeConfig = KubernetesConfig(options);
        var kube = new KubernetesStatus { Enabled = kubeConfig is not null };
        var index = kubeConfig is null ? null : new PodIndex();
        var state = new NodeState(options.NodeName, hierarchy, KernelVersion(options.ProcRoot));

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(kube);
        var discovery = new ContainerDiscovery(hierarchy.CpuRoot, options.CgroupSubtrees);
        if (index is not null)
        {
            index.PodChanged += discovery.ListPodSoon;
        }
        builder.Services.AddSingleton(sp =>
        {
            var samplerLog = sp.GetRequiredService<ILoggerFactory>().CreateLogger("ThrottleWatch.Sampler");
            var sampler = new Sampler(hierarchy, discovery, HandleBudget.FromProcessLimit(), samplerLog)
            {
                // A written limit is read at the next sweep, and the quota of cgroups without one is
                // polled only every minute, with or without the API (docs/performance.md).
                Watch = options.WatchLimits ? ConfigWatch.TryCreate(samplerLog) : null,
            };
            if (index is not null)
            {
                // A resize is a watch event for the pod: its configuration is read at the next sweep, and
                // while the watch is up the quota of cgroups without one is polled only every minute.
                index.PodChanged += sampler.ReadConfigSoon;
                sampler.ConfigChangesReported = () => kube.Up;
            }
            return sampler;
        });
        builder.Services.AddSingleton(new PrometheusExporter(state, index, kube, options.ExcludeNamespaces, Version));
        builder.Services.AddSingleton<ISweepObserver>(sp => sp.GetRequiredService<PrometheusExporter>());
        builder.Services.AddHostedService<SamplingService>();

        if (kubeConfig is not null)
        {
            builder.Services.AddSingleton(index!);
            // One client for the pod list/watch, the owner lookups and the authorizer.
            builder.Services.AddSingleton(_ => new KubeApi(kubeConfig));
            builder.Services.AddHostedService(sp => new PodWatcher(sp.GetRequiredService<KubeApi>(), options.NodeName, index!, kube,
                options.WatchTimeout, sp.GetRequiredService<ILogger<PodWatcher>>()));
        }

        if (OtlpEnabled(options))
        {
            builder.Services.AddSingleton(new OtlpExporter(state, index, kube, options.ExcludeNamespaces, Version));
            builder.Services.AddSingleton<ISweepObserver>(sp => sp.GetRequiredService<OtlpExporter>());
            builder.Services.AddSingleton(sp => new OtlpPipeline(sp.GetRequiredService<OtlpExporter>(), options, Version, sp.GetRequiredService<ILogger<OtlpPipeline>>()));
            builder.Services.AddSingleton<ISweepObserver>(sp => sp.GetRequiredService<OtlpPipeline>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<OtlpPipeline>());
        }

        if (certificate is not null)
        {
            builder.Services.AddSingleton(certificate);
        }
        if (options.Auth == "token-file")
        {
            builder.Services.AddSingleton<Security.IMetricsAuthorizer>(new Security.TokenFileAuthorizer(options.AuthTokenFile!));
        }
        else if (options.Auth == "kubernetes")
        {
            builder.Services.AddSingleton<Security.IMetricsAuthorizer>(sp => new Security.KubernetesAuthorizer(sp.GetRequiredService<KubeApi>()));
        }
        if (options.Auth == "kubernetes" && kubeConfig is null)
        {
            throw new InvalidOperationException("--auth kubernetes needs the Kubernetes API");
        }

        var app = builder.Build();
        // Read-only endpoints: anything but GET and HEAD is refused before routing.
        app.Use((context, next) =>
        {
            if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                context.Response.Headers.Allow = "GET, HEAD";
                return Plain(context, StatusCodes.Status405MethodNotAllowed, "only GET\n");
            }
            return next(context);
        });
        // /metrics may require a bearer token; the probes stay open for the kubelet.
        var authorizer = app.Services.GetService<Security.IMetricsAuthorizer>();
        if (authorizer is not null)
        {
            app.Use(async (context, next) =>
            {
                if (context.Request.Path.StartsWithSegments("/metrics"))
                {
                    string? header = context.Request.Headers.Authorization;
                    string? token = header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
                    int status = await authorizer.CheckAsync(token, context.RequestAborted).ConfigureAwait(false);
                    if (status != StatusCodes.Status200OK)
                    {
                        if (status == StatusCodes.Status401Unauthorized)
                        {
                            context.Response.Headers.WWWAuthenticate = "Bearer";
                        }
                        await Plain(context, status, status switch { 401 => "unauthorized\n", 403 => "forbidden\n", _ => "cannot check the token now\n" }).ConfigureAwait(false);
                        return;
                    }
                }
                await next(context).ConfigureAwait(false);
            });
        }
        app.UseResponseCompression();
        var exporter = app.Services.GetRequiredService<PrometheusExporter>();
        app.MapMetrics("/metrics", exporter.Registry);
        long started = Stopwatch.GetTimestamp();
        app.MapGet("/healthz", context =>
        {
            // Alive while sweeps keep coming; a loop stuck for 5 intervals (at least 10 s) is not.
            var limit = TimeSpan.FromTicks(Math.Max(options.Interval.Ticks * 5, TimeSpan.FromSeconds(10).Ticks));
            long last = state.LastSweepTimestamp == 0 ? started : state.LastSweepTimestamp;
            return Stopwatch.GetElapsedTime(last) < limit
                ? Plain(context, StatusCodes.Status200OK, "ok\n")
                : Plain(context, StatusCodes.Status503ServiceUnavailable, "sampling stalled\n");
        });
        app.MapGet("/readyz", context =>
        {
            if (state.Sweeps == 0)
            {
                return Plain(context, StatusCodes.Status503ServiceUnavailable, "waiting for the first sweep\n");
            }
            if (kube.Enabled && !kube.Listed)
            {
                return Plain(context, StatusCodes.Status503ServiceUnavailable, "waiting for the first pod list\n");
            }
            return Plain(context, StatusCodes.Status200OK, "ok\n");
        });

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ThrottleWatch.Agent");
        string address = listen.ToString();
        Starting(logger, Version, hierarchy.Version, hierarchy.Mode, hierarchy.CpuRoot, address, options.NodeName);
        if (kubeConfig is null)
        {
            MetadataLog.Disabled(logger);
        }
        return app;
    }

    private static Task Plain(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text);
    }

    public static bool OtlpEnabled(AgentOptions options)
        => options.OtlpEndpoint is not null
           || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))
           || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"));

    /// <summary>
    /// The SDK uses an endpoint set in code as given; for http/protobuf a bare collector address
    /// ("http://collector:4318") gets the signal path, as <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> does.
    /// </summary>
    public static Uri OtlpEndpointUri(string endpoint, string protocol)
    {
        var uri = new Uri(endpoint);
        if (protocol == "http/protobuf" && uri.AbsolutePath is "" or "/")
        {
            uri = new Uri(uri, "/v1/metrics");
        }
        return uri;
    }

    private static KubernetesClientConfiguration? KubernetesConfig(AgentOptions options)
    {
        KubernetesClientConfiguration? config = null;
        if (options.Kubeconfig is { } path)
        {
            config = KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
        }
        else if (KubernetesClientConfiguration.IsInCluster())
        {
            config = KubernetesClientConfiguration.InClusterConfig();
        }
        if (config is not null)
        {
            // Headers of a list must come within this; a watch's body is bounded by its own timeout.
            config.HttpClientTimeout = TimeSpan.FromSeconds(30);
        }
        return config;
    }

    /// <summary>The kernel release (<c>/proc/sys/kernel/osrelease</c>), for <c>throttlewatch_node_info</c>.</summary>
    public static string KernelVersion(string procRoot)
    {
        try
        {
            return File.ReadAllText(Path.Combine(procRoot, "sys", "kernel", "osrelease")).Trim();
        }
        catch (IOException)
        {
            return Environment.OSVersion.Version.ToString();
        }
        catch (UnauthorizedAccessException)
        {
            return Environment.OSVersion.Version.ToString();
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "throttlewatch-agent {Version}: cgroup v{CgroupVersion} ({Mode}) at {CpuRoot}, serving on http://{Listen}, node {Node}")]
    private static partial void Starting(ILogger logger, string version, int cgroupVersion, string mode, string cpuRoot, string listen, string node);
}
