using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using ThrottleWatch.Agent.Cgroups;
using ThrottleWatch.Benchmarks.Sweep;

namespace ThrottleWatch.Benchmarks.Reliability;

/// <summary>
/// <c>churn --per-minute R [--min-life S] [--max-life S] [--process-every K] [--quota-every Q] [--log FILE] [--ready-file FILE]</c>:
/// creates and removes Kubernetes-shaped container cgroups at a steady rate until SIGINT, SIGTERM or
/// SIGHUP, for soaking the agent (<c>bench/scripts/reliability.sh</c>).
/// </summary>
/// <remarks>
/// <code>
/// &lt;cpu|cpuacct&gt;/throttlewatch-bench-&lt;pid&gt;/kubepods/burstable/pod&lt;uid&gt;/&lt;64-hex cid&gt;
/// </code>
/// One pod per container, created every 60/R seconds and removed after a lifetime drawn uniformly
/// from [min-life, max-life], so about R × mean-life / 60 are alive at once. Every Q-th container
/// gets a 0.2 CPU quota; every K-th a short-lived process (alternately a sleep and a short busy
/// loop) that exits before its cgroup goes, or is killed then. The folder carries the
/// <see cref="BenchTree.Prefix"/> and this pid, so <c>cleanup</c> removes what a killed run left.
/// The log gets one line per event, flushed as it happens: <c>add &lt;unix ms&gt; &lt;cid&gt;</c> once
/// the container exists in both controllers, <c>del &lt;unix ms&gt; &lt;cid&gt;</c> once it is gone from both.
/// </remarks>
internal static class ChurnCommand
{
    public const string Usage =
        "usage: churn --per-minute R [--min-life S] [--max-life S] [--process-every K] [--quota-every Q] [--log FILE] [--ready-file FILE]\n" +
        "  creates R Kubernetes-shaped container cgroups a minute and removes each after a random lifetime, until SIGINT/SIGTERM;\n" +
        "  then removes everything it made";

    private const ulong QuotaMicros = 20_000;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (BenchFlags.Parse(args, Usage, output, error, ["--log", "--ready-file"],
                ["--per-minute", "--min-life", "--max-life", "--process-every", "--quota-every"], out var flags) is { } exit)
        {
            return exit;
        }
        int perMinute = flags.Number("--per-minute", 0), minLife = flags.Number("--min-life", 5), maxLife = flags.Number("--max-life", 40);
        int processEvery = flags.Number("--process-every", 4), quotaEvery = flags.Number("--quota-every", 3);
        string? logFile = flags.Text("--log"), readyFile = flags.Text("--ready-file");
        if (perMinute < 1 || minLife < 1 || maxLife < minLife)
        {
            error.WriteLine("error: --per-minute and --min-life must be at least 1, --max-life at least --min-life");
            error.WriteLine(Usage);
            return 2;
        }

        if (!BenchHost.TryV1(error, out var hierarchy, out var cpuacctRoot))
        {
            return 1;
        }
        using var signal = new StopSignal();
        var stop = signal.Event;

