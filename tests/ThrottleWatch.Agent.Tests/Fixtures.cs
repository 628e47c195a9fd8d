using System.Reflection;
using System.Text.Json;

namespace ThrottleWatch.Agent.Tests;

/// <summary>The node-shaped fixture trees under Fixtures/, read in the source folder (see the csproj).</summary>
internal static class Fixtures
{
    public static string Dir { get; } = typeof(Fixtures).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "FixturesDir").Value!;

    public static string Root(string name) => Path.Combine(Dir, name, "root");

    public static Expected LoadExpected(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, name, "expected.json")));
        var r = doc.RootElement;
        return new Expected(
            r.GetProperty("cgroupVersion").GetInt32(),
            r.GetProperty("containers").EnumerateArray().Select(c => new ExpectedContainer(
                c.GetProperty("podUid").GetString()!, c.GetProperty("containerId").GetString()!,
                c.GetProperty("qosClass").GetString()!, c.GetProperty("runtime").GetString()!,
                c.GetProperty("cgroupPath").GetString()!)).ToList(),
            r.GetProperty("pods").EnumerateArray().Select(p => new ExpectedPod(
                p.GetProperty("podUid").GetString()!, p.GetProperty("qosClass").GetString()!,
                p.GetProperty("cgroupPath").GetString()!)).ToList());
    }

    /// <summary>Copies a fixture into a fresh temporary folder (symlinks kept as links) for tests that change it.</summary>
    public static TempTree CopyToTemp(string name)
    {
        var temp = new TempTree();
        CopyDir(Root(name), temp.Path);
        return temp;
    }

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            var target = System.IO.Path.Combine(to, entry.Name);
            if (entry.LinkTarget is { } link)
            {
                File.CreateSymbolicLink(target, link);
            }
            else if (entry is DirectoryInfo d)
            {
                CopyDir(d.FullName, target);
            }
            else
            {
                File.Copy(entry.FullName, target);
            }
        }
    }

    public static readonly string[] All =
    [
        "v1-cgroupfs-separate", "v1-systemd-combined", "v2-systemd-crio", "v2-systemd-docker",
        "v2-cgroupfs", "v2-kind-nested", "hybrid", "v2-no-kube",
    ];
}

internal sealed record Expected(int CgroupVersion, List<ExpectedContainer> Containers, List<ExpectedPod> Pods);
internal sealed record ExpectedContainer(string PodUid, string ContainerId, string QosClass, string Runtime, string CgroupPath);
internal sealed record ExpectedPod(string PodUid, string QosClass, string CgroupPath);

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempTree : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("throttlewatch-test-").FullName;

    public string Write(string relative, string content)
    {
        var full = System.IO.Path.Combine(Path, relative.TrimStart('/'));
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
