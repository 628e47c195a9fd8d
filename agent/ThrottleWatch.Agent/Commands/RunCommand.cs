using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Hosting;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Hosting;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Commands;

/// <summary>
/// <c>throttlewatch-agent run</c> (the default command): the long-running DaemonSet process.
/// Every flag can also come from <c>THROTTLEWATCH_FOO_BAR</c>; bad values give one line each and exit code 2.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CliContext context, RootCommand root)
    {
        var common = new CommonOptions();
        var configInterval = Duration("--config-interval", "CONFIG_INTERVAL", "10s",
            "How often the quota, cpu.stat.local and cpu.pressure are re-read; period, burst and shares/weight every sixth time (on v1 without a quota the shares only), or at once when the quota changed; on v1 cpu.stat.local is read only when found while neither the cgroup nor its pod has a quota. A cgroup's configuration is also read at the sweep after its quota file is written (an inotify watch; throttlewatch_agent_limits_watched counts the watched cgroups) or the Kubernetes API reports a change to its pod (a resize); while either reports changes, a v1 quota where neither the cgroup nor its pod has one is re-read only every sixth time");
        var discoveryInterval = Duration("--discovery-interval", "DISCOVERY_INTERVAL", "5s",
            "How often the cgroup tree is searched for new and removed pods and containers (and after a sweep finds one gone); a new pod is sampled within this plus one --interval. A settled pod's folder is listed every sixth time; one the Kubernetes API reports changed, at the next sweep");
        var watchLimits = new Option<string>("--watch-limits")
        {
            Description = "Watch each cgroup's quota file for writes (inotify), so that a changed limit is read at the next sweep and the quota of a v1 cgroup without one, in a pod without one, is polled only every sixth --config-interval; false: poll every limit every --config-interval",
            DefaultValueFactory = _ => CommonOptions.Env("WATCH_LIMITS") ?? "true",
        };
        watchLimits.AcceptOnlyFromAmong("true", "false");
        var listen = new Option<string>("--listen")
        {
            Description = "Address of the HTTP server for /metrics, /healthz and /readyz (0.0.0.0:9808 in the DaemonSet)",
            DefaultValueFactory = _ => CommonOptions.Env("LISTEN") ?? "127.0.0.1:9808",
        };
        listen.Validators.Add(r =>
        {
            var text = r.GetValueOrDefault<string>();
            if (!TryParseListen(text, out _))
            {
                r.AddError($"--listen: '{text}' is not an address:port such as 127.0.0.1:9808 or 0.0.0.0:9808");
            }
        });
        var kube = new KubernetesOptions();
        var watchTimeout = Duration("--watch-timeout", "WATCH_TIMEOUT", "5m", "Server-side timeout of one pod watch; a stalled watch is cut 15 s after it");
        var otlpEndpoint = new Option<string?>("--otlp-endpoint")
        {
            Description = "Push the same metrics over OTLP to this collector URL (OTEL_EXPORTER_OTLP_* variables are honoured too)",
            DefaultValueFactory = _ => CommonOptions.Env("OTLP_ENDPOINT"),
        };
        otlpEndpoint.Validators.Add(r =>
        {
            var text = r.GetValueOrDefault<string?>();
            if (text is not null && (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            {
                r.AddError($"--otlp-endpoint: '{text}' is not an http or https URL");
            }
        });
        var otlpProtocol = new Option<string>("--otlp-protocol")
        {
            Description = "OTLP transport",
            DefaultValueFactory = _ => CommonOptions.Env("OTLP_PROTOCOL") ?? NonEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_PROTOCOL")) ?? "grpc",
        };
        otlpProtocol.AcceptOnlyFromAmong("grpc", "http/protobuf");
        var otlpInterval = Duration("--otlp-interval", "OTLP_INTERVAL", "15s", "How often metrics are pushed over OTLP");
        var otlpCardinalityLimit = new Option<int>("--otlp-cardinality-limit")
        {
            Description = "Series per OTLP metric the SDK keeps; at half of it the OTLP pipeline starts afresh so departed containers' series are let go",
            DefaultValueFactory = _ => int.TryParse(CommonOptions.Env("OTLP_CARDINALITY_LIMIT"), System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 100_000,
        };
        otlpCardinalityLimit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 4)
            {
                r.AddError("--otlp-cardinality-limit: must be at least 4");
            }
        });
        var logFormat = new Option<string>("--log-format")
        {
            Description = "Logs as text lines or as JSON objects (one per line)",
            DefaultValueFactory = _ => CommonOptions.Env("LOG_FORMAT") ?? "text",
        };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var tlsCert = ExistingFile("--tls-cert-file", "TLS_CERT_FILE", "PEM certificate for HTTPS on --listen (with --tls-key-file); re-read when it changes");
        var tlsKey = ExistingFile("--tls-key-file", "TLS_KEY_FILE", "PEM private key for --tls-cert-file");
        var auth = new Option<string>("--auth")
        {
            Description = "Who may read /metrics: none, token-file (a bearer token in --auth-token-file) or kubernetes (TokenReview and SubjectAccessReview on get /metrics, as kube-rbac-proxy)",
            DefaultValueFactory = _ => CommonOptions.Env("AUTH") ?? "none",
        };
        auth.AcceptOnlyFromAmong("none", "token-file", "kubernetes");
        var authTokenFile = ExistingFile("--auth-token-file", "AUTH_TOKEN_FILE", "File holding the bearer token /metrics requires with --auth token-file; re-read when it changes");

        var command = new Command("run", "Sample every container's CPU throttling every interval and serve it on /metrics (the default command)");
        common.AddTo(command);
        kube.AddTo(command);
        foreach (var o in new Option[] { configInterval, discoveryInterval, watchLimits, listen, watchTimeout, otlpEndpoint, otlpProtocol, otlpInterval, otlpCardinalityLimit, logFormat, tlsCert, tlsKey, auth, authTokenFile })
        {
            command.Options.Add(o);
        }

        command.Validators.Add(r =>
        {
            if ((r.GetValue(tlsCert) is null) != (r.GetValue(tlsKey) is null))
            {
                r.AddError("--tls-cert-file and --tls-key-file go together");
            }
            if (r.GetValue(auth) == "token-file" && r.GetValue(authTokenFile) is null)
            {
                r.AddError("--auth token-file needs --auth-token-file");
            }
        });
        command.SetAction(async (parse, cancel) =>
        {
            var options = new AgentOptions
            {
                CgroupRoot = parse.GetValue(common.CgroupRoot)!,
                ProcRoot = parse.GetValue(common.ProcRoot)!,
                CgroupSubtrees = parse.GetValue(common.CgroupSubtree) ?? [],
                Interval = CommonOptions.ParseInterval(parse.GetValue(common.Interval)!),
                ConfigInterval = CommonOptions.ParseInterval(parse.GetValue(configInterval)!),
                DiscoveryInterval = CommonOptions.ParseInterval(parse.GetValue(discoveryInterval)!),
                WatchLimits = parse.GetValue(watchLimits) == "true",
                Listen = parse.GetValue(listen)!,
                Kubeconfig = parse.GetValue(kube.Kubeconfig),
                NodeName = parse.GetValue(kube.NodeName)!,
                ExcludeNamespaces = kube.Excluded(parse),
                WatchTimeout = CommonOptions.ParseInterval(parse.GetValue(watchTimeout)!),
                OtlpEndpoint = parse.GetValue(otlpEndpoint),
                OtlpProtocol = parse.GetValue(otlpProtocol)!,
                OtlpInterval = CommonOptions.ParseInterval(parse.GetValue(otlpInterval)!),
                OtlpCardinalityLimit = parse.GetValue(otlpCardinalityLimit),
                LogFormat = parse.GetValue(logFormat)!,
                TlsCertFile = parse.GetValue(tlsCert),
                TlsKeyFile = parse.GetValue(tlsKey),
                Auth = parse.GetValue(auth)!,
                AuthTokenFile = parse.GetValue(authTokenFile),
            };
            if (!CommonOptions.TryDetect(context, options.CgroupRoot, options.ProcRoot, options.CgroupSubtrees, out var hierarchy))
            {
                return ExitCodes.BadInput;
            }
            if (!TryParseListen(options.Listen, out var endpoint))
            {
                context.Error.WriteLine($"error: --listen: '{options.Listen}' is not an address:port");
                return ExitCodes.BadInput;
            }
            if (options.TlsCertFile is { } certFile)
            {
                try
                {
                    using var probe = new Security.ReloadingCertificate(certFile, options.TlsKeyFile!);
                    _ = probe.Current;
                }
                catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or ArgumentException)
                {
                    context.Error.WriteLine($"error: --tls-cert-file/--tls-key-file: cannot load a certificate and key from them: {e.Message.ReplaceLineEndings(" ")}");
                    return ExitCodes.BadInput;
                }
            }
            if (options.Auth == "kubernetes" && options.Kubeconfig is null && !k8s.KubernetesClientConfiguration.IsInCluster())
            {
                context.Error.WriteLine("error: --auth kubernetes needs the Kubernetes API: run in a pod or give --kubeconfig");
                return ExitCodes.BadInput;
            }
            await using var app = AgentHost.Build(options, hierarchy!, endpoint!, ReferenceEquals(context.Error, Console.Error) ? null : context.Error);
            try
            {
                await app.StartAsync(cancel).ConfigureAwait(false);
                await app.WaitForShutdownAsync(cancel).ConfigureAwait(false);
            }
            catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("address", StringComparison.OrdinalIgnoreCase))
            {
                context.Error.WriteLine($"error: cannot listen on {options.Listen}: {e.Message}");
                return ExitCodes.BadInput;
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Option<string?> ExistingFile(string name, string env, string description)
    {
        var option = new Option<string?>(name) { Description = description, DefaultValueFactory = _ => CommonOptions.Env(env) };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } path && !File.Exists(path))
            {
                r.AddError($"{name}: '{path}' does not exist");
            }
        });
        return option;
    }

    private static Option<string> Duration(string name, string env, string fallback, string description)
    {
        var option = new Option<string>(name)
        {
            Description = description + ", Prometheus duration syntax",
            DefaultValueFactory = _ => CommonOptions.Env(env) ?? fallback,
        };
        option.Validators.Add(r =>
        {
            var text = r.GetValueOrDefault<string>();
            if (!PromDuration.TryParse(text, out var d) || d <= TimeSpan.Zero)
            {
                r.AddError($"{name}: '{text}' is not a positive duration (examples: 500ms, 10s, 5m)");
            }
        });
        return option;
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    /// <summary>"127.0.0.1:9808", "0.0.0.0:9808", "[::]:9808", ":9808" (all addresses).</summary>
    internal static bool TryParseListen(string? text, out IPEndPoint? endpoint)
    {
        endpoint = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        if (text.StartsWith(':') && int.TryParse(text.AsSpan(1), out int anyPort) && anyPort is > 0 and <= 65535)
        {
            endpoint = new IPEndPoint(IPAddress.Any, anyPort);
            return true;
        }
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            text = "127.0.0.1" + text[9..];
        }
        return IPEndPoint.TryParse(text, out endpoint) && endpoint.Port != 0 && text.Contains(':', StringComparison.Ordinal);
    }
}
