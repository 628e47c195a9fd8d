using Microsoft.Extensions.Logging;

namespace ThrottleWatch.Agent.Metadata;

internal static partial class MetadataLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "No Kubernetes API configured (not in a cluster, no --kubeconfig): series carry pod_uid and container_id only")]
    public static partial void Disabled(ILogger logger);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Listed {Count} pods on node {Node}")]
    public static partial void Listed(ILogger logger, int count, string node);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Kubernetes API unavailable ({Error}); exporting without names, retrying in {Delay}")]
    public static partial void Unavailable(ILogger logger, string error, TimeSpan delay);

    [LoggerMessage(EventId = 203, Level = LogLevel.Information, Message = "Watch expired (410 Gone): listing again")]
    public static partial void Gone(ILogger logger);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Bad watch event skipped: {Error}")]
    public static partial void BadEvent(ILogger logger, string error);

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Cannot read node {Node}: {Error}")]
    public static partial void NodeFailed(ILogger logger, string node, string error);
}
