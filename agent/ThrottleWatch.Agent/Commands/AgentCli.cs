using System.CommandLine;

namespace ThrottleWatch.Agent.Commands;

/// <summary>Builds the command tree and runs it. Parse errors give one line and exit code 2, not the whole help.</summary>
public static class AgentCli
{
    public static RootCommand Build(CliContext context)
    {
        var root = new RootCommand("ThrottleWatch agent: CPU throttling of every container on this node, from the host's cgroups");
        var run = RunCommand.Create(context, root);
        root.Subcommands.Add(run);
        root.Subcommands.Add(SnapshotCommand.Create(context));
        root.Subcommands.Add(TopCommand.Create(context));
        root.Subcommands.Add(RecordCommand.Create(context));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancel = default)
    {
        var root = Build(context);
        // `run` is the default command: bare flags (or nothing) go to it.
        if (args.Length == 0 || (args[0].StartsWith('-') && args[0] is not ("-h" or "--help" or "-?" or "--version")))
        {
            args = ["run", .. args];
        }
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line per bad value, not the whole help.
            var errors = parse.Errors.DistinctBy(e => e.Message).ToList();
            if (errors.Count > 1)
            {
                // An unknown verb also trips "required command": the unknown verb is the one to say.
                errors.RemoveAll(e => e.Message.StartsWith("Required command", StringComparison.Ordinal));
            }
            foreach (var error in errors)
            {
                var message = string.Join(' ', error.Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                context.Error.WriteLine($"error: {message} (see --help)");
            }
            return ExitCodes.BadInput;
        }
        // Ctrl+C or SIGTERM cancels the command; give it time to finish (a recording being written, the host shutting down).
        var config = new InvocationConfiguration { Output = context.Output, Error = context.Error, ProcessTerminationTimeout = TimeSpan.FromSeconds(30) };
        return await parse.InvokeAsync(config, cancel).ConfigureAwait(false);
    }
}
