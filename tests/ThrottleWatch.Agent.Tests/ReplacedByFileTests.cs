using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// A cgroup folder that becomes a plain file under the running agent (a container's folder, then a
/// whole pod's): its series go, nothing else does, no read is counted as malformed or as an I/O
/// error, and a folder made again under the same name is sampled again.
/// </summary>
public class ReplacedByFileTests
{
    [Fact]
    public async Task A_container_or_pod_folder_replaced_by_a_file_drops_its_series_and_the_agent_goes_on()
    {
        using var tree = Fixtures.CopyToTemp("v2-cgroupfs");
        var expected = Fixtures.LoadExpected("v2-cgroupfs");
        await using var agent = new AgentRunner("--cgroup-root", tree.Path, "--proc-root", "/nonexistent", "--interval", "100ms", "--config-interval", "200ms", "--discovery-interval", "100ms");
        await agent.WaitReadyAsync();
        await agent.ScrapeUntilAsync(x => x.Count(y => y.Name == MetricCatalog.ContainerUsageSeconds) == expected.Containers.Count);

        // A container's folder becomes a file of the same name.
        var container = expected.Containers[0];
        var containerDir = tree.Path + container.CgroupPath;
        var saved = Directory.GetFiles(containerDir).ToDictionary(f => Path.GetFileName(f), File.ReadAllText, StringComparer.Ordinal);
        Directory.Delete(containerDir, recursive: true);
        await File.WriteAllTextAsync(containerDir, "nr_periods 1\n");
        var after = await agent.ScrapeUntilAsync(x => !x.Any(y => y["container_id"] == container.ContainerId));
        Assert.Equal(expected.Containers.Count - 1, after.Count(y => y.Name == MetricCatalog.ContainerUsageSeconds));

        // A whole pod's folder becomes a file: its containers go, the others stay.
        var podDir = Path.GetDirectoryName(tree.Path + expected.Containers.First(c => c.PodUid != container.PodUid).CgroupPath)!;
        var podUid = expected.Containers.First(c => c.PodUid != container.PodUid).PodUid;
        var podContainers = expected.Containers.Where(c => c.PodUid == podUid).Select(c => c.ContainerId).ToHashSet(StringComparer.Ordinal);
        Directory.Delete(podDir, recursive: true);
        await File.WriteAllTextAsync(podDir, "");
        int left = expected.Containers.Count(c => c.ContainerId != container.ContainerId && !podContainers.Contains(c.ContainerId));
        after = await agent.ScrapeUntilAsync(x => x.Count(y => y.Name == MetricCatalog.ContainerUsageSeconds) == left && !x.Any(y => y["pod_uid"] == podUid));
        Assert.Contains(after, y => y.Name == MetricCatalog.AgentContainers && y.Value == left);

        // The container's folder comes back: sampled again. The kernel makes a cgroup folder with its
        // files at once, so the folder is filled beside the tree and moved in whole (written in place,
        // a sweep could find the folder before its cpu.stat: a broken cgroup, which this is not).
        var staging = Path.Combine(Path.GetDirectoryName(tree.Path)!, "staging-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        foreach (var (name, text) in saved)
        {
            await File.WriteAllTextAsync(Path.Combine(staging, name), text);
        }
        File.Delete(containerDir);
        Directory.Move(staging, containerDir);
        after = await agent.ScrapeUntilAsync(x => x.Any(y => y.Name == MetricCatalog.ContainerUsageSeconds && y["container_id"] == container.ContainerId));

        // Never malformed, never an I/O error: a folder that is gone is not a broken file.
        foreach (var reason in new[] { "malformed", "io" })
        {
            Assert.DoesNotContain(after, y => y.Name == MetricCatalog.AgentReadErrors && y["reason"] == reason && y.Value > 0);
        }
        // And nothing about the tree is logged as a problem.
        Assert.DoesNotContain(agent.Errors.Split('\n'), l => l.Contains(tree.Path, StringComparison.Ordinal) && (l.Contains(" warn: ", StringComparison.Ordinal) || l.Contains(" fail: ", StringComparison.Ordinal)));
    }
}
