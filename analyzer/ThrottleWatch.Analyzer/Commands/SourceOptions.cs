using System.CommandLine;
using System.Globalization;
using ThrottleWatch.Analyzer.Sources;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Commands;

/// <summary>The input flags shared by <c>recommend</c>, <c>report</c> and <c>top</c>.</summary>
internal sealed class SourceOptions
{
    public Option<string?> Prometheus { get; } = new("--prometheus") { Description = "Prometheus-compatible server URL (Prometheus, Thanos, Mimir, VictoriaMetrics)", DefaultValueFactory = _ => Env("PROMETHEUS") };
    public Option<string?> Input { get; } = new("--input") { Description = "An OpenMetrics recording (throttlewatch-agent record) instead of a server" };
    public Option<string?> BearerTokenFile { get; } = new("--bearer-token-file") { Description = "File whose content is sent as a bearer token", DefaultValueFactory = _ => Env("BEARER_TOKEN_FILE") };
    public Option<string[]> Header { get; } = new("--header") { Description = "Extra HTTP header 'Name: Value' for the server; repeatable", DefaultValueFactory = _ => [] };
    public Option<string?> Range { get; } = new("--range") { Description = "How far back, Prometheus duration (default 7d; with --input the whole recording)" };
    public Option<string?> End { get; } = new("--end") { Description = "End of the range, RFC 3339 (default now; with --input the recording's end)" };
    public Option<string[]> Namespace { get; } = new("--namespace") { Description = "Only this namespace; repeatable", DefaultValueFactory = _ => [] };
    public Option<string?> SelectorText { get; } = new("--selector") { Description = "PromQL label matchers added to every query, e.g. namespace=~\"shop|pay\"" };
    public Option<string?> Step { get; } = new("--step") { Description = "Resolution of the evidence (default: about 2,000 points over the range, at least 15s)" };
    public Option<string> Timeout { get; } = new("--timeout") { Description = "Per-request timeout", DefaultValueFactory = _ => "60s" };

    private static string? Env(string name) => Environment.GetEnvironmentVariable("THROTTLEWATCH_" + name) is { Length: > 0 } v ? v : null;

    public void AddTo(Command command, bool withInput = true)
    {
        command.Options.Add(Prometheus);
        if (withInput)
        {
            command.Options.Add(Input);
        }
        foreach (var o in new Option[] { BearerTokenFile, Header, Range, End, Namespace, SelectorText, Step, Timeout })
        {
            command.Options.Add(o);
        }
        command.Validators.Add(r =>
        {
            bool prom = r.GetValue(Prometheus) is not null;
            bool input = withInput && r.GetValue(Input) is not null;
            if (prom == input)
            {
                r.AddError(withInput ? "give exactly one of --prometheus URL or --input FILE" : "--prometheus URL is required");
            }
            if (r.GetValue(Prometheus) is { } url && (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
            {
                r.AddError($"--prometheus: '{url}' is not an http or https URL");
            }
            foreach (var (name, text) in new[] { ("--range", r.GetValue(Range)), ("--step", r.GetValue(Step)), ("--timeout", r.GetValue(Timeout)) })
            {
                if (text is not null && (!PromDuration.TryParse(text, out var d) || d <= TimeSpan.Zero))
                {
                    r.AddError($"{name}: '{text}' is not a positive duration (examples: 15m, 1d, 7d)");
                }
            }
            if (r.GetValue(End) is { } end && !DateTimeOffset.TryParse(end, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
            {
                r.AddError($"--end: '{end}' is not an RFC 3339 time such as 2026-11-27T00:00:00Z");
            }
            if (!Selector.TryParse(r.GetValue(SelectorText), out _, out var error))
            {
                r.AddError(error);
            }
            foreach (var h in r.GetValue(Header) ?? [])
            {
                if (h.IndexOf(':', StringComparison.Ordinal) <= 0)
                {
                    r.AddError($"--header: '{h}' is not 'Name: Value'");
                }
            }
        });
    }

    /// <summary>The source and range the flags name; throws <see cref="BadInputException"/> for what only shows at run time.</summary>
    public (IMetricSource Source, Selector Selector, DateTimeOffset Start, DateTimeOffset End, TimeSpan? Step) Resolve(ParseResult parse, DateTimeOffset now)
    {
        if (!Selector.TryParse(parse.GetValue(SelectorText), out var selector, out var selectorError))
        {
            throw new BadInputException(selectorError);
        }
        var namespaces = parse.GetValue(Namespace) ?? [];
        if (namespaces.Length > 0)
        {
            selector = selector.With(new Matcher("namespace", "=~", string.Join("|", namespaces.Select(System.Text.RegularExpressions.Regex.Escape))));
        }
        TimeSpan? step = parse.GetValue(Step) is { } s && PromDuration.TryParse(s, out var st) ? st : null;
        TimeSpan? range = parse.GetValue(Range) is { } rg && PromDuration.TryParse(rg, out var r) ? r : null;
        DateTimeOffset? end = parse.GetValue(End) is { } e ? DateTimeOffset.Parse(e, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : null;

        if (parse.GetValue(Input) is { } input)
        {
            if (!File.Exists(input))
            {
                throw new BadInputException($"--input: '{input}' does not exist");
            }
            var recording = RecordingSource.Load(input);
            var to = end ?? recording.End;
            var from = range is { } rr ? to - rr : recording.Start;
            return (recording, selector, from, to, step);
        }

        var url = new Uri(parse.GetValue(Prometheus)!);
        string? token = null;
        if (parse.GetValue(BearerTokenFile) is { } tokenFile)
        {
            try
            {
                token = File.ReadAllText(tokenFile).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new BadInputException($"--bearer-token-file: cannot read '{tokenFile}': {ex.Message}");
            }
        }
        var headers = (parse.GetValue(Header) ?? []).Select(h =>
        {
            int colon = h.IndexOf(':', StringComparison.Ordinal);
            return new KeyValuePair<string, string>(h[..colon].Trim(), h[(colon + 1)..].Trim());
        });
        var timeout = PromDuration.TryParse(parse.GetValue(Timeout), out var t) ? t : TimeSpan.FromSeconds(60);
        var toEnd = end ?? now;
        return (new PrometheusSource(url, token, headers, timeout), selector, toEnd - (range ?? TimeSpan.FromDays(7)), toEnd, step);
    }
}
