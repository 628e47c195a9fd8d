using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace ThrottleWatch.Deploy.Tests;

/// <summary>
/// Renders a kustomization with the real <c>kubectl kustomize</c> (once per folder per test run) and
/// runs the node schema validator on the output. A missing kubectl, node or
/// <c>tests/node/node_modules</c> fails the test with the command that installs it; nothing is skipped.
/// </summary>
internal static class ManifestRender
{
    public static string RepoRoot { get; } = typeof(ManifestRender).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    /// <summary>The kustomizations users apply: the base and every overlay.</summary>
    public static readonly string[] Kustomizations =
    [
        "deploy/base",
        "deploy/overlays/prometheus-operator",
        "deploy/overlays/analyzer-cronjob",
        "deploy/overlays/secure-metrics",
        "deploy/overlays/prometheus-operator-secure",
    ];

    /// <summary>The kustomizations that turn on TLS and Kubernetes authentication (components/secure-metrics).</summary>
    public static readonly string[] Secure =
    [
        "deploy/overlays/secure-metrics",
        "deploy/overlays/prometheus-operator-secure",
    ];

    public static string NodeDir => Path.Combine(RepoRoot, "tests", "node");

    private static readonly ConcurrentDictionary<string, Lazy<Rendered>> Cache = new(StringComparer.Ordinal);

    /// <summary>The output of <c>kubectl kustomize DIR</c> (DIR relative to the repository root), parsed.</summary>
    public static Rendered Render(string dir) =>
        Cache.GetOrAdd(dir, d => new Lazy<Rendered>(() => RenderNow(d), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private static Rendered RenderNow(string dir)
    {
        var (code, stdout, stderr) = Run("kubectl", ["kustomize", dir], "Install kubectl 1.32 or newer (it includes kustomize 5) on PATH.");
        Assert.True(code == 0, $"kubectl kustomize {dir} failed (exit {code}):\n{stderr}");
        var stream = new YamlStream();
        stream.Load(new StringReader(stdout));
        var objects = stream.Documents
            .Select(d => d.RootNode)
            .OfType<YamlMappingNode>()
            .Select(n => new K8sObject(n))
            .ToList();
        Assert.True(objects.Count > 0, $"kubectl kustomize {dir} rendered nothing");
        return new Rendered(dir, stdout, objects);
    }

    /// <summary>Runs <c>node tests/node/validate-manifests.mjs</c> on <paramref name="yaml"/>; returns its exit code and output.</summary>
    public static (int Code, string Output) Validate(string yaml)
    {
        Assert.True(Directory.Exists(Path.Combine(NodeDir, "node_modules", "kubernetes-models"))
                    && Directory.Exists(Path.Combine(NodeDir, "node_modules", "@kubernetes-models", "prometheus-operator")),
            "tests/node/node_modules is missing or incomplete: run `npm ci --prefix tests/node`");
        var file = Path.Combine(Path.GetTempPath(), $"throttlewatch-rendered-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(file, yaml);
        try
        {
            var (code, stdout, stderr) = Run("node", [Path.Combine(NodeDir, "validate-manifests.mjs"), file], "Install Node.js 20 or newer on PATH, then run `npm ci --prefix tests/node`.");
            return (code, stdout + stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Runs a tool from the repository root; a tool that is not installed fails the test with <paramref name="install"/>.</summary>
    internal static (int Code, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, string install)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoRoot,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"cannot run {file}: {e.Message}. {install}");
            throw;
        }
        using (process)
        {
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.Append(e.Data).Append('\n'); } } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.Append(e.Data).Append('\n'); } } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"{file} {string.Join(' ', psi.ArgumentList)} did not finish in 2 minutes");
            }
            process.WaitForExit(); // drains the output events
            return (process.ExitCode, stdout.ToString(), stderr.ToString());
        }
    }
}

/// <summary>One rendered kustomization: its text and its objects.</summary>
internal sealed record Rendered(string Dir, string Yaml, IReadOnlyList<K8sObject> Objects)
{
    public IEnumerable<K8sObject> OfKind(string kind) => Objects.Where(o => o.Kind == kind);

    public K8sObject Single(string kind, string name)
    {
        var matches = Objects.Where(o => o.Kind == kind && o.Name == name).ToList();
        Assert.True(matches.Count == 1, $"{Dir}: expected one {kind} {name}, found {matches.Count}");
        return matches[0];
    }

    /// <summary>Every pod template in the render: DaemonSets, Deployments, Jobs and CronJobs.</summary>
    public IEnumerable<(K8sObject Owner, YamlMappingNode PodSpec)> PodSpecs()
    {
        foreach (var o in Objects)
        {
            var spec = o.Kind switch
            {
                "DaemonSet" or "Deployment" or "StatefulSet" or "Job" or "ReplicaSet" => o.Root.Map("spec")?.Map("template")?.Map("spec"),
                "CronJob" => o.Root.Map("spec")?.Map("jobTemplate")?.Map("spec")?.Map("template")?.Map("spec"),
                "Pod" => o.Root.Map("spec"),
                _ => null,
            };
            if (spec is not null)
            {
                yield return (o, spec);
            }
        }
    }
}

/// <summary>A rendered Kubernetes object.</summary>
internal sealed class K8sObject(YamlMappingNode root)
{
    public YamlMappingNode Root { get; } = root;
    public string Kind => Root.Str("kind") ?? "";
    public string ApiVersion => Root.Str("apiVersion") ?? "";
    public string Name => Root.Map("metadata")?.Str("name") ?? "";
    public string? Namespace => Root.Map("metadata")?.Str("namespace");
    public override string ToString() => $"{Kind} {Name}";
}

/// <summary>Small lookups over YamlDotNet's representation model: absent keys give null.</summary>
internal static class ManifestYaml
{
    public static YamlNode? Get(this YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    public static YamlMappingNode? Map(this YamlMappingNode map, string key) => map.Get(key) as YamlMappingNode;

    public static YamlSequenceNode? Seq(this YamlMappingNode map, string key) => map.Get(key) as YamlSequenceNode;

    public static string? Str(this YamlMappingNode map, string key) => (map.Get(key) as YamlScalarNode)?.Value;

    public static IEnumerable<YamlMappingNode> Maps(this YamlMappingNode map, string key) =>
        map.Seq(key)?.Children.OfType<YamlMappingNode>() ?? [];

    public static IEnumerable<string> Strs(this YamlMappingNode map, string key) =>
        map.Seq(key)?.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? "") ?? [];

    public static IEnumerable<string> Keys(this YamlMappingNode map) =>
        map.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "");
}
