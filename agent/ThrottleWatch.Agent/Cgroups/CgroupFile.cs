using System.Text;

namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// One cgroup file, read from offset 0 each time (kernfs regenerates the text on every read from
/// offset 0, so a kept descriptor gives fresh values without reopening). Keeps its descriptor when
/// it was given a <see cref="HandleBudget"/> with room; otherwise opens, reads and
/// closes. No read allocates. Not thread-safe: one sweep at a time.
/// </summary>
public sealed unsafe class CgroupFile : IDisposable
{
    /// <summary>"/" + file name + NUL, one copy per name for the whole process.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> Names = new(StringComparer.Ordinal);

    private readonly CgroupFolder _folder;
    private readonly string _name;
    private readonly byte[] _nameZ;
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
        _folder = folder;
        _name = name;
        _budget = budget;
        _nameZ = Names.GetOrAdd(name, static n =>
        {
            var z = new byte[Encoding.UTF8.GetByteCount(n) + 2];
            z[0] = (byte)'/';
            Encoding.UTF8.GetBytes(n, z.AsSpan(1));
            return z;
        });
    }

    /// <summary>Absolute path of the file (built on each call: for messages, not for the hot path).</summary>
    public string Path
    {
        get
        {
            var folder = _folder.Path;
            return folder == "/" ? "/" + _name : folder + "/" + _name;
        }
    }

    public CgroupFolder Folder => _folder;

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

        int fd = folderFd >= 0 ? OpenAt(folderFd) : OpenFullPath();
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

    private int OpenAt(int folderFd)
    {
        int fd;
        fixed (byte* name = &_nameZ[1])
        {
            do
            {
                fd = Native.OpenAt(folderFd, name, Native.O_RDONLY | Native.O_CLOEXEC);
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
        var folder = _folder.Utf8;
        int total = folder.Length + _nameZ.Length;
        Span<byte> z = total <= room.Length ? room[..total] : new byte[total];
        bool root = folder.Length == 1 && folder[0] == (byte)'/';
        int at = root ? 0 : folder.Length;
        if (!root)
        {
            folder.CopyTo(z);
        }
        _nameZ.CopyTo(z[at..]);
        return z;
    }

    private int OpenFullPath()
    {
        // On the stack: a read allocates nothing.
        Span<byte> room = stackalloc byte[1024];
        var path = FullPathZ(room);
        int fd;
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

    private static ReadStatus PRead(int fd, Span<byte> buffer, out int length)
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
