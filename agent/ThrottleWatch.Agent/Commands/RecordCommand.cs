using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using k8s;
using Microsoft.Extensions.Logging;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Agent.Discovery;
using ThrottleWatch.Agent.Export;
using ThrottleWatch.Agent.Hosting;
using ThrottleWatch.Agent.Metadata;
using ThrottleWatch.Agent.Sampling;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Commands;

/// <summary>
/// <c>throttlewatch-agent record --duration 10m --out FILE</c>: samples this node as <c>run</c> does
/// and writes what a Prometheus scraping <c>/metrics</c> every <c>--step</c> would have stored, as an
/// OpenMetrics 1.0 text file with timestamps (<c>promtool tsdb create-blocks-from openmetrics</c>
/// reads it; so does the analyzer). No HTTP server, no Prometheus.
/// </summary>
/// <remarks>
/// The file appears at once, complete, when the recording ends (a temporary file in the same folder,
/// renamed); Ctrl+C ends the recording early and still writes what was recorded (exit code 0, and
/// stderr says so). Samples are spooled to disk while recording (<see cref="OpenMetricsRecorder"/>).
/// </remarks>
internal static class RecordCommand
{
    /// <summary>The recording could not be written (disk full, I/O error) after it started.</summary>
    private const int Failed = 1;

    /// <summary>How long the recording waits for the first pod list, so that its series carry names from the start.</summary>
    private static readonly TimeSpan PodListWait = TimeSpan.FromSeconds(15);

    public static Command Create(CliContext context)
    {
        var common = new CommonOptions();
        var duration = new Option<string>("--duration")
        {
            Description = "How long to record, Prometheus duration syntax (30s, 10m, 1h); Ctrl+C ends it early and keeps what was recorded",
            DefaultValueFactory = _ => CommonOptions.Env("DURATION") ?? "10m",
        };
        duration.Validators.Add(r => PositiveDuration(r, "--duration", "30s, 10m, 1h"));
        var step = new Option<string>("--step")
        {
            Description = "How often samples are written (a scrape interval), Prometheus duration syntax; at least --interval. Peaks still come from every --interval",
            DefaultValueFactory = _ => CommonOptions.Env("STEP") ?? "15s",
        };
        step.Validators.Add(r => PositiveDuration(r, "--step", "5s, 15s, 1m"));
        // Each value's own line: the comparisons are made only when both values are themselves valid.
        step.Validators.Add(r =>
        {
            if (TryDuration(r, step, out var s) && TryDuration(r, common.Interval, out var i) && s < i)
            {
                r.AddError($"--step: '{Value(r, step)}' is shorter than --interval {Value(r, common.Interval)}");
            }
        });
        duration.Validators.Add(r =>
        {
            if (TryDuration(r, duration, out var d) && TryDuration(r, step, out var s) && d < s)
            {
                r.AddError($"--duration: '{Value(r, duration)}' is shorter than --step {Value(r, step)}");
            }
        });
        var output = new Option<string?>("--out")
        {
            Description = "The recording: an OpenMetrics text file (replaced if it exists), or - for stdout",
            DefaultValueFactory = _ => CommonOptions.Env("OUT"),
        };
        output.Validators.Add(r =>
        {
            var path = r.GetValueOrDefault<string?>();
            if (string.IsNullOrWhiteSpace(path))
            {
                r.AddError("--out: required: the file to write (or - for stdout)");
            }
            else if (path != "-" && Directory.Exists(path))
            {
                r.AddError($"--out: '{path}' is a folder, not a file");
            }
            else if (path != "-" && !Directory.Exists(Folder(path)))
            {
                r.AddError($"--out: folder '{Folder(path)}' does not exist");
            }
        });
        var kube = new KubernetesOptions();

        var command = new Command("record", "Sample this node for --duration and write what Prometheus would have scraped, as an OpenMetrics file (promtool tsdb create-blocks-from openmetrics reads it)");
        common.AddTo(command);
        kube.AddTo(command);
        foreach (var o in new Option[] { duration, step, output })
        {
            command.Options.Add(o);
        }
        command.SetAction((parse, cancel) => RunAsync(context, new Settings
        {
            CgroupRoot = parse.GetValue(common.CgroupRoot)!,
            ProcRoot = parse.GetValue(common.ProcRoot)!,
            Subtrees = parse.GetValue(common.CgroupSubtree) ?? [],
            Interval = CommonOptions.ParseInterval(parse.GetValue(common.Interval)!),
            Step = Parse(parse.GetValue(step)!),
            Duration = Parse(parse.GetValue(duration)!),
            Out = parse.GetValue(output)!,
            Kubeconfig = parse.GetValue(kube.Kubeconfig),
            NodeName = parse.GetValue(kube.NodeName)!,
            Exclude = kube.Excluded(parse),
        }, cancel));
        return command;
    }

