using System.Runtime.InteropServices;

namespace Kaio;

/// <summary>
/// One request (<c>struct iocb</c>). Fill it in (directly or with the <c>Prep*</c> helpers, in
/// the spirit of libaio's <c>io_prep_*</c>), pass it to <see cref="AioContext.Submit"/>, and
/// submit writes <see cref="Key"/> back (the kernel's <c>aio_key</c>). The buffers stay pinned
/// from submit until the request's completion has been delivered.
/// </summary>
public struct Iocb
{
    /// <summary>The operation (<c>aio_lio_opcode</c>).</summary>
    public IocbCommand Command { get; set; }

    /// <summary>
    /// The file (<c>aio_fildes</c>): a <see cref="SafeFileHandle"/> for reads, writes, syncs and Fallocate, or any
    /// <see cref="SafeHandle"/> whose handle is a file descriptor (pipe, eventfd, socket) for Poll.
    /// Unused by Noop.
    /// </summary>
    public SafeHandle? Handle { get; set; }

    /// <summary>The buffer of Pread and Pwrite (<c>aio_buf</c>, <c>aio_nbytes</c>).</summary>
    public Memory<byte> Buffer { get; set; }

    /// <summary>The vectors of Preadv and Pwritev (at most 1024, <c>UIO_MAXIOV</c>).</summary>
    public ReadOnlyMemory<Memory<byte>> Buffers { get; set; }

    /// <summary>
    /// The vectors of Pwritev as read-only memory (at most 1024, <c>UIO_MAXIOV</c>), for a caller
    /// that holds <see cref="ReadOnlyMemory{T}"/>: an alternative to <see cref="Buffers"/>, of which
    /// a Pwritev sets at most one (both set: EINVAL). Must be empty for every other command (EINVAL).
    /// </summary>
    public ReadOnlyMemory<ReadOnlyMemory<byte>> WriteBuffers { get; set; }

    /// <summary>The file offset (<c>aio_offset</c>); must be 0 for Fsync, Fdsync and Poll.</summary>
    public long Offset { get; set; }

    /// <summary>
    /// The byte count of <see cref="IocbCommand.Fallocate"/> (fallocate(2)'s <c>len</c>): the range
    /// is [<see cref="Offset"/>, <see cref="Offset"/> + Length); or of a Pread/Pwrite whose buffer is
    /// native memory (<see cref="BufferAddress"/>). Must be positive for Fallocate (EINVAL), within
    /// 0..<see cref="int.MaxValue"/> with a BufferAddress (EINVAL), and 0 for every other request
    /// (EINVAL), whose length is that of its buffers.
    /// </summary>
    public long Length { get; set; }

    /// <summary>
    /// A Pread/Pwrite's buffer as the address of native memory the caller owns (with
    /// <see cref="Length"/> bytes), instead of <see cref="Buffer"/>: nothing is pinned, and the
    /// memory must stay valid until the request's event. 0 (the default) when the buffer is
    /// <see cref="Buffer"/>. Set with <see cref="Buffer"/>, or on another command: EINVAL at submit;
    /// an address outside user memory: EFAULT at submit, as io_submit answers.
    /// </summary>
    public nint BufferAddress { get; set; }

    /// <summary>
    /// What <see cref="IocbCommand.Fallocate"/> does to its range (fallocate(2)'s <c>mode</c>);
    /// must be <see cref="Kaio.FallocateMode.None"/> for every other command (EINVAL).
    /// </summary>
    public FallocateMode FallocateMode { get; set; }

    /// <summary>The caller's 64-bit cookie, returned in <see cref="IoEvent.Data"/> (<c>aio_data</c>).</summary>
    public ulong Data { get; set; }

    /// <summary>Per-request flags (<c>aio_rw_flags</c>); must be zero for Fsync, Fdsync, Poll and Fallocate.</summary>
    public AioRwFlags RwFlags { get; set; }

    /// <summary>The request priority (<c>aio_reqprio</c>), passed to engines that support it.</summary>
    public ushort Priority { get; set; }

    /// <summary>The events Poll waits for (<c>POLLIN</c>, <c>POLLOUT</c>, ...; carried in <c>aio_buf</c> by the kernel).</summary>
    public short PollEvents { get; set; }

    /// <summary>
    /// An optional eventfd (<c>IOCB_FLAG_RESFD</c>, <c>aio_resfd</c>): signalled with a count of one
    /// each time this request completes.
    /// </summary>
    public SafeHandle? EventFd { get; set; }

