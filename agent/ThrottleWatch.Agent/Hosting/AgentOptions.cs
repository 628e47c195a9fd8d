namespace ThrottleWatch.Agent.Hosting;

/// <summary>The settings of <c>throttlewatch-agent run</c>, validated before the host starts.</summary>
public sealed class AgentOptions
{
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";
    public string ProcRoot { get; set; } = "/proc";
    public IReadOnlyList<string> CgroupSubtrees { get; set; } = [];
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often configuration files, <c>cpu.stat.local</c> and <c>cpu.pressure</c> are read.</summary>
    public TimeSpan ConfigInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How often the cgroup tree is walked for new and removed pods and containers (and right after a
    /// sweep finds a cgroup gone): a new pod is sampled within this plus one interval; a settled pod's
    /// folder is listed every sixth time (<see cref="Discovery.ContainerDiscovery"/>).
    /// </summary>
    public TimeSpan DiscoveryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether the cgroups' quota files are watched for writes (<see cref="Sampling.ConfigWatch"/>) or only polled.</summary>
    public bool WatchLimits { get; set; } = true;

    /// <summary>
    /// How often the sampling loop has the GC compact the heap and give its free memory back (also
    /// once 20 s after start, when the start-up garbage is gone); zero: never. Without it, at 2,000
    /// containers the GC let the heap grow by 12 MiB in the first three minutes before collecting it
    /// (docs/performance.md, "A compacted heap every minute").
    /// </summary>
    public TimeSpan CompactInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>host:port of the HTTP server; <c>127.0.0.1:9808</c> on a host, <c>0.0.0.0:9808</c> in the DaemonSet.</summary>
    public string Listen { get; set; } = "127.0.0.1:9808";

    public string? Kubeconfig { get; set; }
    public string NodeName { get; set; } = Environment.MachineName;
    public IReadOnlyList<string> ExcludeNamespaces { get; set; } = [];
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public string? OtlpEndpoint { get; set; }
    public string OtlpProtocol { get; set; } = "grpc";
    public TimeSpan OtlpInterval { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary>Series per OTLP metric the SDK keeps; the pipeline starts afresh at half of it (<see cref="Export.OtlpPipeline"/>).</summary>
    public int OtlpCardinalityLimit { get; set; } = 100_000;

    /// <summary>PEM certificate and key for HTTPS; both or neither. Read again when they change.</summary>
    public string? TlsCertFile { get; set; }
    public string? TlsKeyFile { get; set; }

    /// <summary>Who may read /metrics: "none", "token-file" (<see cref="AuthTokenFile"/>) or "kubernetes" (TokenReview + SubjectAccessReview).</summary>
    public string Auth { get; set; } = "none";
    public string? AuthTokenFile { get; set; }

    /// <summary>"text" (one line per event) or "json" (one JSON object per line, for log pipelines).</summary>
    public string LogFormat { get; set; } = "text";
}
