// Design: fio's I/O priorities (prio, prioclass, priohint; the io_uring and libaio engines'
// cmdprio_percentage, cmdprio_class, cmdprio, cmdprio_hint and cmdprio_bssplit), read into one
// record per job and carried to the kernel in each request's Iocb.Priority (aio_reqprio with
// IOCB_FLAG_IOPRIO, io_uring's sqe->ioprio), encoded as include/uapi/linux/ioprio.h does:
// class << 13 | hint << 3 | level. As in fio (os/os-linux.h ioprio_value()), a level or hint
// without a class is in the best-effort class. A request gets the cmdprio value with the chance
// cmdprio_percentage gives its direction, or the chance cmdprio_bssplit gives requests of its size
// (the entries of that size summed, each entry its own value); every other request the job's
// value (prioclass/prio/priohint; 0, none, when none is given).
using System.Globalization;

namespace Kaio.Cli.Jobs;

/// <summary>One entry of fio's cmdprio_bssplit: requests of <paramref name="Size"/> get <paramref name="Priority"/> with this percent chance.</summary>
internal readonly record struct PrioritySplit(int Size, int Percent, ushort Priority);

/// <summary>A job's I/O priorities; per direction arrays are reads, writes.</summary>
internal sealed record IoPriorities
{
    /// <summary>fio's prioclass, prio and priohint (null: not given).</summary>
    public int? Class { get; init; }

    /// <inheritdoc cref="Class"/>
    public int? Level { get; init; }

    /// <inheritdoc cref="Class"/>
    public int? Hint { get; init; }

    /// <summary>fio's cmdprio_percentage per direction.</summary>
    public int[] CmdPercentage { get; init; } = [0, 0];

    /// <summary>fio's cmdprio_class per direction (default: real time, the highest class).</summary>
    public int[] CmdClass { get; init; } = [IoPriority.ClassRealTime, IoPriority.ClassRealTime];

    /// <summary>fio's cmdprio (the level) per direction (default 0, the highest).</summary>
    public int[] CmdLevel { get; init; } = [0, 0];

    /// <summary>fio's cmdprio_hint per direction (default 0, none).</summary>
    public int[] CmdHint { get; init; } = [0, 0];

    /// <summary>fio's cmdprio_bssplit per direction as given (entries without class and level take cmdprio_class/cmdprio at use).</summary>
    public CmdSplitEntry[][]? CmdBssplit { get; init; }

    /// <summary>Whether any option asks for a priority.</summary>
    public bool Any => Class is not null || Level is not null || Hint is not null || CmdPercentage.Any(p => p > 0) || CmdBssplit is not null;

    /// <summary>Whether some requests get a cmdprio value.</summary>
    public bool PerCommand => CmdPercentage.Any(p => p > 0) || CmdBssplit is not null;

    /// <summary>The job's own value (prioclass, prio, priohint); 0 when none is given.</summary>
    public ushort JobValue => Class is null && Level is null && Hint is null ? (ushort)0 : Encode(Class ?? 0, Level ?? 0, Hint ?? 0);

    /// <summary>The cmdprio_bssplit entries of one direction with their values resolved.</summary>
    public PrioritySplit[] Splits(int direction) => CmdBssplit is null
        ? []
        : [.. CmdBssplit[direction].Select(e => new PrioritySplit(e.Size, e.Percent, Encode(e.Class ?? CmdClass[direction], e.Level ?? CmdLevel[direction], e.Hint ?? CmdHint[direction])))];

    /// <summary>The cmdprio_percentage value of a direction.</summary>
    public ushort CmdValue(int direction) => Encode(CmdClass[direction], CmdLevel[direction], CmdHint[direction]);

    /// <summary>class &lt;&lt; 13 | hint &lt;&lt; 3 | level; class 0 (none) with a level or hint is best effort, as fio's ioprio_value().</summary>
    public static ushort Encode(int ioClass, int level, int hint)
        => (ushort)(((ioClass == IoPriority.ClassNone ? IoPriority.ClassBestEffort : ioClass) << IoPriority.ClassShift) | (hint << 3) | level);

    /// <summary>The hint of a value (bits 3–12).</summary>
    public static int HintOf(ushort value) => (value >> 3) & 0x3ff;

    /// <summary>Whether a value is in the real-time class (fio's log column without log_prio).</summary>
    public static bool IsRealTime(ushort value) => value >> IoPriority.ClassShift == IoPriority.ClassRealTime;

    /// <summary>Checks the combination; an error naming the options, or null.</summary>
    public string? Validate()
    {
        if (CmdPercentage.Any(p => p > 0) && CmdBssplit is not null)
        {
            return "cmdprio_percentage and cmdprio_bssplit cannot be used together (as in fio)";
        }

        return null;
    }

    /// <summary>fio's cmdprio_bssplit: per direction, <c>bs/percent[/class/level[/hint]]</c> entries joined with ':'.</summary>
    public static CmdSplitEntry[][] ParseBssplit(string text, int kbBase)
    {
        CmdSplitEntry[][] all = BlockSizes.PerDirection<CmdSplitEntry[]>("cmdprio_bssplit", text, [], part =>
        {
            var entries = new List<CmdSplitEntry>();
            foreach (string item in part.Split(':', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                string[] fields = item.Split('/', StringSplitOptions.TrimEntries);
                if (fields.Length is not (2 or 4 or 5))
                {
                    throw new JobOptionException($"cmdprio_bssplit={text}: '{item}' is not bs/percent, bs/percent/class/level or bs/percent/class/level/hint");
                }

                if (!FioValues.TryParseSize(fields[0], kbBase, out long size, out string? error) || size is <= 0 or > int.MaxValue)
                {
                    throw new JobOptionException($"cmdprio_bssplit={text}: '{fields[0]}': {error ?? "not a block size"}");
                }

                int percent = Number(text, fields[1], 0, 100);
                int? ioClass = fields.Length >= 4 ? Number(text, fields[2], 0, 3) : null;
                int? level = fields.Length >= 4 ? Number(text, fields[3], 0, 7) : null;
                int? hint = fields.Length == 5 ? Number(text, fields[4], 0, 1023) : null;
                entries.Add(new CmdSplitEntry((int)size, percent, ioClass, level, hint));
            }

            foreach (IGrouping<int, CmdSplitEntry> size in entries.GroupBy(e => e.Size))
            {
                if (size.Sum(e => e.Percent) > 100)
                {
                    throw new JobOptionException($"cmdprio_bssplit={text}: the percentages of bs={FioValues.FormatSize(size.Key)} add up to more than 100");
                }
            }

            return [.. entries];
        });
        return [all[0], all[1]];
    }

    private static int Number(string text, string field, int min, int max)
        => int.TryParse(field, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value
            : throw new JobOptionException($"cmdprio_bssplit={text}: '{field}' must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
}

/// <summary>One cmdprio_bssplit entry as written (class, level and hint null: cmdprio_class, cmdprio, cmdprio_hint).</summary>
internal readonly record struct CmdSplitEntry(int Size, int Percent, int? Class, int? Level, int? Hint);
