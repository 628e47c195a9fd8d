using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;

namespace ThrottleWatch.Agent.Sampling;

/// <summary>
/// Reads the cgroups that discovery found. <see cref="Sweep(int, int)"/> reads the per-second files of every
/// tracked container (<see cref="TrackedCgroup.StatEverySweep"/> says which) and, when asked, the slow ones; in the steady state it allocates nothing.
/// Failed reads are counted by reason, and a malformed or unreadable file is logged once with its path.
/// </summary>
internal sealed class Sampler : IDisposable
{
    /// <summary>Largest file text accepted; every cpu controller file is far smaller.</summary>
    private const int BufferSize = 4096;

    /// <summary>Paths already logged, capped so a node full of broken files cannot grow it without end.</summary>
    private const int MaxLoggedPaths = 1000;

    private readonly CgroupHierarchy _hierarchy;
    private readonly ContainerDiscovery _discovery;
    private readonly HandleBudget _budget;
    private readonly ILogger _logger;
    private readonly byte[] _buffer = GC.AllocateArray<byte>(BufferSize, pinned: true);
    private readonly List<TrackedCgroup> _tracked = [];
    private readonly Dictionary<string, TrackedCgroup> _byPath = new(StringComparer.Ordinal);
    private readonly HashSet<string> _logged = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _configRequests = new();
    private readonly HashSet<string> _configAsked = new(StringComparer.Ordinal);
    private bool _budgetLogged;
    private int _nextSlot;
    private int _vanished;

    public Sampler(CgroupHierarchy hierarchy, ContainerDiscovery discovery, HandleBudget budget, ILogger? logger = null)
    {
        _hierarchy = hierarchy;
        _discovery = discovery;
        _budget = budget;
        _logger = logger ?? NullLogger.Instance;
    }

    public ReadErrors Errors { get; } = new();

    public IReadOnlyList<TrackedCgroup> Tracked => _tracked;

    public HandleBudget Budget => _budget;

    /// <summary>Cgroups read without a kept handle because the budget is spent.</summary>
    public int DegradedCount
    {
        get
        {
            int n = 0;
            foreach (var t in _tracked)
            {
                if (t.Degraded)
                {
                    n++;
                }
            }
            return n;
        }
    }

    /// <summary>True when a sweep found a tracked cgroup gone since the last <see cref="Rediscover"/>: time to rediscover.</summary>
    public bool SawVanished => _vanished > 0;

    /// <summary>
    /// True while every change to a pod's CPU configuration is reported through <see cref="ReadConfigSoon"/>:
    /// the API's pod watch is up, and an in-place resize reaches the agent as a watch event for the pod.
    /// The quota of a cgroup without one (<see cref="TrackedCgroup.QuotaOnly"/>: a v1 cgroup without a
    /// quota in a pod without one) is then read with the minute's files
    /// (every <see cref="FullConfigEvery"/>th configuration round) and at the sweep after its pod's event,
    /// instead of every <c>--config-interval</c>; everything else keeps its cadence. Null or false: polled as usual.
    /// </summary>
    public Func<bool>? ConfigChangesReported { get; set; }

    /// <summary>
    /// Watches the tracked cgroups' quota files, so that a written limit is read at the next sweep and
    /// the quota of a cgroup without one (<see cref="TrackedCgroup.QuotaOnly"/>) is polled only with the
    /// minute's files, with or without the API (as <see cref="ConfigChangesReported"/> does for all of them while the API's watch is up).
    /// Cgroups it could not watch are polled every <c>--config-interval</c>. Set before the first
    /// <see cref="Rediscover"/>; the sampler disposes it. Null: every limit is polled.
    /// </summary>
    public ConfigWatch? Watch { get; set; }

    /// <summary>
    /// Asks for the configuration of the cgroups of the pod with this UID (or, for a static pod, this config
    /// hash) to be read at the next sweep: the API reported a change to the pod, which may be a resize. Safe from any thread.
    /// </summary>
    public void ReadConfigSoon(string podUid) => _configRequests.Enqueue(podUid);

