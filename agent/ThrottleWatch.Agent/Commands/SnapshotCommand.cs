using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Sampling;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Commands;

/// <summary>
/// <c>throttlewatch-agent snapshot</c>: discover, read twice an interval apart, print every
/// container's throttling over that interval as a table or as the JSON contract.
/// </summary>
internal static class SnapshotCommand
{
    public static Command Create(CliContext context)
    {
        var common = new CommonOptions();
        var format = new Option<string>("--format")
        {
            Description = "Output: table for people, json for tools (docs/snapshot-json.md)",
            DefaultValueFactory = _ => CommonOptions.Env("FORMAT") ?? "table",
        };
        format.AcceptOnlyFromAmong("table", "json");

        var command = new Command("snapshot", "Read every container's CPU throttling twice, an interval apart, and print it");
        common.AddTo(command);
        command.Options.Add(format);
        command.SetAction(async (parse, cancel) =>
        {
            var root = parse.GetValue(common.CgroupRoot)!;
            var proc = parse.GetValue(common.ProcRoot)!;
            var subtrees = parse.GetValue(common.CgroupSubtree) ?? [];
            var interval = CommonOptions.ParseInterval(parse.GetValue(common.Interval)!);
            if (!CommonOptions.TryDetect(context, root, proc, subtrees, out var hierarchy))
            {
                return ExitCodes.BadInput;
            }

            using var loggers = CliContext.CreateLoggerFactory();
            var logger = loggers.CreateLogger("throttlewatch.sampler");
            var discovery = new ContainerDiscovery(hierarchy!.CpuRoot, subtrees);
            using var sampler = new Sampler(hierarchy, discovery, HandleBudget.FromProcessLimit(), logger);
            sampler.Rediscover();
            sampler.Sweep(full: true);
            long start = Stopwatch.GetTimestamp();
            try
            {
                await Task.Delay(interval, cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return ExitCodes.Interrupted;
            }
            sampler.Sweep(full: true);
            var elapsed = Stopwatch.GetElapsedTime(start);
            var doc = SnapshotBuilder.Build(hierarchy, sampler, interval, elapsed, DateTimeOffset.UtcNow);

            if (parse.GetValue(format) == "json")
            {
                context.Output.WriteLine(JsonSerializer.Serialize(doc, ContractsJsonContext.Default.SnapshotDocument));
            }
            else
            {
                WriteTable(context, doc);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteTable(CliContext context, SnapshotDocument doc)
    {
        var console = context.CreateConsole();
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"cgroup v{doc.CgroupVersion} ({doc.CgroupMode}), {doc.Containers.Count} containers, {doc.Pods.Count} pods, over {doc.ElapsedSeconds:0.00}s");
        table.AddColumn("container");
        table.AddColumn("qos");
        table.AddColumn(new TableColumn("limit").RightAligned());
        table.AddColumn(new TableColumn("usage").RightAligned());
        table.AddColumn(new TableColumn("periods").RightAligned());
        table.AddColumn(new TableColumn("throttled").RightAligned());
        table.AddColumn(new TableColumn("ratio").RightAligned());
        table.AddColumn(new TableColumn("throttled s").RightAligned());
        var rows = doc.Containers
            .OrderByDescending(c => c.Delta.ThrottledSeconds)
            .ThenByDescending(c => c.Delta.ThrottledRatio ?? 0)
            .ThenBy(c => c.CgroupPath, StringComparer.Ordinal);
        foreach (var c in rows)
        {
            string name = c.ContainerId is { } id ? $"pod {Short(c.PodUid)} / {id[..12]}" : c.CgroupPath;
            table.AddRow(
                Markup.Escape(name),
                c.QosClass ?? "-",
                c.LimitCores is { } l ? l.ToString("0.###", CultureInfo.InvariantCulture) : "none",
                c.Delta.UsageCores is { } u ? u.ToString("0.000", CultureInfo.InvariantCulture) : "-",
                c.Delta.Periods.ToString(CultureInfo.InvariantCulture),
                c.Delta.ThrottledPeriods.ToString(CultureInfo.InvariantCulture),
                c.Delta.ThrottledRatio is { } r ? Highlight(r) : "-",
                c.Delta.ThrottledSeconds.ToString("0.000", CultureInfo.InvariantCulture));
        }
        console.Write(table);
        if (doc.Containers.Count == 0)
        {
            console.MarkupLine("[yellow]No containers found.[/] Outside Kubernetes, name a folder of cgroups with --cgroup-subtree (e.g. system.slice).");
        }
        var e = doc.Errors;
        if (e.Vanished + e.Malformed + e.Permission + e.OpenFiles + e.Io > 0)
        {
            console.MarkupLine($"read errors: vanished {e.Vanished}, malformed {e.Malformed}, permission {e.Permission}, open files {e.OpenFiles}, io {e.Io}");
        }
    }

    private static string Short(string? uid) => uid is null ? "-" : uid.Length > 8 ? uid[..8] : uid;

    private static string Highlight(double ratio)
    {
        var text = ratio.ToString("0.00", CultureInfo.InvariantCulture);
        return ratio >= 0.5 ? $"[red]{text}[/]" : ratio > 0 ? $"[yellow]{text}[/]" : text;
    }
}
