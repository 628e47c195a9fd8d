namespace ThrottleWatch.Agent.Cgroups;

/// <summary>v1 <c>cpu.shares</c>: the request as a weight, "1024\n" (kubelet: milliCPU*1024/1000, minimum 2).</summary>
public static class CpuShares
{
    public static bool TryParse(ReadOnlySpan<byte> utf8, out ulong shares)
        => KernelText.TryParseUInt64(KernelText.TrimSingleLine(utf8), out shares) && shares >= 2;
}

/// <summary>v2 <c>cpu.weight</c>: 1..10000, default 100. Never reversed into a request (kubernetes#131216).</summary>
public static class CpuWeight
{
    public static bool TryParse(ReadOnlySpan<byte> utf8, out ulong weight)
        => KernelText.TryParseUInt64(KernelText.TrimSingleLine(utf8), out weight) && weight is >= 1 and <= 10000;
}

/// <summary>v1 <c>cpu.cfs_burst_us</c> and v2 <c>cpu.max.burst</c>: burst allowance in µs, "0\n" when off (kernel 5.14+).</summary>
public static class CpuBurst
{
    public static bool TryParse(ReadOnlySpan<byte> utf8, out ulong burstMicros)
        => KernelText.TryParseUInt64(KernelText.TrimSingleLine(utf8), out burstMicros);
}

/// <summary>v1 <c>cpuacct.usage</c>: CPU time used by the cgroup in nanoseconds, "24923982598\n".</summary>
public static class CpuacctUsage
{
    public static bool TryParse(ReadOnlySpan<byte> utf8, out ulong usageNanos)
        => KernelText.TryParseUInt64(KernelText.TrimSingleLine(utf8), out usageNanos);
}