    /// <summary>True when pods were asked to be listed (<see cref="ContainerDiscovery.ListPodSoon"/>): time for <c>Rediscover(onlyRequested: true)</c>.</summary>
    public bool DiscoveryRequested => _discovery.PodsRequested;

    /// <summary>
    /// Runs discovery (all of it, or with <paramref name="onlyRequested"/> only the pods asked for) and
    /// starts or stops tracking what it found; new cgroups get their configuration read.
    /// </summary>
    public DiscoveryChanges Rediscover(bool onlyRequested = false)
    {
        _vanished = 0;
        // A cgroup a sweep found gone: its pod's folder is listed now, settled or not, so that it is
        // dropped (and a replacement found) at once.
        foreach (var t in _tracked)
        {
            if (!t.Alive && t.Identity.PodUid is { } uid)
            {
                _discovery.ListPodSoon(uid);
            }
        }
        var changes = onlyRequested ? _discovery.RefreshRequested() : _discovery.Refresh();
        foreach (var gone in changes.Removed)
        {
            if (_byPath.Remove(gone.CgroupPath, out var t))
            {
                Untrack(t);
            }
        }
        // A cgroup seen gone by a sweep but still listed (removed and recreated between refreshes) is replaced.
        for (int i = _tracked.Count - 1; i >= 0; i--)
        {
            var t = _tracked[i];
            if (!t.Alive)
            {
                _byPath.Remove(t.Identity.CgroupPath);
                Untrack(t);
            }
        }
        int firstNew = _tracked.Count;
        foreach (var identity in _discovery.Current.Values)
        {
            if (!_byPath.ContainsKey(identity.CgroupPath))
            {
                var t = new TrackedCgroup(identity, _hierarchy.Version, _discovery.AbsolutePath(identity.CgroupPath),
                    _hierarchy.CpuacctRoot is { } acct ? acct + identity.CgroupPath : null, _budget)
                {
                    SlowSlot = _nextSlot++ & int.MaxValue,
                };
                _byPath.Add(identity.CgroupPath, t);
                _tracked.Add(t);
                // Watched before its first read: a limit written in between is not missed.
                Watch?.Add(t);
                int folder = t.Folder.OpenPath();
                ReadConfig(t, folder);
                CgroupFolder.Close(folder);
            }
        }
        // A new container's pod (tracked too): whether it has a quota decides how often the container's cpu.stat.local moves.
        for (int i = firstNew; i < _tracked.Count; i++)
        {
            var t = _tracked[i];
            if (t.Pod is null && t.Identity.PodPath is { } pod)
            {
                t.Pod = _byPath.GetValueOrDefault(pod);
            }
        }
        return changes;
    }

    /// <summary>
    /// Reads every tracked cgroup: the per-second files of every container always, and with
    /// <paramref name="full"/> also the configuration, <c>cpu.stat.local</c> and <c>cpu.pressure</c>,
    /// and the pods' counters (without it, only for cgroups that never had them read). The last
    /// reading becomes <see cref="TrackedCgroup.Previous"/>.
    /// </summary>
    public void Sweep(bool full) => Sweep(slice: 0, slices: full ? 1 : 0);

