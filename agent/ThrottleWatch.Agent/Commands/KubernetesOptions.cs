using System.CommandLine;

namespace ThrottleWatch.Agent.Commands;

/// <summary>The Kubernetes flags of <c>run</c>, <c>record</c> and <c>top</c>: where the API is, which node, which namespaces to drop.</summary>
internal sealed class KubernetesOptions
{
    public Option<string?> Kubeconfig { get; } = new("--kubeconfig")
    {
        Description = "Kubeconfig for names (namespace/pod/container/workload); default: in-cluster config when in a pod; without either, pod UIDs and container ids",
        DefaultValueFactory = _ => CommonOptions.Env("KUBECONFIG"),
    };

    public Option<string> NodeName { get; } = new("--node-name")
    {
        Description = "This node's name in the API and in the node label (default: NODE_NAME from the downward API, else the host name)",
        DefaultValueFactory = _ => CommonOptions.Env("NODE_NAME") ?? NonEmpty(Environment.GetEnvironmentVariable("NODE_NAME")) ?? Environment.MachineName,
    };

    public Option<string> ExcludeNamespaces { get; } = new("--exclude-namespaces")
    {
        Description = "Comma-separated namespaces whose series are dropped once named",
        DefaultValueFactory = _ => CommonOptions.Env("EXCLUDE_NAMESPACES") ?? "",
    };

    public KubernetesOptions()
    {
        Kubeconfig.Validators.Add(r =>
        {
            var path = r.GetValueOrDefault<string?>();
            if (path is not null && !File.Exists(path))
            {
                r.AddError($"--kubeconfig: '{path}' does not exist");
            }
        });
    }

    public void AddTo(Command command, bool withExclude = true)
    {
        command.Options.Add(Kubeconfig);
        command.Options.Add(NodeName);
        if (withExclude)
        {
            command.Options.Add(ExcludeNamespaces);
        }
    }

    public string[] Excluded(ParseResult parse)
        => parse.GetValue(ExcludeNamespaces)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}
