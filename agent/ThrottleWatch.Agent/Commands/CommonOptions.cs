using System.CommandLine;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Commands;

/// <summary>Options shared by the agent's commands that read the host's cgroups.</summary>
internal sealed class CommonOptions
{
    public Option<string> CgroupRoot { get; } = new("--cgroup-root")
    {
        Description = "Folder that holds the cgroup hierarchy (v2) or the controller folders (v1); in a pod, the host's mounted at /host/sys/fs/cgroup",
        DefaultValueFactory = _ => Env("CGROUP_ROOT") ?? "/sys/fs/cgroup",
    };

    public Option<string> ProcRoot { get; } = new("--proc-root")
    {
        Description = "The host's /proc, for mountinfo (refines where the cgroup controllers are mounted)",
        DefaultValueFactory = _ => Env("PROC_ROOT") ?? "/proc",
    };

    public Option<string[]> CgroupSubtree { get; } = new("--cgroup-subtree")
    {
        Description = "Report each cgroup directly under this path (relative to the cpu hierarchy) as a container; repeatable. For hosts without Kubernetes, e.g. system.slice",
        DefaultValueFactory = _ => Env("CGROUP_SUBTREE")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string> Interval { get; } = new("--interval")
    {
        Description = "Time between two readings, Prometheus duration syntax (500ms, 1s, 5m)",
        DefaultValueFactory = _ => Env("INTERVAL") ?? "1s",
    };

    public CommonOptions()
    {
        Interval.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string>();
            if (!PromDuration.TryParse(text, out var d) || d <= TimeSpan.Zero)
            {
                result.AddError($"--interval: '{text}' is not a positive duration (examples: 500ms, 1s, 5m)");
            }
            else if (d > TimeSpan.FromHours(1))
            {
                result.AddError($"--interval: '{text}' is longer than 1h");
            }
        });
    }

    public void AddTo(Command command)
    {
        command.Options.Add(CgroupRoot);
        command.Options.Add(ProcRoot);
        command.Options.Add(CgroupSubtree);
        command.Options.Add(Interval);
    }

    /// <summary>Every flag <c>--foo-bar</c> may come from <c>THROTTLEWATCH_FOO_BAR</c>.</summary>
    internal static string? Env(string name)
    {
        var v = Environment.GetEnvironmentVariable("THROTTLEWATCH_" + name);
        return string.IsNullOrWhiteSpace(v) ? null : v;
    }

    /// <summary>Detects the cgroup layout and checks the subtrees; one line on <see cref="CliContext.Error"/> when it fails.</summary>
    public static bool TryDetect(CliContext context, string root, string proc, IReadOnlyList<string> subtrees, out Cgroups.CgroupHierarchy? hierarchy)
    {
        if (!Cgroups.CgroupHierarchy.TryDetect(root, proc, out hierarchy, out var error))
        {
            context.Error.WriteLine($"error: {error}");
            return false;
        }
        foreach (var sub in subtrees)
        {
            var dir = Path.Combine(hierarchy!.CpuRoot, sub.TrimStart('/'));
            if (!Directory.Exists(dir))
            {
                context.Error.WriteLine($"error: --cgroup-subtree '{sub}' is not a folder under {hierarchy.CpuRoot}");
                return false;
            }
        }
        return true;
    }

    public static TimeSpan ParseInterval(string text) => PromDuration.TryParse(text, out var d) ? d : TimeSpan.FromSeconds(1);
}
