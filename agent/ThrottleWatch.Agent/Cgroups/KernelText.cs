using System.Buffers.Text;

namespace ThrottleWatch.Agent.Cgroups;

/// <summary>
/// Span helpers shared by the cgroup file parsers: kernel files are ASCII, one value or one
/// "key value" pair per line, each line ending in '\n'. Nothing here allocates.
/// </summary>
internal static class KernelText
{
    /// <summary>
    /// Reads the next line of <paramref name="text"/> (without its '\n') and advances past it.
    /// A missing trailing newline is tolerated for the last line.
    /// </summary>
    public static bool TryReadLine(ref ReadOnlySpan<byte> text, out ReadOnlySpan<byte> line)
    {
        if (text.IsEmpty)
        {
            line = default;
            return false;
        }
        int nl = text.IndexOf((byte)'\n');
        if (nl < 0)
        {
            line = text;
            text = default;
        }
        else
        {
            line = text[..nl];
            text = text[(nl + 1)..];
        }
        return true;
    }

    /// <summary>Splits "key value" at the first space.</summary>
    public static bool TrySplitKeyValue(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        int sp = line.IndexOf((byte)' ');
        if (sp <= 0)
        {
            key = value = default;
            return false;
        }
        key = line[..sp];
        value = line[(sp + 1)..];
        return true;
    }

    /// <summary>
    /// Parses the whole span as an unsigned decimal. Rejects signs, blanks, trailing text and
    /// values past <see cref="ulong.MaxValue"/>.
    /// </summary>
    public static bool TryParseUInt64(ReadOnlySpan<byte> digits, out ulong value)
    {
        if (digits.IsEmpty || (uint)(digits[0] - '0') > 9)
        {
            value = 0;
            return false;
        }
        return Utf8Parser.TryParse(digits, out value, out int consumed) && consumed == digits.Length;
    }

    /// <summary>Parses the whole span as a signed decimal (the v1 quota file holds -1).</summary>
    public static bool TryParseInt64(ReadOnlySpan<byte> digits, out long value)
    {
        if (digits.IsEmpty)
        {
            value = 0;
            return false;
        }
        return Utf8Parser.TryParse(digits, out value, out int consumed) && consumed == digits.Length;
    }

    /// <summary>A file that holds a single number and a newline: "1024\n".</summary>
    public static ReadOnlySpan<byte> TrimSingleLine(ReadOnlySpan<byte> text)
    {
        if (!text.IsEmpty && text[^1] == (byte)'\n')
        {
            text = text[..^1];
        }
        return text;
    }

    /// <summary>Multiplies by 1000 (µs to ns), saturating instead of wrapping.</summary>
    public static ulong MicrosToNanos(ulong micros) => micros > ulong.MaxValue / 1000 ? ulong.MaxValue : micros * 1000;
}
