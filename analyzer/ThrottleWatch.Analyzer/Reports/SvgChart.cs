using System.Globalization;
using System.Text;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>One line of a chart: its legend label, CSS class (its colour and dashes), values per time step, and shape.</summary>
/// <param name="Step">Drawn as steps (a request or limit holds until it changes); otherwise a polyline.</param>
internal sealed record ChartLine(string Label, string CssClass, IReadOnlyList<double?> Values, bool Step = false);

/// <summary>A horizontal reference line, dashed and labelled at its right end.</summary>
internal sealed record ChartReference(double Value, string Label);

/// <summary>What to draw: lines over shared time steps, the y range and its tick labels.</summary>
internal sealed record ChartSpec(
    string Id,
    string Heading,
    string Description,
    IReadOnlyList<DateTimeOffset> Times,
    IReadOnlyList<ChartLine> Lines,
    double YMax,
    IReadOnlyList<double> YTicks,
    Func<double, string> YLabel,
    DateTimeOffset DomainStart,
    DateTimeOffset DomainEnd,
    IReadOnlyList<ChartReference>? References = null,
    string NoData = "no data");

/// <summary>
/// A small inline SVG line chart with no script and no external reference: a heading, a legend,
/// y ticks with grid lines, x ticks at aligned times, and a <c>&lt;title&gt;</c> for screen readers.
/// Nulls and jumps in time longer than 2.5 steps break the line. A week of 5-minute steps (2,016)
/// is reduced to one point per unit of plot width (the highest value for lines, the last for
/// steps), which keeps each chart near 10 KB and spikes visible.
/// </summary>
internal static class SvgChart
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public const int Width = 560;
    public const int Height = 230;
    private const int Left = 52, Right = 40, Top = 46, Bottom = 26;
    private const int PlotWidth = Width - Left - Right;
    private const int PlotHeight = Height - Top - Bottom;

    /// <summary>The <c>&lt;svg&gt;</c> element; with no value at all, the frame and "no data".</summary>
    public static string Render(ChartSpec spec)
    {
        var sb = new StringBuilder(12 * 1024);
        sb.Append(Inv, $"<svg class=\"chart\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-labelledby=\"{spec.Id}-t\">");
        sb.Append(Inv, $"<title id=\"{spec.Id}-t\">{Html.Encode(spec.Description)}</title>");
        sb.Append(Inv, $"<text class=\"heading\" x=\"{Left}\" y=\"16\">{Html.Encode(spec.Heading)}</text>");
        AppendLegend(sb, spec);

        bool any = spec.Times.Count > 0 && spec.Lines.Any(l => l.Values.Any(v => v is { } x && double.IsFinite(x)));
        sb.Append(Inv, $"<rect class=\"frame\" x=\"{Left}\" y=\"{Top}\" width=\"{PlotWidth}\" height=\"{PlotHeight}\"/>");
        if (!any)
        {
            sb.Append(Inv, $"<text class=\"nodata\" x=\"{Left + PlotWidth / 2}\" y=\"{Top + PlotHeight / 2 + 5}\" text-anchor=\"middle\">{Html.Encode(spec.NoData)}</text>");
            sb.Append("</svg>");
            return sb.ToString();
        }

        var (start, end) = (spec.DomainStart, spec.DomainEnd);
        if (end <= start)
        {
            end = start + TimeSpan.FromMinutes(1);
        }
        double yMax = spec.YMax > 0 && double.IsFinite(spec.YMax) ? spec.YMax : 1;

        foreach (var t in spec.YTicks)
        {
            if (t < 0 || t > yMax)
            {
                continue;
            }
            var y = Fmt(Y(t, yMax));
            sb.Append(Inv, $"<line class=\"grid\" x1=\"{Left}\" x2=\"{Left + PlotWidth}\" y1=\"{y}\" y2=\"{y}\"/>");
            sb.Append(Inv, $"<text x=\"{Left - 6}\" y=\"{Fmt(Y(t, yMax) + 4)}\" text-anchor=\"end\">{Html.Encode(spec.YLabel(t))}</text>");
        }
        foreach (var (t, label) in TimeTicks(start, end))
        {
            var x = Fmt(X(t, start, end));
            sb.Append(Inv, $"<line class=\"tick\" x1=\"{x}\" x2=\"{x}\" y1=\"{Top + PlotHeight}\" y2=\"{Top + PlotHeight + 4}\"/>");
            sb.Append(Inv, $"<text x=\"{x}\" y=\"{Height - 8}\" text-anchor=\"middle\">{Html.Encode(label)}</text>");
        }
        foreach (var r in spec.References ?? [])
        {
            var y = Fmt(Y(r.Value, yMax));
            sb.Append(Inv, $"<line class=\"ref\" x1=\"{Left}\" x2=\"{Left + PlotWidth}\" y1=\"{y}\" y2=\"{y}\"/>");
            sb.Append(Inv, $"<text class=\"reflabel\" x=\"{Left + PlotWidth + 4}\" y=\"{Fmt(Y(r.Value, yMax) + 4)}\">{Html.Encode(r.Label)}</text>");
        }
        // Drawn in reverse: the first line listed (usage) ends on top of the request and limit.
        foreach (var line in spec.Lines.Reverse())
        {
            var d = PathData(spec.Times, line, start, end, yMax);
            if (d.Length > 0)
            {
                sb.Append(Inv, $"<path class=\"{line.CssClass}\" d=\"{d}\"/>");
            }
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>Up to about 5 "nice" ticks from 0 to <paramref name="max"/>: steps of 1, 2, 2.5 or 5 × 10ⁿ.</summary>
    public static IReadOnlyList<double> NiceTicks(double max)
    {
        if (!(max > 0) || !double.IsFinite(max))
        {
            return [0];
        }
        double raw = max / 4;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double res = raw / mag;
        double step = (res <= 1 ? 1 : res <= 2 ? 2 : res <= 2.5 ? 2.5 : res <= 5 ? 5 : 10) * mag;
        var ticks = new List<double>();
        for (int i = 0; i * step <= max * (1 + 1e-9); i++)
        {
            ticks.Add(Math.Round(i * step, 10));
        }
        return ticks;
    }

    /// <summary>Ticks at whole, aligned steps (midnight UTC for days), at most about 8 of them.</summary>
    internal static IReadOnlyList<(DateTimeOffset Time, string Label)> TimeTicks(DateTimeOffset start, DateTimeOffset end)
    {
        TimeSpan[] steps =
        [
            TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1),
            TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromHours(12), TimeSpan.FromDays(1),
            TimeSpan.FromDays(2), TimeSpan.FromDays(7), TimeSpan.FromDays(14), TimeSpan.FromDays(28),
        ];
        var span = end - start;
        var step = steps.FirstOrDefault(s => span / s <= 8, steps[^1]);
        while (span / step > 8)
        {
            step *= 2;
        }
        long first = (start.UtcTicks + step.Ticks - 1) / step.Ticks * step.Ticks;
        var ticks = new List<(DateTimeOffset, string)>();
        for (long t = first; t <= end.UtcTicks; t += step.Ticks)
        {
            var time = new DateTimeOffset(t, TimeSpan.Zero);
            bool day = time.TimeOfDay == TimeSpan.Zero;
            var label = day || step >= TimeSpan.FromDays(1)
                ? time.ToString("MMM d", Inv)
                : time.ToString("HH:mm", Inv);
            ticks.Add((time, label));
        }
        return ticks;
    }

    /// <summary>
    /// The path's <c>d</c>: one point per plot column (max of a line's values, last of a step's),
    /// a new subpath after a null or a jump in time; a lone point becomes a dot.
    /// </summary>
    private static string PathData(IReadOnlyList<DateTimeOffset> times, ChartLine line, DateTimeOffset start, DateTimeOffset end, double yMax)
    {
        int n = Math.Min(times.Count, line.Values.Count);
        var maxGap = TypicalStep(times) * 2.5;
        var points = new List<(int Col, double Value, bool Break)>();
        bool pendingBreak = true;
        DateTimeOffset? lastTime = null;
        for (int i = 0; i < n; i++)
        {
            if (line.Values[i] is not { } v || !double.IsFinite(v))
            {
                pendingBreak = true;
                continue;
            }
            if (lastTime is { } lt && maxGap > TimeSpan.Zero && times[i] - lt > maxGap)
            {
                pendingBreak = true;
            }
            lastTime = times[i];
            int col = (int)Math.Clamp(Math.Floor(X(times[i], start, end) - Left), 0, PlotWidth - 1);
            if (!pendingBreak && points.Count > 0 && points[^1].Col == col)
            {
                var p = points[^1];
                points[^1] = (col, line.Step ? v : Math.Max(p.Value, v), p.Break);
            }
            else
            {
                points.Add((col, v, pendingBreak));
                pendingBreak = false;
            }
        }

        var d = new StringBuilder();
        for (int i = 0; i < points.Count; i++)
        {
            var (col, v, brk) = points[i];
            var x = Fmt(Left + col + 0.5);
            var y = Fmt(Y(v, yMax));
            bool lone = brk && (i + 1 == points.Count || points[i + 1].Break);
            if (brk)
            {
                d.Append(Inv, $"M{x} {y}");
                if (lone)
                {
                    d.Append(line.Step ? "h2" : "h0.01");
                }
            }
            else if (line.Step)
            {
                d.Append(Inv, $"H{x}V{y}");
            }
            else
            {
                d.Append(Inv, $"L{x} {y}");
            }
        }
        return d.ToString();
    }

    private static void AppendLegend(StringBuilder sb, ChartSpec spec)
    {
        double x = Left;
        const int y = 34;
        foreach (var line in spec.Lines)
        {
            sb.Append(Inv, $"<path class=\"{line.CssClass}\" d=\"M{Fmt(x)} {y - 4}h18\"/>");
            sb.Append(Inv, $"<text x=\"{Fmt(x + 23)}\" y=\"{y}\">{Html.Encode(line.Label)}</text>");
            x += 23 + 7 * line.Label.Length + 18;
        }
        foreach (var r in spec.References ?? [])
        {
            sb.Append(Inv, $"<path class=\"ref\" d=\"M{Fmt(x)} {y - 4}h18\"/>");
            var label = r.Label + " reference";
            sb.Append(Inv, $"<text x=\"{Fmt(x + 23)}\" y=\"{y}\">{Html.Encode(label)}</text>");
            x += 23 + 7 * label.Length + 18;
        }
    }

    /// <summary>The median time between steps (zero with fewer than two).</summary>
    private static TimeSpan TypicalStep(IReadOnlyList<DateTimeOffset> times)
    {
        if (times.Count < 2)
        {
            return TimeSpan.Zero;
        }
        var diffs = new long[times.Count - 1];
        for (int i = 1; i < times.Count; i++)
        {
            diffs[i - 1] = (times[i] - times[i - 1]).Ticks;
        }
        Array.Sort(diffs);
        return TimeSpan.FromTicks(diffs[diffs.Length / 2]);
    }

    private static double X(DateTimeOffset t, DateTimeOffset start, DateTimeOffset end)
        => Left + (t - start).Ticks / (double)(end - start).Ticks * PlotWidth;

    private static double Y(double v, double yMax)
        => Top + PlotHeight - Math.Clamp(v / yMax, 0, 1) * PlotHeight;

    private static string Fmt(double v) => v.ToString("0.#", Inv);
}
