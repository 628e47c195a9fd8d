using System.Globalization;

namespace ThrottleWatch.Contracts;

/// <summary>
/// Durations in Prometheus syntax: one or more of <c>&lt;n&gt;y w d h m s ms</c> in that order,
/// e.g. <c>500ms</c>, <c>1s</c>, <c>1h30m</c>, <c>7d</c>. See
/// https://prometheus.io/docs/prometheus/latest/configuration/configuration/#duration.
/// </summary>
public static class PromDuration
{
    private static readonly (string Unit, TimeSpan Size)[] Units =
    [
        ("y", TimeSpan.FromDays(365)),
        ("w", TimeSpan.FromDays(7)),
        ("d", TimeSpan.FromDays(1)),
        ("h", TimeSpan.FromHours(1)),
        ("m", TimeSpan.FromMinutes(1)),
        ("s", TimeSpan.FromSeconds(1)),
        ("ms", TimeSpan.FromMilliseconds(1)),
    ];

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        int i = 0;
        int lastUnit = -1;
        var total = TimeSpan.Zero;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }
            if (i == start || !long.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            {
                return false;
            }
            int unit = -1;
            for (int u = Units.Length - 1; u >= 0; u--)
            {
                // "ms" before "m": try the longer unit name first.
                var name = Units[u].Unit;
                if (string.CompareOrdinal(text, i, name, 0, name.Length) == 0 && (name != "m" || i + 1 >= text.Length || text[i + 1] != 's'))
                {
                    unit = u;
                    break;
                }
            }
            if (unit < 0 || unit <= lastUnit)
            {
                return false;
            }
            try
            {
                total = checked(total + TimeSpan.FromTicks(checked(n * Units[unit].Size.Ticks)));
            }
            catch (OverflowException)
            {
                return false;
            }
            lastUnit = unit;
            i += Units[unit].Unit.Length;
        }
        value = total;
        return true;
    }

    /// <summary>Formats as the shortest Prometheus duration ("1m30s", "500ms", "0s").</summary>
    public static string Format(TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            return "0s";
        }
        var sb = new System.Text.StringBuilder();
        var rest = value;
        foreach (var (unit, size) in Units)
        {
            long n = rest.Ticks / size.Ticks;
            if (n > 0)
            {
                sb.Append(n.ToString(CultureInfo.InvariantCulture)).Append(unit);
                rest -= TimeSpan.FromTicks(n * size.Ticks);
            }
        }
        return sb.ToString();
    }
}
