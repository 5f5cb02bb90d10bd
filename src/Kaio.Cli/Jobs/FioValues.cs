// Design: reading option values the way fio's parse.c does (str_to_decimal, get_mult_bytes,
// get_mult_time, check_int), so a value copied from a fio job file means the same here.
// Where fio silently accepts nonsense (a time suffix it does not know multiplies by one, so
// "10sec" is ten microseconds; a size suffix is matched by prefix, so "4kfoo" is 4096) we refuse
// it with an error naming the value: a benchmark must not quietly run the wrong workload.
using System.Globalization;

namespace Kaio.Cli.Jobs;

/// <summary>Parses fio's integer, size, time and boolean values.</summary>
internal static class FioValues
{
    /// <summary>
    /// A size with fio's suffixes, case-insensitive: none or <c>b</c> (bytes), <c>k kb m mb g gb t tb p pb</c>
    /// and <c>kib mib gib tib pib</c>. fio's <c>kb_base</c> decides their meaning (parse.c:
    /// __get_mult_bytes()): with the default 1024 ("compatibility mode") the SI-looking suffixes are
    /// powers of 1024 and the IEC ones (<c>KiB</c>) powers of 1000 — fio's "opposite units"; with 1000
    /// both are read as their names say. Hex (<c>0x1000</c>) is accepted as fio accepts it.
    /// </summary>
    public static bool TryParseSize(string text, int kbBase, out long value, out string? error)
    {
        value = 0;
        error = null;
        string s = text.Trim();
        if (s.Length == 0)
        {
            error = "empty size";
            return false;
        }

        int digitsEnd;
        ulong number;
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            digitsEnd = 2;
            while (digitsEnd < s.Length && Uri.IsHexDigit(s[digitsEnd]))
            {
                digitsEnd++;
            }

            if (digitsEnd == 2 || !ulong.TryParse(s.AsSpan(2, digitsEnd - 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out number))
            {
                error = $"'{text}' is not a size";
                return false;
            }
        }
        else
        {
            digitsEnd = 0;
            while (digitsEnd < s.Length && char.IsAsciiDigit(s[digitsEnd]))
            {
                digitsEnd++;
            }

            if (digitsEnd == 0 || !ulong.TryParse(s.AsSpan(0, digitsEnd), NumberStyles.None, CultureInfo.InvariantCulture, out number))
            {
                error = NotASize(text);
                return false;
            }
        }

        string suffix = s[digitsEnd..].Trim().ToLowerInvariant();
        if (!TryGetSizeMultiplier(suffix, kbBase, out ulong multiplier))
        {
            error = NotASize(text);
            return false;
        }

        try
        {
            value = checked((long)(number * multiplier));
        }
        catch (OverflowException)
        {
            error = $"'{text}' is too large";
            return false;
        }

        return true;
    }

    /// <summary>
    /// Not a size at all, rather than a near miss: fio's percentages (<c>size=30%</c>) are not
    /// supported, and anything else is not a number with a suffix.
    /// </summary>
    private static string NotASize(string text) => text.TrimEnd().EndsWith('%')
        ? $"'{text}' is not a valid size (percentages of a file are not supported; give a number with an optional k/m/g/t/p suffix, like 4k or 64MiB)"
        : $"'{text}' is not a valid size (a number with an optional k/m/g/t/p suffix, like 4k or 64MiB)";

    private static bool TryGetSizeMultiplier(string suffix, int kbBase, out ulong multiplier)
    {
        multiplier = 1;
        if (suffix.Length == 0 || suffix == "b")
        {
            return true;
        }

        int power = suffix[0] switch
        {
            'k' => 1,
            'm' => 2,
            'g' => 3,
            't' => 4,
            'p' => 5,
            _ => 0,
        };
        if (power == 0)
        {
            return false;
        }

        ulong unit;
        string rest = suffix[1..];
        if (rest.Length == 0 || rest == "b")
        {
            unit = (ulong)kbBase;
        }
        else if (rest == "ib")
        {
            // parse.c: "If kb_base is 1024, use opposite units."
            unit = kbBase == 1000 ? 1024UL : 1000UL;
        }
        else
        {
            return false;
        }

        for (int i = 0; i < power; i++)
        {
            multiplier *= unit;
        }

        return true;
    }

