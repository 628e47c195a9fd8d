using YamlDotNet.RepresentationModel;

namespace ThrottleWatch.Deploy.Tests;

/// <summary>
/// The manifests in deploy/, as users apply them: each kustomization is rendered by the real
/// <c>kubectl kustomize</c>, every object passes its schema (tests/node/validate-manifests.mjs), and
/// the rendered objects keep the agent least-privileged: the RBAC it needs and nothing else, the
/// host read-only, no root, no capabilities, and no CPU limit of its own.
/// </summary>
public class ManifestTests
{
    private const string Namespace = "throttlewatch";
    private const string Agent = "throttlewatch-agent";
    private const string Analyzer = "throttlewatch-analyzer";
    private const string Base = "deploy/base";
    private const string PrometheusOperator = "deploy/overlays/prometheus-operator";
    private const string AnalyzerCronJob = "deploy/overlays/analyzer-cronjob";

    public static TheoryData<string> Kustomizations()
    {
        var data = new TheoryData<string>();
        foreach (var dir in ManifestRender.Kustomizations)
        {
            data.Add(dir);
        }
        return data;
    }

    /// <summary>kustomization.yaml files under deploy/: the kustomizations, and the components they use.</summary>
    private static (List<string> Kustomizations, List<string> Components) DeployFolders()
    {
        var k = new List<string>();
        var c = new List<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(ManifestRender.RepoRoot, "deploy"), "kustomization.yaml", SearchOption.AllDirectories))
        {
            var dir = Path.GetRelativePath(ManifestRender.RepoRoot, Path.GetDirectoryName(f)!).Replace('\\', '/');
            (File.ReadLines(f).Any(l => l.Trim() == "kind: Component") ? c : k).Add(dir);
        }
        k.Sort(StringComparer.Ordinal);
        c.Sort(StringComparer.Ordinal);
        return (k, c);
    }

    [Fact]
    public void Every_component_is_used_by_a_tested_kustomization()
    {
        var (_, components) = DeployFolders();
        Assert.NotEmpty(components);
        foreach (var component in components)
        {
            var users = ManifestRender.Kustomizations.Where(k =>
                File.ReadLines(Path.Combine(ManifestRender.RepoRoot, k, "kustomization.yaml")).Any(l =>
                    l.Trim().StartsWith("- ", StringComparison.Ordinal)
                    && Path.GetFullPath(Path.Combine(ManifestRender.RepoRoot, k, l.Trim()[2..].Trim())) == Path.GetFullPath(Path.Combine(ManifestRender.RepoRoot, component))));
            Assert.True(users.Any(), $"{component} is used by no tested kustomization");
        }
    }

    [Fact]
    public void Every_kustomization_in_deploy_is_tested()
    {
        var found = DeployFolders().Kustomizations;
        Assert.True(ManifestRender.Kustomizations.Order(StringComparer.Ordinal).SequenceEqual(found),
            $"kustomizations in deploy/: {string.Join(", ", found)}; tested: {string.Join(", ", ManifestRender.Kustomizations)}. Add a new one to ManifestRender.Kustomizations.");
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Renders_and_every_object_passes_its_schema(string dir)
    {
        var rendered = ManifestRender.Render(dir);
        var (code, output) = ManifestRender.Validate(rendered.Yaml);
        Assert.True(code == 0, $"{dir}: validate-manifests.mjs failed (exit {code}):\n{output}");
        // One line per object, so none was skipped.
        Assert.Equal(rendered.Objects.Count, output.Split('\n').Count(l => l.StartsWith("ok   ", StringComparison.Ordinal) && l.EndsWith(')')));
        Assert.Contains("no unknown fields", output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_validator_refuses_what_the_schema_forbids_unknown_fields_and_unknown_kinds()
    {
        var good = ManifestRender.Render(PrometheusOperator).Yaml;
        (string Case, string Yaml, string Expected)[] cases =
        [
            ("wrong type", good.Replace("containerPort: 9808", "containerPort: nine", StringComparison.Ordinal), "containerPort must be integer"),
            ("misspelt field", good.Replace("readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", StringComparison.Ordinal), "readOnlyRootFileSystem"),
            ("misspelt CRD field", good.Replace("honorLabels: true", "honourLabels: true", StringComparison.Ordinal), "honourLabels"),
            ("unknown kind", good.Replace("kind: NetworkPolicy", "kind: NetworkPolicyV2", StringComparison.Ordinal), "no schema for"),
        ];
        foreach (var (name, yaml, expected) in cases)
        {
            Assert.NotEqual(good, yaml);
            var (code, output) = ManifestRender.Validate(yaml);
            Assert.True(code == 1, $"{name}: expected exit 1, got {code}:\n{output}");
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_single_file_equals_a_fresh_render_of_the_base()
    {
        var path = Path.Combine(ManifestRender.RepoRoot, "deploy", "throttlewatch.yaml");
        var fresh = ManifestRender.Render(Base).Yaml;
        if (Environment.GetEnvironmentVariable("THROTTLEWATCH_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, fresh);
        }
        const string Fix = "run: kubectl kustomize deploy/base > deploy/throttlewatch.yaml";
        Assert.True(File.Exists(path), $"deploy/throttlewatch.yaml is missing: {Fix}");
        Assert.True(fresh == File.ReadAllText(path), $"deploy/throttlewatch.yaml differs from a fresh render: {Fix}");
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void ClusterRole_reads_pods_and_nodes_and_gets_replicasets_and_jobs_and_nothing_else(string dir)
    {
        var r = ManifestRender.Render(dir);
        Assert.Empty(r.OfKind("Role"));
        Assert.Empty(r.OfKind("RoleBinding"));
        bool secure = ManifestRender.Secure.Contains(dir);
        var role = r.Single("ClusterRole", Agent);
        Assert.Null(role.Root.Get("aggregationRule"));
        // The one other ClusterRole, only where /metrics needs a token: what a scraper is granted (bound by the user).
        var others = r.OfKind("ClusterRole").Where(o => o.Name != Agent).ToList();
        if (secure)
        {
            var reader = Assert.Single(others);
            Assert.Equal("throttlewatch-metrics-reader", reader.Name);
            var rule = Assert.Single(reader.Root.Maps("rules"));
            Assert.Equal(("/metrics", "get"), (Assert.Single(rule.Strs("nonResourceURLs")), Assert.Single(rule.Strs("verbs"))));
            Assert.Empty(rule.Strs("resources"));
        }
        else
        {
            Assert.Empty(others);
        }

        var granted = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var rule in role.Root.Maps("rules"))
        {
            Assert.Empty(rule.Strs("nonResourceURLs"));
            var groups = rule.Strs("apiGroups").ToList();
            var resources = rule.Strs("resources").ToList();
            var verbs = rule.Strs("verbs").ToList();
            var all = $"{string.Join(',', groups)} {string.Join(',', resources)} {string.Join(',', verbs)}";
            Assert.False(groups.Contains("*") || resources.Contains("*") || verbs.Contains("*"), $"{dir}: wildcard in rule {all}");
            Assert.False(resources.Any(x => x.Contains('/', StringComparison.Ordinal)), $"{dir}: subresource (pods/log, pods/exec...) in rule {all}");
            Assert.False(resources.Contains("secrets"), $"{dir}: secrets in rule {all}");
            foreach (var g in groups)
            {
                foreach (var res in resources)
                {
                    foreach (var v in verbs)
                    {
                        granted.Add($"{g}/{res}:{v}");
                    }
                }
            }
        }
        string[] expected =
        [
            "/nodes:get", "/nodes:list", "/nodes:watch",
            "/pods:get", "/pods:list", "/pods:watch",
            "apps/replicasets:get",
            "batch/jobs:get",
        ];
        // The reviews that check a scraper's token, only where --auth kubernetes is on.
        string[] reviews = ["authentication.k8s.io/tokenreviews:create", "authorization.k8s.io/subjectaccessreviews:create"];
        Assert.Equal(expected.Concat(secure ? reviews : []).Order(StringComparer.Ordinal), granted);
        Assert.Equal(secure, ArgValue(AgentContainer(r).Strs("args").ToList(), "--auth") == "kubernetes");

        // Bound to the agent's ServiceAccount only, and that is the account the DaemonSet runs as.
        var binding = Assert.Single(r.OfKind("ClusterRoleBinding"));
        var roleRef = binding.Root.Map("roleRef")!;
        Assert.Equal(("ClusterRole", Agent), (roleRef.Str("kind"), roleRef.Str("name")));
        var subject = Assert.Single(binding.Root.Maps("subjects"));
        Assert.Equal(("ServiceAccount", Agent, Namespace), (subject.Str("kind"), subject.Str("name"), subject.Str("namespace")));
        var ds = r.Single("DaemonSet", Agent);
        Assert.Equal(Agent, PodSpec(ds).Str("serviceAccountName"));
        r.Single("ServiceAccount", Agent);
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Host_paths_are_only_cgroup_and_proc_and_mounted_read_only_under_host(string dir)
    {
        var r = ManifestRender.Render(dir);
        foreach (var (owner, spec) in r.PodSpecs())
        {
            var hostPaths = spec.Maps("volumes")
                .Where(v => v.Map("hostPath") is not null)
                .ToDictionary(v => v.Str("name")!, v => v.Map("hostPath")!.Str("path")!, StringComparer.Ordinal);
            if (owner.Kind != "DaemonSet")
            {
                Assert.True(hostPaths.Count == 0, $"{owner} mounts host paths: {string.Join(", ", hostPaths.Values)}");
                continue;
            }
            Assert.Equal(new[] { "/proc", "/sys/fs/cgroup" }, hostPaths.Values.Order(StringComparer.Ordinal));
            var mounts = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var c in Containers(spec))
            {
                foreach (var m in c.Maps("volumeMounts").Where(m => hostPaths.ContainsKey(m.Str("name")!)))
                {
                    var what = $"{owner} container {c.Str("name")} mount {m.Str("name")}";
                    Assert.True(m.Str("readOnly") == "true", $"{what} is not readOnly");
                    Assert.True(m.Str("mountPath")!.StartsWith("/host/", StringComparison.Ordinal), $"{what} is not under /host: {m.Str("mountPath")}");
                    // The v1 controller mounts under /sys/fs/cgroup are read-only too, where the runtime can.
                    Assert.Contains(m.Str("recursiveReadOnly"), new[] { "IfPossible", "Enabled" });
                    Assert.Null(m.Get("mountPropagation"));
                    mounts[hostPaths[m.Str("name")!]] = m.Str("mountPath")!;
                }
            }
            Assert.Equal("/host/sys/fs/cgroup", mounts.GetValueOrDefault("/sys/fs/cgroup"));
            Assert.Equal("/host/proc", mounts.GetValueOrDefault("/proc"));
            // The agent is pointed at them.
            var args = AgentContainer(r).Strs("args").ToList();
            Assert.Equal("/host/sys/fs/cgroup", ArgValue(args, "--cgroup-root"));
            Assert.Equal("/host/proc", ArgValue(args, "--proc-root"));
        }
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Every_container_runs_non_root_without_capabilities_on_a_read_only_root(string dir)
    {
        var r = ManifestRender.Render(dir);
        var specs = r.PodSpecs().ToList();
        Assert.NotEmpty(specs);
        foreach (var (owner, spec) in specs)
        {
            var pod = spec.Map("securityContext");
            Assert.True(pod?.Map("seccompProfile")?.Str("type") == "RuntimeDefault", $"{owner}: pod seccompProfile is not RuntimeDefault");
            foreach (var host in new[] { "hostPID", "hostNetwork", "hostIPC" })
            {
                Assert.True(spec.Str(host) is null or "false", $"{owner}: {host} is set");
            }
            foreach (var c in Containers(spec))
            {
                var what = $"{owner} container {c.Str("name")}";
                var sc = c.Map("securityContext");
                Assert.True(sc is not null, $"{what} has no securityContext");
                Assert.True(sc.Str("readOnlyRootFilesystem") == "true", $"{what}: readOnlyRootFilesystem is not true");
                Assert.True(sc.Str("allowPrivilegeEscalation") == "false", $"{what}: allowPrivilegeEscalation is not false");
                Assert.True(sc.Str("privileged") is null or "false", $"{what} is privileged");
                Assert.Equal(new[] { "ALL" }, sc.Map("capabilities")?.Strs("drop") ?? []);
                Assert.Empty(sc.Map("capabilities")?.Strs("add") ?? []);
                Assert.True((sc.Str("runAsNonRoot") ?? pod?.Str("runAsNonRoot")) == "true", $"{what}: runAsNonRoot is not true");
                Assert.True((sc.Str("runAsUser") ?? pod?.Str("runAsUser")) is not "0", $"{what} runs as uid 0");
                Assert.True(sc.Map("seccompProfile")?.Str("type") is null or "RuntimeDefault", $"{what}: container seccompProfile overrides RuntimeDefault");
            }
        }
        // The .NET chiseled image's "app" user, which can read the host's world-readable cgroup files
        // (Cgroup_files_the_agent_reads_are_world_readable_on_this_host).
        Assert.Equal("1654", AgentContainer(r).Map("securityContext")!.Str("runAsUser"));
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Containers_have_a_memory_limit_and_a_cpu_request_but_no_cpu_limit(string dir)
    {
        var r = ManifestRender.Render(dir);
        foreach (var (owner, spec) in r.PodSpecs())
        {
            foreach (var c in Containers(spec))
            {
                var what = $"{owner} container {c.Str("name")}";
                var resources = c.Map("resources");
                Assert.False(string.IsNullOrEmpty(resources?.Map("requests")?.Str("cpu")), $"{what} has no CPU request");
                Assert.False(string.IsNullOrEmpty(resources?.Map("requests")?.Str("memory")), $"{what} has no memory request");
                Assert.False(string.IsNullOrEmpty(resources?.Map("limits")?.Str("memory")), $"{what} has no memory limit");
                // A CPU limit is a CFS quota: the agent would be throttled itself.
                Assert.True(resources?.Map("limits")?.Get("cpu") is null, $"{what} has a CPU limit");
            }
        }
    }

    [Fact]
    public void Agent_runs_on_every_linux_node_whatever_its_taints_with_a_priority()
    {
        var r = ManifestRender.Render(Base);
        var spec = PodSpec(r.Single("DaemonSet", Agent));
        Assert.Contains(spec.Maps("tolerations"), t => t.Str("operator") == "Exists" && t.Get("key") is null && t.Get("effect") is null);
        var selector = spec.Map("nodeSelector")!;
        Assert.Equal("linux", selector.Str("kubernetes.io/os"));
        Assert.Single(selector.Keys());
        Assert.Null(spec.Get("affinity"));

        var priority = spec.Str("priorityClassName");
        Assert.False(string.IsNullOrEmpty(priority), "the DaemonSet has no priorityClassName");
        if (!priority.StartsWith("system-", StringComparison.Ordinal))
        {
            var pc = r.Single("PriorityClass", priority);
            Assert.True(int.Parse(pc.Root.Str("value")!, System.Globalization.CultureInfo.InvariantCulture) > 0, "the PriorityClass is not above the default 0");
            Assert.NotEqual("true", pc.Root.Str("globalDefault"));
        }
    }

    [Fact]
    public void Agent_updates_a_tenth_of_the_nodes_at_a_time()
    {
        var strategy = ManifestRender.Render(Base).Single("DaemonSet", Agent).Root.Map("spec")!.Map("updateStrategy")!;
        Assert.Equal("RollingUpdate", strategy.Str("type"));
        Assert.Equal("10%", strategy.Map("rollingUpdate")!.Str("maxUnavailable"));
    }

    [Fact]
    public void Agent_serves_9808_probes_healthz_and_readyz_and_knows_its_node()
    {
        var r = ManifestRender.Render(Base);
        var c = AgentContainer(r);
        Assert.StartsWith("ghcr.io/throttlewatch/throttlewatch-agent:", c.Str("image"), StringComparison.Ordinal);
        var args = c.Strs("args").ToList();
        Assert.Equal("run", args.FirstOrDefault());
        Assert.Equal("0.0.0.0:9808", ArgValue(args, "--listen"));
        Assert.Equal("/readyz", c.Map("readinessProbe")?.Map("httpGet")?.Str("path"));
        Assert.Equal("/healthz", c.Map("livenessProbe")?.Map("httpGet")?.Str("path"));
        foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
        {
            Assert.Equal("9808", ContainerPort(c, c.Map(probe)!.Map("httpGet")!.Str("port")!));
        }
        var port = Assert.Single(c.Maps("ports"));
        Assert.Equal(("metrics", "9808"), (port.Str("name"), port.Str("containerPort")));

        var nodeName = Assert.Single(c.Maps("env"), e => e.Str("name") == "NODE_NAME");
        Assert.Equal("spec.nodeName", nodeName.Map("valueFrom")?.Map("fieldRef")?.Str("fieldPath"));
        Assert.NotEqual("false", PodSpec(r.Single("DaemonSet", Agent)).Str("automountServiceAccountToken"));
    }

    [Fact]
    public void Service_publishes_the_agents_for_operator_and_annotation_scrapers()
    {
        var r = ManifestRender.Render(Base);
        var svc = r.Single("Service", Agent);
        var annotations = svc.Root.Map("metadata")!.Map("annotations")!;
        Assert.Equal("true", annotations.Str("prometheus.io/scrape"));
        Assert.Equal("9808", annotations.Str("prometheus.io/port"));
        Assert.Equal("/metrics", annotations.Str("prometheus.io/path"));
        var port = Assert.Single(svc.Root.Map("spec")!.Maps("ports"));
        Assert.Equal(("metrics", "9808"), (port.Str("name"), port.Str("port")));
        Assert.Equal("9808", ContainerPort(AgentContainer(r), port.Str("targetPort")!));
        Assert.True(Selects(svc.Root.Map("spec")!.Map("selector")!, AgentPodLabels(r)), "the Service does not select the agent pods");
    }

    [Fact]
    public void NetworkPolicy_lets_in_only_9808_and_out_only_the_api_server_and_dns()
    {
        var r = ManifestRender.Render(Base);
        var spec = r.Single("NetworkPolicy", Agent).Root.Map("spec")!;
        Assert.True(Selects(spec.Map("podSelector")!.Map("matchLabels")!, AgentPodLabels(r)), "the NetworkPolicy does not select the agent pods");
        Assert.Equal(new[] { "Egress", "Ingress" }, spec.Strs("policyTypes").Order(StringComparer.Ordinal));
        var ingress = Assert.Single(spec.Maps("ingress"));
        Assert.Equal(new[] { "TCP/9808" }, Ports(ingress));
        var egress = spec.Maps("egress").ToList();
        Assert.NotEmpty(egress);
        Assert.All(egress, rule => Assert.NotEmpty(Ports(rule))); // a rule without ports would allow every port
        Assert.Equal(new[] { "TCP/443", "TCP/53", "TCP/6443", "UDP/53" }, egress.SelectMany(Ports).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Prometheus_operator_overlay_honors_the_agents_labels_and_carries_the_rules()
    {
        var r = ManifestRender.Render(PrometheusOperator);
        var endpoints = r.OfKind("ServiceMonitor").SelectMany(m => m.Root.Map("spec")!.Maps("endpoints").Select(e => (m, e)))
            .Concat(r.OfKind("PodMonitor").SelectMany(m => m.Root.Map("spec")!.Maps("podMetricsEndpoints").Select(e => (m, e))))
            .ToList();
        Assert.NotEmpty(endpoints);
        foreach (var (monitor, endpoint) in endpoints)
        {
            // Otherwise namespace, pod and container become exported_* and every query breaks.
            Assert.True(endpoint.Str("honorLabels") == "true", $"{monitor}: honorLabels is not true");
            Assert.Equal("metrics", endpoint.Str("port"));
        }
        foreach (var monitor in r.OfKind("ServiceMonitor"))
        {
            var svc = r.Single("Service", Agent);
            Assert.True(Selects(monitor.Root.Map("spec")!.Map("selector")!.Map("matchLabels")!, svc.Root.Map("metadata")!.Map("labels")!),
                $"{monitor} does not select the Service {Agent}");
        }
        Assert.NotEmpty(r.OfKind("PrometheusRule"));
        Assert.Equal(
            ManifestRender.Render(Base).Objects.Count + r.OfKind("ServiceMonitor").Count() + r.OfKind("PodMonitor").Count() + r.OfKind("PrometheusRule").Count(),
            r.Objects.Count);
    }

    [Fact]
    public void Analyzer_runs_weekly_with_its_own_account_and_no_api_access()
    {
        var r = ManifestRender.Render(AnalyzerCronJob);
        var cron = r.Single("CronJob", Analyzer);
        var fields = cron.Root.Map("spec")!.Str("schedule")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, fields.Length);
        Assert.True(fields[2] == "*" && fields[3] == "*" && int.TryParse(fields[4], out _), $"not weekly: {string.Join(' ', fields)}");
        Assert.Equal("Forbid", cron.Root.Map("spec")!.Str("concurrencyPolicy"));

        var spec = PodSpec(cron);
        Assert.Equal(Analyzer, spec.Str("serviceAccountName"));
        Assert.Equal("false", spec.Str("automountServiceAccountToken"));
        Assert.Equal("false", r.Single("ServiceAccount", Analyzer).Root.Str("automountServiceAccountToken"));
        foreach (var binding in r.OfKind("ClusterRoleBinding").Concat(r.OfKind("RoleBinding")))
        {
            Assert.DoesNotContain(binding.Root.Maps("subjects"), s => s.Str("name") == Analyzer);
        }

        var c = Assert.Single(Containers(spec));
        Assert.StartsWith("ghcr.io/throttlewatch/throttlewatch-analyzer:", c.Str("image"), StringComparison.Ordinal);
        var args = c.Strs("args").ToList();
        Assert.Equal("report", args.FirstOrDefault());
        Assert.Equal("7d", ArgValue(args, "--range"));
        Assert.Equal("/reports", ArgValue(args, "--out"));
        Assert.StartsWith("http://", ArgValue(args, "--prometheus"), StringComparison.Ordinal);
        Assert.Contains(c.Maps("volumeMounts"), m => m.Str("mountPath") == "/reports");

        // Its NetworkPolicy: nothing in, Prometheus and DNS out.
        var np = r.Single("NetworkPolicy", Analyzer).Root.Map("spec")!;
        Assert.True(Selects(np.Map("podSelector")!.Map("matchLabels")!, PodLabels(cron)), "the analyzer NetworkPolicy does not select its pods");
        Assert.Equal(new[] { "Egress", "Ingress" }, np.Strs("policyTypes").Order(StringComparer.Ordinal));
        Assert.Empty(np.Maps("ingress"));
        Assert.Equal(new[] { "TCP/53", "TCP/9090", "UDP/53" }, np.Maps("egress").SelectMany(Ports).Order(StringComparer.Ordinal));
    }

    public static TheoryData<string> SecureKustomizations() => [.. ManifestRender.Secure];

    [Theory]
    [MemberData(nameof(SecureKustomizations))]
    public void Secure_overlays_serve_metrics_over_tls_from_the_secret_and_check_tokens_with_the_api(string dir)
    {
        var r = ManifestRender.Render(dir);
        var c = AgentContainer(r);
        var args = c.Strs("args").ToList();
        // Everything the base passes, and the TLS and authentication flags.
        var baseArgs = AgentContainer(ManifestRender.Render(Base)).Strs("args").ToList();
        Assert.Equal(baseArgs, args.Take(baseArgs.Count));
        Assert.Equal("kubernetes", ArgValue(args, "--auth"));
        var cert = ArgValue(args, "--tls-cert-file");
        var key = ArgValue(args, "--tls-key-file");
        Assert.NotNull(cert);
        Assert.NotNull(key);

        // Both files come from the TLS Secret, mounted read-only, and the agent's group can read them.
        var spec = PodSpec(r.Single("DaemonSet", Agent));
        var mount = Assert.Single(c.Maps("volumeMounts"), m => cert.StartsWith(m.Str("mountPath") + "/", StringComparison.Ordinal));
        Assert.Equal("true", mount.Str("readOnly"));
        Assert.StartsWith(mount.Str("mountPath") + "/", key, StringComparison.Ordinal);
        Assert.Equal(("tls.crt", "tls.key"), (Path.GetFileName(cert), Path.GetFileName(key)));
        var volume = Assert.Single(spec.Maps("volumes"), v => v.Str("name") == mount.Str("name"));
        Assert.Equal("throttlewatch-agent-tls", volume.Map("secret")?.Str("secretName"));
        Assert.Equal(c.Map("securityContext")!.Str("runAsGroup"), spec.Map("securityContext")?.Str("fsGroup"));
        Assert.Equal(Convert.ToInt32("440", 8), int.Parse(volume.Map("secret")!.Str("defaultMode")!, System.Globalization.CultureInfo.InvariantCulture));

        // The kubelet's probes speak HTTPS (they need no token).
        foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
        {
            Assert.Equal("HTTPS", c.Map(probe)?.Map("httpGet")?.Str("scheme"));
        }
        var annotations = r.Single("Service", Agent).Root.Map("metadata")!.Map("annotations")!;
        Assert.Equal("https", annotations.Str("prometheus.io/scheme"));

        // A ServiceMonitor, where there is one, scrapes over https with a token and checks the agents' name against the Secret's CA.
        foreach (var monitor in r.OfKind("ServiceMonitor"))
        {
            foreach (var endpoint in monitor.Root.Map("spec")!.Maps("endpoints"))
            {
                Assert.Equal("https", endpoint.Str("scheme"));
                Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/token", endpoint.Str("bearerTokenFile"));
                var tls = endpoint.Map("tlsConfig")!;
                Assert.Equal($"{Agent}.{Namespace}.svc", tls.Str("serverName"));
                Assert.Null(tls.Str("insecureSkipVerify"));
                Assert.Equal(("throttlewatch-agent-tls", "ca.crt"), (tls.Map("ca")?.Map("secret")?.Str("name"), tls.Map("ca")?.Map("secret")?.Str("key")));
            }
        }
        Assert.Equal(dir.Contains("prometheus-operator", StringComparison.Ordinal), r.OfKind("ServiceMonitor").Any());
    }

    [Theory]
    [MemberData(nameof(Kustomizations))]
    public void Namespaced_objects_are_in_the_throttlewatch_namespace(string dir)
    {
        var r = ManifestRender.Render(dir);
        var clusterScoped = new HashSet<string>(["Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass"], StringComparer.Ordinal);
        Assert.Equal(Namespace, r.Single("Namespace", Namespace).Name);
        foreach (var o in r.Objects)
        {
            Assert.True(clusterScoped.Contains(o.Kind) ? o.Namespace is null : o.Namespace == Namespace, $"{o}: namespace {o.Namespace ?? "(none)"}");
            Assert.Equal("throttlewatch", o.Root.Map("metadata")?.Map("labels")?.Str("app.kubernetes.io/name"));
        }
    }

    /// <summary>
    /// Why the agent may run as uid 1654 and not root: the cgroup files and folders it reads are
    /// world-readable (the kernel makes read-only cgroup files 0444 and writable ones 0644). Checked
    /// on this host's real hierarchy (v1, v2 or hybrid).
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Cgroup_files_the_agent_reads_are_world_readable_on_this_host()
    {
        const UnixFileMode FileRead = UnixFileMode.OtherRead;
        const UnixFileMode DirRead = UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        string[] v1Files = ["cpu.stat", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.cfs_burst_us", "cpu.shares", "cpuacct.usage", "cpu.stat.local"];
        string[] v2Files = ["cpu.stat", "cpu.max", "cpu.max.burst", "cpu.weight", "cpu.pressure", "cpu.stat.local"];
        var roots = new[] { "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpuacct" }
            .Where(Directory.Exists).Select(d => (Dir: d, Files: v1Files))
            .Concat(new[] { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" }
                .Where(d => File.Exists(Path.Combine(d, "cgroup.controllers"))).Select(d => (Dir: d, Files: v2Files)))
            .ToList();
        Assert.True(roots.Count > 0, "no cgroup cpu hierarchy under /sys/fs/cgroup");

        int checkedFiles = 0;
        foreach (var (root, files) in roots)
        {
            // The root and a few cgroups under it (the root lacks cpu.max, cpu.weight).
            var dirs = new[] { root }.Concat(Directory.GetDirectories(root).Order(StringComparer.Ordinal).Take(5));
            foreach (var dir in dirs)
            {
                Assert.True((File.GetUnixFileMode(dir) & DirRead) == DirRead, $"{dir} is {Mode(dir)}: not readable and searchable by others");
                foreach (var file in files.Select(f => Path.Combine(dir, f)).Where(File.Exists))
                {
                    Assert.True((File.GetUnixFileMode(file) & FileRead) == FileRead, $"{file} is {Mode(file)}: not readable by others, so the agent would need root");
                    checkedFiles++;
                }
            }
        }
        foreach (var file in new[] { "/proc/stat", "/proc/1/mountinfo", "/proc/self/mountinfo", "/proc/sys/kernel/osrelease" })
        {
            Assert.True((File.GetUnixFileMode(file) & FileRead) == FileRead, $"{file} is {Mode(file)}: not readable by others");
        }
        Assert.True(checkedFiles > 0, $"no cpu.stat or similar file under {string.Join(", ", roots.Select(r => r.Dir))}");

        static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8);
    }

    private static YamlMappingNode PodSpec(K8sObject o) => o.Kind == "CronJob"
        ? o.Root.Map("spec")!.Map("jobTemplate")!.Map("spec")!.Map("template")!.Map("spec")!
        : o.Root.Map("spec")!.Map("template")!.Map("spec")!;

    private static IEnumerable<YamlMappingNode> Containers(YamlMappingNode podSpec) =>
        podSpec.Maps("initContainers").Concat(podSpec.Maps("containers")).Concat(podSpec.Maps("ephemeralContainers"));

    private static YamlMappingNode AgentContainer(Rendered r) =>
        Assert.Single(PodSpec(r.Single("DaemonSet", Agent)).Maps("containers"));

    private static YamlMappingNode AgentPodLabels(Rendered r) => PodLabels(r.Single("DaemonSet", Agent));

    private static YamlMappingNode PodLabels(K8sObject o) => (o.Kind == "CronJob"
        ? o.Root.Map("spec")!.Map("jobTemplate")!.Map("spec")!.Map("template")!
        : o.Root.Map("spec")!.Map("template")!).Map("metadata")!.Map("labels")!;

    private static string? ArgValue(List<string> args, string flag)
    {
        int i = args.IndexOf(flag);
        return i >= 0 && i + 1 < args.Count ? args[i + 1] : null;
    }

    /// <summary>A probe's or Service's port (a number, or a container port's name) as a number.</summary>
    private static string? ContainerPort(YamlMappingNode container, string port) =>
        int.TryParse(port, out _) ? port : container.Maps("ports").FirstOrDefault(p => p.Str("name") == port)?.Str("containerPort");

    /// <summary>True when every label in <paramref name="selector"/> is on <paramref name="labels"/> with the same value.</summary>
    private static bool Selects(YamlMappingNode selector, YamlMappingNode labels) =>
        selector.Keys().Any() && selector.Keys().All(k => labels.Str(k) == selector.Str(k));

    /// <summary>A NetworkPolicy rule's ports as "TCP/9808".</summary>
    private static IEnumerable<string> Ports(YamlMappingNode rule) =>
        rule.Maps("ports").Select(p => $"{p.Str("protocol") ?? "TCP"}/{p.Str("port")}");
}
