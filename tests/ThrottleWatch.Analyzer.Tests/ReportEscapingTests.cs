using System.Text;
using System.Text.RegularExpressions;
using ThrottleWatch.Analyzer.Reports;

namespace ThrottleWatch.Analyzer.Tests;

/// <summary>Label values from the cluster stay text in every format: HTML, Markdown, CSV.</summary>
public partial class ReportEscapingTests
{
    [GeneratedRegex(@"\b(?:src|href|xlink:href|action|formaction|poster|data|srcset|background)\s*=\s*[""']?\s*(?:[a-z][a-z0-9+.-]*:|//)", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalAttribute();

    [GeneratedRegex(@"https?://", RegexOptions.IgnoreCase)]
    private static partial Regex AnyUrl();

    [Fact]
    public void Html_never_contains_a_hostile_value_raw()
    {
        var html = HtmlReport.Report(ReportSample.Build());
        Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("</b>", html, StringComparison.Ordinal);
        Assert.Contains("shop|&lt;b&gt;x&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("*bold* _it_ [link](http://evil)", html, StringComparison.Ordinal);
        Assert.Contains("&#39;shop|&lt;b&gt;x&lt;/b&gt;&#39;", html, StringComparison.Ordinal); // in the kubectl command
    }

    [Fact]
    public void Html_is_self_contained()
    {
        var html = HtmlReport.Report(ReportSample.Build());
        Assert.Empty(ExternalAttribute().Matches(html));
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<iframe", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        // The only URL is the hostile workload name, as text.
        foreach (Match m in AnyUrl().Matches(html))
        {
            Assert.Equal("[link](http://evil)", html.Substring(m.Index - "[link](".Length, "[link](http://evil)".Length));
        }
        Assert.Contains("<meta charset=\"utf-8\">", html, StringComparison.Ordinal);
        Assert.Matches("<title>ThrottleWatch CPU report, [^<]+</title>", html);
    }

    [Fact]
    public void Html_encodes_text_and_attribute_values()
    {
        Assert.Equal("a&amp;b &lt;i&gt; &quot;q&quot; &#39;s&#39;", Html.Encode("a&b <i> \"q\" 's'"));
        Assert.Equal("plain-name.1", Html.Encode("plain-name.1"));
        Assert.Equal("", Html.Encode(null));
    }

    [Fact]
    public void An_unknown_action_gets_a_neutral_badge_not_a_class_from_the_data()
    {
        var result = ReportSample.Build();
        var odd = result.Report.Recommendations[0] with { Action = "x\" onclick=\"alert(1)" };
        var html = HtmlReport.Report(result with { Report = result.Report with { Recommendations = [odd] } });
        Assert.Contains("class=\"badge a-other\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("onclick=\"", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("shop|<b>x</b>", @"shop\|&lt;b&gt;x&lt;/b&gt;")]
    [InlineData("*bold* _it_ [link](http://evil)", @"\*bold\* \_it\_ \[link\](http\://evil)")]
    [InlineData("a`b`c", @"a\`b\`c")]
    [InlineData("line\nbreak\r\nhere", "line break here")]
    [InlineData("- item", @"\- item")]
    [InlineData("1. first", @"1\. first")]
    [InlineData("--- rule", @"\--- rule")]
    [InlineData("1.45× and -6", "1.45× and -6")]
    [InlineData("# head ~strike~ $x$ !", @"\# head \~strike\~ \$x\$ \!")]
    [InlineData("see www.evil.example", @"see www\.evil.example")]
    [InlineData("back\\slash & co", @"back\\slash &amp; co")]
    [InlineData("kube-system.node-1", "kube-system.node-1")]
    public void Markdown_escapes_what_could_render_as_markup(string raw, string escaped)
        => Assert.Equal(escaped, MarkdownText.Escape(raw));

    [Fact]
    public void Markdown_code_fence_is_longer_than_any_backtick_run_inside()
    {
        Assert.Equal("```sh\nls\n```\n", MarkdownText.CodeBlock("ls", "sh"));
        Assert.Equal("`````yaml\na: ````\n`````\n", MarkdownText.CodeBlock("a: ````\n", "yaml"));
    }

    [Fact]
    public void Markdown_tables_keep_their_column_count()
    {
        var result = ReportSample.Build();
        foreach (var md in new[] { MarkdownReport.Report(result), MarkdownReport.Recommendations(result.Recommendations) })
        {
            var tables = 0;
            int? columns = null;
            foreach (var line in OutsideCodeBlocks(md))
            {
                if (!line.StartsWith('|'))
                {
                    columns = null;
                    continue;
                }
                int cells = CountCells(line);
                if (columns is null)
                {
                    tables++;
                    columns = cells;
                }
                Assert.True(columns == cells, $"{cells} cells, not {columns}: {line}");
            }
            Assert.True(tables >= 1);
        }
    }

    [Fact]
    public void Markdown_has_no_raw_hostile_value_outside_code_blocks()
    {
        var result = ReportSample.Build();
        foreach (var md in new[] { MarkdownReport.Report(result), MarkdownReport.Recommendations(result.Recommendations), MarkdownReport.Summary(result.Report) })
        {
            var text = string.Join("\n", OutsideCodeBlocks(md));
            Assert.DoesNotContain("<b>", text, StringComparison.Ordinal);
            Assert.DoesNotContain("[link]", text, StringComparison.Ordinal);
            Assert.DoesNotContain("*bold*", text, StringComparison.Ordinal);
            Assert.DoesNotContain("http://", text, StringComparison.Ordinal);
            Assert.Contains(@"\*bold\* \_it\_ \[link\](http\://evil)", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Markdown_code_blocks_hold_the_command_and_yaml_verbatim()
    {
        var md = MarkdownReport.Report(ReportSample.Build());
        Assert.Contains("```sh\nkubectl -n 'shop|<b>x</b>' set resources deployment/checkout -c app --limits=cpu=2,memory=512Mi\n```", md, StringComparison.Ordinal);
        Assert.Contains("````yaml\nresources:\n  requests:\n    cpu: \"2\"\n  # limits.cpu removed (``` stays inside the block)\n````", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Csv_round_trips_through_an_rfc4180_parser()
    {
        var doc = ReportSample.Build().Recommendations;
        var csv = CsvReport.Recommendations(doc);
        var rows = ParseCsv(csv);
        Assert.Equal(CsvReport.Columns, rows[0]);
        Assert.Equal(doc.Recommendations.Count + 1, rows.Count);
        Assert.All(rows, r => Assert.Equal(CsvReport.Columns.Count, r.Count));
        for (int i = 0; i < doc.Recommendations.Count; i++)
        {
            var r = doc.Recommendations[i];
            var row = rows[i + 1];
            Assert.Equal(r.Namespace, row[0]);
            Assert.Equal(r.Workload, row[2]);
            Assert.Equal(r.Container.StartsWith('=') ? "'" + r.Container : r.Container, row[3]);
            Assert.Equal(r.Action, row[4]);
            Assert.Equal(r.Reason, row[14]);
            Assert.Equal(r.Change?.Command ?? "", row[15]);
        }
        Assert.Equal("'=cmd()", rows[3][3]);
        Assert.Equal("-6", rows[5][10]);
        Assert.Equal("", rows[2][9]); // remove-limit: no recommended limit
    }

    [Theory]
    [InlineData("=cmd()", "'=cmd()")]
    [InlineData("+1+1", "'+1+1")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\t=x", "'\t=x")]
    [InlineData("ok=1", "ok=1")]
    [InlineData("", "")]
    public void Csv_text_that_a_spreadsheet_would_run_starts_with_an_apostrophe(string raw, string cell)
        => Assert.Equal(cell, CsvReport.Text(raw));

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    public void Csv_quotes_fields_as_rfc4180_says(string raw, string field)
        => Assert.Equal(field, CsvReport.Quote(raw));

    /// <summary>The lines of a Markdown text that are not inside a fenced code block.</summary>
    internal static IEnumerable<string> OutsideCodeBlocks(string md)
    {
        string? fence = null;
        foreach (var line in md.Split('\n'))
        {
            var run = line.TakeWhile(c => c == '`').Count();
            if (fence is null && run >= 3)
            {
                fence = new string('`', run);
                continue;
            }
            if (fence is not null)
            {
                if (run >= fence.Length && line.Trim('`').Length == 0)
                {
                    fence = null;
                }
                continue;
            }
            yield return line;
        }
    }

    /// <summary>Cells of a GFM table row: pipes not escaped by a backslash separate them.</summary>
    private static int CountCells(string line)
    {
        int pipes = 0;
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] == '\\')
            {
                i++;
            }
            else if (line[i] == '|')
            {
                pipes++;
            }
        }
        return pipes - 1;
    }

    /// <summary>A small RFC 4180 reader: CRLF records, quoted fields with doubled quotes and line breaks.</summary>
    internal static List<List<string>> ParseCsv(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                Assert.True(field.Length == 0, $"a quote inside an unquoted field at {i}");
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add(row);
                row = [];
                i++;
            }
            else
            {
                Assert.False(c is '\r' or '\n', $"a bare line break outside quotes at {i}");
                field.Append(c);
            }
        }
        Assert.False(quoted, "unterminated quoted field");
        Assert.True(row.Count == 0 && field.Length == 0, "the last record lacks its CRLF");
        return rows;
    }
}
