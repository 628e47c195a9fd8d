using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Authentication;
using k8s.Autorest;
using k8s.Exceptions;
using k8s.Models;

namespace ThrottleWatch.Agent.Metadata;

/// <summary>
/// The six Kubernetes API calls the agent makes (list this node's pods, read its Node, get a
/// ReplicaSet or a Job, create a TokenReview or a SubjectAccessReview), plus the HTTP client and
/// credentials the pod watch reads through.
/// <para>
/// Why not KubernetesClient's <c>Kubernetes</c> class: constructing it touches the library's
/// JSON options, whose source-generated context covers all ~1,800 API models, and NativeAOT then
/// keeps every one of their type structures: about 11 MiB of resident memory on every node for
/// five kinds of objects (docs/performance.md, "The library's JSON context out of the binary";
/// ILC's dependency log named <c>Kubernetes..ctor</c> → <c>KubernetesClientConfiguration.JsonSerializerOptions</c>
/// → <c>KubernetesJson..cctor</c>). Everything else still comes from the library: the configuration
/// (kubeconfig, in-cluster service account, the token file it re-reads), its credentials
/// (<see cref="Kubernetes.CreateCredentials"/>), its server-certificate check
/// (<see cref="Kubernetes.CertificateValidationCallBack"/>), the models of metadata, resources and
/// the reviews (a pod, a node and an owner are read into the agent's own shapes: <see cref="KubePod"/>), and the exceptions
/// (<see cref="HttpOperationException"/> for a status other than 2xx, as its generated calls throw).
/// The HTTP handler is set up as the library's constructor sets it up, and the client certificate
/// read as its (internal) <c>CertUtils</c> reads it.
/// </para>
/// </summary>
public sealed class KubeApi : IDisposable
{
    private readonly SocketsHttpHandler _handler;
    private readonly TimeSpan _timeout;

