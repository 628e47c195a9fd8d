using System.Runtime.InteropServices;

namespace ThrottleWatch.Benchmarks.Sweep;

/// <summary>User and system CPU time of the calling thread (getrusage RUSAGE_THREAD), in milliseconds.</summary>
internal static partial class ThreadCpu
{
    private const int RusageThread = 1;

    /// <summary>struct rusage on 64-bit Linux: two timevals, then fourteen longs this harness does not read.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 144)]
    private struct RUsage
    {
        public long UserSeconds;
        public long UserMicros;
        public long SystemSeconds;
        public long SystemMicros;
    }

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRUsage(int who, out RUsage usage);

    public static (double UserMs, double SystemMs) Now()
    {
        if (GetRUsage(RusageThread, out var u) != 0)
        {
            return (double.NaN, double.NaN);
        }
        return (u.UserSeconds * 1000.0 + u.UserMicros / 1000.0, u.SystemSeconds * 1000.0 + u.SystemMicros / 1000.0);
    }
}
