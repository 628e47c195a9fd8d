using System.Text;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>
/// Escaping for Markdown (CommonMark + GitHub's tables, strikethrough, autolinks and math). Every
/// value that comes from the cluster (namespaces, workloads, containers, nodes, reasons) goes
/// through <see cref="Escape"/>; our own words and numbers do not need to.
/// </summary>
internal static class MarkdownText
{
    /// <summary>
    /// Inline text that renders as itself: ASCII punctuation with a meaning is backslash-escaped
    /// (<c>\ ` * _ [ ] ~ | # $ !</c>), HTML's <c>&lt; &gt; &amp;</c> become entities, line breaks
    /// become spaces (a value never starts a new block), a leading <c>- </c>, <c>+ </c>, <c>---</c> or
    /// <c>1. </c> cannot open a list or a rule (where a value begins a list item), and <c>://</c> / <c>www.</c> are broken so no autolink forms.
    /// Kubernetes names (<c>[a-z0-9.-]</c>) come out unchanged.
    /// </summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        var sb = new StringBuilder(text.Length + 8);
        int leadingDigits = 0;
        while (leadingDigits < text.Length && char.IsAsciiDigit(text[leadingDigits]))
        {
            leadingDigits++;
        }
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '\r' when i + 1 < text.Length && text[i + 1] == '\n':
                    break;
                case '\r' or '\n':
                    sb.Append(' ');
                    break;
                case '&':
                    sb.Append("&amp;");
                    break;
                case '<':
                    sb.Append("&lt;");
                    break;
                case '>':
                    sb.Append("&gt;");
                    break;
                case '\\' or '`' or '*' or '_' or '[' or ']' or '~' or '|' or '#' or '$' or '!':
                    sb.Append('\\').Append(c);
                    break;
                case '-' or '+' when i == 0 && EndsMarker(text, 1, c == '-'):
                    sb.Append('\\').Append(c);
                    break;
                case '.' or ')' when i > 0 && i == leadingDigits && leadingDigits <= 9 && EndsMarker(text, i + 1, false):
                    sb.Append('\\').Append(c);
                    break;
                case ':' when string.CompareOrdinal(text, i + 1, "//", 0, 2) == 0:
                    sb.Append("\\:");
                    break;
                case '.' when i >= 3 && string.Compare(text, i - 3, "www", 0, 3, StringComparison.OrdinalIgnoreCase) == 0:
                    sb.Append("\\.");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// Whether a would-be list marker ending before <paramref name="at"/> really is one: followed by
    /// a space, a tab or nothing (or, for <c>-</c>, by more dashes: a thematic break).
    /// </summary>
    private static bool EndsMarker(string text, int at, bool dashes)
        => at >= text.Length || text[at] is ' ' or '\t' || (dashes && text[at] == '-');

    /// <summary>A table row from escaped-or-own cells: <c>| a | b |</c>.</summary>
    public static string Row(params IEnumerable<string> cells) => "| " + string.Join(" | ", cells) + " |";

    /// <summary>
    /// A fenced code block whose fence is longer than any run of backticks in the content, so the
    /// content can never close it.
    /// </summary>
    public static string CodeBlock(string content, string info)
    {
        int longest = 0, run = 0;
        foreach (char c in content)
        {
            run = c == '`' ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }
        var fence = new string('`', Math.Max(3, longest + 1));
        var body = content.ReplaceLineEndings("\n");
        if (!body.EndsWith('\n'))
        {
            body += "\n";
        }
        return $"{fence}{info}\n{body}{fence}\n";
    }
}
