namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// How many cgroup files may be kept open at once. A kept kernfs handle costs about 4.8 KiB of
/// kernel memory and one descriptor out of a hard per-process limit (20,000 here), so handles are
/// kept only for files read every sweep, and past the budget a file is opened for each read
/// instead (slower, never failing). A file in that degraded mode takes a slot back as soon as one frees.
/// </summary>
public sealed class HandleBudget
{
    private int _kept;
    private readonly Lock _gate = new();

    public HandleBudget(int capacity) => Capacity = Math.Max(0, capacity);

    private static readonly Lazy<HandleBudget> Shared = new(() =>
    {
        ulong limit = Native.OpenFileLimit() ?? 1024;
        long capped = (long)Math.Min(limit, int.MaxValue);
        long reserve = Math.Max(256, capped / 10);
        return new HandleBudget((int)Math.Max(0, capped - reserve));
    });

    /// <summary>
    /// The process's budget: the soft open-file limit less a reserve for sockets, logs and the
    /// runtime's own descriptors (a tenth, at least 256). One per process, because the limit is:
    /// every sampler in the process draws from it.
    /// </summary>
    public static HandleBudget FromProcessLimit() => Shared.Value;

    public int Capacity { get; }
    public int Kept => _kept;

    public bool TryTake()
    {
        // Past the budget every degraded read asks again: answer without the lock.
        if (Volatile.Read(ref _kept) >= Capacity)
        {
            return false;
        }
        lock (_gate)
        {
            if (_kept >= Capacity)
            {
                return false;
            }
            _kept++;
            return true;
        }
    }

    public void Return()
    {
        lock (_gate)
        {
            _kept--;
        }
    }
}
