using System.Runtime.InteropServices;
using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Benchmarks;

/// <summary>What the commands that make real cgroups share: the host's v1 hierarchy, and a stop signal.</summary>
internal static class BenchHost
{
    /// <summary>The host's cgroup v1 cpu and cpuacct hierarchy under /sys/fs/cgroup, and its cpuacct root; otherwise one error line and false.</summary>
    public static bool TryV1(TextWriter error, out CgroupHierarchy hierarchy, out string cpuacctRoot)
    {
        hierarchy = null!;
        cpuacctRoot = "";
        if (!CgroupHierarchy.TryDetect("/sys/fs/cgroup", "/proc", out var found, out var detectError))
        {
            error.WriteLine($"error: {detectError}");
            return false;
        }
        if (found!.Version != 1 || found.CpuacctRoot is null)
        {
            error.WriteLine($"error: this needs the cgroup v1 cpu and cpuacct controllers; found {found.Mode} with cpu at {found.CpuRoot}");
            return false;
        }
        hierarchy = found;
        cpuacctRoot = found.CpuacctRoot;
        return true;
    }
}

/// <summary>Set by SIGINT, SIGTERM or SIGHUP, each held back from ending the process so that the command removes what it made.</summary>
internal sealed class StopSignal : IDisposable
{
    private readonly PosixSignalRegistration[] _registrations;

    public StopSignal()
    {
        _registrations = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }.Select(s => PosixSignalRegistration.Create(s, OnSignal))];
    }

    public ManualResetEventSlim Event { get; } = new();

    public bool IsSet => Event.IsSet;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Event.Set();
    }

    public void Dispose()
    {
        foreach (var r in _registrations)
        {
            r.Dispose();
        }
        Event.Dispose();
    }
}
