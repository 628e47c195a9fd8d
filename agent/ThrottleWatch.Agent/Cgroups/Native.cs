using System.Runtime.InteropServices;

namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// The libc calls behind <see cref="CgroupFile"/> and <see cref="Discovery.DirectoryLister"/>. Raw
/// descriptors instead of <see cref="Microsoft.Win32.SafeHandles.SafeFileHandle"/> so that a read, a
/// reopen in degraded mode and a directory listing allocate nothing.
/// </summary>
internal static unsafe partial class Native
{
    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;
    public const int O_DIRECTORY = 0x10000;
    /// <summary>A descriptor that only names a folder: no kernfs open file, nothing to read (x86-64 and arm64 alike).</summary>
    public const int O_PATH = 0x200000;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EACCES = 13;
    public const int ENODEV = 19;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int EPERM = 1;
    public const int ESRCH = 3;
    public const int ELOOP = 40;
    public const int RLIMIT_NOFILE = 7;
    public const int EAGAIN = 11;
    public const int ENOSPC = 28;
    public const int IN_NONBLOCK = 0x800;
    public const int IN_CLOEXEC = 0x80000;
    /// <summary>inotify: the file was written.</summary>
    public const uint IN_MODIFY = 0x2;
    /// <summary>inotify: events were lost (the queue overflowed).</summary>
    public const uint IN_Q_OVERFLOW = 0x4000;
    /// <summary>inotify: the watch was removed (explicitly, or its file is gone for good).</summary>
    public const uint IN_IGNORED = 0x8000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    public static partial int Open(byte* path, int flags);

    /// <summary>Opens <paramref name="path"/> relative to the folder <paramref name="dirFd"/>: the path walk is one component.</summary>
    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    public static partial int OpenAt(int dirFd, byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(int fd, byte* buffer, nuint count, long offset);

    /// <summary>
    /// Reads directory entries as <c>struct linux_dirent64</c> records (glibc 2.30+): the entry's type
    /// comes from the directory itself (<c>d_type</c>), so telling a folder from a link needs no <c>lstat</c>.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    public static partial nint GetDents64(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    public static partial int InotifyInit(int flags);

    [LibraryImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true)]
    public static partial int InotifyAddWatch(int fd, byte* path, uint mask);

    [LibraryImport("libc", EntryPoint = "inotify_rm_watch", SetLastError = true)]
    public static partial int InotifyRmWatch(int fd, int wd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>glibc's <c>malloc_trim</c>: gives the free pages of every malloc arena back to the kernel (1 if any were).</summary>
    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    public static partial int MallocTrim(nuint pad);

    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRLimit(int resource, out RLimit limit);

    /// <summary>The soft limit on open files, or null where it cannot be read.</summary>
    public static ulong? OpenFileLimit() => GetRLimit(RLIMIT_NOFILE, out var l) == 0 ? l.Current : null;
}
