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
    private readonly byte[] _pathZ;
    private readonly HandleBudget? _budget;
    private int _fd = -1;

    /// <param name="path">Absolute path of the file.</param>
    /// <param name="budget">Where kept descriptors are accounted; null never keeps one.</param>
    public CgroupFile(string path, HandleBudget? budget)
    {
        Path = path;
        _budget = budget;
        int n = Encoding.UTF8.GetByteCount(path);
        _pathZ = new byte[n + 1];
        Encoding.UTF8.GetBytes(path, _pathZ);
    }

    public string Path { get; }

    /// <summary>True while a descriptor is held open between reads.</summary>
    public bool IsKept => _fd >= 0;

    /// <summary>True for a file that should be kept open but reads by reopening (budget spent).</summary>
    public bool IsDegraded => _budget is not null && _fd < 0;

    /// <summary>
    /// Reads the whole file into <paramref name="buffer"/>. On <see cref="ReadStatus.Ok"/>,
    /// <paramref name="length"/> bytes are valid.
    /// </summary>
    public ReadStatus Read(Span<byte> buffer, out int length)
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
        }

        int fd;
        fixed (byte* p = _pathZ)
        {
            do
            {
                fd = Native.Open(p, Native.O_RDONLY | Native.O_CLOEXEC);
            }
            while (fd < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Native.EINTR);
        }
        if (fd < 0)
        {
            return FromErrno(System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
        var result = PRead(fd, buffer, out length);
        if (result == ReadStatus.Ok && _budget is not null && _budget.TryTake())
        {
            _fd = fd;
        }
        else
        {
            Native.Close(fd);
        }
        return result;
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
        Native.ENOENT or Native.ENODEV or Native.ESRCH => ReadStatus.Vanished,
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
