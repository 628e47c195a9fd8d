using System.Text;

namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// A cgroup file's name, one copy per name for the whole process: the name, and "/" + name + NUL
/// for the system calls.
/// </summary>
internal sealed class CgroupFileName
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, CgroupFileName> All = new(StringComparer.Ordinal);

    private CgroupFileName(string name)
    {
        Name = name;
        var z = new byte[Encoding.UTF8.GetByteCount(name) + 2];
        z[0] = (byte)'/';
        Encoding.UTF8.GetBytes(name, z.AsSpan(1));
        SlashNameZ = z;
    }

    public string Name { get; }

    /// <summary>"/" + the name in UTF-8 + NUL.</summary>
    public byte[] SlashNameZ { get; }

    public static CgroupFileName Of(string name) => All.GetOrAdd(name, static n => new CgroupFileName(n));
}

/// <summary>
/// A file in a cgroup's folder that is opened, read and closed each time: the folder and the shared
/// name, and nothing else (no object per file: at 2,000 containers the five such files of each cgroup
/// were 0.9 MiB of objects). No read allocates.
/// </summary>
internal readonly unsafe struct FolderFile(CgroupFolder folder, CgroupFileName name)
{
    public CgroupFolder Folder => folder;

    /// <summary>Absolute path of the file (built on each call: for messages, not for the hot path).</summary>
    public string Path
    {
        get
        {
            var f = folder.Path;
            return f == "/" ? "/" + name.Name : f + "/" + name.Name;
        }
    }

    /// <summary>
    /// Opens the file, reads it whole into <paramref name="buffer"/> and closes it; relative to
    /// <paramref name="folderFd"/> (from <see cref="CgroupFolder.OpenPath"/>) when it is not -1.
    /// </summary>
    public ReadStatus Read(int folderFd, Span<byte> buffer, out int length)
    {
        length = 0;
        int fd = Open(folderFd);
        if (fd < 0)
        {
            return CgroupFile.FromErrno(System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
        var result = CgroupFile.PRead(fd, buffer, out length);
        Native.Close(fd);
        return result;
    }

    /// <summary>A read-only descriptor, or -1 with the error in <see cref="System.Runtime.InteropServices.Marshal.GetLastPInvokeError"/>.</summary>
    internal int Open(int folderFd)
    {
        int fd;
        if (folderFd >= 0)
        {
            fixed (byte* relative = &name.SlashNameZ[1])
            {
                do
                {
                    fd = Native.OpenAt(folderFd, relative, Native.O_RDONLY | Native.O_CLOEXEC);
                }
                while (fd < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Native.EINTR);
            }
            return fd;
        }
        // On the stack: a read allocates nothing.
        Span<byte> room = stackalloc byte[1024];
        var path = FullPathZ(room);
        fixed (byte* p = path)
        {
            do
            {
                fd = Native.Open(p, Native.O_RDONLY | Native.O_CLOEXEC);
            }
            while (fd < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Native.EINTR);
        }
        return fd;
    }

    /// <summary>
    /// Adds an inotify watch on this file to the inotify instance <paramref name="inotifyFd"/>: the watch
    /// descriptor, or -1 with the error in <see cref="System.Runtime.InteropServices.Marshal.GetLastPInvokeError"/>.
    /// </summary>
    internal int AddWatch(int inotifyFd, uint mask)
    {
        Span<byte> z = stackalloc byte[1024];
        var path = FullPathZ(z);
        fixed (byte* p = path)
        {
            return Native.InotifyAddWatch(inotifyFd, p, mask);
        }
    }

    /// <summary>folder + "/" + name + NUL, in <paramref name="room"/> when it fits.</summary>
    private Span<byte> FullPathZ(Span<byte> room)
    {
        var utf8 = folder.Utf8;
        var nameZ = name.SlashNameZ;
        int total = utf8.Length + nameZ.Length;
        Span<byte> z = total <= room.Length ? room[..total] : new byte[total];
        bool root = utf8.Length == 1 && utf8[0] == (byte)'/';
        int at = root ? 0 : utf8.Length;
        if (!root)
        {
            utf8.CopyTo(z);
        }
        nameZ.CopyTo(z[at..]);
        return z;
    }
}

/// <summary>
/// One cgroup file, read from offset 0 each time (kernfs regenerates the text on every read from
/// offset 0, so a kept descriptor gives fresh values without reopening). Keeps its descriptor when
/// it was given a <see cref="HandleBudget"/> with room; otherwise opens, reads and
/// closes. No read allocates. Not thread-safe: one sweep at a time.
/// </summary>
public sealed unsafe class CgroupFile : IDisposable
{
    private readonly FolderFile _file;
    private readonly HandleBudget? _budget;
    private int _fd = -1;
    private bool _keepOpen = true;

    /// <param name="path">Absolute path of the file.</param>
    /// <param name="budget">Where kept descriptors are accounted; null never keeps one.</param>
    public CgroupFile(string path, HandleBudget? budget)
        : this(new CgroupFolder(System.IO.Path.GetDirectoryName(path) ?? "/"), System.IO.Path.GetFileName(path), budget)
    {
    }

    /// <param name="folder">The cgroup's folder, shared by its files.</param>
    /// <param name="name">The file's name in it.</param>
    /// <param name="budget">Where kept descriptors are accounted; null never keeps one.</param>
    public CgroupFile(CgroupFolder folder, string name, HandleBudget? budget)
    {
        _file = new FolderFile(folder, CgroupFileName.Of(name));
        _budget = budget;
    }

    /// <summary>Absolute path of the file (built on each call: for messages, not for the hot path).</summary>
    public string Path => _file.Path;

    public CgroupFolder Folder => _file.Folder;

    /// <summary>Where the file is, without what this object keeps (for messages about it).</summary>
    internal FolderFile Location => _file;

    /// <summary>True while a descriptor is held open between reads.</summary>
    public bool IsKept => _fd >= 0;

    /// <summary>True for a file that should be kept open but reads by reopening (budget spent).</summary>
    public bool IsDegraded => _budget is not null && KeepOpen && _fd < 0;

    /// <summary>
    /// Whether a read keeps the descriptor (when a budget was given and has room). True by default;
    /// set to false, a kept descriptor is closed and returned to the budget, and reads reopen.
    /// </summary>
    public bool KeepOpen
    {
        get => _keepOpen;
        set
        {
            _keepOpen = value;
            if (!value)
            {
                CloseKept();
            }
        }
    }

    /// <summary>
    /// Reads the whole file into <paramref name="buffer"/>. On <see cref="ReadStatus.Ok"/>,
    /// <paramref name="length"/> bytes are valid.
    /// </summary>
    public ReadStatus Read(Span<byte> buffer, out int length) => Read(-1, buffer, out length);

    /// <summary>
    /// As <see cref="Read(Span{byte}, out int)"/>; a file without a kept descriptor is opened relative
    /// to <paramref name="folderFd"/> (from <see cref="CgroupFolder.OpenPath"/>) when it is not -1:
    /// one path component to walk instead of the whole path.
    /// </summary>
    public ReadStatus Read(int folderFd, Span<byte> buffer, out int length)
    {
        length = 0;
        if (_fd >= 0)
        {
            var status = PRead(_fd, buffer, out length);
            if (status == ReadStatus.Ok)
            {
                return status;
            }
            CloseKept();
            if (status != ReadStatus.Vanished)
            {
                return status;
            }
            // ENODEV on a kept handle: the cgroup went, or went and came back under the same path
            // (a restarted service, a reused id). Opening the path again tells which.
            folderFd = -1;
        }

        int fd = _file.Open(folderFd);
        if (fd < 0)
        {
            return FromErrno(System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
        var result = PRead(fd, buffer, out length);
        if (result == ReadStatus.Ok && _budget is not null && _keepOpen && _budget.TryTake())
        {
            _fd = fd;
        }
        else
        {
            Native.Close(fd);
        }
        return result;
    }

    internal static ReadStatus PRead(int fd, Span<byte> buffer, out int length)
    {
        length = 0;
        nint n;
        fixed (byte* b = buffer)
        {
            do
            {
                n = Native.PRead(fd, b, (nuint)buffer.Length, 0);
            }
            while (n < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Native.EINTR);
        }
        if (n < 0)
        {
            return FromErrno(System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
        if (n >= buffer.Length)
        {
            // Larger than any cgroup cpu file: not the file we expect.
            return ReadStatus.Malformed;
        }
        length = (int)n;
        return ReadStatus.Ok;
    }

    internal static ReadStatus FromErrno(int errno) => errno switch
    {
        // ENOTDIR: a folder on the path became something else (a file): the cgroup is gone all the same.
        Native.ENOENT or Native.ENODEV or Native.ESRCH or Native.ENOTDIR => ReadStatus.Vanished,
        Native.EACCES or Native.EPERM => ReadStatus.Permission,
        Native.EMFILE or Native.ENFILE => ReadStatus.OpenFiles,
        _ => ReadStatus.Io,
    };

    private void CloseKept()
    {
        if (_fd >= 0)
        {
            Native.Close(_fd);
            _fd = -1;
            _budget?.Return();
        }
    }

    public void Dispose() => CloseKept();
}
