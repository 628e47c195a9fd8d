using System.Globalization;

namespace ThrottleWatch.Benchmarks;

/// <summary>
/// The flags of the bench commands that run beside the agent (<c>tree</c>, <c>churn</c>,
/// <c>scrape-load</c>): <c>--name VALUE</c> pairs, some text, the rest whole numbers, and
/// <c>--help</c>. One clear line (with the usage where it helps) and exit 2 for anything else.
/// </summary>
internal sealed class BenchFlags
{
    private readonly Dictionary<string, string> _text = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _numbers = new(StringComparer.Ordinal);

    /// <summary>Null when every flag parsed; otherwise the exit code (0 after <c>--help</c>), with what was wrong written.</summary>
    public static int? Parse(string[] args, string usage, TextWriter output, TextWriter error,
        IReadOnlyCollection<string> textFlags, IReadOnlyCollection<string> numberFlags, out BenchFlags flags)
    {
        flags = new BenchFlags();
        for (int i = 0; i < args.Length; i++)
        {
            string flag = args[i];
            if (flag is "--help" or "-h")
            {
                output.WriteLine(usage);
                return 0;
            }
            if (i + 1 >= args.Length)
            {
                error.WriteLine($"error: {flag} needs a value");
                error.WriteLine(usage);
                return 2;
            }
            string value = args[++i];
            if (textFlags.Contains(flag))
            {
                flags._text[flag] = value;
                continue;
            }
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v))
            {
                error.WriteLine($"error: {flag} needs a whole number, not '{value}'");
                return 2;
            }
            if (!numberFlags.Contains(flag))
            {
                error.WriteLine($"error: unknown flag '{flag}'");
                error.WriteLine(usage);
                return 2;
            }
            flags._numbers[flag] = v;
        }
        return null;
    }

    public string? Text(string flag) => _text.GetValueOrDefault(flag);

    public int? Number(string flag) => _numbers.TryGetValue(flag, out int v) ? v : null;

    public int Number(string flag, int fallback) => _numbers.GetValueOrDefault(flag, fallback);
}
