using System.Diagnostics;
using System.Text.Json;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>The analyzer as a kubectl plugin: kubectl finds kubectl-throttle on PATH and passes the arguments through.</summary>
public sealed class KubectlPluginTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tw-plugin-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Kubectl_throttle_recommend_runs_the_analyzer()
    {
        // What scripts/install-analyzer.sh does: a kubectl-throttle link to the analyzer's executable.
        var analyzer = Path.Combine(AppContext.BaseDirectory, "throttlewatch-analyzer");
        Assert.True(File.Exists(analyzer), analyzer);
        var bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        File.CreateSymbolicLink(Path.Combine(bin, "kubectl-throttle"), analyzer);
        var recording = RecommendationTests.Write(_dir, SyntheticRecording.Standard(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero)));

        var psi = new ProcessStartInfo("kubectl", ["throttle", "recommend", "--input", recording, "--format", "json"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000));
        Assert.True(p.ExitCode == 0, await stderr);
        using var doc = JsonDocument.Parse(await stdout);
        Assert.Contains(doc.RootElement.GetProperty("recommendations").EnumerateArray(), r => r.GetProperty("action").GetString() == "remove-limit");
    }
}
