using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Spectre.Console;

namespace ThrottleWatch.Agent.Commands;

/// <summary>Where a command writes: the process's streams, or a test's writers.</summary>
public sealed class CliContext(TextWriter output, TextWriter error)
{
    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;

    /// <summary>Logs go to stderr (stdout carries the command's output, e.g. JSON).</summary>
    public static ILoggerFactory CreateLoggerFactory() => LoggerFactory.Create(b =>
    {
        b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        b.SetMinimumLevel(LogLevel.Information);
    });

    /// <summary>A console on <see cref="Output"/>; at least 140 columns wide, so tables stay readable when piped.</summary>
    public IAnsiConsole CreateConsole()
    {
        bool real = ReferenceEquals(Output, Console.Out);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Output),
            Ansi = real ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = real ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        console.Profile.Width = Math.Max(console.Profile.Width, 140);
        return console;
    }
}
