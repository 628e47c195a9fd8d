using ThrottleWatch.Analyzer.Commands;

// Installed as throttlewatch-analyzer, and as kubectl-throttle (a krew-style plugin: `kubectl throttle top`).
return await AnalyzerCli.RunAsync(args, new CliContext(Console.Out, Console.Error)).ConfigureAwait(false);
