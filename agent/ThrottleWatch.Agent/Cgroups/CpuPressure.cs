namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// cgroup v2 <c>cpu.pressure</c> (PSI): cumulative stall totals, normalised to nanoseconds.
/// </summary>
/// <remarks>
/// <code>
/// some avg10=47.01 avg60=46.98 avg300=35.92 total=244258934
/// full avg10=0.00 avg60=0.00 avg300=0.00 total=0
/// </code>
/// Totals are microseconds. The averages are ignored: rates come from the totals. The <c>full</c>
/// line is missing on kernels before 5.13. See https://docs.kernel.org/accounting/psi.html.
/// </remarks>
public readonly struct CpuPressure
{
    /// <summary>Time at least one task was waiting for CPU (<c>some</c>).</summary>
    public ulong SomeNanos { get; init; }
    /// <summary>Time all non-idle tasks were waiting (<c>full</c>); null when the kernel has no such line.</summary>
    public ulong? FullNanos { get; init; }

    public static bool TryParse(ReadOnlySpan<byte> utf8, out CpuPressure value)
    {
        value = default;
        ulong? some = null, full = null;
        var rest = utf8;
        while (KernelText.TryReadLine(ref rest, out var line))
        {
            if (line.IsEmpty)
            {
                continue;
            }
            if (!KernelText.TrySplitKeyValue(line, out var kind, out var fields))
            {
                return false;
            }
            int at = fields.IndexOf("total="u8);
            if (at < 0 || !KernelText.TryParseUInt64(fields[(at + 6)..], out ulong totalUs))
            {
                return false;
            }
            if (kind.SequenceEqual("some"u8))
            {
                some = KernelText.MicrosToNanos(totalUs);
            }
            else if (kind.SequenceEqual("full"u8))
            {
                full = KernelText.MicrosToNanos(totalUs);
            }
        }
        if (some is null)
        {
            return false;
        }
        value = new CpuPressure { SomeNanos = some.Value, FullNanos = full };
        return true;
    }
}
