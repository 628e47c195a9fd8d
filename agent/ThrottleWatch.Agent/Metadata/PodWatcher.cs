using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ThrottleWatch.Agent.Metadata;

/// <summary>
/// Lists, then watches, this node's pods (field selector <c>spec.nodeName</c>) from the list's
/// resourceVersion, and keeps the <see cref="PodIndex"/> current. A watch is never permanent: the
/// server may end it at any time (it is resumed from the last resourceVersion), a stalled one is cut
/// after its timeout, 410 Gone means list again, and errors back off exponentially (1 s to 60 s, with
/// jitter): never a re-list in a tight loop.
/// </summary>
public sealed class PodWatcher(
    KubeApi client,
    string nodeName,
    PodIndex index,
    KubernetesStatus status,
    TimeSpan watchTimeout,
    ILogger<PodWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);
    private readonly WorkloadResolver _workloads = new(client);
    private string Selector => "spec.nodeName=" + nodeName;

    public WorkloadResolver Workloads => _workloads;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stop = stoppingToken;
        var backoff = TimeSpan.FromSeconds(1);
        var lastList = DateTime.MinValue;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                // Even a server that answers 410 to every watch gets at most one list a second.
                var since = DateTime.UtcNow - lastList;
                if (since < TimeSpan.FromSeconds(1))
                {
                    await Task.Delay(TimeSpan.FromSeconds(1) - since, stop).ConfigureAwait(false);
                }
                lastList = DateTime.UtcNow;
                var rv = await ListAsync(stop).ConfigureAwait(false);
                if (await WatchAsync(rv, stop).ConfigureAwait(false))
                {
                    // Back off afresh only once a watch has worked: a server that lists but
                    // refuses every watch must not get a list every second.
                    backoff = TimeSpan.FromSeconds(1);
                }
                // 410 Gone: list again at once (once; a second failure backs off below).
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or KubernetesException or IOException
                                          or System.Text.Json.JsonException or OperationCanceledException or TimeoutException)
            {
                if (e is HttpOperationException { Response.StatusCode: System.Net.HttpStatusCode.Gone })
                {
                    MetadataLog.Gone(logger);
                    continue;
                }
                status.Up = false;
                var delay = backoff + TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)(backoff.TotalMilliseconds / 4) + 1));
                MetadataLog.Unavailable(logger, Describe(e), delay);
                try
                {
                    await Task.Delay(delay, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
        status.Up = false;
    }

    private async Task<string> ListAsync(CancellationToken stop)
    {
        status.CountList();
        var list = await client.ListPodsAsync(Selector, stop).ConfigureAwait(false);
        var pods = new List<PodMeta>(list.Items.Count);
        foreach (var pod in list.Items)
        {
            if (IsOurs(pod))
            {
                pods.Add(await ToMetaAsync(pod, stop).ConfigureAwait(false));
            }
        }
        index.Replace(pods);
        await ReadNodeAsync(stop).ConfigureAwait(false);
        status.Up = true;
        status.Listed = true;
        MetadataLog.Listed(logger, pods.Count, nodeName);
        return list.Metadata?.ResourceVersion ?? "";
    }

    /// <summary>
    /// Watches until the server answers 410 Gone; every other end of a watch resumes it. Returns
    /// whether any watch delivered an event or ran its course (so the caller can reset its backoff).
    /// </summary>
    private async Task<bool> WatchAsync(string resourceVersion, CancellationToken stop)
    {
        var rv = resourceVersion;
        bool worked = false;
        while (!stop.IsCancellationRequested)
        {
            status.CountWatch();
            using var watchCancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
            // The server ends the watch after timeoutSeconds; a connection that stalls past that (plus
            // slack: 15 s, or the timeout itself when shorter) is cut and the watch resumed.
            watchCancel.CancelAfter(watchTimeout + (watchTimeout < TimeSpan.FromSeconds(15) ? watchTimeout : TimeSpan.FromSeconds(15)));
            bool gone = false;
            bool healthy = false;
            var started = DateTime.UtcNow;
            try
            {
                await foreach (var (type, pod) in PodWatchStream.WatchAsync(client, Selector, rv, (int)watchTimeout.TotalSeconds, onError: e =>
                {
                    if (e is KubernetesException { Status.Code: 410 })
                    {
                        gone = true;
                        watchCancel.Cancel();
                    }
                    else
                    {
                        status.CountWatchError();
                        MetadataLog.BadEvent(logger, Describe(e));
                    }
                }, watchCancel.Token).ConfigureAwait(false))
                {
                    // Applied first, then the version moves on: an event is never skipped on resume.
                    await ApplyAsync(type, pod, stop).ConfigureAwait(false);
                    if (pod?.Metadata?.ResourceVersion is { Length: > 0 } v)
                    {
                        rv = v;
                    }
                    healthy = true;
                }
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                if (gone)
                {
                    MetadataLog.Gone(logger);
                    return worked || healthy;
                }
                // A stalled watch was cut: resume from the last version.
            }
            status.Up = true;
            worked |= healthy || DateTime.UtcNow - started >= TimeSpan.FromSeconds(1);
            if (DateTime.UtcNow - started < TimeSpan.FromSeconds(1))
            {
                // A server that ends watches at once must not turn this into a tight loop.
                await Task.Delay(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
            }
        }
        return worked;
    }

    private async Task ApplyAsync(WatchEventType type, KubePod? pod, CancellationToken stop)
    {
        if (pod?.Metadata?.Uid is not { } uid || type == WatchEventType.Bookmark)
        {
            return;
        }
        if (type == WatchEventType.Deleted || !IsOurs(pod))
        {
            index.Remove(uid);
            return;
        }
        if (type is WatchEventType.Added or WatchEventType.Modified)
        {
            index.Upsert(await ToMetaAsync(pod, stop).ConfigureAwait(false));
        }
    }

    /// <summary>The field selector already filters; a server that ignores it must not add other nodes' pods.</summary>
    private bool IsOurs(KubePod pod) => string.Equals(pod.Spec?.NodeName, nodeName, StringComparison.Ordinal);

    private async Task<PodMeta> ToMetaAsync(KubePod pod, CancellationToken stop)
    {
        var (kind, name) = await _workloads.ResolveAsync(pod, stop).ConfigureAwait(false);
        return PodIndex.FromPod(pod, kind, name);
    }

    private async Task ReadNodeAsync(CancellationToken stop)
    {
        try
        {
            var node = await client.ReadNodeAsync(nodeName, stop).ConfigureAwait(false);
            status.NodeCapacityCores = Cores(node.Status?.Capacity);
            status.NodeAllocatableCores = Cores(node.Status?.Allocatable);
        }
        catch (HttpOperationException e)
        {
            MetadataLog.NodeFailed(logger, nodeName, Describe(e));
        }
    }

    private static double? Cores(IDictionary<string, ResourceQuantity>? r)
        => r is not null && r.TryGetValue("cpu", out var q) ? (double)q.ToDecimal() : null;

    /// <summary>One line, never a token: status codes and messages only.</summary>
    private static string Describe(Exception e) => e switch
    {
        HttpOperationException h => string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)h.Response.StatusCode} {h.Response.ReasonPhrase}"),
        KubernetesException k => string.Create(CultureInfo.InvariantCulture, $"{k.Status?.Code} {k.Status?.Reason}: {k.Status?.Message}"),
        _ => e.GetType().Name + ": " + e.Message.ReplaceLineEndings(" "),
    };
}
