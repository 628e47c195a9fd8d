using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using ThrottleWatch.Analyzer.Sources;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Commands;

/// <summary><c>throttlewatch-analyzer top</c> (<c>kubectl throttle top</c>): the most throttled containers now, from Prometheus.</summary>
internal static class TopCommand
{
    private static readonly string[] By = ["namespace", "pod", "container"];
    private static readonly string[] Columns = ["namespace/pod/container", "throttled s/s", "ratio peak", "usage", "limit"];

    public static Command Create(CliContext context)
    {
        var source = new SourceOptions();
        var count = new Option<int>("--count") { Description = "How many containers", DefaultValueFactory = _ => 15 };
        var command = new Command("top", "The most throttled containers now (throttled seconds per second over the last minute), from Prometheus");
        source.AddTo(command, withInput: false);
        command.Options.Add(count);
        command.SetAction(async (parse, cancel) =>
        {
            var (src, selector, _, end, _) = source.Resolve(parse, context.Now());
            using var _ = src as IDisposable;
            var grid = new StepGrid(end, end, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            var by = By;
            var throttled = await src.QueryAsync(new EvidenceQuery(MetricCatalog.ContainerThrottledSeconds, RangeFunction.Rate, Aggregation.Sum, by), selector, grid, cancel).ConfigureAwait(false);
            var peaks = await src.QueryAsync(new EvidenceQuery(MetricCatalog.ContainerThrottledRatioPeak, RangeFunction.MaxOverTime, Aggregation.Max, by), selector, grid, cancel).ConfigureAwait(false);
            var usage = await src.QueryAsync(new EvidenceQuery(MetricCatalog.ContainerUsageSeconds, RangeFunction.Rate, Aggregation.Sum, by), selector, grid, cancel).ConfigureAwait(false);
            var limits = await src.QueryAsync(new EvidenceQuery(MetricCatalog.ContainerLimitCores, RangeFunction.MaxOverTime, Aggregation.Max, by), selector, grid, cancel).ConfigureAwait(false);
            static string Key(StepSeries s) => string.Join("/", By.Select(l => s.Labels.GetValueOrDefault(l, "")));
            var peak = peaks.ToDictionary(Key, s => s.Values[0]);
            var use = usage.ToDictionary(Key, s => s.Values[0]);
            var lim = limits.ToDictionary(Key, s => s.Values[0]);
            var table = new Table().Border(TableBorder.Rounded).Title("most throttled containers, last minute");
            foreach (var c in Columns)
            {
                table.AddColumn(c);
            }
            foreach (var s in throttled.Where(s => !double.IsNaN(s.Values[0])).OrderByDescending(s => s.Values[0]).Take(parse.GetValue(count)))
            {
                var k = Key(s);
                table.AddRow(Markup.Escape(k), F(s.Values[0]), F(peak.GetValueOrDefault(k, double.NaN)), F(use.GetValueOrDefault(k, double.NaN)), F(lim.GetValueOrDefault(k, double.NaN)));
            }
            context.CreateConsole().Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string F(double v) => double.IsNaN(v) ? "-" : v.ToString("0.###", CultureInfo.InvariantCulture);
}