    /// <summary>
    /// Reads every tracked container's per-second files, and the slow files (with a pod's counters) of one slice of them: those
    /// whose <see cref="TrackedCgroup.SlowSlot"/> is <paramref name="slice"/> modulo
    /// <paramref name="slices"/>. Called with slice 0, 1, … <paramref name="slices"/> − 1 in turn,
    /// every cgroup gets its slow files read once per round, and no sweep reads all of them: the cost
    /// (a few files opened per cgroup) is spread instead of landing on one sweep in ten.
    /// <paramref name="slices"/> 0 reads no slow files, 1 all of them. Cgroups whose slow files were
    /// never read get them in any case.
    /// </summary>
    public void Sweep(int slice, int slices)
    {
        bool budgetWasFree = _budget.Kept < _budget.Capacity;
        bool reported = ConfigChangesReported?.Invoke() == true;
        Watch?.Drain();
        if (!_configRequests.IsEmpty)
        {
            MarkConfigAsked();
        }
        foreach (var t in _tracked)
        {
            if (!t.Alive)
            {
                continue;
            }
            bool slow = t.SlowPending || t.ConfigAsked || (slices > 0 && t.SlowSlot % slices == slice);
            if (!slow)
            {
                if (t.ReadEverySweep)
                {
                    t.Previous = t.Current;
                    ReadCounters(t, full: false, folder: -1);
                }
                continue;
            }
            t.Previous = t.Current;
            // The slow files of one folder: opened relative to it, each open walks one component
            // instead of the whole path (at 2,000 containers the path walks were most of an open's cost).
            // A pass that opens only the quota, or the quota and the shares (TrackedCgroup.FewFiles),
            // opens them by their paths instead.
            bool quotaOnly = t.QuotaOnly;
            int folder = t.FewFiles ? -1 : t.Folder.OpenPath();
            ReadCounters(t, full: true, folder);
            // A new cgroup's configuration was read when it was found: not again in the same second.
            if (t.Alive && !t.SlowPending)
            {
                if (quotaOnly && (reported || t.WatchId >= 0) && !t.ConfigAsked)
                {
                    // The API reports a resize as an event for the pod, the watch a written quota file
                    // (ConfigAsked either way): this round's quota read is left out; the round still
                    // counts towards the minute's full read.
                    t.ConfigReads++;
                    QuotaReadsSkipped++;
                }
                else
                {
                    ReadConfig(t, folder);
                }
            }
            t.SlowPending = false;
            t.ConfigAsked = false;
            CgroupFolder.Close(folder);
        }
        if (budgetWasFree && _budget.Kept >= _budget.Capacity && !_budgetLogged)
        {
            _budgetLogged = true;
            SamplerLog.BudgetSpent(_logger, _budget.Capacity);
        }
    }

    /// <summary>Quota reads left out because the API or the watch reports changes (<see cref="ConfigChangesReported"/>, <see cref="Watch"/>).</summary>
    public long QuotaReadsSkipped { get; private set; }

    /// <summary>Marks the tracked cgroups of the pods <see cref="ReadConfigSoon"/> asked for: one pass over them, however many pods (a re-list asks for all).</summary>
    private void MarkConfigAsked()
    {
        while (_configRequests.TryDequeue(out var uid))
        {
            _configAsked.Add(uid);
        }
        foreach (var t in _tracked)
        {
            if (t.Identity.PodUid is { } pod && _configAsked.Contains(pod))
            {
                t.ConfigAsked = true;
            }
        }
        _configAsked.Clear();
    }

