using System.Text.Json.Nodes;
using ThrottleWatch.Analyzer.Evidence;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Rules;

/// <summary>
/// The change as a ready <c>kubectl</c> command and as a YAML snippet for the manifest. Every value
/// comes from cluster labels, so nothing from them reaches the command unquoted: the resource kind is
/// chosen from a fixed list, names are shell-quoted, and patches are built as JSON and quoted whole.
/// </summary>
public static class ChangeWriter
{
    /// <summary>Workload kinds with a pod template, and the word kubectl takes for them.</summary>
    private static readonly Dictionary<string, string> TemplateKinds = new(StringComparer.Ordinal)
    {
        ["Deployment"] = "deployment",
        ["StatefulSet"] = "statefulset",
        ["DaemonSet"] = "daemonset",
        ["ReplicaSet"] = "replicaset",
        ["Job"] = "job",
        ["CronJob"] = "cronjob",
    };

    /// <summary>
    /// A change of the CPU request and/or limit. <paramref name="removeLimit"/> removes the limit
    /// (a strategic-merge patch with <c>null</c>: <c>kubectl set resources</c> cannot remove one).
    /// </summary>
    public static Change For(ContainerKey key, double? request, double? limit, bool removeLimit)
    {
        string ns = Quote(key.Namespace);
        string command;
        var containerPatch = new JsonObject { ["name"] = key.Container, ["resources"] = Resources(request, limit, removeLimit) };
        if (key.WorkloadKind == "Pod")
        {
            // A bare pod has no template: resize it in place (Kubernetes 1.33+).
            var patch = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(containerPatch) } };
            command = $"kubectl -n {ns} patch pod {Quote(key.Workload)} --subresource resize -p {Quote(patch.ToJsonString())}";
        }
        else if (!TemplateKinds.TryGetValue(key.WorkloadKind, out var kind))
        {
            // A static pod (owner Node) lives in a manifest file on its node; anything else is unknown.
            command = key.WorkloadKind == "Node"
                ? "# a static pod: edit its manifest in the node's kubelet manifest folder (usually /etc/kubernetes/manifests) with the YAML below"
                : "# no command: unknown workload kind; apply the YAML below to its pod template";
        }
        else if (removeLimit)
        {
            var template = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(containerPatch) } };
            var patch = key.WorkloadKind == "CronJob"
                ? new JsonObject { ["spec"] = new JsonObject { ["jobTemplate"] = new JsonObject { ["spec"] = new JsonObject { ["template"] = template } } } }
                : new JsonObject { ["spec"] = new JsonObject { ["template"] = template } };
            command = $"kubectl -n {ns} patch {kind}/{Quote(key.Workload)} --type=strategic -p {Quote(patch.ToJsonString())}";
        }
        else
        {
            var parts = new List<string>();
            if (request is { } r)
            {
                parts.Add($"--requests=cpu={Cores.Quantity(r)}");
            }
            if (limit is { } l)
            {
                parts.Add($"--limits=cpu={Cores.Quantity(l)}");
            }
            command = $"kubectl -n {ns} set resources {kind}/{Quote(key.Workload)} -c {Quote(key.Container)} {string.Join(' ', parts)}";
        }

        var yaml = new System.Text.StringBuilder();
        yaml.Append("# ").Append(OneLine($"{key.WorkloadKind} {key.Namespace}/{key.Workload}, container {key.Container}")).Append('\n');
        yaml.Append("resources:\n");
        if (request is { } rq)
        {
            yaml.Append("  requests:\n    cpu: ").Append(Cores.Quantity(rq)).Append('\n');
        }
        if (removeLimit)
        {
            yaml.Append("  # limits.cpu removed: keep a memory limit if you have one\n");
        }
        else if (limit is { } lm)
        {
            yaml.Append("  limits:\n    cpu: ").Append(Cores.Quantity(lm)).Append('\n');
        }
        return new Change(command, yaml.ToString());
    }

    private static JsonObject Resources(double? request, double? limit, bool removeLimit)
    {
        var resources = new JsonObject();
        if (request is { } r)
        {
            resources["requests"] = new JsonObject { ["cpu"] = Cores.Quantity(r) };
        }
        if (removeLimit)
        {
            resources["limits"] = new JsonObject { ["cpu"] = null };
        }
        else if (limit is { } l)
        {
            resources["limits"] = new JsonObject { ["cpu"] = Cores.Quantity(l) };
        }
        return resources;
    }

    /// <summary>Anything but a plain DNS-style name is single-quoted for the shell (a ' inside becomes '\'').</summary>
    internal static string Quote(string s)
        => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_') ? s : "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>A YAML comment stays one line whatever the labels hold.</summary>
    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