    private sealed class Settings
    {
        public required string CgroupRoot { get; init; }
        public required string ProcRoot { get; init; }
        public required IReadOnlyList<string> Subtrees { get; init; }
        public required TimeSpan Interval { get; init; }
        public required TimeSpan Step { get; init; }
        public required TimeSpan Duration { get; init; }
        public required string Out { get; init; }
        public string? Kubeconfig { get; init; }
        public required string NodeName { get; init; }
        public required IReadOnlyList<string> Exclude { get; init; }
    }

    private static async Task<int> RunAsync(CliContext context, Settings o, CancellationToken cancel)
    {
        if (!CommonOptions.TryDetect(context, o.CgroupRoot, o.ProcRoot, o.Subtrees, out var hierarchy))
        {
            return ExitCodes.BadInput;
        }
        KubernetesClientConfiguration? kubeConfig;
        try
        {
            kubeConfig = o.Kubeconfig is { } path ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path)
                : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig() : null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            context.Error.WriteLine($"error: --kubeconfig: {OneLine(e.Message)}");
            return ExitCodes.BadInput;
        }

        // The destination first: an unwritable --out fails now, not after ten minutes of sampling.
        bool toStdout = o.Out == "-";
        string? final = toStdout ? null : Path.GetFullPath(o.Out);
        string? temp = final is null ? null : Path.Combine(Folder(final), $".{Path.GetFileName(final)}.{Environment.ProcessId}.tmp");
        string spoolDir = final is null
            ? Path.Combine(Path.GetTempPath(), $"throttlewatch-record-{Environment.ProcessId}-{Guid.NewGuid():N}")
            : Path.Combine(Folder(final), $".{Path.GetFileName(final)}.{Environment.ProcessId}.spool");
        FileStream? file = null;
        OpenMetricsRecorder? recorder = null;
        var kube = new KubernetesStatus { Enabled = kubeConfig is not null };
        var index = kubeConfig is null ? null : new PodIndex();
        var state = new NodeState(o.NodeName, hierarchy!, AgentHost.KernelVersion(o.ProcRoot));
        try
        {
            if (temp is not null)
            {
                file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0); // the recorder buffers
            }
            recorder = new OpenMetricsRecorder(state, index, kube, o.Exclude, AgentHost.Version, spoolDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file?.Dispose();
            Delete(temp);
            context.Error.WriteLine($"error: --out: cannot create a file in '{Folder(final ?? spoolDir)}': {OneLine(e.Message)}");
            return ExitCodes.BadInput;
        }

