using Microsoft.Extensions.Logging;

namespace ThrottleWatch.Agent.Sampling;

internal static partial class SamplerLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Malformed cgroup file {Path}: {Text}")]
    public static partial void Malformed(ILogger logger, string path, string text);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Cannot read {Path}: {Reason}")]
    public static partial void ReadFailed(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Open-file budget of {Capacity} kept handles spent: further cgroup files are opened for each read")]
    public static partial void BudgetSpent(ILogger logger, int capacity);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Cannot watch CPU limits for changes (inotify: {Reason}): every cgroup's limit is polled every --config-interval")]
    public static partial void WatchUnavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "{Watched} cgroups' CPU limits are watched for changes, the limit of {What}: the limits of further cgroups are polled every --config-interval")]
    public static partial void WatchLimit(ILogger logger, int watched, string what);
}
