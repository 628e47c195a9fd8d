namespace ThrottleWatch.Agent.Metadata;

/// <summary>The pod list/watch's health and the Node object's CPU figures, shared with exporters and probes.</summary>
public sealed class KubernetesStatus
{
    private int _up;
    private int _listed;

    /// <summary>False when no API is configured: series carry pod_uid and container_id only.</summary>
    public bool Enabled { get; init; }

    /// <summary>1 while the list/watch is healthy.</summary>
    public bool Up
    {
        get => Volatile.Read(ref _up) == 1;
        set => Volatile.Write(ref _up, value ? 1 : 0);
    }

    /// <summary>True once a pod list succeeded (readiness waits for it).</summary>
    public bool Listed
    {
        get => Volatile.Read(ref _listed) == 1;
        set => Volatile.Write(ref _listed, value ? 1 : 0);
    }

    public double? NodeCapacityCores { get; set; }
    public double? NodeAllocatableCores { get; set; }

    private long _lists;
    private long _watches;
    private long _watchErrors;

    /// <summary>Pod lists made (a test can see that nothing re-lists in a loop).</summary>
    public long Lists => Interlocked.Read(ref _lists);
    public long Watches => Interlocked.Read(ref _watches);
    /// <summary>Watch events that could not be read (malformed JSON, an unexpected Status).</summary>
    public long WatchErrors => Interlocked.Read(ref _watchErrors);

    internal void CountList() => Interlocked.Increment(ref _lists);
    internal void CountWatch() => Interlocked.Increment(ref _watches);
    internal void CountWatchError() => Interlocked.Increment(ref _watchErrors);
}
