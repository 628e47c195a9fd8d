using ThrottleWatch.Agent.Commands;

return await AgentCli.RunAsync(args, new CliContext(Console.Out, Console.Error)).ConfigureAwait(false);
