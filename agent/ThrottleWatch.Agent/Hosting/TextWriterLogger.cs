using Microsoft.Extensions.Logging;

namespace ThrottleWatch.Agent.Hosting;

/// <summary>
/// Log lines on a <see cref="TextWriter"/> (the command's error writer when it is not the process's
/// stderr: a test's), in the simple console format: <c>time level: category[event] message</c>.
/// </summary>
internal sealed class TextWriterLoggerProvider(TextWriter writer) : ILoggerProvider
{
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(TextWriterLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string level = logLevel switch
            {
                LogLevel.Trace => "trce",
                LogLevel.Debug => "dbug",
                LogLevel.Information => "info",
                LogLevel.Warning => "warn",
                LogLevel.Error => "fail",
                _ => "crit",
            };
            string line = $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level}: {category}[{eventId.Id}] {formatter(state, exception)}"
                + (exception is null ? "" : " " + exception.ToString().ReplaceLineEndings(" "));
            lock (owner._gate)
            {
                owner.Writer.WriteLine(line);
            }
        }
    }

    private TextWriter Writer { get; } = writer;
}
