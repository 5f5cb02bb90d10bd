using Tsavorite.core;

namespace Kaio.Tsavorite;

/// <summary>How a <see cref="KaioStorageDevice"/> opens and throttles its segment files.</summary>
public sealed class KaioDeviceOptions
{
    /// <summary>
    /// Open segment files with O_DIRECT (the default, as Tsavorite's own devices do with
    /// <c>disableFileBuffering</c>). Where the file system refuses O_DIRECT (tmpfs, for one) the
    /// device falls back to the page cache and <see cref="KaioStorageDevice.IsDirect"/> says so.
    /// </summary>
    public bool UseDirectIo { get; init; } = true;

    /// <summary>
    /// Reserve a whole segment's blocks (fallocate with KEEP_SIZE) when a segment file is first
    /// opened, when the device has a positive segment size. The file's length does not change.
    /// </summary>
    public bool PreallocateFile { get; init; }

    /// <summary>Delete the segment files the device opened when it is disposed or reset.</summary>
    public bool DeleteOnClose { get; init; }

    /// <summary>Open segment files for reading only; writes then fail with EBADF through their callback.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// The most bytes the device keeps (<see cref="IDevice.Capacity"/>): writing past it truncates
    /// the oldest segments, as Tsavorite's devices do. <see cref="Devices.CAPACITY_UNSPECIFIED"/> (the
    /// default) for no limit.
    /// </summary>
    public long Capacity { get; init; } = Devices.CAPACITY_UNSPECIFIED;

    /// <summary>
    /// The number of outstanding requests past which <see cref="KaioStorageDevice.Throttle"/> answers
    /// true (<see cref="IDevice.ThrottleLimit"/>); 120 by default, as Tsavorite's local devices.
    /// </summary>
    public int ThrottleLimit { get; init; } = 120;

    /// <summary>
    /// Run Tsavorite's completion callback on the thread that delivers the completion — Kaio's
    /// reaper (io_uring, Linux AIO), a thread-pool engine worker, or the submitting thread when the
    /// request completes inside the submit — with no hop through the thread pool (Kaio's
    /// <see cref="Iocb.CallbackRunsInline"/>); on by default. Tsavorite's callbacks are short and
    /// hand the result on, as they do on Garnet's native device's drainer threads. Under a Garnet
    /// server, whose sessions block pool threads while they wait for their pending reads, a pool hop
    /// per completion queues completions behind the very threads that wait for them: measured at
    /// 0.4–0.9× the RandomAccess device's GET rate with the hop, 1.5–2.5× without (docs/garnet.md).
    /// Off: callbacks run on the thread pool, never on the submitting thread.
    /// </summary>
    public bool InlineCompletions { get; init; } = true;

    internal static KaioDeviceOptions Default { get; } = new();
}