    private void ReadCounters(TrackedCgroup t, bool full, int folder)
    {
        // In place: a reading is about 160 bytes, and this runs for every container every second.
        ref var reading = ref t.Current;
        reading.Timestamp = Stopwatch.GetTimestamp();

        ReadStatus status;
        int n;
        // A v1 cgroup without a quota: its cpu.stat cannot move; the last reading stands until a quota
        // appears (or until a read succeeds, after a failure).
        if (!t.Unlimited || !reading.Valid || (full && t.SlowPending))
        {
            status = t.CpuStat.Read(folder, _buffer, out n);
            if (status != ReadStatus.Ok || !Cgroups.CpuStat.TryParse(_buffer.AsSpan(0, n), out var stat))
            {
                Fail(t, t.CpuStat.Location, status == ReadStatus.Ok ? ReadStatus.Malformed : status, n);
                reading.Valid = false;
                return;
            }
            reading.Valid = true;
            reading.Stat = stat;
        }

        if (t.Usage is null)
        {
            reading.UsageNanos = reading.Stat.Has(CpuStat.Keys.Usage) ? reading.Stat.UsageNanos : null;
        }
        else if ((t.Absent & TrackedCgroup.AbsentFiles.Usage) == 0)
        {
            status = t.Usage.Read(_buffer, out n);
            if (status == ReadStatus.Ok && CpuacctUsage.TryParse(_buffer.AsSpan(0, n), out ulong usage))
            {
                reading.UsageNanos = usage;
            }
            else
            {
                reading.UsageNanos = null;
                Optional(t, t.Usage.Location, status, n, TrackedCgroup.AbsentFiles.Usage);
            }
        }

        if (full)
        {
            // Like cpu.stat, cpu.stat.local of a v1 cgroup without a quota in a pod without one moves
            // only under a quota above the pods, which the kubelet never sets: read when the cgroup is
            // found, then again once it or its pod has a quota.
            if ((t.Absent & TrackedCgroup.AbsentFiles.StatLocal) == 0 && (!t.LocalStill || t.SlowPending))
            {
                status = t.StatLocal.Read(folder, _buffer, out n);
                if (status == ReadStatus.Ok && Cgroups.CpuStat.TryParse(_buffer.AsSpan(0, n), out var local) && local.Has(CpuStat.Keys.ThrottledTime))
                {
                    reading.LocalThrottledNanos = local.ThrottledNanos;
                }
                else
                {
                    reading.LocalThrottledNanos = null;
                    Optional(t, t.StatLocal, status, n, TrackedCgroup.AbsentFiles.StatLocal);
                }
            }
            if (!t.V1 && (t.Absent & TrackedCgroup.AbsentFiles.Pressure) == 0)
            {
                status = t.Pressure.Read(folder, _buffer, out n);
                if (status == ReadStatus.Ok && CpuPressure.TryParse(_buffer.AsSpan(0, n), out var psi))
                {
                    reading.Pressure = psi;
                }
                else
                {
                    reading.Pressure = null;
                    Optional(t, t.Pressure, status, n, TrackedCgroup.AbsentFiles.Pressure);
                }
            }
        }
    }

    /// <summary>
    /// Every how many configuration reads of a cgroup the files that almost never change (period,
    /// burst, shares or weight; on v1 without a quota only the shares: the period and burst do nothing
    /// without one, and come with the quota that appears) are read too; in between only the quota is, and a quota that changed
    /// brings the rest along at once (a resize changes quota and shares together). At the default
    /// 10 s <c>--config-interval</c>: the quota every 10 s, the rest at least every minute.
    /// </summary>
    internal const int FullConfigEvery = 6;

