namespace ThrottleWatch.Analyzer.Commands;

/// <summary>Exit codes scripts rely on.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>Bad flags or bad input (a malformed recording, an empty range, a query the server rejects).</summary>
    public const int BadInput = 2;
    /// <summary>The source is unavailable (unreachable, erroring, timing out).</summary>
    public const int SourceUnavailable = 3;
}
