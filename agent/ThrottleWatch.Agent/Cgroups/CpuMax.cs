namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// cgroup v2 <c>cpu.max</c>: "$QUOTA $PERIOD" in microseconds, where QUOTA may be <c>max</c>.
/// </summary>
/// <remarks>
/// <code>
/// max 100000
/// 20000 100000
/// </code>
/// See https://docs.kernel.org/admin-guide/cgroup-v2.html#cpu-interface-files.
/// </remarks>
public readonly struct CpuMax
{
    /// <summary>The quota in µs per period; null for <c>max</c> (no limit).</summary>
    public ulong? QuotaMicros { get; init; }
    public ulong PeriodMicros { get; init; }

    public static bool TryParse(ReadOnlySpan<byte> utf8, out CpuMax value)
    {
        value = default;
        var line = KernelText.TrimSingleLine(utf8);
        if (!KernelText.TrySplitKeyValue(line, out var quota, out var period)
            || !KernelText.TryParseUInt64(period, out ulong periodUs) || periodUs == 0)
        {
            return false;
        }
        if (quota.SequenceEqual("max"u8))
        {
            value = new CpuMax { QuotaMicros = null, PeriodMicros = periodUs };
            return true;
        }
        if (!KernelText.TryParseUInt64(quota, out ulong quotaUs))
        {
            return false;
        }
        value = new CpuMax { QuotaMicros = quotaUs, PeriodMicros = periodUs };
        return true;
    }
}
