using k8s.Autorest;
using k8s.Models;

namespace ThrottleWatch.Agent.Metadata;

/// <summary>
/// A pod's workload from its owner: ReplicaSet → its Deployment, Job → its CronJob, StatefulSet and
/// DaemonSet as they are, no owner → the bare pod. Owners are read with a cached <c>get</c> (the RBAC
/// grants <c>get</c> on ReplicaSets and Jobs), once per owner, never per sweep.
/// </summary>
public sealed class WorkloadResolver(KubeApi client)
{
    private static readonly TimeSpan RetryFailedAfter = TimeSpan.FromMinutes(5);
    private const int MaxCached = 10_000;
    private readonly Dictionary<(string Kind, string Namespace, string Name), (string Kind, string Name, DateTime? FailedAt)> _cache = new();
    private readonly Lock _gate = new();

    /// <summary>How many owner lookups went to the API (a test can see the cache work).</summary>
    public int Lookups { get; private set; }

    public async Task<(string Kind, string Name)> ResolveAsync(KubePod pod, CancellationToken cancel)
    {
        var owner = pod.Metadata?.OwnerReferences?.FirstOrDefault(o => o.Controller == true) ?? pod.Metadata?.OwnerReferences?.FirstOrDefault();
        if (owner is null)
        {
            return ("Pod", pod.Metadata?.Name ?? "");
        }
        if (owner.Kind is not ("ReplicaSet" or "Job"))
        {
            return (owner.Kind, owner.Name);
        }
        var ns = pod.Metadata!.NamespaceProperty ?? "";
        var key = (owner.Kind, ns, owner.Name);
        lock (_gate)
        {
            if (_cache.TryGetValue(key, out var hit) && (hit.FailedAt is null || DateTime.UtcNow - hit.FailedAt < RetryFailedAfter))
            {
                return (hit.Kind, hit.Name);
            }
        }

        (string Kind, string Name, DateTime? FailedAt) result;
        try
        {
            Lookups++;
            IList<V1OwnerReference>? parents = owner.Kind == "ReplicaSet"
                ? (await client.ReadReplicaSetAsync(owner.Name, ns, cancel).ConfigureAwait(false)).Metadata?.OwnerReferences
                : (await client.ReadJobAsync(owner.Name, ns, cancel).ConfigureAwait(false)).Metadata?.OwnerReferences;
            var parent = parents?.FirstOrDefault(o => o.Controller == true) ?? parents?.FirstOrDefault();
            result = parent is not null && parent.Kind is "Deployment" or "CronJob"
                ? (parent.Kind, parent.Name, null)
                : (owner.Kind, owner.Name, null);
        }
        catch (HttpOperationException)
        {
            // Forbidden or gone: name the immediate owner, and ask again later.
            result = (owner.Kind, owner.Name, DateTime.UtcNow);
        }
        catch (HttpRequestException)
        {
            result = (owner.Kind, owner.Name, DateTime.UtcNow);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            // The get timed out: the caller must not mistake this for its own watch being cut.
            result = (owner.Kind, owner.Name, DateTime.UtcNow);
        }
        lock (_gate)
        {
            // Every CronJob run makes a new Job name: bound the cache rather than keep every owner ever seen.
            if (_cache.Count >= MaxCached)
            {
                _cache.Clear();
            }
            _cache[key] = result;
        }
        return (result.Kind, result.Name);
    }
}
