using System.Text.Json.Serialization;

namespace ThrottleWatch.Contracts;

/// <summary>
/// The JSON printed by <c>throttlewatch-agent snapshot --format json</c>: two readings an interval
/// apart. A contract for other tools; documented in docs/snapshot-json.md. Property names are
/// camelCase; absent values are written as null, never left out.
/// </summary>
public sealed record SnapshotDocument(
    int CgroupVersion,
    string CgroupMode,
    double IntervalSeconds,
    double ElapsedSeconds,
    DateTimeOffset TakenAt,
    IReadOnlyList<SnapshotContainer> Containers,
    IReadOnlyList<SnapshotPod> Pods,
    SnapshotErrors Errors);

/// <summary>A container cgroup (or, outside Kubernetes, a cgroup under <c>--cgroup-subtree</c>).</summary>
public sealed record SnapshotContainer(
    string? PodUid,
    string? ContainerId,
    string? QosClass,
    string Runtime,
    string CgroupPath,
    double? LimitCores,
    double? PeriodSeconds,
    double? BurstSeconds,
    ulong? Shares,
    ulong? Weight,
    SnapshotDelta Delta,
    SnapshotCounters Counters);

/// <summary>A pod cgroup: its own quota (when every container has a limit) can throttle its containers.</summary>
public sealed record SnapshotPod(
    string PodUid,
    string? QosClass,
    string CgroupPath,
    double? LimitCores,
    double? PeriodSeconds,
    ulong? Shares,
    ulong? Weight,
    SnapshotDelta Delta,
    SnapshotCounters Counters);

/// <summary>What changed between the two readings. Null where the kernel gives no such value.</summary>
public sealed record SnapshotDelta(
    ulong Periods,
    ulong ThrottledPeriods,
    double? ThrottledRatio,
    double ThrottledSeconds,
    double? ThrottledLocalSeconds,
    ulong? BurstPeriods,
    double? BurstSeconds,
    double? UsageCores,
    double? PressureWaitingSeconds,
    double? PressureStalledSeconds);

/// <summary>The cumulative kernel counters at the second reading, in seconds and counts.</summary>
public sealed record SnapshotCounters(
    double? UsageSeconds,
    ulong Periods,
    ulong ThrottledPeriods,
    double ThrottledSeconds,
    double? ThrottledLocalSeconds,
    ulong? BurstPeriods,
    double? BurstSeconds,
    double? PressureWaitingSeconds,
    double? PressureStalledSeconds);

/// <summary>Reads that failed during the snapshot, by reason.</summary>
public sealed record SnapshotErrors(long Vanished, long Malformed, long Permission, long OpenFiles, long Io);

/// <summary>Source-generated serialisation (no reflection: the agent publishes with NativeAOT).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    WriteIndented = true)]
[JsonSerializable(typeof(SnapshotDocument))]
public sealed partial class ContractsJsonContext : JsonSerializerContext;