    public KubeApi(KubernetesClientConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (string.IsNullOrWhiteSpace(config.Host))
        {
            throw new KubeConfigException("Host url must be set");
        }
        try
        {
            var host = new Uri(config.Host);
            // Relative request paths resolve under the host's own path (a proxy prefix, if any).
            BaseUri = host.AbsolutePath.EndsWith('/') ? host : new Uri(host.AbsoluteUri + "/");
        }
        catch (UriFormatException e)
        {
            throw new KubeConfigException("Bad host url", e);
        }
        _handler = new SocketsHttpHandler
        {
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            KeepAlivePingDelay = TimeSpan.FromMinutes(3),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        };
        _handler.SslOptions.ClientCertificates = new X509Certificate2Collection();
        if (BaseUri.Scheme == Uri.UriSchemeHttps)
        {
            if (config.SkipTlsVerify)
            {
                // The kubeconfig says insecure-skip-tls-verify: true, as the library honours it.
#pragma warning disable CA5359
                _handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
            }
            else
            {
                var ca = config.SslCaCerts ?? throw new KubeConfigException("A CA must be set when SkipTlsVerify === false");
                _handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                    certificate is not null && chain is not null && Kubernetes.CertificateValidationCallBack(sender, ca, certificate, chain, errors);
            }
        }
        Credentials = Kubernetes.CreateCredentials(config);
        if (ClientCertificate(config) is { } clientCert)
        {
            _handler.SslOptions.ClientCertificates.Add(clientCert);
        }
        HttpClient = new HttpClient(_handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        _timeout = config.HttpClientTimeout;
    }

    /// <summary>The API server's address, ending in '/'.</summary>
    public Uri BaseUri { get; }

    /// <summary>What signs each request (a bearer token, re-read from its file in a pod), or null.</summary>
    public ServiceClientCredentials? Credentials { get; }

    /// <summary>The client every call goes through (no timeout of its own: a watch runs for minutes).</summary>
    public HttpClient HttpClient { get; }

    /// <summary><c>GET /api/v1/pods?fieldSelector=…</c>: the pods of every namespace that match the selector.</summary>
    public Task<KubePodList> ListPodsAsync(string fieldSelector, CancellationToken cancel)
        => SendAsync(HttpMethod.Get, "api/v1/pods?fieldSelector=" + Uri.EscapeDataString(fieldSelector), null, KubeJson.Default.KubePodList, cancel);

    /// <summary><c>GET /api/v1/nodes/{name}</c>.</summary>
    public Task<KubeNode> ReadNodeAsync(string name, CancellationToken cancel)
        => SendAsync(HttpMethod.Get, "api/v1/nodes/" + Uri.EscapeDataString(name), null, KubeJson.Default.KubeNode, cancel);

    /// <summary><c>GET /apis/apps/v1/namespaces/{namespace}/replicasets/{name}</c>.</summary>
    public Task<KubeObject> ReadReplicaSetAsync(string name, string ns, CancellationToken cancel)
        => SendAsync(HttpMethod.Get, Namespaced("apis/apps/v1", ns, "replicasets", name), null, KubeJson.Default.KubeObject, cancel);

    /// <summary><c>GET /apis/batch/v1/namespaces/{namespace}/jobs/{name}</c>.</summary>
    public Task<KubeObject> ReadJobAsync(string name, string ns, CancellationToken cancel)
        => SendAsync(HttpMethod.Get, Namespaced("apis/batch/v1", ns, "jobs", name), null, KubeJson.Default.KubeObject, cancel);

    /// <summary><c>POST /apis/authentication.k8s.io/v1/tokenreviews</c>.</summary>
    public Task<V1TokenReview> CreateTokenReviewAsync(V1TokenReview review, CancellationToken cancel)
    {
        review.ApiVersion ??= "authentication.k8s.io/v1";
        review.Kind ??= "TokenReview";
        return SendAsync(HttpMethod.Post, "apis/authentication.k8s.io/v1/tokenreviews",
            JsonSerializer.SerializeToUtf8Bytes(review, KubeJson.Default.V1TokenReview), KubeJson.Default.V1TokenReview, cancel);
    }

    /// <summary><c>POST /apis/authorization.k8s.io/v1/subjectaccessreviews</c>.</summary>
    public Task<V1SubjectAccessReview> CreateSubjectAccessReviewAsync(V1SubjectAccessReview review, CancellationToken cancel)
    {
        review.ApiVersion ??= "authorization.k8s.io/v1";
        review.Kind ??= "SubjectAccessReview";
        return SendAsync(HttpMethod.Post, "apis/authorization.k8s.io/v1/subjectaccessreviews",
            JsonSerializer.SerializeToUtf8Bytes(review, KubeJson.Default.V1SubjectAccessReview), KubeJson.Default.V1SubjectAccessReview, cancel);
    }

    /// <summary>Signs a request as every call is signed (the watch uses it too).</summary>
    public async Task SignAsync(HttpRequestMessage request, CancellationToken cancel)
    {
        if (Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The library's exception for an answer other than 2xx: the status and body are kept in
    /// <see cref="HttpOperationException.Response"/> (never the request's headers, which carry the token).
    /// </summary>
    internal static HttpOperationException Refused(HttpRequestMessage request, HttpResponseMessage response, string content)
        => new(string.Create(CultureInfo.InvariantCulture, $"Operation returned an invalid status code '{response.StatusCode}'"))
        {
            Request = new HttpRequestMessageWrapper(request, ""),
            Response = new HttpResponseMessageWrapper(response, content),
        };

    /// <summary>
    /// The kubeconfig's client certificate and key (inline base64 PEM or files), as the library's
    /// internal <c>CertUtils.GetClientCert</c> reads them; null when the user has none.
    /// </summary>
    internal static X509Certificate2? ClientCertificate(KubernetesClientConfiguration config)
    {
        string? cert = config.ClientCertificateData is { Length: > 0 } certData ? Pem(certData)
            : config.ClientCertificateFilePath is { Length: > 0 } certFile ? File.ReadAllText(certFile) : null;
        string? key = config.ClientCertificateKeyData is { Length: > 0 } keyData ? Pem(keyData)
            : config.ClientKeyFilePath is { Length: > 0 } keyFile ? File.ReadAllText(keyFile) : null;
        if (cert is null || key is null)
        {
            return null;
        }
        using var ephemeral = X509Certificate2.CreateFromPem(cert, key);
        // TLS wants the key in a store it can use for signing: round-trip through PKCS#12, as the library does.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);

        static string Pem(string base64) => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(base64));
    }

    private static string Namespaced(string group, string ns, string resource, string name)
        => $"{group}/namespaces/{Uri.EscapeDataString(ns)}/{resource}/{Uri.EscapeDataString(name)}";

    private async Task<T> SendAsync<T>(HttpMethod method, string path, byte[]? body, JsonTypeInfo<T> type, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        if (_timeout > TimeSpan.Zero && _timeout != Timeout.InfiniteTimeSpan)
        {
            timeout.CancelAfter(_timeout);
        }
        using var request = new HttpRequestMessage(method, new Uri(BaseUri, path));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }
        await SignAsync(request, timeout.Token).ConfigureAwait(false);
        using var response = await HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw Refused(request, response, await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false));
        }
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
        return await JsonSerializer.DeserializeAsync(stream, type, timeout.Token).ConfigureAwait(false)
            ?? throw new JsonException($"the API answered {path} with null");
    }

    public void Dispose()
    {
        HttpClient.Dispose();
        _handler.Dispose();
    }
}

/// <summary>
/// JSON for the objects the agent reads and writes, and only those: the library's own context
/// roots all of its models (see <see cref="KubeApi"/>), and its V1Pod alone 204 (<see cref="KubePod"/>).
/// Same settings as the library's: nulls left out, enums as strings, RFC 3339 times.
/// </summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    Converters = [typeof(Rfc3339DateTimeConverter)])]
[JsonSerializable(typeof(KubePodList))]
[JsonSerializable(typeof(KubePod))]
[JsonSerializable(typeof(KubeNode))]
[JsonSerializable(typeof(KubeObject))]
[JsonSerializable(typeof(V1TokenReview))]
[JsonSerializable(typeof(V1SubjectAccessReview))]
[JsonSerializable(typeof(V1Status))]
internal sealed partial class KubeJson : JsonSerializerContext;

/// <summary>
/// Kubernetes times (RFC 3339, with or without a fraction of up to nine digits) as UTC, written
/// back with microseconds, as the library reads and writes them.
/// </summary>
internal sealed class Rfc3339DateTimeConverter : JsonConverter<DateTime>
{
    public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString();
        if (text is null)
        {
            throw new JsonException("a time that is null");
        }
        // DateTimeOffset reads at most seven fractional digits: cut nanoseconds to 100 ns.
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            int end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }
            if (end - dot - 1 > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value.UtcDateTime
            : throw new JsonException($"'{text}' is not an RFC 3339 time");
    }

    public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options)
        => writer.WriteStringValue(new DateTimeOffset(value.ToUniversalTime()).ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss.ffffffK", CultureInfo.InvariantCulture));
}
