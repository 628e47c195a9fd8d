using ThrottleWatch.Agent.Cgroups;
using Xunit;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// A cgroup folder keeps its path only in UTF-8 (the open path); the string that messages and the
/// checks after a failed read use is decoded from it, and must be the path it was given.
/// </summary>
public sealed class CgroupFolderTests
{
    [Theory]
    [InlineData("/sys/fs/cgroup/cpu/kubepods/burstable/pod1/abc", "/sys/fs/cgroup/cpu/kubepods/burstable/pod1/abc")]
    [InlineData("/sys/fs/cgroup/cpu/kubepods/", "/sys/fs/cgroup/cpu/kubepods")]
    [InlineData("/sys/fs/cgroup/cpu/ünïcode ✓.slice", "/sys/fs/cgroup/cpu/ünïcode ✓.slice")]
    [InlineData("/", "/")]
    public void The_path_is_decoded_as_it_was_given_without_a_trailing_slash(string given, string expected)
    {
        var folder = new CgroupFolder(given);
        Assert.Equal(expected, folder.Path);
        Assert.Equal(expected == "/" ? "/cpu.stat" : expected + "/cpu.stat", new CgroupFile(folder, "cpu.stat", null).Path);
    }

    [Fact]
    public void A_file_in_a_folder_with_a_non_ascii_name_is_read_and_named_by_its_path()
    {
        var dir = Directory.CreateTempSubdirectory("tw-folder-");
        try
        {
            var sub = Directory.CreateDirectory(Path.Combine(dir.FullName, "pöd ✓"));
            File.WriteAllText(Path.Combine(sub.FullName, "cpu.shares"), "1024\n");
            var file = new CgroupFile(new CgroupFolder(sub.FullName), "cpu.shares", null);
            Span<byte> buffer = stackalloc byte[64];
            Assert.Equal(ReadStatus.Ok, file.Read(buffer, out int length));
            Assert.Equal("1024\n", System.Text.Encoding.ASCII.GetString(buffer[..length]));
            Assert.Equal(Path.Combine(sub.FullName, "cpu.shares"), file.Path);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