    /// <summary>
    /// An optional callback that receives this request's event instead of the completion ring.
    /// It never runs on a thread that reaps completions: it runs on the thread pool, or on the
    /// file's device work queue when marked blocking with <see cref="CallbackIsBlocking"/>. No
    /// ExecutionContext flows into it (the submitter's AsyncLocal values are not visible there):
    /// carry what it needs in the callback object.
    /// </summary>
    public IIoCompletionCallback? Callback { get; set; }

    /// <summary>
    /// When set, <see cref="Callback"/> runs on the deferred work queue of the file's device
    /// (seed 003) rather than on the thread pool.
    /// </summary>
    public bool CallbackIsBlocking { get; set; }

    /// <summary>
    /// When set, <see cref="Callback"/> runs on the thread that delivers the completion — an
    /// engine's reaper or worker, a GetEvents caller, the device work queue, or the submitter when
    /// the request completes inside <see cref="AioContext.Submit"/> — with no hop through the
    /// thread pool: for cheap callbacks that hand the event on (a storage engine's completion
    /// routine) on machines where a pool hop per completion costs too much. Such a callback must
    /// not block or wait for other completions of the context (it would hold up their delivery)
    /// and may not dispose the context (<see cref="InvalidOperationException"/>); it may submit.
    /// With <see cref="CallbackIsBlocking"/> as well: EINVAL at submit.
    /// </summary>
    public bool CallbackRunsInline { get; set; }

    /// <summary>Written by submit: the key naming this request for cancel and in its event (<c>aio_key</c>).</summary>
    public ulong Key { get; set; }

    /// <summary>
    /// Starts only after every earlier request of the same <see cref="AioContext.Submit"/> call
    /// has completed (back to the previous request with this flag, which is one of them), whatever
    /// their results: io_uring's IOSQE_IO_DRAIN, scoped to one call, on every engine. A batch of
    /// writes followed by an <see cref="IocbCommand.Fdsync"/> with this flag is a durable append in
    /// one io_submit: the sync's event arrives only after a sync that began after every write
    /// completed (check each write's own event: a failed write does not stop the sync). Until then
    /// the request is accepted, keyed and cancellable (it then ends with -ECANCELED once its turn
    /// comes). On the first request of a call it has no effect.
    /// </summary>
    public bool StartsAfterPrevious { get; set; }

    /// <summary>A read of <paramref name="buffer"/>.Length bytes at <paramref name="offset"/> (<c>io_prep_pread</c>).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the buffer's type (Memory or an address and a length), so no call binds ambiguously.")]
    public static Iocb PrepPread(SafeFileHandle handle, Memory<byte> buffer, long offset, ulong data = 0)
        => new() { Command = IocbCommand.Pread, Handle = handle, Buffer = buffer, Offset = offset, Data = data };

    /// <summary>A write of <paramref name="buffer"/> at <paramref name="offset"/> (<c>io_prep_pwrite</c>).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the buffer's type (Memory or an address and a length), so no call binds ambiguously.")]
    public static Iocb PrepPwrite(SafeFileHandle handle, ReadOnlyMemory<byte> buffer, long offset, ulong data = 0, AioRwFlags flags = AioRwFlags.None)
        => new() { Command = IocbCommand.Pwrite, Handle = handle, Buffer = MemoryMarshal.AsMemory(buffer), Offset = offset, Data = data, RwFlags = flags };

    /// <summary>
    /// A read of <paramref name="length"/> bytes at <paramref name="offset"/> into native memory at
    /// <paramref name="buffer"/> (sets <see cref="BufferAddress"/> and <see cref="Length"/>): for
    /// callers that own unmanaged, aligned memory, with no pin and no wrapper. The memory must stay
    /// valid until the request's event.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the buffer's type (Memory or an address and a length), so no call binds ambiguously.")]
    public static Iocb PrepPread(SafeFileHandle handle, nint buffer, int length, long offset, ulong data = 0)
        => new() { Command = IocbCommand.Pread, Handle = handle, BufferAddress = buffer, Length = length, Offset = offset, Data = data };

    /// <summary>A write of <paramref name="length"/> bytes of native memory at <paramref name="buffer"/> (see the pointer <see cref="PrepPread(SafeFileHandle, nint, int, long, ulong)"/>).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the buffer's type (Memory or an address and a length), so no call binds ambiguously.")]
    public static Iocb PrepPwrite(SafeFileHandle handle, nint buffer, int length, long offset, ulong data = 0, AioRwFlags flags = AioRwFlags.None)
        => new() { Command = IocbCommand.Pwrite, Handle = handle, BufferAddress = buffer, Length = length, Offset = offset, Data = data, RwFlags = flags };

