using System.Globalization;

namespace ThrottleWatch.Analyzer.Rules;

/// <summary>Rounding CPU amounts to steps a person would write, and Kubernetes quantity text.</summary>
public static class Cores
{
    /// <summary>Limits: 0.1 cores below 2, 0.25 up to 4, 0.5 above; always up.</summary>
    public static double RoundLimitUp(double cores)
    {
        double step = cores < 2 ? 0.1 : cores < 4 ? 0.25 : 0.5;
        return Math.Round(Math.Ceiling(Math.Round(cores / step, 6)) * step, 3);
    }

    /// <summary>Requests: 10m below 0.1 cores, 50m below 1, 100m below 2, 250m above; always up.</summary>
    public static double RoundRequestUp(double cores)
    {
        double step = cores < 0.1 ? 0.01 : cores < 1 ? 0.05 : cores < 2 ? 0.1 : 0.25;
        return Math.Max(0.01, Math.Round(Math.Ceiling(Math.Round(cores / step, 6)) * step, 3));
    }

    /// <summary>Kubernetes quantity: "500m", "2", "1500m".</summary>
    public static string Quantity(double cores)
    {
        long milli = (long)Math.Round(cores * 1000);
        return milli % 1000 == 0 ? (milli / 1000).ToString(CultureInfo.InvariantCulture) : milli.ToString(CultureInfo.InvariantCulture) + "m";
    }

    public static string Text(double? cores) => cores is { } c ? c.ToString("0.###", CultureInfo.InvariantCulture) : "none";
}
