using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Agent.Sampling;

/// <summary>Counts of failed reads by reason, for <c>throttlewatch_agent_read_errors_total{reason}</c>.</summary>
public sealed class ReadErrors
{
    private readonly long[] _counts = new long[Enum.GetValues<ReadStatus>().Length];

    public void Count(ReadStatus status) => Interlocked.Increment(ref _counts[(int)status]);

    public long this[ReadStatus status] => Interlocked.Read(ref _counts[(int)status]);

    /// <summary>Every counted reason with its total (Ok and Absent are not errors and never counted).</summary>
    public IEnumerable<(string Reason, long Count)> All()
    {
        foreach (var s in Enum.GetValues<ReadStatus>())
        {
            if (s is not (ReadStatus.Ok or ReadStatus.Absent))
            {
                yield return (s.Label(), this[s]);
            }
        }
    }
}