    /// <summary>A scatter read into <paramref name="buffers"/> (<c>io_prep_preadv</c>).</summary>
    public static Iocb PrepPreadv(SafeFileHandle handle, ReadOnlyMemory<Memory<byte>> buffers, long offset, ulong data = 0)
        => new() { Command = IocbCommand.Preadv, Handle = handle, Buffers = buffers, Offset = offset, Data = data };

    /// <summary>A gather write from <paramref name="buffers"/> (<c>io_prep_pwritev</c>).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the vector array's element type (Memory or ReadOnlyMemory), so no call binds ambiguously.")]
    public static Iocb PrepPwritev(SafeFileHandle handle, ReadOnlyMemory<Memory<byte>> buffers, long offset, ulong data = 0, AioRwFlags flags = AioRwFlags.None)
        => new() { Command = IocbCommand.Pwritev, Handle = handle, Buffers = buffers, Offset = offset, Data = data, RwFlags = flags };

    /// <summary>A gather write from read-only <paramref name="buffers"/> (<c>io_prep_pwritev</c>; sets <see cref="WriteBuffers"/>).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the vector array's element type (Memory or ReadOnlyMemory), so no call binds ambiguously.")]
    public static Iocb PrepPwritev(SafeFileHandle handle, ReadOnlyMemory<ReadOnlyMemory<byte>> buffers, long offset, ulong data = 0, AioRwFlags flags = AioRwFlags.None)
        => new() { Command = IocbCommand.Pwritev, Handle = handle, WriteBuffers = buffers, Offset = offset, Data = data, RwFlags = flags };

    /// <summary>An fsync of the file (<c>io_prep_fsync</c>).</summary>
    public static Iocb PrepFsync(SafeFileHandle handle, ulong data = 0)
        => new() { Command = IocbCommand.Fsync, Handle = handle, Data = data };

    /// <summary>An fdatasync of the file (<c>io_prep_fdsync</c>).</summary>
    public static Iocb PrepFdsync(SafeFileHandle handle, ulong data = 0)
        => new() { Command = IocbCommand.Fdsync, Handle = handle, Data = data };

    /// <summary>A readiness wait on any file descriptor handle (<c>io_prep_poll</c>); the result is revents.</summary>
    public static Iocb PrepPoll(SafeHandle handle, short events, ulong data = 0)
        => new() { Command = IocbCommand.Poll, Handle = handle, PollEvents = events, Data = data };

    /// <summary>
    /// An fallocate(2) of <paramref name="length"/> bytes at <paramref name="offset"/> as
    /// <paramref name="mode"/> says (io_uring's <c>io_uring_prep_fallocate</c>; see
    /// <see cref="IocbCommand.Fallocate"/>). The result is 0, or -errno in the event.
    /// </summary>
    public static Iocb PrepFallocate(SafeFileHandle handle, long offset, long length, FallocateMode mode = FallocateMode.None, ulong data = 0)
        => new() { Command = IocbCommand.Fallocate, Handle = handle, Offset = offset, Length = length, FallocateMode = mode, Data = data };

    /// <summary>A request that completes at once with result 0 (io_uring's NOP; see <see cref="IocbCommand.Noop"/>).</summary>
    public static Iocb PrepNoop(ulong data = 0)
        => new() { Command = IocbCommand.Noop, Data = data };
}

/// <summary>Receives the event of a request submitted with <see cref="Iocb.Callback"/>.</summary>
public interface IIoCompletionCallback
{
    /// <summary>Called exactly once with the request's event, never on a reaping thread.</summary>
    void OnCompleted(in IoEvent ioEvent);
}

/// <summary>Poll event bits (<c>POLLIN</c> and friends from <c>asm-generic/poll.h</c>).</summary>
public static class PollEvents
{
    /// <summary><c>POLLIN</c>: data to read.</summary>
    public const short In = 0x0001;
    /// <summary><c>POLLPRI</c>: urgent data.</summary>
    public const short Pri = 0x0002;
    /// <summary><c>POLLOUT</c>: writing will not block.</summary>
    public const short Out = 0x0004;
    /// <summary><c>POLLERR</c>: error condition.</summary>
    public const short Err = 0x0008;
    /// <summary><c>POLLHUP</c>: hung up.</summary>
    public const short Hup = 0x0010;
    /// <summary><c>POLLNVAL</c>: invalid descriptor.</summary>
    public const short Nval = 0x0020;
}
