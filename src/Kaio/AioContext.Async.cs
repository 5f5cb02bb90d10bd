// Design: the .NET way on the same core. ReadAsync/WriteAsync/FlushAsync build an iocb on the
// stack and submit it through io_submit_one() like any other; the request's slot is itself the
// pooled IValueTaskSource, so a call allocates nothing in steady state. The CancellationToken
// cancels the request in flight (io_cancel by key); the request still completes exactly once
// and the awaiter then sees OperationCanceledException. The token is registered while the slot
// is still ours (before it is armed) and re-checked after, so a cancel can't fall in between;
// delivery disposes the registration before the slot can be reused, so a late callback can never
// reach a newer request.
//
// Parity with RandomAccess (issue 9 §4). Arguments are checked at the call, synchronously and in
// RandomAccess's order and types (measured against .NET 10's RandomAccess): a null handle
// (ArgumentNullException), an invalid one (ArgumentException), a closed one
// (ObjectDisposedException), a negative offset (ArgumentOutOfRangeException), then a null buffer
// list (ArgumentNullException) — all before the token is looked at. What only io_submit can tell
// (a descriptor that is not open, a handle not open for the access, a full context, a buffer
// outside user memory) keeps its errno (AioException, an IOException) at the call; Submit() itself
// is unchanged and keeps every errno. Deliberate differences from RandomAccess: streams (pipes,
// FIFOs, sockets) are accepted (RandomAccess refuses an unseekable handle with
// NotSupportedException; Kaio's semantics table says what an offset means there); a write may be
// short and returns its count (RandomAccess loops until all is written); at most MaxVectors
// buffers per vectored call (EINVAL at the call; RandomAccess splits).
//
// Scatter/gather: a Memory<byte>[] (or ReadOnlyMemory<byte>[]) is used as the iocb's vector array
// directly; any other IReadOnlyList is copied into this thread's scratch array (ScratchVectors),
// free again as soon as submit returns — the slot has pinned every buffer and copied each address into its own
// iovec array by then, so the list is not needed while the request is in flight. Neither allocates
// in steady state. Only the slow path of AioFullBehavior.Wait (which allocates anyway) copies the
// vectors into an array of its own, since its submit happens after the call returned.
//
// Threads and ExecutionContext: a completion is never delivered to user code on an engine's
// reaper. The code after an await runs on the thread pool — in the slot's own work item, or
// inline in the engine's coalescing work item (AioEngine.DeliverInline), or synchronously when the
// page cache held a read (AioContext.CachedRead.cs) or the request was alone and completed inside
// the call — or on the SynchronizationContext/TaskScheduler
// captured at the await unless ConfigureAwait(false) — as with RandomAccess. ExecutionContext flows from the call
// to the continuation (AsyncLocal values set before the call are seen after the await): the
// awaiter asks for it and ManualResetValueTaskSourceCore honours the flag. Iocb.Callback is
// different: it runs on the thread pool (UnsafeQueueUserWorkItem), or on the device's deferred
// work queue when marked blocking, and no ExecutionContext flows into it — it runs in the default
// context, as a SocketAsyncEngine callback does; a callback that needs ambient state carries it
// in its own object.
using System.Buffers;
using Kaio.Core;

namespace Kaio;

public sealed partial class AioContext
{
    /// <summary>
    /// Reads into <paramref name="buffer"/> at <paramref name="fileOffset"/>, like
    /// <see cref="RandomAccess.ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.
    /// Each returned <see cref="ValueTask{TResult}"/> must be awaited exactly once.
    /// </summary>
    /// <remarks>
    /// The code after the await never runs on the thread that reaped the completion: it runs on the
    /// thread pool (or the captured SynchronizationContext/TaskScheduler unless
    /// <c>ConfigureAwait(false)</c>), and the caller's ExecutionContext flows to it (AsyncLocal
    /// values set before the call are seen after the await).
    /// </remarks>
    /// <returns>The bytes read (0 at end of file).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed, or the context is disposed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> is negative.</exception>
    /// <exception cref="AioException">
    /// At the call: the errno of io_submit (EAGAIN when <see cref="Capacity"/> requests are outstanding,
    /// EBADF for a descriptor not open or a handle not open for reading, EFAULT). From the await: the
    /// request's -errno; the message names the operation, the file's path, the offset, the length and
    /// the errno, and for EINVAL on an O_DIRECT file the alignment rule the request broke.
    /// </exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    /// <example>
    /// <code>
    /// using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
    /// int read = await ctx.ReadAsync(file, buffer, offset, timeout.Token);   // cancelled in flight after 500 ms
    /// </code>
    /// </example>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "RandomAccess's shape: the overloads differ in a required parameter's type (one buffer or a list), so no call binds ambiguously.")]
    public ValueTask<int> ReadAsync(SafeFileHandle handle, Memory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        CachedRead cached = CachedRead.NotTried;
        if (!cancellationToken.IsCancellationRequested && TryReadCached(handle, buffer.Span, fileOffset, out int read, out cached))
        {
            return new ValueTask<int>(read); // the page cache held it all (AioContext.CachedRead.cs)
        }

        var cb = new Iocb { Command = IocbCommand.Pread, Handle = handle, Buffer = buffer, Offset = fileOffset };
        return SubmitAwaitable(ref cb, cancellationToken, cached);
    }