    private void ReadConfig(TrackedCgroup t, int folder)
    {
        var config = t.Config;
        bool everything = t.FullConfigDue;
        bool first = t.ConfigReads == 0;
        t.ConfigReads++;
        var status = t.Quota.Read(folder, _buffer, out int n);
        if (status != ReadStatus.Ok)
        {
            Fail(t, t.Quota, status, n);
            return;
        }
        bool still = false;
        if (!t.V1)
        {
            if (!CpuMax.TryParse(_buffer.AsSpan(0, n), out var max))
            {
                Fail(t, t.Quota, ReadStatus.Malformed, n);
                return;
            }
            everything |= max.QuotaMicros != config.QuotaMicros || max.PeriodMicros != config.PeriodMicros;
            config.QuotaMicros = max.QuotaMicros;
            config.PeriodMicros = max.PeriodMicros;
            t.QuotaRead(max.QuotaMicros);
        }
        else
        {
            if (!CfsQuota.TryParseQuota(_buffer.AsSpan(0, n), out var quota))
            {
                Fail(t, t.Quota, ReadStatus.Malformed, n);
                return;
            }
            everything |= quota != config.QuotaMicros;
            // Without a quota the period and the burst do nothing; once a quota appears (a change) they are read with it.
            still = quota is null && !first;
            config.QuotaMicros = quota;
            t.QuotaRead(quota);
            if (everything && !still)
            {
                status = t.Period.Read(folder, _buffer, out n);
                if (status != ReadStatus.Ok || !CfsQuota.TryParsePeriod(_buffer.AsSpan(0, n), out ulong period))
                {
                    Fail(t, t.Period, status == ReadStatus.Ok ? ReadStatus.Malformed : status, n);
                    return;
                }
                config.PeriodMicros = period;
            }
        }
        if (!everything)
        {
            t.Config = config;
            return;
        }

        if ((t.Absent & TrackedCgroup.AbsentFiles.Burst) == 0 && !still)
        {
            status = t.Burst.Read(folder, _buffer, out n);
            if (status == ReadStatus.Ok && CpuBurst.TryParse(_buffer.AsSpan(0, n), out ulong burst))
            {
                config.BurstMicros = burst;
            }
            else
            {
                config.BurstMicros = null;
                Optional(t, t.Burst, status, n, TrackedCgroup.AbsentFiles.Burst);
            }
        }

        if ((t.Absent & TrackedCgroup.AbsentFiles.Weight) == 0)
        {
            status = t.Weight.Read(folder, _buffer, out n);
            bool v1 = t.V1;
            ulong w = 0;
            bool ok = status == ReadStatus.Ok && (v1 ? CpuShares.TryParse(_buffer.AsSpan(0, n), out w) : CpuWeight.TryParse(_buffer.AsSpan(0, n), out w));
            if (ok)
            {
                if (v1) config.Shares = w; else config.Weight = w;
            }
            else
            {
                Optional(t, t.Weight, status, n, TrackedCgroup.AbsentFiles.Weight);
            }
        }
        t.Config = config;
    }

    /// <summary>A file not every kernel has: absence in a live cgroup is remembered, not counted.</summary>
    private void Optional(TrackedCgroup t, in FolderFile file, ReadStatus status, int length, TrackedCgroup.AbsentFiles flag)
    {
        if (status == ReadStatus.Vanished && Directory.Exists(file.Folder.Path))
        {
            t.Absent |= flag;
            return;
        }
        Fail(t, file, status == ReadStatus.Ok ? ReadStatus.Malformed : status, length);
    }

    private void Fail(TrackedCgroup t, in FolderFile file, ReadStatus status, int length)
    {
        if (status == ReadStatus.Vanished)
        {
            if (!Directory.Exists(t.CpuDir))
            {
                t.Alive = false;
                _vanished++;
                Errors.Count(ReadStatus.Vanished);
                return;
            }
            // The cgroup is there but a file it must have is not: not the kernel file we expect.
            status = ReadStatus.Io;
        }
        Errors.Count(status);
        if (_logged.Count < MaxLoggedPaths && _logged.Add(file.Path))
        {
            if (status == ReadStatus.Malformed)
            {
                SamplerLog.Malformed(_logger, file.Path, Printable(_buffer.AsSpan(0, length)));
            }
            else
            {
                SamplerLog.ReadFailed(_logger, file.Path, status.Label());
            }
        }
    }

    /// <summary>The offending text as one printable line, cut at 200 characters.</summary>
    internal static string Printable(ReadOnlySpan<byte> text)
    {
        var sb = new StringBuilder();
        foreach (byte b in text[..Math.Min(text.Length, 200)])
        {
            sb.Append(b switch
            {
                (byte)'\n' => "\\n",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }
        if (text.Length > 200)
        {
            sb.Append('…');
        }
        return sb.ToString();
    }

    private void Untrack(TrackedCgroup t)
    {
        int i = _tracked.IndexOf(t);
        if (i >= 0)
        {
            _tracked[i] = _tracked[^1];
            _tracked.RemoveAt(_tracked.Count - 1);
        }
        Watch?.Remove(t);
        t.Dispose();
    }

    public void Dispose()
    {
        foreach (var t in _tracked)
        {
            t.Dispose();
        }
        _tracked.Clear();
        _byPath.Clear();
        Watch?.Dispose();
        Watch = null;
    }
}
