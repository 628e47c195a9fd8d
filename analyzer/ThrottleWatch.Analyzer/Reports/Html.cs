using System.Text;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>HTML escaping for text and quoted attribute values alike.</summary>
internal static class Html
{
    /// <summary>
    /// <c>&amp; &lt; &gt; " '</c> as entities, everything else as it is (UTF-8 page), so a value is
    /// inert both between tags and inside a quoted attribute.
    /// </summary>
    public static string Encode(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        if (text.AsSpan().IndexOfAny("&<>\"'") < 0)
        {
            return text;
        }
        var sb = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }
}
