using System.Globalization;

namespace ThrottleWatch.Benchmarks.Sweep;

/// <summary>
/// <c>sweep --n N [--rounds R] [--sweeps S] [--per-pod P] [--busy B] [--markdown FILE] [--whole-root] [--only READER]</c>.
/// </summary>
internal sealed record SweepOptions
{
    public const string Usage =
        "usage: sweep --n N [--rounds R] [--sweeps S] [--per-pod P] [--busy B] [--markdown FILE] [--whole-root] [--only c|agent|naive]\n" +
        "  --n        containers to create (required)\n" +
        "  --rounds   rounds, each running C, agent and naive once, in rotating order (default 7)\n" +
        "  --sweeps   timed sweeps per reader per round (default: 100000/N, between 5 and 200)\n" +
        "  --per-pod  containers per pod (default 3)\n" +
        "  --busy     busy processes, each in a container with a 0.2 CPU quota (default 3)\n" +
        "  --markdown append the result row to this Markdown table (header written when the file is new)\n" +
        "  --whole-root  discover from the cpu mount itself, as the agent on a node does, instead of from the\n" +
        "             benchmark's own folder (then any other kube-shaped cgroups on the machine are swept too)\n" +
        "  --only     run one reader alone (to profile it, e.g. under perf record); the others show as -";

    public int Containers { get; init; }
    public int Rounds { get; init; } = 7;
    public int Sweeps { get; init; }
    public int PerPod { get; init; } = 3;
    public int Busy { get; init; } = 3;
    public string? Markdown { get; init; }
    public bool WholeRoot { get; init; }
    /// <summary>"c", "agent" or "naive" to run that reader alone; null runs all three.</summary>
    public string? Only { get; init; }

    public bool Runs(string reader) => Only is null || Only == reader;

    public static bool TryParse(string[] args, out SweepOptions options, out string error)
    {
        options = new SweepOptions();
        error = "";
        int? n = null, rounds = null, sweeps = null, perPod = null, busy = null;
        string? markdown = null, only = null;
        bool wholeRoot = false;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (name == "--whole-root")
            {
                wholeRoot = true;
                continue;
            }
            if (i + 1 >= args.Length)
            {
                error = $"{name} needs a value";
                return false;
            }
            string value = args[++i];
            if (name == "--markdown")
            {
                markdown = value;
                continue;
            }
            if (name == "--only")
            {
                if (value is not ("c" or "agent" or "naive"))
                {
                    error = $"--only takes c, agent or naive, not '{value}'";
                    return false;
                }
                only = value;
                continue;
            }
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v))
            {
                error = $"{name} takes a non-negative integer, not '{value}'";
                return false;
            }
            switch (name)
            {
                case "--n": n = v; break;
                case "--rounds": rounds = v; break;
                case "--sweeps": sweeps = v; break;
                case "--per-pod": perPod = v; break;
                case "--busy": busy = v; break;
                default:
                    error = $"unknown option '{name}'";
                    return false;
            }
        }
        if (n is null or < 1)
        {
            error = "--n N (at least 1) is required";
            return false;
        }
        if (rounds is < 1 || sweeps is < 1 || perPod is < 1)
        {
            error = "--rounds, --sweeps and --per-pod must be at least 1";
            return false;
        }
        options = new SweepOptions
        {
            Containers = n.Value,
            Rounds = rounds ?? 7,
            Sweeps = sweeps ?? Math.Clamp(100_000 / n.Value, 5, 200),
            PerPod = perPod ?? 3,
            Busy = busy ?? 3,
            Markdown = markdown,
            WholeRoot = wholeRoot,
            Only = only,
        };
        return true;
    }
}
