using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>/metrics over TLS (certificates re-read when they change) and behind a bearer token, with real TLS clients on loopback.</summary>
public sealed class SecurityTests : IDisposable
{
    private readonly TempTree _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (string Cert, string Key, string Thumbprint) NewCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return (cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem(), cert.Thumbprint);
    }

    [Fact]
    public async Task Metrics_over_tls_and_a_rotated_certificate_is_served_without_a_restart()
    {
        var first = NewCertificate("first");
        var certFile = _dir.Write("tls.crt", first.Cert);
        var keyFile = _dir.Write("tls.key", first.Key);
        await using var agent = new AgentRunner("--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", "/nonexistent", "--interval", "100ms",
            "--tls-cert-file", certFile, "--tls-key-file", keyFile);

        async Task<(string Thumbprint, string Body)> Get()
        {
            string? seen = null;
            using var handler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, cert, _, _) => { seen = cert!.Thumbprint; return true; },
            };
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
            var body = await http.GetStringAsync($"https://127.0.0.1:{agent.Port}/metrics");
            return (seen!, body);
        }

        (string Thumbprint, string Body) got = default;
        for (int i = 0; i < 100 && got.Body is null; i++)
        {
            try
            {
                got = await Get();
            }
            catch (HttpRequestException)
            {
                await Task.Delay(200);
            }
        }
        Assert.Equal(first.Thumbprint, got.Thumbprint);
        Assert.Contains(MetricCatalog.ContainerUsageSeconds, got.Body, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HttpRequestException>(() => agent.Http.GetAsync($"http://127.0.0.1:{agent.Port}/metrics")); // no plain HTTP

        var second = NewCertificate("second");
        await File.WriteAllTextAsync(keyFile, second.Key);
        await File.WriteAllTextAsync(certFile, second.Cert);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (got.Thumbprint != second.Thumbprint && DateTime.UtcNow < until)
        {
            await Task.Delay(500);
            got = await Get();
        }
        Assert.Equal(second.Thumbprint, got.Thumbprint);
    }

    /// <summary>
    /// What the secure overlays ask of Prometheus (deploy/components/secure-metrics: https, the
    /// agents' name checked against the Secret's CA, a bearer token), done by a real Prometheus
    /// against the agent: the job with the token scrapes, the one without is refused, and one that
    /// expects another name fails the TLS check.
    /// </summary>
    [Fact]
    public async Task A_real_prometheus_scrapes_over_tls_with_the_service_name_and_a_token()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=throttlewatch-agent", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("throttlewatch-agent.throttlewatch.svc");
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // A self-signed certificate is its own CA: the Secret's ca.crt is tls.crt.
        var certFile = _dir.Write("tls.crt", cert.ExportCertificatePem());
        var keyFile = _dir.Write("tls.key", key.ExportPkcs8PrivateKeyPem());
        var tokenFile = _dir.Write("token", "scraper-token\n");
        await using var agent = new AgentRunner("--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", "/nonexistent", "--interval", "200ms",
            "--tls-cert-file", certFile, "--tls-key-file", keyFile, "--auth", "token-file", "--auth-token-file", tokenFile);

        string Job(string name, string serverName, bool token) => $$"""
            - job_name: {{name}}
              scheme: https
              {{(token ? $"authorization: {{ credentials_file: \"{tokenFile}\" }}" : "")}}
              tls_config: { ca_file: "{{certFile}}", server_name: "{{serverName}}" }
              static_configs:
              - targets: ["127.0.0.1:{{agent.Port}}"]
            """;
        await using var prometheus = new PrometheusServer(string.Join("\n", [
            Job("secure", "throttlewatch-agent.throttlewatch.svc", token: true),
            Job("no-token", "throttlewatch-agent.throttlewatch.svc", token: false),
            Job("wrong-name", "someone-else.throttlewatch.svc", token: true),
        ]));
        await prometheus.WaitReadyAsync();

        List<(string Job, string Health, string LastError)> targets = [];
        for (int i = 0; i < 60 && (targets.Count < 3 || targets.Any(t => t.Health == "unknown")); i++)
        {
            await Task.Delay(500);
            targets = await prometheus.TargetsAsync();
        }
        var byJob = targets.ToDictionary(t => t.Job);
        Assert.True(byJob["secure"].Health == "up", $"secure: {byJob["secure"].Health} {byJob["secure"].LastError}");
        Assert.Equal("down", byJob["no-token"].Health);
        Assert.Contains("401", byJob["no-token"].LastError, StringComparison.Ordinal);
        Assert.Equal("down", byJob["wrong-name"].Health);
        Assert.Contains("certificate", byJob["wrong-name"].LastError, StringComparison.OrdinalIgnoreCase);

        var info = await prometheus.QueryAsync($"{MetricCatalog.AgentBuildInfo}{{job=\"secure\"}}");
        Assert.Equal(1.0, Assert.Single(info).Value);
        Assert.DoesNotContain("scraper-token", agent.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_static_token_guards_metrics_but_not_the_probes()
    {
        var tokenFile = _dir.Write("token", "s3cret-one\n");
        await using var agent = new AgentRunner("--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", "/nonexistent", "--interval", "100ms",
            "--auth", "token-file", "--auth-token-file", tokenFile);
        await agent.WaitReadyAsync();
        Assert.Equal(HttpStatusCode.OK, (await agent.Http.GetAsync(agent.Url + "/healthz")).StatusCode);

        async Task<HttpStatusCode> Scrape(string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, agent.Url + "/metrics");
            if (token is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }
            return (await agent.Http.SendAsync(request)).StatusCode;
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await Scrape(null));
        Assert.Equal(HttpStatusCode.Unauthorized, await Scrape("wrong"));
        Assert.Equal(HttpStatusCode.OK, await Scrape("s3cret-one"));

        await File.WriteAllTextAsync(tokenFile, "s3cret-two\n");
        File.SetLastWriteTimeUtc(tokenFile, DateTime.UtcNow.AddSeconds(5));
        Assert.Equal(HttpStatusCode.Unauthorized, await Scrape("s3cret-one"));
        Assert.Equal(HttpStatusCode.OK, await Scrape("s3cret-two"));
        Assert.DoesNotContain("s3cret", agent.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubernetes_token_and_access_reviews_decide_who_reads_metrics()
    {
        await using var api = new FakeKubeApi("node-1");
        await api.StartAsync();
        var reviews = 0;
        api.PostHandler = (path, body) =>
        {
            Interlocked.Increment(ref reviews);
            if (path.EndsWith("/tokenreviews", StringComparison.Ordinal))
            {
                var token = body["spec"]!["token"]!.GetValue<string>();
                var user = token switch { "alice-token" => "alice", "bob-token" => "bob", _ => null };
                return new JsonObject
                {
                    ["apiVersion"] = "authentication.k8s.io/v1",
                    ["kind"] = "TokenReview",
                    ["status"] = user is null
                        ? new JsonObject { ["authenticated"] = false }
                        : new JsonObject { ["authenticated"] = true, ["user"] = new JsonObject { ["username"] = user, ["uid"] = user + "-uid", ["groups"] = new JsonArray("system:authenticated") } },
                };
            }
            var allowed = body["spec"]!["user"]!.GetValue<string>() == "alice"
                && body["spec"]!["nonResourceAttributes"]!["path"]!.GetValue<string>() == "/metrics"
                && body["spec"]!["nonResourceAttributes"]!["verb"]!.GetValue<string>() == "get";
            return new JsonObject { ["apiVersion"] = "authorization.k8s.io/v1", ["kind"] = "SubjectAccessReview", ["status"] = new JsonObject { ["allowed"] = allowed } };
        };
        var kubeconfig = api.WriteKubeconfig(_dir.Path);
        await using var agent = new AgentRunner("--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--proc-root", "/nonexistent", "--interval", "100ms",
            "--kubeconfig", kubeconfig, "--node-name", "node-1", "--auth", "kubernetes");
        await agent.WaitReadyAsync();

        async Task<HttpStatusCode> Scrape(string token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, agent.Url + "/metrics");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            return (await agent.Http.SendAsync(request)).StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, await Scrape("alice-token"));
        Assert.Equal(HttpStatusCode.Forbidden, await Scrape("bob-token"));
        Assert.Equal(HttpStatusCode.Unauthorized, await Scrape("mallory-token"));
        int asked = reviews;
        Assert.Equal(HttpStatusCode.OK, await Scrape("alice-token"));
        Assert.Equal(asked, reviews); // cached for a minute
    }

    [Theory]
    [InlineData("--tls-cert-file", "/no/such.crt")]
    [InlineData("--auth", "token-file")]
    [InlineData("--auth", "kubernetes")]
    public async Task Security_flags_are_checked_at_start(string flag, string value)
    {
        var (code, _, stderr) = await CliTests.Run("run", "--cgroup-root", Fixtures.Root("v2-cgroupfs"), "--listen", $"127.0.0.1:{AgentRunner.FreePort()}", flag, value);
        Assert.Equal(2, code);
        Assert.All(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.StartsWith("error: ", l, StringComparison.Ordinal));
    }
}
