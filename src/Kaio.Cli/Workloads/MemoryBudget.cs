// Design: the buffers a run will pin, checked against the memory there is before anything runs.
// Each job thread allocates iodepth buffers of bs (TargetFile.CreateBuffers), and a group's
// threads all run at once; a run asking for more than the machine has used to end in the
// runtime's "Out of memory." and an abort (exit 134, nothing on stdout), where fio refuses with
// one line. Available memory is /proc/meminfo's MemAvailable, capped by the GC's view of the
// process's limit (a cgroup's memory.max).
using System.Globalization;
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Workloads;

/// <summary>Refuses runs whose buffers cannot fit in memory.</summary>
internal static class MemoryBudget
{
    /// <summary>One line for the first group whose buffers exceed <paramref name="available"/> bytes, or null.</summary>
    public static string? Check(IReadOnlyList<JobSpec> jobs, long available)
    {
        var group = new List<JobSpec>();
        foreach (JobSpec job in jobs)
        {
            if (job.Stonewall && group.Count > 0)
            {
                if (CheckGroup(group, available) is { } refused)
                {
                    return refused;
                }

                group.Clear();
            }

            group.Add(job);
        }

        return CheckGroup(group, available);
    }

    /// <summary>Bytes this machine can give the run: MemAvailable, capped by the process's limit.</summary>
    public static long Available()
    {
        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                // MemAvailable:   23686412 kB
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                    && long.TryParse(line["MemAvailable:".Length..].Trim().Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kib))
                {
                    return Math.Min(limit, kib * 1024);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return limit;
    }

    private static string? CheckGroup(List<JobSpec> group, long available)
    {
        double needed = group.Sum(j => (double)j.BlockSize * j.IoDepth * j.NumJobs);
        if (needed <= available)
        {
            return null;
        }

        string terms = string.Join(" + ", group.Select(j => string.Create(CultureInfo.InvariantCulture,
            $"{j.Origin}: bs={FioValues.FormatSize(j.BlockSize)} x iodepth={j.IoDepth} x numjobs={j.NumJobs}")));
        return $"cannot allocate memory: {terms} needs {Format(needed)} for buffers, {Format(available)} available";
    }

    /// <summary>64 TiB, 22.6 GiB.</summary>
    private static string Format(double bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        int unit = 0;
        while (unit < units.Length - 1 && bytes >= 1024)
        {
            bytes /= 1024;
            unit++;
        }

        return (bytes == Math.Floor(bytes) ? bytes.ToString("0", CultureInfo.InvariantCulture) : bytes.ToString("0.0", CultureInfo.InvariantCulture)) + " " + units[unit];
    }
}
