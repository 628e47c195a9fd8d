using ThrottleWatch.Rules;

return RulesCli.Run(args, Console.Out, Console.Error);
