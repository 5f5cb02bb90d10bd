namespace Kaio;

/// <summary>
/// I/O priority values for <see cref="Iocb.Priority"/> (<c>aio_reqprio</c> with <c>IOCB_FLAG_IOPRIO</c>,
/// io_uring's <c>sqe-&gt;ioprio</c>), encoded as include/uapi/linux/ioprio.h does:
/// class &lt;&lt; 13 | hint &lt;&lt; 3 | level. Submit checks a value as the kernel's <c>ioprio_check_cap()</c>
/// does: an unknown class, or a level with <see cref="ClassNone"/>, is EINVAL; <see cref="ClassRealTime"/>
/// without CAP_SYS_NICE or CAP_SYS_ADMIN is EPERM. The io_uring and Linux AIO engines hand the
/// priority to the kernel; the thread-pool engine checks it and does not apply it.
/// </summary>
public static class IoPriority
{
    /// <summary><c>IOPRIO_CLASS_SHIFT</c>.</summary>
    public const int ClassShift = 13;

    /// <summary><c>IOPRIO_PRIO_LEVEL_MASK</c>: the level's bits.</summary>
    public const int LevelMask = (1 << 3) - 1;

    /// <summary><c>IOPRIO_CLASS_NONE</c>: the task's own priority (level must be 0).</summary>
    public const int ClassNone = 0;

    /// <summary><c>IOPRIO_CLASS_RT</c>: real time (needs CAP_SYS_NICE or CAP_SYS_ADMIN).</summary>
    public const int ClassRealTime = 1;

    /// <summary><c>IOPRIO_CLASS_BE</c>: best effort.</summary>
    public const int ClassBestEffort = 2;

    /// <summary><c>IOPRIO_CLASS_IDLE</c>: only when the device is otherwise idle.</summary>
    public const int ClassIdle = 3;

    /// <summary><c>IOPRIO_PRIO_VALUE(class, level)</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ioClass"/> is not 0–7 or <paramref name="level"/> not 0–7.</exception>
    public static ushort Value(int ioClass, int level)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)ioClass, 7u, nameof(ioClass));
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)level, (uint)LevelMask, nameof(level));
        return (ushort)((ioClass << ClassShift) | level);
    }
}