    /// <summary>
    /// A time with fio's suffixes, case-insensitive: <c>us</c>/<c>usec</c>, <c>ms</c>/<c>msec</c>, <c>s</c>,
    /// <c>m</c> (minutes), <c>h</c>, <c>d</c>; a bare number is seconds, as for fio's <c>runtime</c>
    /// (parse.c: get_mult_time() with is_seconds).
    /// </summary>
    public static bool TryParseTime(string text, out TimeSpan value, out string? error)
    {
        value = default;
        error = null;
        string s = text.Trim();
        int digitsEnd = 0;
        while (digitsEnd < s.Length && char.IsAsciiDigit(s[digitsEnd]))
        {
            digitsEnd++;
        }

        if (digitsEnd == 0 || !long.TryParse(s.AsSpan(0, digitsEnd), NumberStyles.None, CultureInfo.InvariantCulture, out long number))
        {
            error = $"'{text}' is not a time (expected a number with an optional us/ms/s/m/h/d suffix, like 3s or 500ms)";
            return false;
        }

        long microsecondsPerUnit = s[digitsEnd..].Trim().ToLowerInvariant() switch
        {
            "" or "s" => 1_000_000,
            "us" or "usec" => 1,
            "ms" or "msec" => 1_000,
            "m" => 60_000_000,
            "h" => 3_600_000_000,
            "d" => 86_400_000_000,
            _ => -1,
        };
        if (microsecondsPerUnit < 0)
        {
            error = $"'{text}' has an unknown time suffix '{s[digitsEnd..].Trim()}' (use us, ms, s, m, h or d)";
            return false;
        }

        try
        {
            value = TimeSpan.FromMicroseconds(checked(number * microsecondsPerUnit));
        }
        catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException)
        {
            error = $"'{text}' is too long";
            return false;
        }

        return true;
    }

    /// <summary>An integer as fio's check_int() reads it: decimal or <c>0x</c> hex.</summary>
    public static bool TryParseInt(string text, out long value)
    {
        string s = text.Trim();
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return long.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && value >= 0;
        }

        return long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// A boolean: fio's bool options take 0 or 1 (and a bare name means 1); <c>true</c>/<c>false</c>,
    /// <c>yes</c>/<c>no</c> and <c>on</c>/<c>off</c> are accepted as well.
    /// </summary>
    public static bool TryParseBool(string? text, out bool value)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case null or "" or "1" or "true" or "yes" or "on":
                value = true;
                return true;
            case "0" or "false" or "no" or "off":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    /// <summary>Formats a byte count the way fio prints sizes: the largest binary unit that divides it.</summary>
    public static string FormatSize(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        int unit = 0;
        long value = bytes;
        while (unit < units.Length - 1 && value != 0 && value % 1024 == 0)
        {
            value /= 1024;
            unit++;
        }

        return value.ToString(CultureInfo.InvariantCulture) + units[unit];
    }

    /// <summary>Formats a duration with the largest fio time unit that divides it (3s, 500ms, 250us).</summary>
    public static string FormatTime(TimeSpan time)
    {
        long us = (long)Math.Round(time.TotalMicroseconds);
        if (us % 1_000_000 == 0)
        {
            return (us / 1_000_000).ToString(CultureInfo.InvariantCulture) + "s";
        }

        if (us % 1_000 == 0)
        {
            return (us / 1_000).ToString(CultureInfo.InvariantCulture) + "ms";
        }

        return us.ToString(CultureInfo.InvariantCulture) + "us";
    }

    /// <summary>
    /// A byte pattern as fio's verify_pattern and buffer_pattern read one: hex (<c>0xaa555aa5</c>:
    /// the bytes in the order written), a decimal number (its bytes, as its hex), a string in double
    /// quotes, and pieces of these joined with <c>|</c>. fio's <c>%o</c> (the offset) and
    /// <c>'file'</c> contents are not supported.
    /// </summary>
    public static bool TryParsePattern(string text, out byte[] pattern, out string? error)
    {
        var bytes = new List<byte>();
        pattern = [];
        error = null;
        foreach (string raw in text.Split('|'))
        {
            string piece = raw.Trim();
            if (piece.Length >= 2 && piece[0] == '"' && piece[^1] == '"')
            {
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(piece[1..^1]));
                continue;
            }

            string hex;
            if (piece.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                hex = piece[2..];
            }
            else if (ulong.TryParse(piece, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number))
            {
                hex = number.ToString("x", CultureInfo.InvariantCulture);
            }
            else
            {
                error = piece.Contains('%', StringComparison.Ordinal) || piece.StartsWith('\'')
                    ? $"'{piece}': fio's %o offsets and 'file' patterns are not supported"
                    : $"'{piece}' is not a pattern (0x hex, a decimal number or a \"string\")";
                return false;
            }

            if (hex.Length == 0 || !hex.All(Uri.IsHexDigit))
            {
                error = $"'{piece}' is not a hex pattern";
                return false;
            }

            if (hex.Length % 2 == 1)
            {
                hex = "0" + hex;
            }

            bytes.AddRange(Convert.FromHexString(hex));
        }

        if (bytes.Count == 0 || bytes.Count > 512)
        {
            error = "a pattern needs 1 to 512 bytes";
            return false;
        }

        pattern = [.. bytes];
        return true;
    }
}
