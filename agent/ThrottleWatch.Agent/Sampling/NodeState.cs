using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;

namespace ThrottleWatch.Agent.Sampling;

/// <summary>
/// The one plain model exporters read: every tracked cgroup's <see cref="SeriesState"/> and the
/// node's own figures. The sampling loop writes under <see cref="Gate"/>; exporters read under it.
/// </summary>
public sealed class NodeState
{
    private readonly Dictionary<string, SeriesState> _byPath = new(StringComparer.Ordinal);

    public NodeState(string nodeName, CgroupHierarchy hierarchy, string kernelVersion)
    {
        NodeName = nodeName;
        Hierarchy = hierarchy;
        KernelVersion = kernelVersion;
    }

    public Lock Gate { get; } = new();
    public string NodeName { get; }
    public CgroupHierarchy Hierarchy { get; }
    public string KernelVersion { get; }

    /// <summary>"systemd" or "cgroupfs" from the pod cgroups' names; "unknown" before any pod is seen.</summary>
    public string CgroupDriver { get; private set; } = "unknown";

    public IReadOnlyCollection<SeriesState> Series => _byPath.Values;
    public double? NodeUsageSeconds { get; internal set; }
    public long Sweeps { get; internal set; }

    /// <summary>When the last sweep ended (<see cref="System.Diagnostics.Stopwatch"/> ticks), for liveness.</summary>
    public long LastSweepTimestamp { get; internal set; }

    public int Containers { get; private set; }
    public int HandlesDegraded { get; internal set; }
    public int LimitsWatched { get; internal set; }
    public ReadErrors? Errors { get; internal set; }

    internal void Apply(DiscoveryChanges changes, TimeSpan interval)
    {
        if (changes.Removed.Count == 0 && changes.Added.Count == 0)
        {
            return;
        }
        foreach (var gone in changes.Removed)
        {
            if (_byPath.Remove(gone.CgroupPath, out var removed))
            {
                removed.Detached = true;
            }
        }
        foreach (var added in changes.Added)
        {
            if (_byPath.TryGetValue(added.CgroupPath, out var replaced))
            {
                replaced.Detached = true;
            }
            _byPath[added.CgroupPath] = new SeriesState(added, interval);
            if (added.Kind == CgroupKind.Pod && CgroupDriver == "unknown")
            {
                CgroupDriver = added.CgroupPath.EndsWith(".slice", StringComparison.Ordinal) ? "systemd" : "cgroupfs";
            }
        }
        if (changes.Added.Count > 0)
        {
            // Containers point at their pod's series: the pod's quota decides whether throttling series exist.
            foreach (var s in _byPath.Values)
            {
                if (s.Pod is null && s.Identity.PodPath is { } pod)
                {
                    s.Pod = _byPath.GetValueOrDefault(pod);
                }
            }
        }
        int containers = 0;
        foreach (var s in _byPath.Values)
        {
            if (s.Identity.Kind != CgroupKind.Pod)
            {
                containers++;
            }
        }
        Containers = containers;
    }

    internal SeriesState? Find(string cgroupPath) => _byPath.GetValueOrDefault(cgroupPath);

    /// <summary>
    /// The series a tracked cgroup updates: the one it found last time, unless that one has since left
    /// this state (removed or replaced), then looked up by path. Saves a lookup by a long path string
    /// per cgroup per sweep (about 2% of the agent's CPU at 2,000 containers).
    /// </summary>
    internal SeriesState? SeriesOf(TrackedCgroup t)
    {
        if (t.Series is { Detached: false } series)
        {
            return series;
        }
        return t.Series = Find(t.Identity.CgroupPath);
    }
}
