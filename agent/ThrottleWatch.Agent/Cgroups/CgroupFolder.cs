using System.Runtime.InteropServices;
using System.Text;

namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// A cgroup's folder, its path held once in UTF-8 for all the <see cref="CgroupFile"/>s in it
/// (instead of a path string and a byte copy per file: at 2,000 containers that was about 8 MiB),
/// and only in UTF-8: the string is made when a message or a failed read needs it (a kept string
/// per folder was another 1.7 MiB of the benchmark's 2,000 containers).
/// </summary>
public sealed unsafe class CgroupFolder
{
    public CgroupFolder(string path)
    {
        Utf8 = Encoding.UTF8.GetBytes(path.Length > 1 ? path.TrimEnd('/') : path);
    }

    /// <summary>The folder's path, decoded on each call: for messages and checks after a failed read, not the hot path.</summary>
    public string Path => Encoding.UTF8.GetString(Utf8);

    /// <summary>The path in UTF-8, without a terminating NUL.</summary>
    internal byte[] Utf8 { get; }

    /// <summary>
    /// An <c>O_PATH</c> descriptor on the folder, for reading several of its files with one path walk
    /// (<see cref="CgroupFile.Read(int, Span{byte}, out int)"/>); -1 when it cannot be opened (gone,
    /// out of descriptors): the files are then opened by their full path. Close it with <see cref="Close"/>.
    /// </summary>
    public int OpenPath()
    {
        Span<byte> z = Utf8.Length < 1024 ? stackalloc byte[Utf8.Length + 1] : new byte[Utf8.Length + 1];
        Utf8.CopyTo(z);
        z[^1] = 0;
        int fd;
        fixed (byte* p = z)
        {
            do
            {
                fd = Native.Open(p, Native.O_PATH | Native.O_DIRECTORY | Native.O_CLOEXEC);
            }
            while (fd < 0 && Marshal.GetLastPInvokeError() == Native.EINTR);
        }
        return fd;
    }

    public static void Close(int fd)
    {
        if (fd >= 0)
        {
            Native.Close(fd);
        }
    }
}