    /// <summary>
    /// Writes <paramref name="buffer"/> at <paramref name="fileOffset"/>, like
    /// <see cref="RandomAccess.WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, CancellationToken)"/>,
    /// with per-request <paramref name="flags"/> (Dsync for a write that is durable when it completes).
    /// Threads and ExecutionContext as <see cref="ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.
    /// </summary>
    /// <returns>The bytes written (the kernel's result: a short write is possible, as with pwrite; RandomAccess would loop).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed, or the context is disposed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> is negative.</exception>
    /// <exception cref="AioException">As <see cref="ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/> (EBADF for a handle not open for writing); EOPNOTSUPP for unknown flags.</exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    /// <example>
    /// <code>
    /// // A log append, durable when it returns (group-committed with the appends around it):
    /// int written = await ctx.WriteAsync(log, record, appendOffset, AioRwFlags.Dsync, cancellationToken);
    /// </code>
    /// </example>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "RandomAccess's shape: the overloads differ in a required parameter's type (one buffer or a list), so no call binds ambiguously.")]
    public ValueTask<int> WriteAsync(SafeFileHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, AioRwFlags flags = AioRwFlags.None, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        var cb = Iocb.PrepPwrite(handle, buffer, fileOffset, 0, flags);
        return SubmitAwaitable(ref cb, cancellationToken);
    }

    /// <summary>
    /// Reads into <paramref name="buffers"/>, one after another, from <paramref name="fileOffset"/>
    /// with one request (preadv), like
    /// <see cref="RandomAccess.ReadAsync(SafeFileHandle, IReadOnlyList{Memory{byte}}, long, CancellationToken)"/>.
    /// Threads and ExecutionContext as <see cref="ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.
    /// </summary>
    /// <remarks>
    /// A <c>Memory&lt;byte&gt;[]</c> is used as it is; another list is copied into a pooled array for
    /// the duration of the call (no allocation in steady state either way). The list may be reused
    /// once the call returns; the buffers themselves belong to the request until it completes.
    /// </remarks>
    /// <returns>The bytes read, over all buffers (fewer than their total at end of file; 0 for no buffers).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> or <paramref name="buffers"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed, or the context is disposed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> is negative.</exception>
    /// <exception cref="AioException">As <see cref="ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>; EINVAL at the call for more than <see cref="MaxVectors"/> buffers.</exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "RandomAccess's shape: the overloads differ in a required parameter's type (one buffer or a list), so no call binds ambiguously.")]
    public ValueTask<long> ReadAsync(SafeFileHandle handle, IReadOnlyList<Memory<byte>> buffers, long fileOffset, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        ArgumentNullException.ThrowIfNull(buffers);
        int count = CheckVectorCount(buffers.Count, IocbCommand.Preadv, handle, fileOffset);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<long>(cancellationToken);
        }

        Memory<byte>[]? rented = null;
        if (buffers is not Memory<byte>[] vectors)
        {
            vectors = rented = ScratchVectors<Memory<byte>>.Take(count);
            for (int i = 0; i < count; i++)
            {
                vectors[i] = buffers[i];
            }
        }

