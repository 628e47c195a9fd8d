using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace ThrottleWatch.Agent.Metadata;

/// <summary>What a watch event says happened (the <c>type</c> of a watch line).</summary>
public enum WatchEventType
{
    Added,
    Modified,
    Deleted,
    Error,
    Bookmark,
}

/// <summary>
/// One pod watch (<c>GET /api/v1/pods?watch=true</c>) read line by line over <see cref="KubeApi"/>'s
/// HttpClient and credentials. KubernetesClient.Aot leaves out the library's Watcher (its generic
/// JSON is not trimming-safe), so this is the read loop it would run, with the agent's
/// source-generated JSON for the library's models (<see cref="KubeJson"/>). The server writes one event per line
/// (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
/// <code>
/// {"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-0","uid":"…","resourceVersion":"1042"},…}}
/// {"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"1050"}}}
/// {"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,…}}
/// </code>
/// As with the library's watch: a status other than 2xx throws <see cref="HttpOperationException"/>;
/// a Status object (an ERROR event) goes to <c>onError</c> as a <see cref="KubernetesException"/>; a
/// line that cannot be read goes to <c>onError</c> and the watch reads on; the server ending the
/// body ends the enumeration.
/// </summary>
internal static class PodWatchStream
{
    public static async IAsyncEnumerable<(WatchEventType Type, KubePod? Pod)> WatchAsync(
        KubeApi client,
        string fieldSelector,
        string resourceVersion,
        int timeoutSeconds,
        Action<Exception> onError,
        [EnumeratorCancellation] CancellationToken cancel)
    {
        var query = string.Create(CultureInfo.InvariantCulture,
            $"api/v1/pods?allowWatchBookmarks=true&fieldSelector={Uri.EscapeDataString(fieldSelector)}&resourceVersion={Uri.EscapeDataString(resourceVersion)}&timeoutSeconds={timeoutSeconds}&watch=true");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(client.BaseUri, query)) { Version = HttpVersion.Version20 };
        await client.SignAsync(request, cancel).ConfigureAwait(false);
        using var response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var content = await response.Content.ReadAsStringAsync(cancel).ConfigureAwait(false);
            throw KubeApi.Refused(request, response, content);
        }
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false), Encoding.UTF8);
        while (await reader.ReadLineAsync(cancel).ConfigureAwait(false) is { } line)
        {
            cancel.ThrowIfCancellationRequested();
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            (WatchEventType, KubePod?)? watchEvent = null;
            try
            {
                watchEvent = Parse(line, onError);
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or OverflowException)
            {
                // A line that cannot be read is reported and skipped; the watch reads on.
                onError(e);
            }
            if (watchEvent is { } read)
            {
                yield return read;
            }
        }
    }

    /// <summary>One watch line: an event, or null when it carried a Status (handed to <paramref name="onError"/>).</summary>
    internal static (WatchEventType, KubePod?)? Parse(string line, Action<Exception> onError)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("object", out var obj) || obj.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("a watch event without an object");
        }
        if (obj.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String && kind.ValueEquals("Status"))
        {
            onError(new KubernetesException(obj.Deserialize(KubeJson.Default.V1Status)));
            return null;
        }
        var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var eventType = type?.ToUpperInvariant() switch
        {
            "ADDED" => WatchEventType.Added,
            "MODIFIED" => WatchEventType.Modified,
            "DELETED" => WatchEventType.Deleted,
            "ERROR" => WatchEventType.Error,
            "BOOKMARK" => WatchEventType.Bookmark,
            _ => throw new JsonException($"unknown watch event type '{type}'"),
        };
        return (eventType, obj.Deserialize(KubeJson.Default.KubePod));
    }
}
