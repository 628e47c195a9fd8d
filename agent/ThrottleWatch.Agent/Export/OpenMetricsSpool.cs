using System.Buffers.Binary;

namespace ThrottleWatch.Agent.Export;

/// <summary>
/// The on-disk buffer of a recording: one file per metric family, each a sequence of fixed-size
/// binary records (series id, timestamp in ms, value) in the order they were captured, i.e. time
/// order. A recording of 2,000 containers holds about 30,000 series; keeping their samples as text
/// in memory would grow without bound, so only the series table stays in memory and the samples go
/// here, 20 bytes each (a 10-minute recording of 2,000 containers at 15 s steps: about 24 MB).
/// </summary>
/// <remarks>
/// OpenMetrics forbids interleaving the samples of different series of one family, so at the end
/// each family's file is <see cref="Regroup">regrouped</see> by series: in as many sequential passes
/// as needed to keep at most a fixed number of points in memory at once.
/// </remarks>
internal sealed class OpenMetricsSpool : IDisposable
{
    internal const int RecordSize = sizeof(int) + sizeof(long) + sizeof(double);
    private const int BufferRecords = 4096;

    private readonly string _directory;
    private readonly FileStream?[] _files;
    private readonly byte[] _record = new byte[RecordSize];
    private bool _disposed;

    /// <summary>Creates <paramref name="directory"/> (it must not be shared with anything else: it is deleted on dispose).</summary>
    public OpenMetricsSpool(string directory, int families)
    {
        _directory = directory;
        _files = new FileStream?[families];
        Directory.CreateDirectory(directory);
    }

    /// <summary>Bytes spooled so far.</summary>
    public long Bytes { get; private set; }

    public void Append(int family, int series, long timestampMs, double value)
    {
        var file = _files[family] ??= new FileStream(Path.Combine(_directory, $"{family:D2}.bin"), FileMode.Create, FileAccess.ReadWrite,
            FileShare.None, RecordSize * BufferRecords, FileOptions.None);
        var span = _record.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, series);
        BinaryPrimitives.WriteInt64LittleEndian(span[4..], timestampMs);
        BinaryPrimitives.WriteDoubleLittleEndian(span[12..], value);
        file.Write(span);
        Bytes += RecordSize;
    }

    /// <summary>
    /// Hands every series of <paramref name="family"/> to <paramref name="write"/>, in series-id order,
    /// with its points in the order they were appended. <paramref name="counts"/> gives each series'
    /// number of points; at most <paramref name="maxPoints"/> are held at once (more passes over the
    /// file when the family is larger; a single larger series is held whole).
    /// </summary>
    public void Regroup(int family, IReadOnlyList<int> counts, int maxPoints, Action<int, ReadOnlySpan<long>, ReadOnlySpan<double>> write)
    {
        var file = _files[family];
        if (file is null || counts.Count == 0)
        {
            return;
        }
        file.Flush();
        long records = file.Length / RecordSize;
        var buffer = new byte[RecordSize * BufferRecords];
        int lo = 0;
        while (lo < counts.Count)
        {
            long total = 0;
            int hi = lo;
            while (hi < counts.Count && (hi == lo || total + counts[hi] <= maxPoints))
            {
                total += counts[hi];
                hi++;
            }
            var start = new int[hi - lo + 1];
            for (int i = lo; i < hi; i++)
            {
                start[i - lo + 1] = start[i - lo] + counts[i];
            }
            var fill = (int[])start.Clone();
            var times = new long[total];
            var values = new double[total];

            file.Position = 0;
            long left = records;
            while (left > 0)
            {
                int n = (int)Math.Min(left, BufferRecords);
                file.ReadExactly(buffer, 0, n * RecordSize);
                for (int r = 0; r < n; r++)
                {
                    var span = buffer.AsSpan(r * RecordSize, RecordSize);
                    int id = BinaryPrimitives.ReadInt32LittleEndian(span);
                    if (id >= lo && id < hi)
                    {
                        int k = fill[id - lo]++;
                        if (k >= start[id - lo + 1])
                        {
                            throw new InvalidOperationException($"spool of family {family}: more points for series {id} than counted");
                        }
                        times[k] = BinaryPrimitives.ReadInt64LittleEndian(span[4..]);
                        values[k] = BinaryPrimitives.ReadDoubleLittleEndian(span[12..]);
                    }
                }
                left -= n;
            }
            for (int i = lo; i < hi; i++)
            {
                int from = start[i - lo];
                int count = fill[i - lo] - from;
                write(i, times.AsSpan(from, count), values.AsSpan(from, count));
            }
            lo = hi;
        }
        file.Seek(0, SeekOrigin.End);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var f in _files)
        {
            f?.Dispose();
        }
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
