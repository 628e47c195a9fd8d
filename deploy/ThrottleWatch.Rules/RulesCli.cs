using System.CommandLine;

namespace ThrottleWatch.Rules;

/// <summary>
/// <c>throttlewatch-rules [--runbook-base-url URL] [--out-dir DIR]</c>: writes the rule files under
/// DIR (default: the repository around the current directory) and refreshes the generated section
/// of DIR/docs/runbook.md when that file is there.
/// </summary>
public static class RulesCli
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var baseUrl = new Option<string>("--runbook-base-url")
        {
            Description = "Base URL of docs/runbook.md for every alert's runbook_url (the alert's #anchor is appended)",
            DefaultValueFactory = _ => ThrottleWatchRules.DefaultRunbookBaseUrl,
        };
        baseUrl.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string>();
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                result.AddError($"--runbook-base-url: '{text}' is not an absolute http(s) URL");
            }
        });
        var outDir = new Option<string?>("--out-dir")
        {
            Description = "Folder the paths deploy/prometheus/... and deploy/overlays/... are written under (default: the repository root above the current directory)",
        };

        var root = new RootCommand("Generates ThrottleWatch's Prometheus recording and alerting rules (plain rule file and PrometheusRule) from one source");
        root.Options.Add(baseUrl);
        root.Options.Add(outDir);
        root.SetAction(parse =>
        {
            var dir = parse.GetValue(outDir) ?? FindRepoRoot(Directory.GetCurrentDirectory());
            if (dir is null)
            {
                error.WriteLine("error: no ThrottleWatch.sln above the current directory: run from the repository or pass --out-dir");
                return 2;
            }
            var files = RulesGenerator.Generate(Thresholds.Default, parse.GetValue(baseUrl)!);
            foreach (var (path, text) in files)
            {
                Write(Path.Combine(dir, path), text, output);
            }
            var runbook = Path.Combine(dir, RulesGenerator.RunbookPath);
            if (File.Exists(runbook))
            {
                var fresh = RulesGenerator.ApplyRunbookReference(File.ReadAllText(runbook), Thresholds.Default);
                if (fresh is null)
                {
                    error.WriteLine($"error: {runbook} lacks the markers {RulesGenerator.RunbookBegin} ... {RulesGenerator.RunbookEnd}");
                    return 1;
                }
                Write(runbook, fresh, output);
            }
            return 0;
        });

        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var e in result.Errors)
            {
                error.WriteLine($"error: {e.Message} (see --help)");
            }
            return 2;
        }
        return result.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    private static void Write(string path, string text, TextWriter output)
    {
        if (File.Exists(path) && File.ReadAllText(path) == text)
        {
            output.WriteLine($"unchanged {path}");
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, text);
        output.WriteLine($"wrote     {path}");
    }

    private static string? FindRepoRoot(string start)
    {
        for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "ThrottleWatch.sln")))
            {
                return d.FullName;
            }
        }
        return null;
    }
}
