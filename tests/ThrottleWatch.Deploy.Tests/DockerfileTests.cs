using System.Text.RegularExpressions;

namespace ThrottleWatch.Deploy.Tests;

/// <summary>
/// The agent image, read from the Dockerfile (no Docker engine runs here): the shipped stage is a
/// chiseled .NET image (no shell, no package manager), adds nothing by running commands in it, runs
/// as a non-root user and starts the agent in exec form (a shell form would need the /bin/sh the
/// image does not have). Its build step is the publish script CI runs for every architecture.
/// </summary>
public partial class DockerfileTests
{
    private static string Read(string relative) => File.ReadAllText(Path.Combine(ManifestRender.RepoRoot, relative));

    /// <summary>Instructions (continuations joined, comments dropped) grouped by stage.</summary>
    private static List<List<(string Op, string Args)>> Stages()
    {
        var stages = new List<List<(string, string)>>();
        var joined = Regex.Replace(Read("Dockerfile"), @"\\\r?\n", " ");
        foreach (var raw in joined.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var op = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var args = space < 0 ? "" : line[(space + 1)..].Trim();
            if (op == "FROM")
            {
                stages.Add([]);
            }
            Assert.True(stages.Count > 0, $"instruction before FROM: {line}");
            stages[^1].Add((op, args));
        }
        return stages;
    }

    [Fact]
    public void The_shipped_image_is_chiseled_non_root_and_runs_no_shell()
    {
        var final = Stages()[^1];
        var from = final.First(i => i.Op == "FROM").Args;
        Assert.Matches(ChiseledImage(), from);
        // Nothing runs inside the shipped stage: there is no shell to run it with, and nothing is installed.
        Assert.DoesNotContain(final, i => i.Op == "RUN");
        // Only files built in an earlier stage are copied in.
        Assert.All(final.Where(i => i.Op is "COPY" or "ADD"), i => Assert.StartsWith("--from=", i.Args, StringComparison.Ordinal));
        var user = final.Last(i => i.Op == "USER").Args;
        Assert.NotEqual("root", user);
        Assert.NotEqual("0", user);
        foreach (var op in new[] { "ENTRYPOINT", "CMD" })
        {
            var args = final.Last(i => i.Op == op).Args;
            Assert.True(args.StartsWith('[') && args.EndsWith(']'), $"{op} is in shell form (needs /bin/sh, which the image lacks): {args}");
        }
        Assert.Contains("/app/throttlewatch-agent", final.Last(i => i.Op == "ENTRYPOINT").Args, StringComparison.Ordinal);
    }

    [Fact]
    public void The_image_is_built_by_the_publish_script_that_ci_runs_for_each_architecture()
    {
        var build = Stages()[0];
        var run = Assert.Single(build, i => i.Op == "RUN").Args;
        Assert.StartsWith("./scripts/publish-agent.sh /app \"$TARGETARCH\"", run, StringComparison.Ordinal);
        var test = Read("scripts/test.sh");
        foreach (var arch in new[] { "amd64", "arm64" })
        {
            Assert.Matches(new Regex($@"^\./scripts/publish-agent\.sh \S+ {arch}\b", RegexOptions.Multiline), test);
        }
    }

    [GeneratedRegex(@"^mcr\.microsoft\.com/dotnet/(runtime-deps|runtime|aspnet):[0-9.]+-[a-z]+-chiseled(-extra)?(\s|$)")]
    private static partial Regex ChiseledImage();
}
