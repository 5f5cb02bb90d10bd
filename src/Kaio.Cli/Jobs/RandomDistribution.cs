// Design: fio's random_distribution (HOWTO "I/O type"): where random requests land. `random` is
// uniform; `zipf:θ` and `pareto:h` make a few blocks hot, scattered over the file as fio scatters
// them; `normal:dev` is a bell around the middle of the file, σ = dev percent of it; `zoned` gives
// each zone (a percent of the file, in order from its start) a percent of the requests, and
// `zoned_abs` the same with zone sizes in bytes. One distribution applies to every direction
// (fio also takes one per direction, comma-separated; kaio refuses that form).
using System.Globalization;

namespace Kaio.Cli.Jobs;

/// <summary>The kinds of fio's random_distribution.</summary>
internal enum DistributionKind
{
    /// <summary>Uniform.</summary>
    Random,
    /// <summary>Zipf with exponent θ.</summary>
    Zipf,
    /// <summary>Pareto with power h.</summary>
    Pareto,
    /// <summary>Normal around the middle, σ = dev percent of the blocks.</summary>
    Normal,
    /// <summary>Zones in percent of the file.</summary>
    Zoned,
    /// <summary>Zones in bytes.</summary>
    ZonedAbsolute,
}

/// <summary>A zone of a zoned distribution: its share of the requests and its size (percent of the file, or bytes).</summary>
internal readonly record struct AccessZone(int AccessPercent, double Size);

/// <summary>A parsed random_distribution.</summary>
internal sealed record RandomDistribution(DistributionKind Kind, double Parameter, IReadOnlyList<AccessZone> Zones)
{
    public static RandomDistribution Uniform { get; } = new(DistributionKind.Random, 0, []);

    public static RandomDistribution Parse(string text, int kbBase)
    {
        string value = text.Trim();
        if (value.Contains(',', StringComparison.Ordinal))
        {
            throw new JobOptionException($"random_distribution={text}: one distribution per direction (',') is not supported; give one for all directions");
        }

        int colon = value.IndexOf(':', StringComparison.Ordinal);
        string kind = (colon < 0 ? value : value[..colon]).ToLowerInvariant();
        string argument = colon < 0 ? "" : value[(colon + 1)..];
        switch (kind)
        {
            case "random":
                return colon < 0 ? Uniform : throw new JobOptionException($"random_distribution={text}: 'random' takes no value");
            case "zipf":
                double theta = Number(text, argument, "zipf needs θ, like zipf:1.2");
                return theta is > 0 and not 1.0
                    ? new(DistributionKind.Zipf, theta, [])
                    : throw new JobOptionException($"random_distribution={text}: θ must be above 0 and not 1");
            case "pareto":
                double h = Number(text, argument, "pareto needs h, like pareto:0.2");
                return h is > 0 and < 1
                    ? new(DistributionKind.Pareto, h, [])
                    : throw new JobOptionException($"random_distribution={text}: h must be between 0 and 1");
            case "normal" or "gauss":
                double dev = argument.Length == 0 ? 0 : Number(text, argument, "normal takes a deviation in percent, like normal:10");
                return dev is >= 0 and <= 100
                    ? new(DistributionKind.Normal, dev, [])
                    : throw new JobOptionException($"random_distribution={text}: the deviation must be between 0 and 100 percent");
            case "zoned" or "zoned_abs":
                return new(kind == "zoned" ? DistributionKind.Zoned : DistributionKind.ZonedAbsolute, 0, ParseZones(text, argument, kind == "zoned_abs", kbBase));
            default:
                throw new JobOptionException($"random_distribution={text}: unsupported (use random, zipf:θ, pareto:h, normal:dev, zoned:A/S:... or zoned_abs:A/SIZE:...)");
        }
    }

    private static double Number(string text, string argument, string hint)
        => double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value)
            ? value
            : throw new JobOptionException($"random_distribution={text}: {hint}");

    private static List<AccessZone> ParseZones(string text, string argument, bool absolute, int kbBase)
    {
        var zones = new List<AccessZone>();
        foreach (string item in argument.Split(':', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int slash = item.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || !int.TryParse(item[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out int access) || access > 100)
            {
                throw new JobOptionException($"random_distribution={text}: '{item}' is not ACCESS%/SIZE");
            }

            string sizeText = item[(slash + 1)..].Trim();
            double size;
            if (sizeText.Length == 0)
            {
                size = double.NaN; // the rest of the file
            }
            else if (absolute)
            {
                size = FioValues.TryParseSize(sizeText, kbBase, out long bytes, out string? error) && bytes > 0
                    ? bytes
                    : throw new JobOptionException($"random_distribution={text}: '{sizeText}' is not a size");
            }
            else
            {
                size = int.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out int percent) && percent <= 100
                    ? percent
                    : throw new JobOptionException($"random_distribution={text}: '{sizeText}' is not a percentage of the file");
            }

            zones.Add(new AccessZone(access, size));
        }

        if (zones.Count == 0)
        {
            throw new JobOptionException($"random_distribution={text}: no zones");
        }

        int accessTotal = zones.Sum(z => z.AccessPercent);
        if (accessTotal != 100)
        {
            throw new JobOptionException($"random_distribution={text}: the zones' access percentages add up to {accessTotal.ToString(CultureInfo.InvariantCulture)}, not 100");
        }

        if (zones.Count(z => double.IsNaN(z.Size)) > 1)
        {
            throw new JobOptionException($"random_distribution={text}: only one zone may leave its size blank (the rest of the file)");
        }

        if (!absolute)
        {
            double sizes = zones.Where(z => !double.IsNaN(z.Size)).Sum(z => z.Size);
            if (sizes > 100)
            {
                throw new JobOptionException($"random_distribution={text}: the zones' sizes add up to more than 100 percent");
            }

            zones = [.. zones.Select(z => double.IsNaN(z.Size) ? z with { Size = 100 - sizes } : z)];
        }

        return zones;
    }

    public string Describe() => Kind switch
    {
        DistributionKind.Random => "random",
        DistributionKind.Zipf => "zipf:" + Parameter.ToString(CultureInfo.InvariantCulture),
        DistributionKind.Pareto => "pareto:" + Parameter.ToString(CultureInfo.InvariantCulture),
        DistributionKind.Normal => "normal:" + Parameter.ToString(CultureInfo.InvariantCulture),
        _ => (Kind == DistributionKind.Zoned ? "zoned:" : "zoned_abs:") + string.Join(':', Zones.Select(z => z.AccessPercent.ToString(CultureInfo.InvariantCulture) + "/"
            + (double.IsNaN(z.Size) ? "" : Kind == DistributionKind.Zoned ? z.Size.ToString(CultureInfo.InvariantCulture) : FioValues.FormatSize((long)z.Size)))),
    };
}
