using System.Runtime.InteropServices;
using System.Text;
using ThrottleWatch.Agent.Cgroups;

namespace ThrottleWatch.Agent.Discovery;

/// <summary>How a listing ended.</summary>
internal enum ListStatus : byte
{
    Ok,
    /// <summary>The folder is not there (ENOENT, ENODEV: a cgroup removed before or while it was listed).</summary>
    Vanished,
    /// <summary>Any other error (EMFILE, ENOMEM, EACCES): what the folder held is unknown.</summary>
    Failed,
}

/// <summary>
/// Lists the subfolders of one folder with <c>open(O_DIRECTORY)</c> + <c>getdents64</c>, taking each
/// entry's type from <c>d_type</c>: one <c>getdents64</c> call for a whole cgroup folder, and no
/// <c>lstat</c> per entry, which is what <see cref="System.IO.Enumeration.FileSystemEntry.Attributes"/>
/// costs (an <c>lstat</c> and a <c>geteuid</c> each). Links (<c>DT_LNK</c>) are never reported, so
/// never followed. A file system that leaves <c>d_type</c> unknown gets one <c>lstat</c> for that entry.
/// Reuses its buffers: a listing allocates nothing. Not thread-safe.
/// </summary>
internal sealed unsafe class DirectoryLister
{
    /// <summary>Called once per subfolder; the name is valid only during the call.</summary>
    public delegate void FolderCallback(ReadOnlySpan<char> name);

    // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    private const int ReclenOffset = 16;
    private const int TypeOffset = 18;
    private const int NameOffset = 19;
    private const byte DT_UNKNOWN = 0;
    private const byte DT_DIR = 4;

    /// <summary>A cgroup folder's entries (20-40 files, a few folders) fit in one call.</summary>
    private readonly byte[] _entries = GC.AllocateArray<byte>(32 * 1024, pinned: true);
    private byte[] _pathZ = new byte[512];

    /// <summary>Calls <paramref name="onFolder"/> for each real subfolder of <paramref name="path"/>.</summary>
    public ListStatus ListFolders(string path, FolderCallback onFolder)
    {
        int needed = Encoding.UTF8.GetMaxByteCount(path.Length) + 1;
        if (_pathZ.Length < needed)
        {
            _pathZ = new byte[needed];
        }
        int len = Encoding.UTF8.GetBytes(path, _pathZ);
        _pathZ[len] = 0;

        int fd;
        fixed (byte* p = _pathZ)
        {
            do
            {
                fd = Native.Open(p, Native.O_RDONLY | Native.O_DIRECTORY | Native.O_CLOEXEC);
            }
            while (fd < 0 && Marshal.GetLastPInvokeError() == Native.EINTR);
        }
        if (fd < 0)
        {
            return StatusOf(Marshal.GetLastPInvokeError());
        }
        try
        {
            Span<char> name = stackalloc char[256];
            while (true)
            {
                nint n;
                fixed (byte* b = _entries)
                {
                    do
                    {
                        n = Native.GetDents64(fd, b, (nuint)_entries.Length);
                    }
                    while (n < 0 && Marshal.GetLastPInvokeError() == Native.EINTR);
                }
                if (n < 0)
                {
                    return StatusOf(Marshal.GetLastPInvokeError());
                }
                if (n == 0)
                {
                    return ListStatus.Ok;
                }
                var records = _entries.AsSpan(0, (int)n);
                while (records.Length > NameOffset)
                {
                    int reclen = records[ReclenOffset] | (records[ReclenOffset + 1] << 8);
                    if (reclen <= NameOffset || reclen > records.Length)
                    {
                        return ListStatus.Failed;
                    }
                    byte type = records[TypeOffset];
                    var raw = records[NameOffset..reclen];
                    int end = raw.IndexOf((byte)0);
                    raw = end >= 0 ? raw[..end] : raw;
                    records = records[reclen..];
                    if (type is not (DT_DIR or DT_UNKNOWN) || raw.SequenceEqual("."u8) || raw.SequenceEqual(".."u8))
                    {
                        continue;
                    }
                    int chars = Encoding.UTF8.GetChars(raw, name);
                    if (type == DT_UNKNOWN && !IsRealFolder(path, name[..chars]))
                    {
                        continue;
                    }
                    onFolder(name[..chars]);
                }
            }
        }
        finally
        {
            Native.Close(fd);
        }
    }

    private static ListStatus StatusOf(int errno) => errno is Native.ENOENT or Native.ENODEV or Native.ENOTDIR
        ? ListStatus.Vanished
        : ListStatus.Failed;

    /// <summary>The <c>lstat</c> a file system without <c>d_type</c> needs: a folder, and not a link to one.</summary>
    private static bool IsRealFolder(string parent, ReadOnlySpan<char> name)
    {
        try
        {
            var attributes = File.GetAttributes(string.Concat(parent, "/", name));
            return (attributes & FileAttributes.Directory) != 0 && (attributes & FileAttributes.ReparsePoint) == 0;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