        var cb = new Iocb { Command = IocbCommand.Preadv, Handle = handle, Buffers = new ReadOnlyMemory<Memory<byte>>(vectors, 0, count), Offset = fileOffset };
        try
        {
            RequestSlot? slot = SubmitAwaitableSlot(ref cb, haveBudget: false, cancellationToken, out short version);
            if (slot is not null)
            {
                return new ValueTask<long>(slot, version);
            }

            cb.Buffers = cb.Buffers.ToArray(); // the waiting submit runs after this call returned: its own copy
            return WaitThenSubmitVectoredAsync(cb, cancellationToken);
        }
        finally
        {
            if (rented is not null)
            {
                Array.Clear(rented, 0, count); // drop the references to the caller's buffers
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="buffers"/>, one after another, at <paramref name="fileOffset"/> with
    /// one request (pwritev), like
    /// <see cref="RandomAccess.WriteAsync(SafeFileHandle, IReadOnlyList{ReadOnlyMemory{byte}}, long, CancellationToken)"/>,
    /// with per-request <paramref name="flags"/>. Threads and ExecutionContext as
    /// <see cref="ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.
    /// </summary>
    /// <remarks>
    /// A <c>ReadOnlyMemory&lt;byte&gt;[]</c> is used as it is; another list is copied into a pooled
    /// array for the duration of the call. Unlike RandomAccess, which loops until everything is
    /// written and returns nothing, this returns the kernel's count, as the single-buffer
    /// <see cref="WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, AioRwFlags, CancellationToken)"/> does.
    /// </remarks>
    /// <returns>The bytes written, over all buffers (a short write is possible, as with pwritev).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> or <paramref name="buffers"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed, or the context is disposed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> is negative.</exception>
    /// <exception cref="AioException">As <see cref="WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, AioRwFlags, CancellationToken)"/>; EINVAL at the call for more than <see cref="MaxVectors"/> buffers.</exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "RandomAccess's shape: the overloads differ in a required parameter's type (one buffer or a list), so no call binds ambiguously.")]
    public ValueTask<long> WriteAsync(SafeFileHandle handle, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long fileOffset, AioRwFlags flags = AioRwFlags.None, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        ArgumentNullException.ThrowIfNull(buffers);
        int count = CheckVectorCount(buffers.Count, IocbCommand.Pwritev, handle, fileOffset);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<long>(cancellationToken);
        }

        ReadOnlyMemory<byte>[]? rented = null;
        if (buffers is not ReadOnlyMemory<byte>[] vectors)
        {
            vectors = rented = ScratchVectors<ReadOnlyMemory<byte>>.Take(count);
            for (int i = 0; i < count; i++)
            {
                vectors[i] = buffers[i];
            }
        }

        var cb = Iocb.PrepPwritev(handle, new ReadOnlyMemory<ReadOnlyMemory<byte>>(vectors, 0, count), fileOffset, 0, flags);
        try
        {
            RequestSlot? slot = SubmitAwaitableSlot(ref cb, haveBudget: false, cancellationToken, out short version);
            if (slot is not null)
            {
                return new ValueTask<long>(slot, version);
            }

            cb.WriteBuffers = cb.WriteBuffers.ToArray(); // the waiting submit runs after this call returned: its own copy
            return WaitThenSubmitVectoredAsync(cb, cancellationToken);
        }
        finally
        {
            if (rented is not null)
            {
                Array.Clear(rented, 0, count);
            }
        }
    }

    /// <summary>Makes the file durable: fsync, or fdatasync when <paramref name="dataOnly"/>.</summary>
    /// <remarks>
    /// Covers every write of the file that completed before this call. On a regular file it joins
    /// the group commit: it completes after an fsync/fdatasync that began after this call, shared
    /// with the DSYNC/SYNC writes and flushes waiting at that moment; a failed sync fails it with
    /// the sync's errno. Threads and ExecutionContext as <see cref="ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed, or the context is disposed.</exception>
    /// <exception cref="AioException">As <see cref="ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>; from the await, the sync's -errno (EIO).</exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    public ValueTask FlushAsync(SafeFileHandle handle, bool dataOnly = false, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset: 0);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        var cb = new Iocb { Command = dataOnly ? IocbCommand.Fdsync : IocbCommand.Fsync, Handle = handle };
        RequestSlot? slot = SubmitAwaitableSlot(ref cb, haveBudget: false, cancellationToken, out short version);
        return slot is not null ? new ValueTask(slot, version) : new ValueTask(WaitThenSubmitAsync(cb, cancellationToken).AsTask());
    }

