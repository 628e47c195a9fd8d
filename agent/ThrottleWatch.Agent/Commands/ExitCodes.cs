namespace ThrottleWatch.Agent.Commands;

/// <summary>Exit codes scripts can rely on.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A bad flag, a bad value or an unreadable cgroup root: one line on stderr.</summary>
    public const int BadInput = 2;
    /// <summary>Stopped by SIGINT/SIGTERM before finishing.</summary>
    public const int Interrupted = 130;
}
