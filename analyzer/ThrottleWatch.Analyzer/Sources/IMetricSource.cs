namespace ThrottleWatch.Analyzer.Sources;

/// <summary>Where evidence comes from: a Prometheus-compatible server, or an OpenMetrics recording.</summary>
public interface IMetricSource
{
    /// <summary>"prometheus http://…" or "recording FILE", for the report.</summary>
    string Description { get; }

    /// <summary>The spacing of the raw samples where the source knows it (a recording); null for a server.</summary>
    TimeSpan? SampleInterval { get; }

    /// <summary>Namespaces that have container series in the range (to batch the queries).</summary>
    Task<IReadOnlyList<string>> NamespacesAsync(Selector selector, DateTimeOffset rangeStart, DateTimeOffset rangeEnd, CancellationToken cancel);

    /// <summary>Evaluates <paramref name="query"/> at every step of <paramref name="grid"/>.</summary>
    Task<IReadOnlyList<StepSeries>> QueryAsync(EvidenceQuery query, Selector selector, StepGrid grid, CancellationToken cancel);
}

/// <summary>The source could not be reached or failed (exit code 3).</summary>
public sealed class SourceUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The input is wrong: a malformed recording, a query the server rejects (exit code 2).</summary>
public sealed class BadInputException(string message, Exception? inner = null) : Exception(message, inner);
