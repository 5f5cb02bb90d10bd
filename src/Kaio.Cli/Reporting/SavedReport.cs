// Design: a JSON report read back (kaio's or fio's: the same shape), for `kaio compare` and
// `kaio plot`: per job and direction the figures both print — IOPS, bandwidth, completion
// latency mean and percentiles (total latency's when the report has no clat percentiles).
using System.Globalization;
using System.Text.Json;

namespace Kaio.Cli.Reporting;

/// <summary>A saved report that cannot be read; the message names the file.</summary>
internal sealed class SavedReportException : Exception
{
    public SavedReportException(string message) : base(message) { }

    public SavedReportException() { }

    public SavedReportException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>One direction of one job of a saved report.</summary>
internal sealed record SavedDirection(string Job, string Direction, double Iops, double BandwidthKiB, double ClatMeanNs, double LatMeanNs, IReadOnlyList<(double Percentile, long Nanoseconds)> Percentiles)
{
    /// <summary>The latency at the listed percentile closest to <paramref name="percentile"/>, or null.</summary>
    public long? At(double percentile) => Percentiles.Where(p => Math.Abs(p.Percentile - percentile) < 1e-6).Select(p => (long?)p.Nanoseconds).FirstOrDefault();
}

/// <summary>The jobs of a saved JSON report.</summary>
internal sealed record SavedReport(string Path, string Version, IReadOnlyList<SavedDirection> Directions)
{
    public static SavedReport Load(string path)
    {
        JsonDocument document;
        try
        {
            using FileStream stream = File.OpenRead(path);
            document = JsonDocument.Parse(stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SavedReportException($"{path}: {e.Message}");
        }
        catch (JsonException e)
        {
            throw new SavedReportException($"{path}: not a JSON report ({e.Message})");
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("jobs", out JsonElement jobs) || jobs.ValueKind != JsonValueKind.Array)
            {
                throw new SavedReportException($"{path}: not a kaio or fio JSON report (no \"jobs\" array)");
            }

            var directions = new List<SavedDirection>();
            foreach (JsonElement job in jobs.EnumerateArray())
            {
                string name = job.TryGetProperty("jobname", out JsonElement n) ? n.GetString() ?? "?" : "?";
                foreach (string direction in new[] { "read", "write" })
                {
                    if (!job.TryGetProperty(direction, out JsonElement d) || Number(d, "total_ios") <= 0)
                    {
                        continue;
                    }

                    JsonElement clat = d.TryGetProperty("clat_ns", out JsonElement c) ? c : default;
                    JsonElement lat = d.TryGetProperty("lat_ns", out JsonElement l) ? l : default;
                    JsonElement withPercentiles = clat.ValueKind == JsonValueKind.Object && clat.TryGetProperty("percentile", out _) ? clat : lat;
                    var percentiles = new List<(double, long)>();
                    if (withPercentiles.ValueKind == JsonValueKind.Object && withPercentiles.TryGetProperty("percentile", out JsonElement list))
                    {
                        foreach (JsonProperty p in list.EnumerateObject())
                        {
                            if (double.TryParse(p.Name, NumberStyles.Float, CultureInfo.InvariantCulture, out double percentile) && p.Value.TryGetInt64(out long ns))
                            {
                                percentiles.Add((percentile, ns));
                            }
                        }
                    }

                    directions.Add(new SavedDirection(name, direction, Number(d, "iops"), Number(d, "bw"), Number(clat, "mean"), Number(lat, "mean"), [.. percentiles.OrderBy(p => p.Item1)]));
                }
            }

            string version = root.TryGetProperty("fio version", out JsonElement v) ? v.GetString() ?? "" : "";
            return new SavedReport(path, version, directions);
        }
    }

    private static double Number(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : 0;
}
