using System.Globalization;

namespace ThrottleWatch.Benchmarks.Sweep;

/// <summary>
/// The straightforward reader the agent is measured against: open, read the whole file as a
/// string, split it into lines and words, parse every value. What most tools do, and what
/// STYLE.md says not to do once per second.
/// </summary>
internal sealed class NaiveReader(IReadOnlyList<string> paths)
{
    /// <summary>Kept so that the parsed values are used and the reads cannot be dropped.</summary>
    public ulong Sink { get; private set; }

    public void Sweep()
    {
        ulong sum = 0;
        foreach (var path in paths)
        {
            string text = File.ReadAllText(path);
            foreach (var line in text.Split('\n'))
            {
                if (line.Length == 0)
                {
                    continue;
                }
                // "nr_throttled 30" in cpu.stat, a bare "24923982598" in cpuacct.usage: the value is the last word.
                var words = line.Split(' ');
                sum += ulong.Parse(words[^1], CultureInfo.InvariantCulture);
            }
        }
        Sink += sum;
    }
}