        using var loggers = LoggerFactory.Create(b => b
            .AddSimpleConsole(c =>
            {
                c.SingleLine = true;
                c.TimestampFormat = "HH:mm:ss ";
            })
            .AddConsole(c => c.LogToStandardErrorThreshold = LogLevel.Trace)
            .SetMinimumLevel(LogLevel.Warning));
        var options = new AgentOptions
        {
            CgroupRoot = o.CgroupRoot,
            ProcRoot = o.ProcRoot,
            CgroupSubtrees = o.Subtrees,
            Interval = o.Interval,
            ConfigInterval = TimeSpan.FromSeconds(10),
            NodeName = o.NodeName,
            Kubeconfig = o.Kubeconfig,
            ExcludeNamespaces = o.Exclude,
        };
        PodWatcher? watcher = null;
        int code;
        try
        {
            using var sampler = new Sampler(hierarchy!, new ContainerDiscovery(hierarchy!.CpuRoot, o.Subtrees), HandleBudget.FromProcessLimit(),
                loggers.CreateLogger("ThrottleWatch.Sampler"));
            using var loop = new SamplingService(options, state, sampler, [], loggers.CreateLogger<SamplingService>());
            if (kubeConfig is not null)
            {
                kubeConfig.HttpClientTimeout = TimeSpan.FromSeconds(30);
                watcher = new PodWatcher(new KubeApi(kubeConfig), o.NodeName, index!, kube, TimeSpan.FromMinutes(5), loggers.CreateLogger<PodWatcher>());
                await watcher.StartAsync(cancel).ConfigureAwait(false);
            }

            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"recording node {o.NodeName} (cgroup v{hierarchy.Version}) for {Show(o.Duration)}, a sample every {Show(o.Step)}, sampling every {Show(o.Interval)}, to {(toStdout ? "stdout" : final)} (Ctrl+C ends it early and keeps what was recorded)"));
            var (elapsed, interrupted) = await RecordAsync(context, o, loop, recorder, kube, cancel).ConfigureAwait(false);

            if (recorder.Captures == 0)
            {
                context.Error.WriteLine("interrupted before the first sample: nothing written");
                code = ExitCodes.Interrupted;
            }
            else
            {
                if (interrupted)
                {
                    context.Error.WriteLine($"interrupted after {Show(elapsed)} of {Show(o.Duration)}: writing what was recorded so far");
                }
                long bytes = await FinishAsync(context, recorder, file, temp, final).ConfigureAwait(false);
                file = null;
                string where = $"{Size(bytes)}, to {final ?? "stdout"}";
                context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"recorded {Show(elapsed)}: {recorder.Samples:N0} samples of {recorder.Series:N0} series in {recorder.FamiliesWithSamples} families, {recorder.Captures} steps, {where}"));
                code = ExitCodes.Ok;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Error.WriteLine($"error: writing the recording failed: {OneLine(e.Message)}");
            code = Failed;
        }
        finally
        {
            if (watcher is not null)
            {
                await watcher.StopAsync(CancellationToken.None).ConfigureAwait(false);
                watcher.Dispose();
            }
            recorder.Dispose();
            if (file is not null)
            {
                await file.DisposeAsync().ConfigureAwait(false);
                Delete(temp);
            }
        }
        return code;
    }

    /// <summary>
    /// Sweeps every interval and captures at the first sweep at or after each step: the first capture
    /// one interval after the start (every counter then has two readings, so peaks are real), then one
    /// at every multiple of --step, and the last at --duration. Returns the time recorded and whether
    /// Ctrl+C ended it.
    /// </summary>
    private static async Task<(TimeSpan Elapsed, bool Interrupted)> RecordAsync(CliContext context, Settings o, SamplingService loop,
        OpenMetricsRecorder recorder, KubernetesStatus kube, CancellationToken cancel)
    {
        try
        {
            if (kube.Enabled && !await WaitForPodListAsync(kube, cancel).ConfigureAwait(false))
            {
                context.Error.WriteLine($"warning: no pod list from the Kubernetes API after {Show(PodListWait)}: series carry pod_uid and container_id until it answers");
            }
        }
        catch (OperationCanceledException)
        {
            return (TimeSpan.Zero, true);
        }

        bool sweptSinceCapture = false;
        var next = TimeSpan.Zero;
        var elapsed = TimeSpan.Zero;
        long startUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long start = Stopwatch.GetTimestamp();

        void Capture()
        {
            recorder.Capture(startUnixMs + (long)Math.Round(elapsed.TotalMilliseconds));
            sweptSinceCapture = false;
        }

        try
        {
            using var timer = new PeriodicTimer(o.Interval);
            loop.SweepOnce();
            while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
            {
                // Decisions go by the tick's nominal time (a whole number of intervals), so timer jitter
                // never moves a capture to another sweep; timestamps are the real time.
                elapsed = Stopwatch.GetElapsedTime(start);
                var nominal = o.Interval * Math.Round(elapsed / o.Interval);
                loop.SweepOnce();
                sweptSinceCapture = true;
                bool last = nominal >= o.Duration;
                if (last || recorder.Captures == 0 || nominal >= next)
                {
                    Capture();
                    next = o.Step * (Math.Floor(nominal / o.Step) + 1);
                }
                if (last)
                {
                    break;
                }
            }
            return (elapsed, false);
        }
        catch (OperationCanceledException)
        {
            // What was swept since the last capture is kept too.
            if (sweptSinceCapture)
            {
                Capture();
            }
            return (elapsed, true);
        }
    }

    private static async Task<bool> WaitForPodListAsync(KubernetesStatus kube, CancellationToken cancel)
    {
        var until = Stopwatch.GetTimestamp() + (long)(PodListWait.TotalSeconds * Stopwatch.Frequency);
        while (!kube.Listed && Stopwatch.GetTimestamp() < until)
        {
            await Task.Delay(100, cancel).ConfigureAwait(false);
        }
        return kube.Listed;
    }

    /// <summary>
    /// Writes the recording into the temporary file and renames it over <paramref name="final"/> (or
    /// writes it to stdout), then deletes the spool. It runs on a foreground thread: should Ctrl+C's
    /// grace period (System.CommandLine's ProcessTerminationTimeout, 2 s) run out while it writes, the
    /// process still finishes the file before it exits (with code 130 then).
    /// </summary>
    private static Task<long> FinishAsync(CliContext context, OpenMetricsRecorder recorder, FileStream? file, string? temp, string? final)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                if (file is null)
                {
                    using var stdout = ReferenceEquals(context.Output, Console.Out) ? Console.OpenStandardOutput() : new OpenMetricsTextWriterStream(context.Output);
                    long written = recorder.WriteTo(stdout);
                    stdout.Flush();
                    recorder.Dispose();
                    done.SetResult(written);
                    return;
                }
                long bytes;
                using (file)
                {
                    bytes = recorder.WriteTo(file);
                    file.Flush(flushToDisk: true);
                }
                File.Move(temp!, final!, overwrite: true);
                recorder.Dispose(); // the spool goes now: the caller may be gone (see above)
                done.SetResult(bytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Delete(temp);
                done.SetException(e);
            }
        })
        {
            IsBackground = false,
            Name = "throttlewatch record: write",
        };
        thread.Start();
        return done.Task;
    }

    private static void PositiveDuration(OptionResult r, string name, string examples)
    {
        var text = r.GetValueOrDefault<string>();
        if (!PromDuration.TryParse(text, out var d) || d <= TimeSpan.Zero)
        {
            r.AddError($"{name}: '{text}' is not a positive duration (examples: {examples})");
        }
    }

    private static bool TryDuration(SymbolResult r, Option<string> option, out TimeSpan value)
        => PromDuration.TryParse(Value(r, option), out value) && value > TimeSpan.Zero;

    /// <summary>
    /// Another option's value, in a validator. An option not given on the command line may have no
    /// result yet when validators run, so its default (the flag's environment variable, else the
    /// built-in default) comes from the option's own factory, which reads nothing of its argument.
    /// </summary>
    private static string? Value(SymbolResult r, Option<string> option)
        => r.GetResult(option) is not null ? r.GetValue(option) : option.DefaultValueFactory?.Invoke(null!);

    private static TimeSpan Parse(string text) => PromDuration.TryParse(text, out var d) ? d : TimeSpan.Zero;

    private static string Folder(string path) => Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    private static string OneLine(string s) => string.Join(' ', s.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static void Delete(string? path)
    {
        if (path is null)
        {
            return;
        }
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A duration as people write it: 500ms, 3s, 1m30s, 2h.</summary>
    internal static string Show(TimeSpan t)
    {
        if (t < TimeSpan.FromSeconds(1))
        {
            return $"{(int)t.TotalMilliseconds}ms";
        }
        if (t < TimeSpan.FromMinutes(1))
        {
            return t.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + "s";
        }
        var sb = new StringBuilder();
        if (t.TotalHours >= 1)
        {
            sb.Append((int)t.TotalHours).Append('h');
        }
        if (t.Minutes > 0)
        {
            sb.Append(t.Minutes).Append('m');
        }
        if (t.Seconds > 0)
        {
            sb.Append(t.Seconds).Append('s');
        }
        return sb.ToString();
    }

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        < 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.0} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.00} GiB"),
    };
}
