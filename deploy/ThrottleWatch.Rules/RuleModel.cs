namespace ThrottleWatch.Rules;

/// <summary>A Prometheus rule group: evaluated in order, so a rule may use the ones above it.</summary>
/// <param name="Name">Group name, unique in the file.</param>
/// <param name="Rules">Recording and alerting rules, in evaluation order.</param>
public sealed record RuleGroup(string Name, IReadOnlyList<Rule> Rules);

/// <summary>A recording or alerting rule.</summary>
/// <param name="Expr">PromQL; may span lines (the first line must not be indented).</param>
public abstract record Rule(string Expr);

/// <summary>A recording rule, named <c>level:metric:operations</c>.</summary>
/// <param name="Record">Name of the series it writes.</param>
/// <param name="Expr">PromQL.</param>
/// <param name="Help">What the series holds, for the runbook's reference (not written to the rule files).</param>
public sealed record RecordingRule(string Record, string Expr, string Help) : Rule(Expr);

/// <summary>An alerting rule with a severity, a summary, a description and a runbook link.</summary>
/// <param name="Alert">Alert name; its runbook section's anchor is the name in lower case.</param>
/// <param name="Expr">PromQL.</param>
/// <param name="For">How long the expression must hold before the alert fires.</param>
/// <param name="Severity">info, warning or critical.</param>
/// <param name="Summary">One line, Go template over <c>$labels</c>.</param>
/// <param name="Description">Go template over <c>$labels</c> and <c>$value</c>.</param>
/// <param name="RunbookUrl">Base URL of the runbook plus <c>#anchor</c>.</param>
public sealed record AlertingRule(
    string Alert,
    string Expr,
    TimeSpan For,
    string Severity,
    string Summary,
    string Description,
    string RunbookUrl) : Rule(Expr);

/// <summary>The severity label values (kube-prometheus' convention).</summary>
public static class Severity
{
    public const string Info = "info";
    public const string Warning = "warning";
    public const string Critical = "critical";
}
