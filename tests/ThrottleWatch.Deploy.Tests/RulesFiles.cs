using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using ThrottleWatch.Rules;
using YamlDotNet.Serialization;

namespace ThrottleWatch.Deploy.Tests;

/// <summary>
/// Reading the committed rule files, the runbook and the promtool tests for <see cref="RulesTests"/>,
/// and running promtool. A missing promtool fails the test with the command that installs it.
/// </summary>
internal static partial class RulesFiles
{
    public static string RepoRoot { get; } = typeof(RulesFiles).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    public const string UnitTestDir = "deploy/prometheus/tests";

    /// <summary>
    /// Compares a committed file with <paramref name="fresh"/>; with THROTTLEWATCH_UPDATE_GOLDEN=1
    /// rewrites it first (as the repository's other golden tests do).
    /// </summary>
    public static void AssertGolden(string path, string fresh)
    {
        var full = Path.Combine(RepoRoot, path);
        if (Environment.GetEnvironmentVariable("THROTTLEWATCH_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, fresh);
        }
        var committed = File.Exists(full) ? File.ReadAllText(full) : null;
        Assert.True(committed == fresh,
            $"{path} {(committed is null ? "is missing" : "differs from a fresh generation")}: run `{RulesGenerator.Command}` " +
            "from the repository root (or THROTTLEWATCH_UPDATE_GOLDEN=1 dotnet test tests/ThrottleWatch.Deploy.Tests) and commit the result." +
            (committed is null ? "" : "\n" + FirstDifference(committed, fresh)));
    }

    private static string FirstDifference(string committed, string fresh)
    {
        var a = committed.Split('\n');
        var b = fresh.Split('\n');
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var x = i < a.Length ? a[i] : "<end of file>";
            var y = i < b.Length ? b[i] : "<end of file>";
            if (x != y)
            {
                return $"first difference at line {i + 1}:\n  committed: {x}\n  generated: {y}";
            }
        }
        return "";
    }

    /// <summary>Runs promtool from the repository root; returns its exit code and its output (stdout and stderr).</summary>
    public static (int Code, string Output) Promtool(params string[] args)
    {
        var (code, stdout, stderr) = ManifestRender.Run("promtool", args,
            "Install it: scripts/setup.sh (Debian package prometheus), or put promtool 2.42+ on PATH.");
        return (code, stdout + stderr);
    }

    /// <summary>The promtool unit test files, relative to the repository root, in order.</summary>
    public static string[] UnitTestFiles() =>
        Directory.GetFiles(Path.Combine(RepoRoot, UnitTestDir), "*.yaml")
            .Select(f => Path.GetRelativePath(RepoRoot, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>A YAML file (relative to the repository root) as a mapping.</summary>
    public static RulesYamlMap Load(string path)
    {
        var text = File.ReadAllText(Path.Combine(RepoRoot, path));
        var root = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(text);
        return new RulesYamlMap(root, path);
    }

    /// <summary>Every rule of the plain rule file, in evaluation order.</summary>
    public static IEnumerable<RulesYamlMap> Rules() =>
        Load(RulesGenerator.RulesPath).List("groups").SelectMany(g => g.List("rules"));

    public static IEnumerable<RulesYamlMap> Alerts() => Rules().Where(r => r.TryStr("alert") is not null);

    /// <summary>One promtool <c>alert_rule_test</c>: the alert, and the severities it expects to fire (none: quiet).</summary>
    public sealed record AlertTestCase(string File, string Alert, string EvalTime, IReadOnlyList<string> Severities);

    public static IEnumerable<AlertTestCase> AlertTestCases()
    {
        foreach (var file in UnitTestFiles())
        {
            foreach (var test in Load(file).List("tests"))
            {
                if (!test.Node.ContainsKey("alert_rule_test"))
                {
                    continue;
                }
                foreach (var c in test.List("alert_rule_test"))
                {
                    var severities = c.Node.TryGetValue("exp_alerts", out var exp) && exp is List<object> alerts
                        ? alerts.Select(a => new RulesYamlMap((Dictionary<object, object>)a, file).Map("exp_labels").Str("severity")).ToList()
                        : [];
                    yield return new AlertTestCase(file, c.Str("alertname"), c.Str("eval_time"), severities);
                }
            }
        }
    }

    /// <summary>The anchors GitHub gives the headings of docs/runbook.md.</summary>
    public static HashSet<string> RunbookAnchors()
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        bool fenced = false;
        foreach (var line in File.ReadAllLines(Path.Combine(RepoRoot, RulesGenerator.RunbookPath)))
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }
            var m = Heading().Match(line);
            if (!fenced && m.Success)
            {
                // GitHub: lower case, drop what is not a letter, digit, space, '-' or '_', spaces to '-'.
                var text = m.Groups[1].Value.Trim().ToLowerInvariant();
                anchors.Add(string.Concat(text.Where(ch => char.IsLetterOrDigit(ch) || ch is ' ' or '-' or '_')).Replace(' ', '-'));
            }
        }
        return anchors;
    }

    /// <summary>A YAML value as one string with sorted keys, for comparing two documents' content.</summary>
    public static string Canonical(object? node)
    {
        var sb = new StringBuilder();
        Write(node);
        return sb.ToString();

        void Write(object? n)
        {
            switch (n)
            {
                case Dictionary<object, object> map:
                    sb.Append('{');
                    foreach (var (k, v) in map.OrderBy(kv => (string)kv.Key, StringComparer.Ordinal))
                    {
                        sb.Append((string)k).Append(':');
                        Write(v);
                        sb.Append(',');
                    }
                    sb.Append('}');
                    break;
                case List<object> list:
                    sb.Append('[');
                    foreach (var item in list)
                    {
                        Write(item);
                        sb.Append(',');
                    }
                    sb.Append(']');
                    break;
                default:
                    sb.Append('"').Append(n?.ToString()?.Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
                    break;
            }
        }
    }

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*#*$")]
    private static partial Regex Heading();
}

/// <summary>A YAML mapping with checked access: a missing key or a wrong type fails the test naming the file.</summary>
internal sealed class RulesYamlMap(Dictionary<object, object> node, string file)
{
    public Dictionary<object, object> Node { get; } = node;

    public string Str(string key) => TryStr(key) ?? throw new Xunit.Sdk.XunitException($"{file}: no string '{key}' in {Describe()}");

    public string? TryStr(string key) => Node.TryGetValue(key, out var v) ? v as string : null;

    public RulesYamlMap Map(string key) =>
        Node.TryGetValue(key, out var v) && v is Dictionary<object, object> m
            ? new RulesYamlMap(m, file)
            : throw new Xunit.Sdk.XunitException($"{file}: no mapping '{key}' in {Describe()}");

    public IEnumerable<RulesYamlMap> List(string key) =>
        Node.TryGetValue(key, out var v) && v is List<object> l
            ? l.Select(i => new RulesYamlMap((Dictionary<object, object>)i, file))
            : throw new Xunit.Sdk.XunitException($"{file}: no list '{key}' in {Describe()}");

    private string Describe() => "{" + string.Join(", ", Node.Keys.Select(k => k.ToString())) + "}";
}
