// What the KV and server modes share: the devices under comparison, medians, /proc/<pid>/io.
using System.Globalization;
using Tsavorite.core;

namespace Kaio.Tsavorite.Bench;

internal static class Devices
{
    /// <summary>
    /// Tsavorite's RandomAccess device (the baseline, first), then Kaio's device on every engine that
    /// works here, and, with <paramref name="poolToo"/>, on io_uring with InlineCompletions off.
    /// </summary>
    public static List<(string Name, Func<string, IDevice> Make)> All(bool poolToo = false)
    {
        var devices = new List<(string Name, Func<string, IDevice> Make)>
        {
            ("tsavorite RandomAccess", path => new RandomAccessLocalStorageDevice(path, preallocateFile: false, deleteOnClose: false, disableFileBuffering: true, capacity: -1, recoverDevice: false, osReadBuffering: false, readOnly: false, logger: null)),
        };
        foreach (AioEngineStatus status in AioContext.ProbeEngines())
        {
            if (status.Available && status.Kind is AioEngineKind.IoUring or AioEngineKind.LinuxAio or AioEngineKind.ThreadPool)
            {
                AioEngineKind kind = status.Kind;
                devices.Add(($"kaio {kind}", path => KaioStorageDevice.Create(path, kind)));
            }
        }

        if (poolToo && devices.Any(d => d.Name == $"kaio {AioEngineKind.IoUring}"))
        {
            devices.Add(($"kaio {AioEngineKind.IoUring} +pool", path => KaioStorageDevice.Create(path, AioEngineKind.IoUring, new KaioDeviceOptions { InlineCompletions = false })));
        }

        return devices;
    }
}

internal static class Stats
{
    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}

internal static class ProcIo
{
    /// <summary>read_bytes and write_bytes of this process: what reached the block layer.</summary>
    public static (long ReadBytes, long WriteBytes) Self() => Of("self");

    /// <summary>read_bytes and write_bytes of process <paramref name="pid"/> (its threads included).</summary>
    public static (long ReadBytes, long WriteBytes) Of(string pid)
    {
        long read = 0, write = 0;
        foreach (string line in File.ReadLines($"/proc/{pid}/io"))
        {
            if (line.StartsWith("read_bytes:", StringComparison.Ordinal))
            {
                read = long.Parse(line.AsSpan("read_bytes:".Length).Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
            {
                write = long.Parse(line.AsSpan("write_bytes:".Length).Trim(), CultureInfo.InvariantCulture);
            }
        }

        return (read, write);
    }
}
