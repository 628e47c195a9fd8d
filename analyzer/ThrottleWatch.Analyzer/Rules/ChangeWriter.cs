using ThrottleWatch.Analyzer.Evidence;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Rules;

/// <summary>The change as a ready <c>kubectl</c> command and as a YAML snippet for the manifest.</summary>
public static class ChangeWriter
{
    /// <summary>
    /// A change of the CPU request and/or limit. <paramref name="removeLimit"/> removes the limit
    /// (a strategic-merge patch with <c>null</c>: <c>kubectl set resources</c> cannot remove one).
    /// </summary>
    public static Change For(ContainerKey key, double? request, double? limit, bool removeLimit)
    {
        string ns = Quote(key.Namespace);
        string kind = key.WorkloadKind.ToLowerInvariant();
        string target = $"{kind}/{Quote(key.Workload)}";
        string command;
        if (key.WorkloadKind == "Pod" || key.WorkloadKind == "Node")
        {
            // A bare or static pod has no template: resize it in place (Kubernetes 1.33+) or edit its manifest.
            var resources = Json(request, limit, removeLimit);
            command = $"kubectl -n {ns} patch pod {Quote(key.Workload)} --subresource resize -p '{{\"spec\":{{\"containers\":[{{\"name\":\"{key.Container}\",\"resources\":{resources}}}]}}}}'";
        }
        else if (removeLimit)
        {
            var resources = Json(request, null, true);
            var path = key.WorkloadKind == "CronJob" ? "{\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"containers\":[C]}}}}}}" : "{\"spec\":{\"template\":{\"spec\":{\"containers\":[C]}}}}";
            var patch = path.Replace("C", $"{{\"name\":\"{key.Container}\",\"resources\":{resources}}}", StringComparison.Ordinal);
            command = $"kubectl -n {ns} patch {target} --type=strategic -p '{patch}'";
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
            command = $"kubectl -n {ns} set resources {target} -c {Quote(key.Container)} {string.Join(' ', parts)}";
        }

        var yaml = new System.Text.StringBuilder();
        yaml.Append("# ").Append(key.WorkloadKind).Append(' ').Append(key.Namespace).Append('/').Append(key.Workload).Append(", container ").Append(key.Container).Append('\n');
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

    private static string Json(double? request, double? limit, bool removeLimit)
    {
        var parts = new List<string>();
        if (request is { } r)
        {
            parts.Add($"\"requests\":{{\"cpu\":\"{Cores.Quantity(r)}\"}}");
        }
        if (removeLimit)
        {
            parts.Add("\"limits\":{\"cpu\":null}");
        }
        else if (limit is { } l)
        {
            parts.Add($"\"limits\":{{\"cpu\":\"{Cores.Quantity(l)}\"}}");
        }
        return "{" + string.Join(",", parts) + "}";
    }

    /// <summary>Label values come from the cluster: anything but a DNS-1123-ish name is single-quoted for the shell.</summary>
    private static string Quote(string s)
        => s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_') ? s : "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
