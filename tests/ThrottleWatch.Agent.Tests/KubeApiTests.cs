using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using ThrottleWatch.Agent.Metadata;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// The agent's own API calls (<see cref="KubeApi"/>) with what a kubeconfig or a pod gives them:
/// TLS checked against the cluster's CA, a client certificate, a bearer token, the library's
/// exceptions, and Kubernetes times read as the library reads them.
/// </summary>
public sealed class KubeApiTests : IDisposable
{
    private const string Node = "node-1";
    private readonly TempTree _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A CA, and a certificate for <paramref name="name"/> it signs (127.0.0.1 for a server); PEM, and the certificate with its key.</summary>
    private static (string CaPem, X509Certificate2 Leaf, string LeafPem, string KeyPem) Issue(string name, bool server)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={name}-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        using var signed = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-4), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(key);
        var leaf = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        return (ca.ExportCertificatePem(), leaf, signed.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    [Fact]
    public async Task Over_https_the_server_is_checked_against_the_kubeconfigs_ca_and_the_client_certificate_is_sent()
    {
        var server = Issue("apiserver", server: true);
        var client = Issue("throttlewatch", server: false);
        await using var api = new FakeKubeApi(Node, server.Leaf, clientCertificates: true);
        await api.StartAsync();
        api.Upsert(PodJson.Pod("shop", "web-0", "uid-web-0", Node, "Burstable", [new PodJson.C("app", "containerd://aaa", "250m", "500m")]));
        api.SetNode("8", "7800m");
        var kubeconfig = api.WriteKubeconfig(_dir.Path, server.CaPem, (client.LeafPem, client.KeyPem));

        using var kube = new KubeApi(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        var list = await kube.ListPodsAsync("spec.nodeName=" + Node, CancellationToken.None);
        var node = await kube.ReadNodeAsync(Node, CancellationToken.None);

        var pod = Assert.Single(list.Items);
        Assert.Equal("uid-web-0", pod.Metadata!.Uid);
        Assert.Equal("500m", pod.Spec!.Containers![0].Resources!.Limits["cpu"].ToString());
        Assert.Equal(new DateTime(2026, 11, 27, 8, 0, 0, DateTimeKind.Utc), pod.Metadata.CreationTimestamp);
        Assert.Equal(DateTimeKind.Utc, pod.Metadata.CreationTimestamp!.Value.Kind);
        Assert.Equal(7.8m, node.Status!.Allocatable!["cpu"].ToDecimal());
        Assert.False(string.IsNullOrEmpty(list.Metadata!.ResourceVersion));
        using var sent = X509Certificate2.CreateFromPem(client.LeafPem);
        Assert.Equal([sent.Thumbprint], api.ClientCertificateThumbprints);
    }

    [Fact]
    public async Task A_server_certificate_from_another_ca_is_refused_before_any_request()
    {
        var server = Issue("apiserver", server: true);
        var other = Issue("someone-else", server: true);
        await using var api = new FakeKubeApi(Node, server.Leaf);
        await api.StartAsync();
        var kubeconfig = api.WriteKubeconfig(_dir.Path, other.CaPem);

        using var kube = new KubeApi(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => kube.ListPodsAsync("spec.nodeName=" + Node, CancellationToken.None));
        Assert.IsType<System.Security.Authentication.AuthenticationException>(e.InnerException);
        Assert.Equal(0, api.ListCount);
    }

    [Fact]
    public async Task A_refusal_is_the_librarys_exception_with_the_status_and_the_token_is_sent_as_a_bearer()
    {
        await using var api = new FakeKubeApi(Node);
        await api.StartAsync();
        var kubeconfig = api.WriteKubeconfig(_dir.Path);
        using var kube = new KubeApi(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));

        string? authorization = null;
        api.PostHandler = (path, body) =>
        {
            authorization = api.LastAuthorization;
            Assert.Equal("/apis/authentication.k8s.io/v1/tokenreviews", path);
            Assert.Equal("TokenReview", (string?)body["kind"]);
            Assert.Equal("a-callers-token", (string?)body["spec"]!["token"]);
            return new System.Text.Json.Nodes.JsonObject
            {
                ["apiVersion"] = "authentication.k8s.io/v1", ["kind"] = "TokenReview",
                ["status"] = new System.Text.Json.Nodes.JsonObject { ["authenticated"] = true, ["user"] = new System.Text.Json.Nodes.JsonObject { ["username"] = "prometheus" } },
            };
        };
        var review = await kube.CreateTokenReviewAsync(new k8s.Models.V1TokenReview { Spec = new() { Token = "a-callers-token" } }, CancellationToken.None);
        Assert.True(review.Status.Authenticated);
        Assert.Equal("prometheus", review.Status.User.Username);
        Assert.Equal("Bearer secret-token-never-logged", authorization);

        api.FailWith = 403;
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => kube.ReadNodeAsync(Node, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Forbidden, refused.Response.StatusCode);
        Assert.DoesNotContain("secret-token-never-logged", refused.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-11-27T08:00:00Z", 0)]
    [InlineData("2026-11-27T08:00:00.123456Z", 1_234_560)]
    [InlineData("2026-11-27T08:00:00.123456789Z", 1_234_567)]
    [InlineData("2026-11-27T09:00:00.5+01:00", 5_000_000)]
    public void Kubernetes_times_are_read_as_utc_to_100_ns(string text, long ticksPastEight)
    {
        var json = "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"creationTimestamp\":\"" + text + "\"}}";
        var pod = JsonSerializer.Deserialize(json, KubeJson.Default.KubePod)!;
        Assert.Equal(new DateTime(2026, 11, 27, 8, 0, 0, DateTimeKind.Utc).AddTicks(ticksPastEight), pod.Metadata!.CreationTimestamp);
        Assert.Equal(DateTimeKind.Utc, pod.Metadata.CreationTimestamp!.Value.Kind);
    }

    [Fact]
    public void A_time_that_is_not_rfc3339_is_a_json_error()
    {
        var json = """{"metadata":{"creationTimestamp":"yesterday"}}""";
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(json, KubeJson.Default.KubePod));
    }

    /// <summary>
    /// The image's build (NativeAOT, trimmed) over the same HTTPS with a client certificate: the
    /// JSON and TLS code above is what ships, so it is run as shipped. <c>scripts/test.sh</c>
    /// publishes it and names it in THROTTLEWATCH_AOT_AGENT; without it this test fails (CI must run it).
    /// </summary>
    [Fact]
    public async Task The_shipped_nativeaot_build_names_series_from_an_https_api_with_a_client_certificate()
    {
        var binary = Environment.GetEnvironmentVariable("THROTTLEWATCH_AOT_AGENT");
        Assert.True(binary is { Length: > 0 } && File.Exists(binary),
            "THROTTLEWATCH_AOT_AGENT must name the NativeAOT agent (scripts/test.sh publishes it to out/agent-amd64 and sets it)");
        var server = Issue("apiserver", server: true);
        var client = Issue("throttlewatch", server: false);
        using var tree = Fixtures.CopyToTemp("v1-cgroupfs-separate");
        var expected = Fixtures.LoadExpected("v1-cgroupfs-separate");
        await using var api = new FakeKubeApi(Node, server.Leaf, clientCertificates: true);
        await api.StartAsync();
        api.SetNode("8", "7800m");
        var sandboxes = RecordTests.ServeFixturePods(api, expected, Node);
        var kubeconfig = api.WriteKubeconfig(_dir.Path, server.CaPem, (client.LeafPem, client.KeyPem));
        var file = Path.Combine(_dir.Path, "node.om");

        var start = new ProcessStartInfo(binary!)
        {
            ArgumentList = { "record", "--cgroup-root", tree.Path, "--proc-root", Path.Combine(Fixtures.Dir, "proc"), "--kubeconfig", kubeconfig,
                "--node-name", Node, "--exclude-namespaces", "skip-me", "--duration", "1s", "--interval", "100ms", "--step", "200ms", "--out", file },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, await stderr);

        var rec = Recording.Parse(await File.ReadAllTextAsync(file));
        var usage = rec.Points.Where(p => p.Name == MetricCatalog.ContainerUsageSeconds).ToList();
        Assert.NotEmpty(usage);
        Assert.All(usage, p => Assert.Contains(p["namespace"], new[] { "shop", "kube-system" }));
        Assert.DoesNotContain(usage, p => sandboxes.Contains(p["container_id"]));
        Assert.Contains(rec.Points, p => p.Name == MetricCatalog.NodeAllocatable && p.Value == 7.8);
        Assert.Contains(rec.Points, p => p.Name == MetricCatalog.PodUsageSeconds && p["pod"] == "etcd-node-1" && p["namespace"] == "kube-system");
        using var sent = X509Certificate2.CreateFromPem(client.LeafPem);
        Assert.Equal([sent.Thumbprint], api.ClientCertificateThumbprints);
    }
}
