using System.CommandLine;
using System.Globalization;
using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Export;
using ThrottleWatch.Agent.Hosting;
using ThrottleWatch.Agent.Metadata;
using ThrottleWatch.Agent.Sampling;

namespace ThrottleWatch.Agent.Commands;

/// <summary>
/// <c>throttlewatch-agent top</c>: a live terminal view of this node's containers, most throttled
/// first, refreshed every interval. Needs neither Kubernetes nor the HTTP server; with
/// <c>--kubeconfig</c> (or in a pod) it shows names. <c>q</c> quits.
/// </summary>
internal static class TopCommand
{
    public static Command Create(CliContext context)
    {
        var common = new CommonOptions();
        var kubeOptions = new KubernetesOptions();
        var count = new Option<int>("--count")
        {
            Description = "Refresh this many times, then exit (0: until q or Ctrl+C)",
            DefaultValueFactory = _ => 0,
        };
        var rows = new Option<int>("--rows")
        {
            Description = "Containers shown",
            DefaultValueFactory = _ => 25,
        };
        var command = new Command("top", "Live view of this node's containers, most throttled first (q quits)");
        common.AddTo(command);
        kubeOptions.AddTo(command, withExclude: false);
        command.Options.Add(count);
        command.Options.Add(rows);
        command.SetAction(async (parse, cancel) =>
        {
            var subtrees = parse.GetValue(common.CgroupSubtree) ?? [];
            var options = new AgentOptions
            {
                CgroupRoot = parse.GetValue(common.CgroupRoot)!,
                ProcRoot = parse.GetValue(common.ProcRoot)!,
                CgroupSubtrees = subtrees,
                Interval = CommonOptions.ParseInterval(parse.GetValue(common.Interval)!),
                NodeName = parse.GetValue(kubeOptions.NodeName)!,
                ConfigInterval = TimeSpan.FromSeconds(10),
                Kubeconfig = parse.GetValue(kubeOptions.Kubeconfig),
            };
            if (!CommonOptions.TryDetect(context, options.CgroupRoot, options.ProcRoot, subtrees, out var hierarchy))
            {
                return ExitCodes.BadInput;
            }

            var state = new NodeState(options.NodeName, hierarchy!, AgentHost.KernelVersion(options.ProcRoot));
            using var sampler = new Sampler(hierarchy!, new ContainerDiscovery(hierarchy!.CpuRoot, subtrees), HandleBudget.FromProcessLimit());
            using var loop = new SamplingService(options, state, sampler, [], NullLogger<SamplingService>.Instance);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            PodIndex? index = null;
            PodWatcher? watcher = null;
            var kube = new KubernetesStatus { Enabled = options.Kubeconfig is not null };
            if (options.Kubeconfig is not null)
            {
                index = new PodIndex();
                var client = new KubeApi(KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig));
                watcher = new PodWatcher(client, options.NodeName, index, kube, TimeSpan.FromMinutes(5), NullLogger<PodWatcher>.Instance);
                await watcher.StartAsync(stop.Token).ConfigureAwait(false);
            }

            var console = context.CreateConsole();
            int limit = parse.GetValue(count);
            int shown = Math.Max(1, parse.GetValue(rows));
            bool interactive = ReferenceEquals(context.Output, Console.Out) && !Console.IsInputRedirected;
            try
            {
                loop.SweepOnce();
                var table = Render(state, index, shown);
                await console.Live(table).AutoClear(false).StartAsync(async live =>
                {
                    using var timer = new PeriodicTimer(options.Interval);
                    for (int i = 0; limit == 0 || i < limit; i++)
                    {
                        if (!await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
                        {
                            break;
                        }
                        loop.SweepOnce();
                        live.UpdateTarget(Render(state, index, shown));
                        live.Refresh();
                        while (interactive && Console.KeyAvailable)
                        {
                            if (Console.ReadKey(intercept: true).KeyChar is 'q' or 'Q')
                            {
                                return;
                            }
                        }
                    }
                }).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                if (watcher is not null)
                {
                    await watcher.StopAsync(CancellationToken.None).ConfigureAwait(false);
                    watcher.Dispose();
                }
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static Table Render(NodeState state, PodIndex? index, int rows)
    {
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("container");
        table.AddColumn(new TableColumn("limit").RightAligned());
        table.AddColumn(new TableColumn("usage").RightAligned());
        table.AddColumn(new TableColumn("throttled now").RightAligned());
        table.AddColumn(new TableColumn("peak 60s").RightAligned());
        table.AddColumn(new TableColumn("throttled s/s").RightAligned());
        var empty = new HashSet<string>();
        int total = 0;
        lock (state.Gate)
        {
            long now = System.Diagnostics.Stopwatch.GetTimestamp();
            var list = state.Series
                .Where(s => s.Identity.Kind != CgroupKind.Pod && s.Initialized)
                .Select(s => (Series: s, Labels: SeriesLabels.Resolve(s, index, empty)))
                .Where(x => x.Labels is not null)
                .ToList();
            total = list.Count;
            foreach (var (s, l) in list
                .OrderByDescending(x => x.Series.ThrottledSecondsNow)
                .ThenByDescending(x => x.Series.RatioPeak.Peak(now) ?? 0)
                .ThenByDescending(x => x.Series.UsageCoresNow ?? 0)
                .Take(rows))
            {
                table.AddRow(
                    Markup.Escape(Name(s, l!)),
                    s.LimitCores is { } limit ? F(limit, "0.###") : (s.Pod?.LimitCores is { } pl ? $"pod {F(pl, "0.###")}" : "none"),
                    s.UsageCoresNow is { } u ? F(u, "0.000") : "-",
                    s.ThrottledRatioNow is { } r ? Ratio(r) : "-",
                    s.HasQuota ? Ratio(s.RatioPeak.Peak(now) ?? 0) : "-",
                    F(s.ThrottledSecondsNow, "0.000"));
            }
        }
        table.Title = new TableTitle($"throttlewatch top: node {Markup.Escape(state.NodeName)}, cgroup v{state.Hierarchy.Version}, {total} containers, sweep {state.Sweeps} (q quits)");
        return table;
    }

    private static string Name(SeriesState s, SeriesLabels l)
    {
        if (l.Pod.Length > 0)
        {
            return $"{l.Namespace}/{l.Pod}/{l.Container}";
        }
        var id = s.Identity;
        return id.ContainerId is { } cid ? $"pod {id.PodUid?[..Math.Min(8, id.PodUid.Length)]} / {cid[..12]}" : id.CgroupPath;
    }

    private static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    private static string Ratio(double r)
    {
        var text = F(r, "0.00");
        return r >= 0.5 ? $"[red]{text}[/]" : r > 0 ? $"[yellow]{text}[/]" : text;
    }
}
