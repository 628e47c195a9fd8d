using ThrottleWatch.Agent.Discovery;

namespace ThrottleWatch.Agent.Tests;

/// <summary>The getdents64 lister behind discovery: real folders only, links and files never, a missing folder told apart.</summary>
public class DirectoryListerTests
{
    [Fact]
    public void Lists_real_subfolders_only()
    {
        var dir = Directory.CreateTempSubdirectory("tw-lister-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "pod-a"));
            Directory.CreateDirectory(Path.Combine(dir.FullName, "ünïcode-ß"));
            File.WriteAllText(Path.Combine(dir.FullName, "cpu.stat"), "nr_periods 0\n");
            Directory.CreateSymbolicLink(Path.Combine(dir.FullName, "link-to-pod-a"), Path.Combine(dir.FullName, "pod-a"));
            File.CreateSymbolicLink(Path.Combine(dir.FullName, "link-to-file"), Path.Combine(dir.FullName, "cpu.stat"));

            var names = new List<string>();
            var status = new DirectoryLister().ListFolders(dir.FullName, name => names.Add(name.ToString()));

            Assert.Equal(ListStatus.Ok, status);
            Assert.Equal(["pod-a", "ünïcode-ß"], names.Order(StringComparer.Ordinal));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Many_entries_span_several_reads()
    {
        var dir = Directory.CreateTempSubdirectory("tw-lister-");
        try
        {
            // 2,000 names of 64 characters: more than one 32 KiB getdents64 buffer.
            var expected = Enumerable.Range(0, 2000).Select(i => i.ToString("x64", System.Globalization.CultureInfo.InvariantCulture)).ToList();
            foreach (var name in expected)
            {
                Directory.CreateDirectory(Path.Combine(dir.FullName, name));
            }
            var names = new List<string>();
            Assert.Equal(ListStatus.Ok, new DirectoryLister().ListFolders(dir.FullName, name => names.Add(name.ToString())));
            Assert.Equal(expected, names.Order(StringComparer.Ordinal));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_missing_folder_or_a_file_is_vanished()
    {
        var lister = new DirectoryLister();
        Assert.Equal(ListStatus.Vanished, lister.ListFolders("/nonexistent-throttlewatch-folder", _ => Assert.Fail("no entries")));
        var file = Path.GetTempFileName();
        try
        {
            Assert.Equal(ListStatus.Vanished, lister.ListFolders(file, _ => Assert.Fail("no entries")));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