        using var log = logFile is null ? TextWriter.Null : new StreamWriter(logFile, append: false) { AutoFlush = true };
        var churn = new Churn(hierarchy.CpuRoot, cpuacctRoot, log)
        {
            ProcessEvery = Math.Max(0, processEvery),
            QuotaEvery = Math.Max(0, quotaEvery),
        };
        try
        {
            churn.Start();
            string line = $"{churn.Name}";
            output.WriteLine(line);
            output.Flush();
            if (readyFile is not null)
            {
                File.WriteAllText(readyFile + ".tmp", line + "\n");
                File.Move(readyFile + ".tmp", readyFile, overwrite: true);
            }
            churn.Run(perMinute, minLife, maxLife, stop);
            return 0;
        }
        catch (Exception e) when (stop.IsSet)
        {
            error.WriteLine($"interrupted ({e.GetType().Name}); cleaning up");
            return 130;
        }
        catch (Exception e)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
        finally
        {
            churn.Dispose();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"churn: {churn.Created} containers created, {churn.Removed} removed, {churn.Processes} processes started ({churn.ProcessesKilled} killed at removal), {churn.MoveFailures} exited before they could be moved in"));
        }
    }

    /// <summary>The churning tree: containers alive now, each with its removal deadline.</summary>
    private sealed class Churn(string cpuRoot, string cpuacctRoot, TextWriter log) : IDisposable
    {
        private readonly PriorityQueue<Container, long> _alive = new();
        private readonly Random _random = new();
        private bool _disposed;

        public string Name { get; } = BenchTree.Prefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        public int ProcessEvery { get; init; }
        public int QuotaEvery { get; init; }
        public int Created { get; private set; }
        public int Removed { get; private set; }
        public int Processes { get; private set; }
        public int ProcessesKilled { get; private set; }
        public int MoveFailures { get; private set; }

        private string Parent => Name + "/kubepods/burstable";

        public void Start()
        {
            foreach (var root in new[] { cpuRoot, cpuacctRoot })
            {
                Directory.CreateDirectory(Path.Combine(root, Parent));
            }
        }

        /// <summary>Creates one container every 60/<paramref name="perMinute"/> s and removes those past their deadline, until <paramref name="stop"/>.</summary>
        public void Run(int perMinute, int minLife, int maxLife, ManualResetEventSlim stop)
        {
            long start = Environment.TickCount64;
            double every = 60_000.0 / perMinute;
            long made = 0;
            while (!stop.IsSet)
            {
                long now = Environment.TickCount64;
                while (_alive.TryPeek(out _, out long due) && due <= now)
                {
                    Remove(_alive.Dequeue());
                }
                long nextCreate = start + (long)(made * every);
                if (nextCreate <= now)
                {
                    int lifeMs = _random.Next(minLife * 1000, maxLife * 1000 + 1);
                    var c = Create();
                    _alive.Enqueue(c, now + lifeMs);
                    made++;
                    continue;
                }
                long next = nextCreate;
                if (_alive.TryPeek(out _, out long firstDue) && firstDue < next)
                {
                    next = firstDue;
                }
                stop.Wait(TimeSpan.FromMilliseconds(Math.Max(1, next - Environment.TickCount64)));
            }
        }

        private Container Create()
        {
            int n = Created + 1;
            string pod = $"{Parent}/pod{Guid.NewGuid()}";
            string id = RandomNumberGenerator.GetHexString(64, lowercase: true);
            var c = new Container(pod, $"{pod}/{id}", id);
            foreach (var root in new[] { cpuRoot, cpuacctRoot })
            {
                Directory.CreateDirectory(Path.Combine(root, c.Path));
            }
            if (QuotaEvery > 0 && n % QuotaEvery == 0)
            {
                WriteControl(Path.Combine(cpuRoot, pod, "cpu.cfs_quota_us"), QuotaMicros.ToString(CultureInfo.InvariantCulture));
                WriteControl(Path.Combine(cpuRoot, c.Path, "cpu.cfs_quota_us"), QuotaMicros.ToString(CultureInfo.InvariantCulture));
            }
            Created++;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"add {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} {id}"));
            if (ProcessEvery > 0 && n % ProcessEvery == 0)
            {
                // Alternately idle and busy for a moment: both exit well before the shortest lifetime.
                string script = n / ProcessEvery % 2 == 0 ? "sleep 2" : "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done";
                c.Process = Process.Start(new ProcessStartInfo("sh", ["-c", script]) { UseShellExecute = false })
                    ?? throw new InvalidOperationException("could not start sh");
                Processes++;
                string pid = c.Process.Id.ToString(CultureInfo.InvariantCulture);
                try
                {
                    WriteControl(Path.Combine(cpuRoot, c.Path, "cgroup.procs"), pid);
                    WriteControl(Path.Combine(cpuacctRoot, c.Path, "cgroup.procs"), pid);
                }
                catch (IOException)
                {
                    // ESRCH: the busy loop was quicker than us; the container just stays empty.
                    MoveFailures++;
                }
            }
            return c;
        }

        private void Remove(Container c)
        {
            if (c.Process is { } p)
            {
                try
                {
                    if (!p.HasExited)
                    {
                        p.Kill();
                        ProcessesKilled++;
                    }
                    p.WaitForExit(5000);
                }
                catch (InvalidOperationException)
                {
                    // Already reaped.
                }
                p.Dispose();
                c.Process = null;
            }
            foreach (var root in new[] { cpuRoot, cpuacctRoot })
            {
                RemoveDir(Path.Combine(root, c.Path));
                RemoveDir(Path.Combine(root, c.Pod));
            }
            Removed++;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"del {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} {c.Id}"));
        }

        /// <summary>Removes every container still alive, then the folders above them.</summary>
        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            while (_alive.TryDequeue(out var c, out _))
            {
                Remove(c);
            }
            foreach (var root in new[] { cpuRoot, cpuacctRoot })
            {
                RemoveDir(Path.Combine(root, Parent));
                RemoveDir(Path.Combine(root, Name, "kubepods"));
                RemoveDir(Path.Combine(root, Name));
            }
        }

        /// <summary>rmdir; a cgroup whose last process is still being reaped answers EBUSY for a moment, so retry.</summary>
        private static void RemoveDir(string dir)
        {
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    Directory.Delete(dir, recursive: false);
                    return;
                }
                catch (DirectoryNotFoundException)
                {
                    return;
                }
                catch (IOException) when (attempt < 100)
                {
                    Thread.Sleep(20);
                }
            }
        }

        /// <summary>Writes a cgroup control file without O_CREAT or O_TRUNC.</summary>
        private static void WriteControl(string path, string text)
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
            f.Write(System.Text.Encoding.ASCII.GetBytes(text));
        }
    }

    private sealed class Container(string pod, string path, string id)
    {
        public string Pod { get; } = pod;
        public string Path { get; } = path;
        public string Id { get; } = id;
        public Process? Process { get; set; }
    }
}
