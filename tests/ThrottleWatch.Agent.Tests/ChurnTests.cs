using System.Globalization;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// The short version of the churn soak (<c>bench/scripts/reliability.sh</c> runs the long one on real
/// cgroups): containers made and removed in bulk leave no series and no open file behind. Asserts
/// correctness only, no timings.
/// </summary>
public class ChurnTests
{
    private const int Rounds = 3;
    private const int PodsPerRound = 20;
    private const int ContainersPerPod = 2;

    [Fact]
    public async Task Containers_made_and_removed_in_bulk_leave_no_series_and_no_open_files()
    {
        using var tree = Fixtures.CopyToTemp("v2-cgroupfs");
        var expected = Fixtures.LoadExpected("v2-cgroupfs");
        await using var agent = new AgentRunner("--cgroup-root", tree.Path, "--proc-root", "/nonexistent", "--interval", "100ms", "--discovery-interval", "100ms");
        await agent.WaitReadyAsync();
        await agent.ScrapeUntilAsync(s => Tracked(s) == expected.Containers.Count);
        int before = await SettledAsync(() => OpenFilesUnder(tree.Path));

        // Each churned pod is a copy of a real one (its files, and its first container's files per container).
        var template = expected.Containers[0];
        string templateContainer = tree.Path + template.CgroupPath;
        string templatePod = Path.GetDirectoryName(templateContainer)!;
        string qosFolder = Path.GetDirectoryName(templatePod)!;
        const string churnedUidPrefix = "cccccccc-";

        for (int round = 0; round < Rounds; round++)
        {
            var pods = new List<string>();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            for (int p = 0; p < PodsPerRound; p++)
            {
                string uid = string.Create(CultureInfo.InvariantCulture, $"{churnedUidPrefix}0000-4000-8000-{round:x4}{p:x8}");
                string pod = Path.Combine(qosFolder, "pod" + uid);
                CopyFiles(templatePod, pod);
                for (int c = 0; c < ContainersPerPod; c++)
                {
                    string id = string.Create(CultureInfo.InvariantCulture, $"{round:x8}{p:x8}{c:x8}").PadRight(64, 'e');
                    CopyFiles(templateContainer, Path.Combine(pod, id));
                    ids.Add(id);
                }
                pods.Add(pod);
            }
            int churned = PodsPerRound * ContainersPerPod;
            await agent.ScrapeUntilAsync(s => Tracked(s) == expected.Containers.Count + churned
                && s.Count(x => x.Name == MetricCatalog.ContainerUsageSeconds && ids.Contains(x["container_id"])) == churned);
            Assert.True(OpenFilesUnder(tree.Path, churnedUidPrefix) > 0, "the agent keeps its cgroup files open between sweeps, so a leak would show");

            foreach (var pod in pods)
            {
                Directory.Delete(pod, recursive: true);
            }
            var after = await agent.ScrapeUntilAsync(s => Tracked(s) == expected.Containers.Count && !s.Any(x => ids.Contains(x["container_id"])));
            Assert.Equal(expected.Containers.Count, after.Count(x => x.Name == MetricCatalog.ContainerUsageSeconds));
            Assert.Equal(0, await SettledAsync(() => OpenFilesUnder(tree.Path, churnedUidPrefix), until: 0));
        }
        Assert.Equal(before, await SettledAsync(() => OpenFilesUnder(tree.Path), until: before));
    }

    private static double Tracked(List<Sample> samples) =>
        samples.FirstOrDefault(x => x.Name == MetricCatalog.AgentContainers)?.Value ?? -1;

    private static void CopyFiles(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
        {
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        }
    }

    /// <summary>
    /// This process's open files whose path starts with <paramref name="root"/> (deleted ones included:
    /// a handle kept on a removed file reads "… (deleted)"), and contains <paramref name="part"/> when given.
    /// The agent runs in this process; other tests' files are elsewhere.
    /// </summary>
    private static int OpenFilesUnder(string root, string? part = null)
    {
        int n = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed while we looked
            }
            if (target is not null && target.StartsWith(root + "/", StringComparison.Ordinal)
                && (part is null || target.Contains(part, StringComparison.Ordinal)))
            {
                n++;
            }
        }
        return n;
    }

    /// <summary>
    /// A count taken between sweeps: a sweep may hold a file open for a moment, so poll (up to 10 s)
    /// until <paramref name="until"/> is seen, or, without one, until two readings 300 ms apart agree.
    /// </summary>
    private static async Task<int> SettledAsync(Func<int> count, int? until = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        int last = count();
        while (DateTime.UtcNow < deadline)
        {
            if (until is not null && last == until)
            {
                return last;
            }
            await Task.Delay(300);
            int now = count();
            if (until is null && now == last)
            {
                return now;
            }
            last = now;
        }
        return last;
    }
}
