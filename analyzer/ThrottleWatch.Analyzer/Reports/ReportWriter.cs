using System.Text;
using ThrottleWatch.Analyzer.Evidence;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>
/// Writes <c>report.html</c>, <c>report.md</c> and <c>report.json</c> together or not at all: each is
/// written and flushed to disk in a temporary folder beside the output folder (same file system, so a
/// move is a rename), and only when all three are there are they moved into place. A file they
/// replace is kept aside until the last move, and put back if a move fails; the temporary folder is
/// always removed.
/// </summary>
internal static class ReportWriter
{
    /// <summary>The files, in the order they are written and moved.</summary>
    public static readonly IReadOnlyList<string> FileNames = ["report.html", "report.md", "report.json"];

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>The three files' contents, keyed by file name: what <see cref="WriteReport(AnalysisResult, string)"/> writes.</summary>
    public static IReadOnlyList<(string Name, string Content)> Render(AnalysisResult result)
        =>
        [
            ("report.html", HtmlReport.Report(result)),
            ("report.md", MarkdownReport.Report(result)),
            ("report.json", JsonReport.Report(result.Report)),
        ];

    /// <summary>Writes the three reports into <paramref name="outDir"/> (created if missing), atomically as a set.</summary>
    public static void WriteReport(AnalysisResult result, string outDir) => WriteReport(result, outDir, step: null);

    /// <summary>
    /// As <see cref="WriteReport(AnalysisResult, string)"/>; <paramref name="step"/> is called before each
    /// step ("write report.md", "move report.md") so a test can make one fail.
    /// </summary>
    internal static void WriteReport(AnalysisResult result, string outDir, Action<string>? step)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        var files = Render(result);

        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir));
        var parent = Path.GetDirectoryName(target) ?? throw new IOException($"{outDir}: cannot write reports to a file system root.");
        if (File.Exists(target))
        {
            throw new IOException($"{outDir} is a file, not a folder.");
        }
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(target)}.tmp-{Guid.NewGuid():N}");
        var backups = Path.Combine(temp, "previous");
        bool created = false;
        var moved = new List<string>();
        try
        {
            Directory.CreateDirectory(temp);
            foreach (var (name, content) in files)
            {
                step?.Invoke("write " + name);
                using var stream = new FileStream(Path.Combine(temp, name), FileMode.CreateNew, FileAccess.Write);
                stream.Write(Utf8.GetBytes(content));
                stream.Flush(flushToDisk: true);
            }

            if (!Directory.Exists(target))
            {
                Directory.CreateDirectory(target);
                created = true;
            }
            Directory.CreateDirectory(backups);
            foreach (var (name, _) in files)
            {
                step?.Invoke("move " + name);
                var destination = Path.Combine(target, name);
                if (File.Exists(destination))
                {
                    File.Move(destination, Path.Combine(backups, name));
                }
                moved.Add(name);
                File.Move(Path.Combine(temp, name), destination, overwrite: true);
            }
        }
        catch
        {
            Restore(target, backups, moved, created);
            throw;
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>Undoes the moves done so far: the new files out, the old ones back, a folder we made removed if empty.</summary>
    private static void Restore(string target, string backups, List<string> moved, bool created)
    {
        foreach (var name in moved)
        {
            var destination = Path.Combine(target, name);
            var backup = Path.Combine(backups, name);
            try
            {
                if (File.Exists(backup))
                {
                    File.Move(backup, destination, overwrite: true);
                }
                else
                {
                    File.Delete(destination);
                }
            }
            catch (IOException)
            {
                // Best effort: the original error is the one to report.
            }
            catch (UnauthorizedAccessException)
            {
                // As above.
            }
        }
        if (created)
        {
            try
            {
                if (!Directory.EnumerateFileSystemEntries(target).Any())
                {
                    Directory.Delete(target);
                }
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: a leftover temporary folder is hidden and named as ours.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
