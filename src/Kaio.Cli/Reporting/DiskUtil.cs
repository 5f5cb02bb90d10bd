// Design: fio's disk_util (diskutil.c): for each block device under the run's files, the
// difference of /proc/diskstats between the start and the end of the run — reads and writes
// completed and merged, ms spent reading and writing, the weighted ms in queue — and util, the
// percent of the run's wall time the device was busy (io_ticks), at most 100. A file's device
// is its file system's (the longest mount point of /proc/self/mountinfo that holds it), or the
// block device itself; file systems without a block device (tmpfs, overlay) have none.
using System.Diagnostics;
using System.Globalization;

namespace Kaio.Cli.Reporting;

/// <summary>One device's counters over the run, as fio reports them.</summary>
internal sealed record DiskUtil(string Name, long ReadIos, long WriteIos, long ReadMerges, long WriteMerges, long ReadTicks, long WriteTicks, long InQueue, double Util)
{
    /// <summary>A snapshot of the devices under the run's files, taken before the run.</summary>
    public sealed class Snapshot
    {
        private readonly Dictionary<string, long[]> _before;
        private readonly long _started = Stopwatch.GetTimestamp();

        private Snapshot(Dictionary<string, long[]> before) => _before = before;

        /// <summary>Reads /proc/diskstats for the devices of <paramref name="paths"/> (missing files: their directory's).</summary>
        public static Snapshot Take(IEnumerable<string> paths)
        {
            HashSet<string> devices = [.. paths.Select(DeviceOf).OfType<string>()];
            return new Snapshot(ReadStats().Where(kv => devices.Contains(kv.Key)).ToDictionary());
        }

        /// <summary>The counters since the snapshot, in fio's units (ms) and util in percent.</summary>
        public List<DiskUtil> Finish()
        {
            double elapsedMs = Stopwatch.GetElapsedTime(_started).TotalMilliseconds;
            Dictionary<string, long[]> after = ReadStats();
            var result = new List<DiskUtil>();
            foreach ((string name, long[] before) in _before)
            {
                if (!after.TryGetValue(name, out long[]? now))
                {
                    continue;
                }

                long D(int field) => Math.Max(0, now[field] - before[field]);
                double util = elapsedMs > 0 ? Math.Min(100, D(9) * 100.0 / elapsedMs) : 0;
                result.Add(new DiskUtil(name, D(0), D(4), D(1), D(5), D(3), D(7), D(10), util));
            }

            return result;
        }
    }

    /// <summary>The diskstats name of the block device holding <paramref name="path"/>, or null.</summary>
    internal static string? DeviceOf(string path)
    {
        try
        {
            string full = Path.GetFullPath(path);
            string? majorMinor = null;
            int longest = -1;
            foreach (string line in File.ReadLines("/proc/self/mountinfo"))
            {
                string[] fields = line.Split(' ');
                if (fields.Length < 5)
                {
                    continue;
                }

                string mountPoint = fields[4].Replace("\\040", " ", StringComparison.Ordinal);
                bool holds = full == mountPoint || full.StartsWith(mountPoint.TrimEnd('/') + "/", StringComparison.Ordinal);
                if (holds && mountPoint.Length >= longest)
                {
                    longest = mountPoint.Length;
                    majorMinor = fields[2];
                }
            }

            string? sysLink = majorMinor is null ? null : "/sys/dev/block/" + majorMinor;
            if (sysLink is null || !Directory.Exists(sysLink))
            {
                return null;
            }

            return Path.GetFileName(new DirectoryInfo(sysLink).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>/proc/diskstats by device name: the 11 classic counters after the name.</summary>
    private static Dictionary<string, long[]> ReadStats()
    {
        var stats = new Dictionary<string, long[]>(StringComparer.Ordinal);
        try
        {
            foreach (string line in File.ReadLines("/proc/diskstats"))
            {
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 14)
                {
                    continue;
                }

                var values = new long[11];
                for (int i = 0; i < 11; i++)
                {
                    _ = long.TryParse(fields[3 + i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]);
                }

                stats[fields[2]] = values;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc/diskstats (a container without it): no disk_util, as fio on such a system.
        }

        return stats;
    }
}
