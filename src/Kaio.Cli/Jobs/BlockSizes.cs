// Design: fio's block-size options (HOWTO "Block size"): bs, bsrange, bssplit and blockalign, each
// given once for all directions or comma-separated for reads, writes and trims ("bs=8k,32k": 8k
// reads, 32k writes and trims; a value not followed by a comma applies to the directions after it;
// an empty one is the default). A choice is a fixed size, a range (sizes are multiples of its
// minimum, as fio's get_next_buflen() makes them) or a split of sizes with percentages (blank
// percentages share what is left evenly; more than 100 in all is an error).
using System.Globalization;

namespace Kaio.Cli.Jobs;

/// <summary>The data directions fio's per-direction options name, in fio's order.</summary>
internal enum Direction
{
    /// <summary>Reads.</summary>
    Read,
    /// <summary>Writes.</summary>
    Write,
    /// <summary>Trims.</summary>
    Trim,
}

/// <summary>One size of a bssplit and its share of the requests, in percent.</summary>
internal readonly record struct BlockSplit(int Size, int Percent);

/// <summary>How one direction chooses the size of each request.</summary>
internal sealed record BlockSizeChoice(int Min, int Max, IReadOnlyList<BlockSplit>? Split)
{
    public const int Default = 4096;

    public static BlockSizeChoice Fixed(int size) => new(size, size, null);

    public bool IsFixed => Min == Max;

    /// <summary>
    /// The size of a request from one uniform 64-bit draw: a split's size by its percentage, a
    /// range's a multiple of its minimum between the two bounds.
    /// </summary>
    public int Next(ulong random)
    {
        if (IsFixed)
        {
            return Min;
        }

        if (Split is { } split)
        {
            int point = (int)(((UInt128)random * 100) >> 64); // 0..99
            int cumulative = 0;
            foreach (BlockSplit entry in split)
            {
                cumulative += entry.Percent;
                if (point < cumulative)
                {
                    return entry.Size;
                }
            }

            return split[^1].Size;
        }

        // fio: min + max * u, rounded down to a multiple of min, at most max.
        long size = Min + (long)(((UInt128)random * (ulong)Max) >> 64);
        size -= size % Min;
        return (int)Math.Min(size, Max);
    }

    public string Describe() => Split is { } split
        ? string.Join(':', split.Select(s => FioValues.FormatSize(s.Size) + "/" + s.Percent.ToString(CultureInfo.InvariantCulture)))
        : IsFixed ? FioValues.FormatSize(Min) : FioValues.FormatSize(Min) + "-" + FioValues.FormatSize(Max);
}

/// <summary>Reads the block-size options.</summary>
internal static class BlockSizes
{
    /// <summary>
    /// Applies fio's comma rule: values for reads, writes and trims; an empty value is
    /// <paramref name="fallback"/>; without a trailing comma the last value covers the rest.
    /// </summary>
    public static T[] PerDirection<T>(string name, string text, T fallback, Func<string, T> parse)
    {
        string[] parts = text.Split(',');
        if (parts.Length > 3)
        {
            throw new JobOptionException($"{name}={text}: at most three comma-separated values (reads, writes, trims)");
        }

        var values = new T[3];
        for (int i = 0; i < 3; i++)
        {
            if (i < parts.Length)
            {
                values[i] = parts[i].Trim().Length == 0 ? fallback : parse(parts[i].Trim());
            }
            else
            {
                values[i] = values[parts.Length - 1];
            }
        }

        return values;
    }

    public static BlockSizeChoice[] ParseBs(string text, int kbBase)
        => PerDirection("bs", text, BlockSizeChoice.Fixed(BlockSizeChoice.Default), part => BlockSizeChoice.Fixed(Size("bs", text, part, kbBase)));

    public static BlockSizeChoice[] ParseRange(string text, int kbBase)
        => PerDirection("bsrange", text, BlockSizeChoice.Fixed(BlockSizeChoice.Default), part =>
        {
            int dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0)
            {
                int single = Size("bsrange", text, part, kbBase);
                return BlockSizeChoice.Fixed(single);
            }

            int a = Size("bsrange", text, part[..dash], kbBase);
            int b = Size("bsrange", text, part[(dash + 1)..], kbBase);
            return new BlockSizeChoice(Math.Min(a, b), Math.Max(a, b), null);
        });

    public static BlockSizeChoice[] ParseSplit(string text, int kbBase)
        => PerDirection("bssplit", text, BlockSizeChoice.Fixed(BlockSizeChoice.Default), part =>
        {
            var sizes = new List<(int Size, int? Percent)>();
            foreach (string item in part.Split(':', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                int slash = item.IndexOf('/', StringComparison.Ordinal);
                string sizeText = slash < 0 ? item : item[..slash];
                string percentText = slash < 0 ? "" : item[(slash + 1)..].Trim();
                int? percent = null;
                if (percentText.Length > 0)
                {
                    if (!int.TryParse(percentText, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p > 100)
                    {
                        throw new JobOptionException($"bssplit={text}: '{percentText}' in '{item}' is not a percentage (0-100)");
                    }

                    percent = p;
                }

                sizes.Add((Size("bssplit", text, sizeText, kbBase), percent));
            }

            if (sizes.Count == 0)
            {
                throw new JobOptionException($"bssplit={text}: no block sizes");
            }

            if (sizes.Count > 64)
            {
                throw new JobOptionException($"bssplit={text}: at most 64 block sizes per direction");
            }

            int given = sizes.Sum(s => s.Percent ?? 0);
            if (given > 100)
            {
                throw new JobOptionException($"bssplit={text}: the percentages add up to {given.ToString(CultureInfo.InvariantCulture)}, more than 100");
            }

            // Blank percentages share the rest evenly; what rounding leaves goes to the first of them.
            int blanks = sizes.Count(s => s.Percent is null);
            int share = blanks > 0 ? (100 - given) / blanks : 0;
            int extra = blanks > 0 ? (100 - given) - (share * blanks) : 0;
            var split = new List<BlockSplit>();
            foreach (var (size, percent) in sizes)
            {
                int p = percent ?? share + extra;
                if (percent is null)
                {
                    extra = 0;
                }

                split.Add(new BlockSplit(size, p));
            }

            if (split.Sum(s => s.Percent) == 0)
            {
                throw new JobOptionException($"bssplit={text}: every percentage is 0");
            }

            int min = split.Where(s => s.Percent > 0).Min(s => s.Size);
            int max = split.Where(s => s.Percent > 0).Max(s => s.Size);
            return split.Count == 1 || min == max ? BlockSizeChoice.Fixed(min) : new BlockSizeChoice(min, max, split);
        });

    /// <summary>blockalign: per direction; 0 (an empty value) means the direction's smallest block size.</summary>
    public static int[] ParseAlign(string text, int kbBase)
        => PerDirection("blockalign", text, 0, part => Size("blockalign", text, part, kbBase));

    private static int Size(string name, string whole, string part, int kbBase)
    {
        if (!FioValues.TryParseSize(part, kbBase, out long size, out string? error))
        {
            throw new JobOptionException($"{name}={whole}: {error}");
        }

        return size is < 1 or > int.MaxValue
            ? throw new JobOptionException($"{name}={whole}: '{part}' is out of range")
            : (int)size;
    }
}
