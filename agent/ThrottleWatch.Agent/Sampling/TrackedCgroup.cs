using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;

namespace ThrottleWatch.Agent.Sampling;

/// <summary>
/// One cgroup being sampled: its files, its latest and previous readings, its configuration.
/// A container's files read every sweep (<c>cpuacct.usage</c> on v1, <c>cpu.stat</c> unless the
/// cgroup is <see cref="Unlimited"/>) keep their descriptors open; the rest (configuration, <c>cpu.stat.local</c>, <c>cpu.pressure</c>, and a pod's
/// counters) are opened per read on the slow cadence, to stay within the open-file budget and the
/// kernel memory each handle pins.
/// </summary>
internal sealed class TrackedCgroup : IDisposable
{
    internal TrackedCgroup(CgroupIdentity identity, int version, string cpuDir, string? cpuacctDir, HandleBudget budget)
    {
        Identity = identity;
        ReadEverySweep = identity.Kind != CgroupKind.Pod;
        Folder = new CgroupFolder(cpuDir);
        var kept = ReadEverySweep ? budget : null;
        CpuStat = new CgroupFile(Folder, "cpu.stat", kept);
        if (version == 1)
        {
            Usage = cpuacctDir is null ? null : new CgroupFile(new CgroupFolder(cpuacctDir), "cpuacct.usage", kept);
        }
        _names = version == 1 ? FileNames.V1 : FileNames.V2;
    }

    /// <summary>The names of the files opened per read, one set per cgroup version for all cgroups.</summary>
    private sealed class FileNames(string quota, string? period, string burst, string weight, string? pressure)
    {
        public static readonly FileNames V1 = new("cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.cfs_burst_us", "cpu.shares", null);
        public static readonly FileNames V2 = new("cpu.max", null, "cpu.max.burst", "cpu.weight", "cpu.pressure");

        public CgroupFileName StatLocal { get; } = CgroupFileName.Of("cpu.stat.local");
        public CgroupFileName Quota { get; } = CgroupFileName.Of(quota);
        public CgroupFileName? Period { get; } = period is null ? null : CgroupFileName.Of(period);
        public CgroupFileName Burst { get; } = CgroupFileName.Of(burst);
        public CgroupFileName Weight { get; } = CgroupFileName.Of(weight);
        public CgroupFileName? Pressure { get; } = pressure is null ? null : CgroupFileName.Of(pressure);
    }

    private readonly FileNames _names;

    public CgroupIdentity Identity { get; }

    /// <summary>
    /// True for a container: its counters are read every sweep through kept descriptors. A pod's are
    /// read with its slow files: nothing exports a pod's one-second values, and two descriptors kept
    /// open per pod would cost more kernel memory than reopening them every --config-interval costs CPU.
    /// </summary>
    internal bool ReadEverySweep { get; }

    /// <summary>
    /// True for a cgroup v1 cgroup whose last quota read found none (with <c>cpuacct.usage</c> to read
    /// the usage from). Without a quota the kernel runs no bandwidth timer for it, so its periods,
    /// throttling and bursts cannot move (they stop where they were when a quota is removed): its
    /// <c>cpu.stat</c> is read when the cgroup is found and not again, with no kept descriptor,
    /// while its usage is still read at its usual cadence. A quota read that finds a quota ends this at
    /// the next sweep. On v2 <c>cpu.stat</c> carries the usage, so this is never true there.
    /// </summary>
    internal bool Unlimited { get; private set; }

    /// <summary>
    /// True when this cgroup's <c>cpu.stat</c> is read every sweep: a container's, unless it is
    /// <see cref="Unlimited"/>.
    /// </summary>
    internal bool StatEverySweep => ReadEverySweep && !Unlimited;

    /// <summary>Called with each quota read: decides <see cref="Unlimited"/> and whether <c>cpu.stat</c> keeps its descriptor.</summary>
    internal void QuotaRead(ulong? quotaMicros)
    {
        bool unlimited = V1 && Usage is not null && quotaMicros is null;
        if (unlimited != Unlimited)
        {
            Unlimited = unlimited;
            CpuStat.KeepOpen = !unlimited;
        }
    }

    /// <summary>The series this cgroup updates, as <see cref="NodeState.SeriesOf"/> last found it.</summary>
    internal SeriesState? Series { get; set; }

    /// <summary>A container's pod, when it is tracked (set by <see cref="Sampler.Rediscover"/>).</summary>
    internal TrackedCgroup? Pod { get; set; }

    /// <summary>
    /// True when this cgroup's <c>cpu.stat.local</c> cannot move by what the kubelet sets: it is
    /// <see cref="Unlimited"/> and, for a container, so is its pod (the kubelet sets no quota above
    /// the pods). Like <c>cpu.stat</c>, it is then read only when the cgroup is found.
    /// A cgroup of a <c>--cgroup-subtree</c> may have a limited ancestor: never true for one.
    /// </summary>
    internal bool LocalStill => Unlimited && Identity.Kind switch
    {
        CgroupKind.Pod => true,
        CgroupKind.Container => Pod is { Unlimited: true },
        _ => false,
    };

