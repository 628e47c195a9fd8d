using System.Diagnostics;
using System.Globalization;

namespace ThrottleWatch.Benchmarks.Sweep;

/// <summary>One run of bench/baseline/cgread: its median and fastest sweep, and its CPU time over the timed sweeps.</summary>
internal sealed record CResult(int Sweeps, int Files, int Kept, long MedianNs, long MinNs, double UserMs, double SystemMs, long Errors);

/// <summary>Builds (when missing or older than its source) and runs the C lower bound, bench/baseline/cgread.</summary>
internal sealed class CBaseline
{
    private readonly string _binary;

    private CBaseline(string binary) => _binary = binary;

    public string Binary => _binary;

    /// <summary>Finds bench/baseline/cgread.c above the program's folder (or the current one) and builds it with gcc if needed.</summary>
    public static CBaseline Prepare(TextWriter log)
    {
        string source = FindSource() ?? throw new InvalidOperationException(
            "bench/baseline/cgread.c not found above " + AppContext.BaseDirectory + " or " + Environment.CurrentDirectory);
        string binary = Path.Combine(Path.GetDirectoryName(source)!, "cgread");
        if (!File.Exists(binary) || File.GetLastWriteTimeUtc(binary) < File.GetLastWriteTimeUtc(source))
        {
            log.WriteLine($"building {binary}: gcc -O2 -o {binary} {source}");
            var (code, _, err) = RunProcess("gcc", ["-O2", "-o", binary, source]);
            if (code != 0)
            {
                throw new InvalidOperationException($"gcc failed ({code}): {err.Trim()}");
            }
        }
        return new CBaseline(binary);
    }

    private static string? FindSource()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "bench", "baseline", "cgread.c");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }

    /// <summary>Runs <c>cgread LIST SWEEPS MAXOPEN</c> and parses its one line.</summary>
    public CResult Run(string listFile, int sweeps, int maxOpen)
    {
        var (code, output, err) = RunProcess(_binary,
            [listFile, sweeps.ToString(CultureInfo.InvariantCulture), maxOpen.ToString(CultureInfo.InvariantCulture)]);
        if (code != 0)
        {
            throw new InvalidOperationException($"cgread exited {code}: {err.Trim()} {output.Trim()}");
        }
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var word in output.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = word.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                fields[word[..eq]] = word[(eq + 1)..];
            }
        }
        try
        {
            return new CResult(
                int.Parse(fields["sweeps"], CultureInfo.InvariantCulture),
                int.Parse(fields["files"], CultureInfo.InvariantCulture),
                int.Parse(fields["kept"], CultureInfo.InvariantCulture),
                long.Parse(fields["median_ns"], CultureInfo.InvariantCulture),
                long.Parse(fields["min_ns"], CultureInfo.InvariantCulture),
                double.Parse(fields["user_ms"], CultureInfo.InvariantCulture),
                double.Parse(fields["sys_ms"], CultureInfo.InvariantCulture),
                long.Parse(fields["errors"], CultureInfo.InvariantCulture));
        }
        catch (KeyNotFoundException)
        {
            throw new InvalidOperationException($"cgread printed an unexpected line: {output.Trim()}");
        }
    }

    private static (int Code, string Output, string Error) RunProcess(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.GetAwaiter().GetResult());
    }
}