    /// <summary>
    /// fallocate(2) through the context: allocates (by default: the file grows to cover the range),
    /// reserves (<see cref="FallocateMode.KeepSize"/>), punches out (<see cref="FallocateMode.PunchHole"/>
    /// with KeepSize) or zeroes (<see cref="FallocateMode.ZeroRange"/>) the <paramref name="length"/>
    /// bytes at <paramref name="fileOffset"/>, without blocking the caller — so a write-ahead log can
    /// create and extend its files ahead of its writes. Threads and ExecutionContext as
    /// <see cref="ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.
    /// </summary>
    /// <remarks>
    /// Durable once a <see cref="FlushAsync"/> submitted after it completed has completed. The token
    /// cancels it while it waits for a worker; one that has started runs to its end (its result stands).
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed, or the context is disposed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> is negative, or <paramref name="length"/> is not positive.</exception>
    /// <exception cref="AioException">
    /// At the call: io_submit's errno — EAGAIN when <see cref="Capacity"/> requests are outstanding, EBADF
    /// for a descriptor not open or a handle not open for writing, EOPNOTSUPP for a <paramref name="mode"/>
    /// the kernel refuses (unknown bits, PunchHole without KeepSize, two operations). From the await: the
    /// request's -errno — EOPNOTSUPP when the file system cannot, ENOSPC, EFBIG past the largest file,
    /// ESPIPE for a pipe or FIFO, ENODEV for another file that is not regular, EINVAL for a misaligned
    /// collapse or insert.
    /// </exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    public ValueTask FallocateAsync(SafeFileHandle handle, long fileOffset, long length, FallocateMode mode = FallocateMode.None, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        var cb = Iocb.PrepFallocate(handle, fileOffset, length, mode);
        RequestSlot? slot = SubmitAwaitableSlot(ref cb, haveBudget: false, cancellationToken, out short version);
        return slot is not null ? new ValueTask(slot, version) : new ValueTask(WaitThenSubmitAsync(cb, cancellationToken).AsTask());
    }

    /// <summary>
    /// Makes the directory <paramref name="directoryPath"/> durable — its entries: files created,
    /// renamed or removed in it — with an fsync submitted through this context, so a write-ahead
    /// log can create and rotate files durably without blocking a thread. Opens the directory,
    /// awaits the fsync, closes it.
    /// </summary>
    /// <exception cref="AioException">At the call: open(2)'s errno (ENOENT, ENOTDIR) or io_submit's; from the await: the fsync's -errno.</exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    /// <exception cref="ObjectDisposedException">The context is disposed.</exception>
    public async ValueTask FlushDirectoryAsync(string directoryPath, CancellationToken cancellationToken = default)
    {
        using SafeFileHandle directory = AioFile.OpenDirectory(directoryPath);
        await FlushAsync(directory, dataOnly: false, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<int> SubmitAwaitable(ref Iocb cb, CancellationToken cancellationToken, CachedRead cached = CachedRead.NotTried)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        RequestSlot? slot = SubmitAwaitableSlot(ref cb, haveBudget: false, cancellationToken, out short version, cached);
        return slot is not null ? new ValueTask<int>(slot, version) : WaitThenSubmitAsync(cb, cancellationToken);
    }

    /// <summary>
    /// Submits one awaitable request. Null when the context is full and set to wait
    /// (<see cref="AioFullBehavior.Wait"/>) — or someone already waits, who must not be overtaken —
    /// and the caller did not bring a budget unit: the caller then waits for one.
    /// </summary>
    private RequestSlot? SubmitAwaitableSlot(ref Iocb cb, bool haveBudget, CancellationToken cancellationToken, out short version, CachedRead cached = CachedRead.NotTried)
    {
        version = 0;
        if (!haveBudget && _waitWhenFull && (Volatile.Read(ref _slotWaiterCount) != 0 || !_reqs.TryGet()))
        {
            return null;
        }

        haveBudget |= _waitWhenFull;
        if (!TryEnter())
        {
            if (haveBudget)
            {
                PutReqs(1);
            }

            ThrowHelper.ThrowDisposed();
        }

        RequestSlot? slot;
        int err;
        try
        {
            err = SubmitOne(ref cb, awaitable: true, haveBudget, cancellationToken, out slot, out version, cached: cached);

            if (err >= 0)
            {
                // Not alone (RequestSlot.MayCompleteInline), the engine may coalesce. The slot is
                // still ours to read: its awaiter cannot free it before the ValueTask exists.
                _engine.FlushAwaited(slot!, alone: slot!.MayCompleteInline);
            }
        }
        finally
        {
            Exit();
        }

        if (err < 0)
        {
            ThrowHelper.ThrowRefused(-err, FailedRequest.Of(in cb));
        }

        return slot!;
    }

    /// <summary>
    /// RandomAccess's argument checks, in its order and with its exception types: null handle,
    /// invalid handle, closed handle, negative offset. Thrown at the call, before the token is read.
    /// </summary>
    /// <summary>
    /// Reads <paramref name="length"/> bytes at <paramref name="fileOffset"/> into native memory at
    /// <paramref name="buffer"/> that the caller owns (a storage engine's aligned pages): nothing is
    /// pinned or wrapped; the memory must stay valid until the ValueTask completes. Otherwise as
    /// <see cref="ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.
    /// </summary>
    /// <returns>The bytes read (0 at end of file).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null, or <paramref name="buffer"/> is 0 with a positive length.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed, or the context is disposed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> or <paramref name="length"/> is negative.</exception>
    /// <exception cref="AioException">As the Memory overload; EFAULT at the call for an address outside user memory.</exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the buffer's type (Memory, a list, or an address and a length), so no call binds ambiguously.")]
    public unsafe ValueTask<int> ReadAsync(SafeFileHandle handle, nint buffer, int length, long fileOffset, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        ValidateNativeBuffer(buffer, length);
        CachedRead cached = CachedRead.NotTried;
        if (!cancellationToken.IsCancellationRequested && TryReadCached(handle, (byte*)buffer, length, fileOffset, out int read, out cached))
        {
            return new ValueTask<int>(read); // the page cache held it all (AioContext.CachedRead.cs)
        }

        var cb = length == 0
            ? new Iocb { Command = IocbCommand.Pread, Handle = handle, Offset = fileOffset }
            : Iocb.PrepPread(handle, buffer, length, fileOffset);
        return SubmitAwaitable(ref cb, cancellationToken, cached);
    }

    /// <summary>
    /// Writes <paramref name="length"/> bytes of native memory at <paramref name="buffer"/> at
    /// <paramref name="fileOffset"/>, with per-request <paramref name="flags"/>; the memory must
    /// stay valid until the ValueTask completes. Otherwise as
    /// <see cref="WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, AioRwFlags, CancellationToken)"/>.
    /// </summary>
    /// <returns>The bytes written (a short write is possible, as with pwrite).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null, or <paramref name="buffer"/> is 0 with a positive length.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed, or the context is disposed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> or <paramref name="length"/> is negative.</exception>
    /// <exception cref="AioException">As the Memory overload; EFAULT at the call for an address outside user memory.</exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the buffer's type (Memory, a list, or an address and a length), so no call binds ambiguously.")]
    public ValueTask<int> WriteAsync(SafeFileHandle handle, nint buffer, int length, long fileOffset, AioRwFlags flags = AioRwFlags.None, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        ValidateNativeBuffer(buffer, length);
        var cb = length == 0
            ? new Iocb { Command = IocbCommand.Pwrite, Handle = handle, Offset = fileOffset, RwFlags = flags }
            : Iocb.PrepPwrite(handle, buffer, length, fileOffset, 0, flags);
        return SubmitAwaitable(ref cb, cancellationToken);
    }

    private static void ValidateNativeBuffer(nint buffer, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (buffer == 0 && length > 0)
        {
            throw new ArgumentNullException(nameof(buffer), "A native buffer of a positive length cannot be at address 0.");
        }
    }

    private static void ValidateInput(SafeFileHandle handle, long fileOffset)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.IsInvalid)
        {
            ThrowHelper.ThrowInvalidHandle(nameof(handle));
        }

        if (handle.IsClosed)
        {
            ThrowHelper.ThrowFileClosed();
        }

        ArgumentOutOfRangeException.ThrowIfNegative(fileOffset);
    }

    /// <summary>The vector count of a vectored call; more than <see cref="MaxVectors"/> is io_submit's EINVAL, at the call (before renting an array for them).</summary>
    private static int CheckVectorCount(int count, IocbCommand command, SafeFileHandle handle, long fileOffset)
    {
        if (count > MaxVectors)
        {
            ThrowHelper.ThrowRefused(Errno.EINVAL, new FailedRequest { Command = command, Handle = handle, Offset = fileOffset, VectorCount = count });
        }

        return count;
    }

    /// <summary>
    /// This thread's vector array for a list's buffers during one vectored call: the request pins
    /// them into its own iovecs at submit, so the array is free again when the call returns (and is
    /// cleared then). Not ArrayPool: its buckets are trimmed on memory pressure, so under other
    /// allocation the next rent allocated again (216 B now and then, seen by the allocation test).
    /// </summary>
    private static class ScratchVectors<T>
    {
        [ThreadStatic]
        private static T[]? s_array;

        public static T[] Take(int count)
        {
            T[]? array = s_array;
            if (array is null || array.Length < count)
            {
                s_array = array = new T[Math.Max(count, 16)];
            }

            return array;
        }
    }
}