    /// <summary>
    /// True when the next slow pass opens only the quota in the cpu folder: a <see cref="LocalStill"/>
    /// cgroup (on v1, so no <c>cpu.pressure</c>; <see cref="Unlimited"/>, so no <c>cpu.stat</c>) between
    /// its full configuration reads, with valid counters. Opening the folder first would cost one more
    /// path walk than it saves. (A quota found changed brings more files; they are opened by path too.)
    /// </summary>
    internal bool QuotaOnly => FewFiles && !FullConfigDue;

    /// <summary>
    /// True when the next slow pass opens at most two files, the quota and (with the minute's files)
    /// the shares: a <see cref="LocalStill"/> cgroup with valid counters, whose <c>cpu.stat</c>,
    /// <c>cpu.stat.local</c>, period and burst cannot matter until a quota appears. They are opened by
    /// their paths: opening the folder first would cost one more path walk than it saves.
    /// </summary>
    internal bool FewFiles => LocalStill && !SlowPending && Current.Valid;

    public string CpuDir => Folder.Path;

    /// <summary>The cgroup's folder in the cpu hierarchy: all its files but <c>cpuacct.usage</c> are in it.</summary>
    internal CgroupFolder Folder { get; }

    internal CgroupFile CpuStat { get; }
    internal CgroupFile? Usage { get; }
    internal FolderFile StatLocal => new(Folder, _names.StatLocal);
    internal FolderFile Quota => new(Folder, _names.Quota);
    /// <summary>True on cgroup v1, which has <see cref="Period"/> (v2 has the period in <c>cpu.max</c>) and no <see cref="Pressure"/>.</summary>
    internal bool V1 => _names.Period is not null;
    /// <summary>v1 only: <c>cpu.cfs_period_us</c>.</summary>
    internal FolderFile Period => new(Folder, _names.Period ?? throw new InvalidOperationException("cgroup v2 has no cpu.cfs_period_us"));
    internal FolderFile Burst => new(Folder, _names.Burst);
    /// <summary><c>cpu.shares</c> (v1) or <c>cpu.weight</c> (v2).</summary>
    internal FolderFile Weight => new(Folder, _names.Weight);
    /// <summary>v2 only: <c>cpu.pressure</c>.</summary>
    internal FolderFile Pressure => new(Folder, _names.Pressure ?? throw new InvalidOperationException("cgroup v1 has no cpu.pressure"));

    /// <summary>Files that turned out not to exist in this cgroup (older kernel): not read again.</summary>
    internal AbsentFiles Absent { get; set; }

    public CgroupReading Current;
    public CgroupReading Previous;
    public CgroupConfig Config;

    /// <summary>
    /// Which sweep of each slow-cadence round reads this cgroup's slow files: cgroups are dealt round
    /// the slots as they are found, so each sweep reads about 1/slots of them instead of all at once.
    /// </summary>
    internal int SlowSlot { get; init; }

    /// <summary>How many times the configuration was read: every <see cref="Sampler.FullConfigEvery"/>th read covers all its files.</summary>
    internal int ConfigReads { get; set; }

    /// <summary>True when the next configuration read covers all the files (and an <see cref="Unlimited"/> cgroup's <c>cpu.stat</c>).</summary>
    internal bool FullConfigDue => ConfigReads % Sampler.FullConfigEvery == 0;

    /// <summary>True until the slow files were read once (<c>cpu.stat.local</c>, <c>cpu.pressure</c>): a new cgroup gets them in its first sweep.</summary>
    internal bool SlowPending { get; set; } = true;

    /// <summary>True when the API reported a change to this cgroup's pod since the last sweep: its configuration is read at the next one (<see cref="Sampler.ReadConfigSoon"/>).</summary>
    internal bool ConfigAsked { get; set; }

    /// <summary>The inotify watch on <see cref="Quota"/> (<see cref="ConfigWatch"/>), or -1: the limit is polled.</summary>
    internal int WatchId { get; set; } = -1;

    /// <summary>False once the cgroup was seen gone; it is dropped at the next discovery.</summary>
    public bool Alive { get; internal set; } = true;

    /// <summary>True while a file that should be kept open is read by reopening (handle budget spent).</summary>
    public bool Degraded => CpuStat.IsDegraded || (Usage?.IsDegraded ?? false);

    public void Dispose()
    {
        CpuStat.Dispose();
        Usage?.Dispose();
    }

    [Flags]
    internal enum AbsentFiles : byte
    {
        None = 0,
        StatLocal = 1,
        Burst = 2,
        Pressure = 4,
        Usage = 8,
        Weight = 16,
    }
}
