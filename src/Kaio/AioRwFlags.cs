namespace Kaio;

/// <summary>
/// Per-request flags (<c>aio_rw_flags</c>). Values are the kernel's <c>RWF_*</c> masks from
/// <c>linux/fs.h</c>. Bits outside this set are refused at submit with EOPNOTSUPP, as
/// <c>kiocb_set_rw_flags()</c> does.
/// </summary>
[Flags]
public enum AioRwFlags
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary><c>RWF_HIPRI</c>: polled I/O hint; accepted, and like the kernel's AIO it has no effect.</summary>
    HiPri = 0x00000001,
    /// <summary>
    /// <c>RWF_DSYNC</c>: the write is durable (data) before it completes. On a buffered file Kaio
    /// group-commits it: its completion waits for an fdatasync that began after the write
    /// completed, shared with the other durable writes of that file (see the README).
    /// </summary>
    Dsync = 0x00000002,
    /// <summary><c>RWF_SYNC</c>: the write is durable (data and metadata) before it completes.</summary>
    Sync = 0x00000004,
    /// <summary><c>RWF_NOWAIT</c>: never block; a request that would block completes with -EAGAIN.</summary>
    NoWait = 0x00000008,
    /// <summary><c>RWF_APPEND</c>: write at the end of the file, ignoring the offset.</summary>
    Append = 0x00000010,
}
