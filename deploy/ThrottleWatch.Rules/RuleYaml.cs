using System.Globalization;
using System.Text;

namespace ThrottleWatch.Rules;

/// <summary>
/// Writes rule groups as YAML by hand: the output is small, its shape fixed, and its text must be
/// stable byte for byte (it is committed and compared). Expressions are literal blocks (<c>|-</c>),
/// written as they read in PromQL; other strings are plain when YAML reads them back as the same
/// string, else quoted.
/// </summary>
public static class RuleYaml
{
    /// <summary>The <c>groups:</c> key and its list, every line prefixed with <paramref name="indent"/>.</summary>
    public static void WriteGroups(StringBuilder sb, IReadOnlyList<RuleGroup> groups, string indent)
    {
        sb.Append(indent).Append("groups:\n");
        foreach (var group in groups)
        {
            string g = indent + "  ";
            sb.Append(g).Append("- name: ").Append(Scalar(group.Name)).Append('\n');
            sb.Append(g).Append("  rules:\n");
            string r = g + "    ";
            foreach (var rule in group.Rules)
            {
                switch (rule)
                {
                    case RecordingRule rec:
                        sb.Append(r).Append("- record: ").Append(Scalar(rec.Record)).Append('\n');
                        Key(sb, r + "  ", "expr", rec.Expr, block: true);
                        break;
                    case AlertingRule alert:
                        sb.Append(r).Append("- alert: ").Append(Scalar(alert.Alert)).Append('\n');
                        string f = r + "  ";
                        Key(sb, f, "expr", alert.Expr, block: true);
                        // A duration ("15m") is a plain string to YAML.
                        sb.Append(f).Append("for: ").Append(ThrottleWatch.Contracts.PromDuration.Format(alert.For)).Append('\n');
                        sb.Append(f).Append("labels:\n");
                        Key(sb, f + "  ", "severity", alert.Severity);
                        sb.Append(f).Append("annotations:\n");
                        Key(sb, f + "  ", "summary", alert.Summary);
                        Key(sb, f + "  ", "description", alert.Description);
                        Key(sb, f + "  ", "runbook_url", alert.RunbookUrl);
                        break;
                    default:
                        throw new InvalidOperationException($"unknown rule type {rule.GetType().Name}");
                }
            }
        }
    }

    private static void Key(StringBuilder sb, string indent, string key, string value, bool block = false)
    {
        sb.Append(indent).Append(key).Append(':');
        if (block || value.Contains('\n', StringComparison.Ordinal))
        {
            // A literal block keeps the expression as written; its first line sets the indentation.
            if (value.StartsWith(' ') || value.EndsWith('\n') || value.Split('\n').Any(l => l.EndsWith(' ') || l.Length == 0))
            {
                throw new ArgumentException($"{key}: a multi-line value must not start with a space, end with a newline or hold empty or space-ended lines:\n{value}");
            }
            sb.Append(" |-\n");
            foreach (var line in value.Split('\n'))
            {
                sb.Append(indent).Append("  ").Append(line).Append('\n');
            }
            return;
        }
        sb.Append(' ').Append(Scalar(value)).Append('\n');
    }

    /// <summary>A one-line string: plain when that is unambiguous, single-quoted when it holds double quotes, else double-quoted.</summary>
    public static string Scalar(string value)
    {
        if (IsPlainSafe(value))
        {
            return value;
        }
        if (value.Contains('"', StringComparison.Ordinal) && !value.Any(char.IsControl))
        {
            // Go templates quote their arguments: single quotes keep them readable ('' is a quote).
            return "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
        }
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (char ch in value)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(ch))
                    {
                        sb.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(ch);
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>
    /// Plain scalars are kept to a conservative set: letters, digits, spaces and <c>_ . / : - + = % ( ) , # '</c> inside,
    /// starting with a letter, no <c>": "</c> or <c>" #"</c>, and nothing YAML 1.1 would read as a bool or null.
    /// </summary>
    private static bool IsPlainSafe(string value)
    {
        if (value.Length == 0 || !char.IsAsciiLetter(value[0]) || value.EndsWith(':'))
        {
            return false;
        }
        if (value.Contains(": ", StringComparison.Ordinal) || value.Contains(" #", StringComparison.Ordinal))
        {
            return false;
        }
        foreach (char ch in value)
        {
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '_' or '.' or '/' or ':' or '-' or '+' or '=' or '%' or '(' or ')' or ',' or '#' or '\'' or ' '))
            {
                return false;
            }
        }
        return value.ToLowerInvariant() is not ("y" or "n" or "yes" or "no" or "true" or "false" or "on" or "off" or "null");
    }
}
