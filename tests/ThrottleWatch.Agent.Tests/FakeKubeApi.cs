using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// A stand-in Kubernetes API server on loopback that speaks the real list/watch protocol with real
/// JSON: <c>GET /api/v1/pods?fieldSelector=spec.nodeName=…</c> lists (with a resourceVersion), the
/// same with <c>watch=true</c> streams chunked JSON lines (ADDED, MODIFIED, DELETED, BOOKMARK,
/// ERROR/410), and nodes, ReplicaSets and Jobs answer <c>get</c>. Faults are switched on by the test.
/// </summary>
internal sealed class FakeKubeApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, JsonObject> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly List<(Channel<string> Channel, string Node)> _watchers = [];
    /// <summary>Every ADDED/MODIFIED/DELETED with its resourceVersion and node: a watch from version X replays what came after X, as a real server does.</summary>
    private readonly List<(long Version, string Line, string? Node)> _events = [];
    private long _resourceVersion = 1000;

    /// <summary>
    /// Plain HTTP; or, given <paramref name="serverCertificate"/>, HTTPS with it, and then with
    /// <paramref name="clientCertificates"/> a TLS client certificate is required (any: the test
    /// checks <see cref="ClientCertificateThumbprints"/>), as an API server with client-certificate users does.
    /// </summary>
    public FakeKubeApi(string nodeName, X509Certificate2? serverCertificate = null, bool clientCertificates = false)
    {
        NodeName = nodeName;
        Https = serverCertificate is not null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (serverCertificate is not null)
            {
                listen.UseHttps(https =>
                {
                    https.ServerCertificate = serverCertificate;
                    if (clientCertificates)
                    {
                        https.ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate;
                        https.ClientCertificateValidation = (_, _, _) => true;
                    }
                });
            }
        }));
        _app = builder.Build();
        _app.Use(async (context, next) =>
        {
            LastAuthorization = context.Request.Headers.Authorization.ToString();
            if (context.Connection.ClientCertificate is { } client)
            {
                lock (_gate)
                {
                    ClientCertificateThumbprints.Add(client.Thumbprint);
                }
            }
            await next(context);
        });
        _app.Run(Handle);
    }

    public string NodeName { get; }
    public bool Https { get; }
    public int Port { get; private set; }
    public string Url => $"{(Https ? "https" : "http")}://127.0.0.1:{Port}";
    /// <summary>The client certificates requests came with (HTTPS with client certificates).</summary>
    public HashSet<string> ClientCertificateThumbprints { get; } = [];
    /// <summary>The Authorization header of the latest request ("" without one).</summary>
    public string? LastAuthorization { get; private set; }

    /// <summary>Status code every request gets while set (500, 401, 403); null serves normally.</summary>
    public int? FailWith { get; set; }
    /// <summary>Answers POSTs (TokenReview, SubjectAccessReview): path and request body in, response object out.</summary>
    public Func<string, JsonNode, JsonObject>? PostHandler { get; set; }
    /// <summary>Status code every watch gets while set (lists still work: RBAC with list but not watch).</summary>
    public int? FailWatchesWith { get; set; }
    /// <summary>Watches open and then send nothing and never end (a stalled connection) while set.</summary>
    public bool StallWatches { get; set; }
    /// <summary>Answer the next watch with a 410 ERROR event (expired resourceVersion).</summary>
    public bool ExpireNextWatch { get; set; }
    /// <summary>How long every list waits before it answers (a slow server).</summary>
    public TimeSpan ListDelay { get; set; }
    /// <summary>Lists answered with malformed JSON while set.</summary>
    public bool MalformedLists { get; set; }
    /// <summary>
    /// True (a real server): lists and watches carry only the selected node's pods. False: every pod,
    /// to prove the agent filters too.
    /// </summary>
    public bool HonourFieldSelector { get; set; } = true;
    /// <summary>Counts of requests by kind.</summary>
    public int ListCount;
    public int WatchCount;
    public int OwnerGets;

    public async Task StartAsync()
    {
        await _app.StartAsync();
        var address = _app.Urls.First();
        Port = new Uri(address).Port;
    }

    /// <summary>
    /// A kubeconfig that points at this server with a bearer token, or (HTTPS) with the CA to trust
    /// and a client certificate and key instead of the token, each PEM inline as kubectl writes them.
    /// </summary>
    public string WriteKubeconfig(string dir, string? caPem = null, (string Cert, string Key)? client = null)
    {
        static string B64(string pem) => Convert.ToBase64String(Encoding.UTF8.GetBytes(pem));
        var path = Path.Combine(dir, "kubeconfig");
        var ca = caPem is null ? "" : $"\n    certificate-authority-data: {B64(caPem)}";
        var user = client is { } c
            ? $"client-certificate-data: {B64(c.Cert)}\n    client-key-data: {B64(c.Key)}"
            : "token: secret-token-never-logged";
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Url}{ca}
            users:
            - name: agent
              user:
                {user}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: agent
            current-context: fake
            """);
        return path;
    }

    public void AddObject(string apiPath, JsonObject obj)
    {
        lock (_gate)
        {
            _objects[apiPath] = obj;
        }
    }

    public void SetNode(string capacityCpu, string allocatableCpu, string? node = null)
        => AddObject($"/api/v1/nodes/{node ?? NodeName}", new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject { ["name"] = node ?? NodeName, ["resourceVersion"] = "1" },
            ["status"] = new JsonObject
            {
                ["capacity"] = new JsonObject { ["cpu"] = capacityCpu, ["memory"] = "16Gi" },
                ["allocatable"] = new JsonObject { ["cpu"] = allocatableCpu, ["memory"] = "15Gi" },
            },
        });

    /// <summary>Adds or replaces a pod and tells every open watch (ADDED or MODIFIED).</summary>
    public void Upsert(JsonObject pod)
    {
        string type;
        string line;
        lock (_gate)
        {
            var uid = pod["metadata"]!["uid"]!.GetValue<string>();
            type = _pods.ContainsKey(uid) ? "MODIFIED" : "ADDED";
            pod["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _pods[uid] = pod;
            line = Event(type, pod);
            _events.Add((_resourceVersion, line, pod["spec"]?["nodeName"]?.GetValue<string>()));
        }
        Broadcast(line, pod["spec"]?["nodeName"]?.GetValue<string>());
    }

    public void Delete(string uid)
    {
        string? line = null;
        string? node = null;
        lock (_gate)
        {
            if (_pods.Remove(uid, out var pod))
            {
                pod["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
                line = Event("DELETED", pod);
                node = pod["spec"]?["nodeName"]?.GetValue<string>();
                _events.Add((_resourceVersion, line, node));
            }
        }
        if (line is not null)
        {
            Broadcast(line, node);
        }
    }

    /// <summary>Sends a raw line to every open watch (a BOOKMARK, garbage, an ERROR).</summary>
    public void Broadcast(string line, string? node = null)
    {
        lock (_gate)
        {
            foreach (var w in _watchers)
            {
                if (node is null || !HonourFieldSelector || w.Node == node)
                {
                    w.Channel.Writer.TryWrite(line);
                }
            }
        }
    }

    public void SendBookmark()
    {
        string rv;
        lock (_gate)
        {
            rv = (++_resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        Broadcast("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"" + rv + "\"}}}");
    }

    /// <summary>Ends every open watch, as an API server does at any moment.</summary>
    public void DropWatches()
    {
        lock (_gate)
        {
            foreach (var w in _watchers)
            {
                w.Channel.Writer.TryComplete();
            }
            _watchers.Clear();
        }
    }

    public int OpenWatches
    {
        get
        {
            lock (_gate)
            {
                return _watchers.Count;
            }
        }
    }

    private static string Event(string type, JsonObject obj)
        => new JsonObject { ["type"] = type, ["object"] = JsonNode.Parse(obj.ToJsonString()) }.ToJsonString();

    private async Task Handle(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (FailWith is { } code)
        {
            await Status(response, code, code switch { 401 => "Unauthorized", 403 => "Forbidden", _ => "InternalError" });
            return;
        }
        if (HttpMethods.IsPost(request.Method) && PostHandler is { } post)
        {
            var body = await JsonNode.ParseAsync(request.Body);
            response.ContentType = "application/json";
            await response.WriteAsync(post(request.Path.Value ?? "", body!).ToJsonString());
            return;
        }
        if (request.Path == "/api/v1/pods")
        {
            var selector = request.Query["fieldSelector"].ToString();
            if (!selector.StartsWith("spec.nodeName=", StringComparison.Ordinal))
            {
                await Status(response, 400, "BadRequest");
                return;
            }
            var node = selector["spec.nodeName=".Length..];
            if (request.Query["watch"] == "true" || request.Query["watch"] == "1")
            {
                await Watch(context, node);
                return;
            }
            Interlocked.Increment(ref ListCount);
            if (ListDelay > TimeSpan.Zero)
            {
                await Task.Delay(ListDelay, context.RequestAborted);
            }
            if (MalformedLists)
            {
                response.ContentType = "application/json";
                await response.WriteAsync("{\"kind\":\"PodList\",\"items\":[{\"metadata\":");
                return;
            }
            JsonArray items;
            string rv;
            lock (_gate)
            {
                items = new JsonArray(_pods.Values.Where(p => Selected(p, node)).Select(p => (JsonNode)JsonNode.Parse(p.ToJsonString())!).ToArray());
                rv = _resourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            var list = new JsonObject
            {
                ["kind"] = "PodList",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = rv },
                ["items"] = items,
            };
            response.ContentType = "application/json";
            await response.WriteAsync(list.ToJsonString());
            return;
        }
        JsonObject? obj;
        lock (_gate)
        {
            _objects.TryGetValue(request.Path.Value ?? "", out obj);
        }
        if (request.Path.StartsWithSegments("/apis"))
        {
            Interlocked.Increment(ref OwnerGets);
        }
        if (obj is null)
        {
            await Status(response, 404, "NotFound");
            return;
        }
        response.ContentType = "application/json";
        await response.WriteAsync(obj.ToJsonString());
    }

    private bool Selected(JsonObject pod, string node) => !HonourFieldSelector || pod["spec"]?["nodeName"]?.GetValue<string>() == node;

    private async Task Watch(HttpContext context, string node)
    {
        Interlocked.Increment(ref WatchCount);
        var response = context.Response;
        if (FailWatchesWith is { } failure)
        {
            await Status(response, failure, "Forbidden");
            return;
        }
        response.ContentType = "application/json";
        if (ExpireNextWatch)
        {
            ExpireNextWatch = false;
            await response.WriteAsync("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (2)","reason":"Expired","code":410}}""" + "\n");
            return;
        }
        if (StallWatches)
        {
            await response.Body.FlushAsync();
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
            return;
        }
        var channel = Channel.CreateUnbounded<string>();
        long since = long.TryParse(context.Request.Query["resourceVersion"], out long v) ? v : 0;
        lock (_gate)
        {
            foreach (var (version, line, eventNode) in _events)
            {
                if (version > since && (!HonourFieldSelector || eventNode == node))
                {
                    channel.Writer.TryWrite(line);
                }
            }
            _watchers.Add((channel, node));
        }
        await response.Body.FlushAsync();
        var timeout = int.TryParse(context.Request.Query["timeoutSeconds"], out int t) ? TimeSpan.FromSeconds(t) : TimeSpan.FromMinutes(5);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        cancel.CancelAfter(timeout);
        try
        {
            await foreach (var line in channel.Reader.ReadAllAsync(cancel.Token))
            {
                await response.WriteAsync(line + "\n", cancel.Token);
                await response.Body.FlushAsync(cancel.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _watchers.RemoveAll(w => w.Channel == channel);
            }
        }
    }

    private static Task Status(HttpResponse response, int code, string reason)
    {
        response.StatusCode = code;
        response.ContentType = "application/json";
        return response.WriteAsync(JsonSerializer.Serialize(new { kind = "Status", apiVersion = "v1", metadata = new { }, status = "Failure", message = reason, reason, code }));
    }

    public async ValueTask DisposeAsync()
    {
        DropWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Real pod JSON as the API returns it.</summary>
internal static class PodJson
{
    public sealed record C(string Name, string? ContainerId, string? RequestCpu = null, string? LimitCpu = null, string? AppliedRequestCpu = null);

    public static JsonObject Pod(
        string ns, string name, string uid, string node, string qos,
        IReadOnlyList<C> containers,
        IReadOnlyList<C>? init = null,
        (string Kind, string Name)? owner = null,
        string? configHash = null,
        string phase = "Running")
    {
        JsonObject Resources(C c)
        {
            var r = new JsonObject();
            if (c.RequestCpu is not null) r["requests"] = new JsonObject { ["cpu"] = c.RequestCpu, ["memory"] = "64Mi" };
            if (c.LimitCpu is not null) r["limits"] = new JsonObject { ["cpu"] = c.LimitCpu, ["memory"] = "128Mi" };
            return r;
        }
        JsonObject Spec(C c) => new() { ["name"] = c.Name, ["image"] = "registry.example/" + c.Name + ":1.0", ["resources"] = Resources(c) };
        JsonObject Status(C c)
        {
            var s = new JsonObject
            {
                ["name"] = c.Name,
                ["ready"] = true,
                ["restartCount"] = 0,
                ["image"] = "registry.example/" + c.Name + ":1.0",
                ["imageID"] = "registry.example/" + c.Name + "@sha256:" + new string('0', 64),
                ["started"] = true,
                ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = "2026-11-27T08:00:00Z" } },
            };
            if (c.ContainerId is not null) s["containerID"] = "containerd://" + c.ContainerId;
            if (c.AppliedRequestCpu is not null)
            {
                s["resources"] = new JsonObject
                {
                    ["requests"] = new JsonObject { ["cpu"] = c.AppliedRequestCpu },
                    ["limits"] = c.LimitCpu is null ? new JsonObject() : new JsonObject { ["cpu"] = c.LimitCpu },
                };
            }
            return s;
        }

        var metadata = new JsonObject
        {
            ["name"] = name,
            ["namespace"] = ns,
            ["uid"] = uid,
            ["creationTimestamp"] = "2026-11-27T08:00:00Z",
            ["labels"] = new JsonObject { ["app"] = name },
        };
        if (owner is { } o)
        {
            metadata["ownerReferences"] = new JsonArray(new JsonObject
            {
                ["apiVersion"] = o.Kind is "ReplicaSet" or "StatefulSet" or "DaemonSet" ? "apps/v1" : "batch/v1",
                ["kind"] = o.Kind,
                ["name"] = o.Name,
                ["uid"] = Guid.NewGuid().ToString(),
                ["controller"] = true,
                ["blockOwnerDeletion"] = true,
            });
        }
        if (configHash is not null)
        {
            metadata["annotations"] = new JsonObject
            {
                ["kubernetes.io/config.hash"] = configHash,
                ["kubernetes.io/config.mirror"] = configHash,
                ["kubernetes.io/config.source"] = "file",
            };
        }
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = metadata,
            ["spec"] = new JsonObject
            {
                ["nodeName"] = node,
                ["containers"] = new JsonArray(containers.Select(c => (JsonNode)Spec(c)).ToArray()),
                ["initContainers"] = new JsonArray((init ?? []).Select(c => (JsonNode)Spec(c)).ToArray()),
                ["restartPolicy"] = "Always",
            },
            ["status"] = new JsonObject
            {
                ["phase"] = phase,
                ["qosClass"] = qos,
                ["podIP"] = "10.244.0.12",
                ["containerStatuses"] = new JsonArray(containers.Select(c => (JsonNode)Status(c)).ToArray()),
                ["initContainerStatuses"] = new JsonArray((init ?? []).Select(c => (JsonNode)Status(c)).ToArray()),
            },
        };
    }

    public static JsonObject Owned(string apiVersion, string kind, string ns, string name, (string Kind, string Name)? owner)
    {
        var metadata = new JsonObject { ["name"] = name, ["namespace"] = ns, ["uid"] = Guid.NewGuid().ToString(), ["resourceVersion"] = "7" };
        if (owner is { } o)
        {
            metadata["ownerReferences"] = new JsonArray(new JsonObject
            {
                ["apiVersion"] = o.Kind == "Deployment" ? "apps/v1" : "batch/v1",
                ["kind"] = o.Kind,
                ["name"] = o.Name,
                ["uid"] = Guid.NewGuid().ToString(),
                ["controller"] = true,
            });
        }
        return new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind, ["metadata"] = metadata, ["spec"] = new JsonObject() };
    }
}
