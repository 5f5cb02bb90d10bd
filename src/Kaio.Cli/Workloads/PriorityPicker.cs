// Design: picks each request's I/O priority from the job's IoPriorities (fio's engines/cmdprio.c:
// fio_cmdprio_set_ioprio()): a draw in [0, 100) per request; under cmdprio_percentage of the
// request's direction, or under the summed percentages of the cmdprio_bssplit entries of the
// request's size (each entry its own value, in order), the request gets the cmdprio value, else
// the job's (prioclass/prio). Draws come from a SplitMix64 stream of the job's seed and the
// thread's number, apart from the offsets' generator so that priorities do not move offsets.
// Threading: one job thread.
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Workloads;

/// <summary>The priority of each request of one job thread.</summary>
internal sealed class PriorityPicker
{
    private readonly ushort _jobValue;
    private readonly int[] _percentage;
    private readonly ushort[] _cmdValue;
    private readonly PrioritySplit[][] _splits;
    private ulong _state;

    private PriorityPicker(IoPriorities priorities, ulong seed)
    {
        _jobValue = priorities.JobValue;
        _percentage = [.. priorities.CmdPercentage];
        _cmdValue = [priorities.CmdValue(0), priorities.CmdValue(1)];
        _splits = [priorities.Splits(0), priorities.Splits(1)];
        _state = seed;
    }

    /// <summary>A picker for one thread of <paramref name="job"/>, or null when the job sets no priority.</summary>
    public static PriorityPicker? For(JobSpec job, int thread)
        => job.Priorities.Any ? new PriorityPicker(job.Priorities, job.Seed ^ (0x5851F42D4C957F2DUL * (ulong)(thread + 1))) : null;

    /// <summary>The priority value of the next request (a write when <paramref name="isWrite"/>, of <paramref name="length"/> bytes).</summary>
    public ushort Next(bool isWrite, int length)
    {
        int direction = isWrite ? 1 : 0;
        PrioritySplit[] splits = _splits[direction];
        if (splits.Length == 0 && _percentage[direction] == 0)
        {
            return _jobValue;
        }

        int draw = (int)(((UInt128)NextRandom() * 100) >> 64);
        if (splits.Length == 0)
        {
            return draw < _percentage[direction] ? _cmdValue[direction] : _jobValue;
        }

        int below = 0;
        foreach (PrioritySplit split in splits)
        {
            if (split.Size != length)
            {
                continue;
            }

            below += split.Percent;
            if (draw < below)
            {
                return split.Priority;
            }
        }

        return _jobValue;
    }

    private ulong NextRandom()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
