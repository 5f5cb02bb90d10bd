// Design: the .NET way on the same core. ReadAsync/WriteAsync/FlushAsync build an iocb on the
// stack and submit it through io_submit_one() like any other; the request's slot is itself the
// pooled IValueTaskSource, so a call allocates nothing in steady state. The CancellationToken
// cancels the request in flight (io_cancel by key); the request still completes exactly once
// and the awaiter then sees OperationCanceledException. The token is registered while the slot
// is still ours (before it is armed) and re-checked after, so a cancel can't fall in between;
// delivery disposes the registration before the slot can be reused, so a late callback can never
// reach a newer request.
using Kaio.Core;

namespace Kaio;

public sealed partial class AioContext
{
    /// <summary>
    /// Reads into <paramref name="buffer"/> at <paramref name="fileOffset"/>, like
    /// <see cref="RandomAccess.ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.
    /// Each returned <see cref="ValueTask{TResult}"/> must be awaited exactly once.
    /// </summary>
    /// <returns>The bytes read (0 at end of file).</returns>
    /// <exception cref="AioException">At the call: the errno of io_submit (EAGAIN when <see cref="Capacity"/> requests are outstanding, EBADF, EINVAL). From the await: the request's -errno.</exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    /// <exception cref="ObjectDisposedException">The context is disposed.</exception>
    public ValueTask<int> ReadAsync(SafeFileHandle handle, Memory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var cb = new Iocb { Command = IocbCommand.Pread, Handle = handle, Buffer = buffer, Offset = fileOffset };
        return SubmitAwaitable(ref cb, cancellationToken);
    }

    /// <summary>
    /// Writes <paramref name="buffer"/> at <paramref name="fileOffset"/>, like
    /// <see cref="RandomAccess.WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, CancellationToken)"/>,
    /// with per-request <paramref name="flags"/> (Dsync for a write that is durable when it completes).
    /// </summary>
    /// <returns>The bytes written (the kernel's result: a short write is possible, as with pwrite).</returns>
    /// <exception cref="AioException">As <see cref="ReadAsync"/>; EOPNOTSUPP for unknown flags.</exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    /// <exception cref="ObjectDisposedException">The context is disposed.</exception>
    public ValueTask<int> WriteAsync(SafeFileHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, AioRwFlags flags = AioRwFlags.None, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var cb = Iocb.PrepPwrite(handle, buffer, fileOffset, 0, flags);
        return SubmitAwaitable(ref cb, cancellationToken);
    }

    /// <summary>Makes the file durable: fsync, or fdatasync when <paramref name="dataOnly"/>.</summary>
    /// <remarks>
    /// Covers every write of the file that completed before this call. On a regular file it joins
    /// the group commit: it completes after an fsync/fdatasync that began after this call, shared
    /// with the DSYNC/SYNC writes and flushes waiting at that moment; a failed sync fails it with
    /// the sync's errno.
    /// </remarks>
    /// <exception cref="AioException">As <see cref="ReadAsync"/>; from the await, the sync's -errno (EIO).</exception>
    /// <exception cref="OperationCanceledException">The token cancelled the request.</exception>
    /// <exception cref="ObjectDisposedException">The context is disposed.</exception>
    public ValueTask FlushAsync(SafeFileHandle handle, bool dataOnly = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        var cb = new Iocb { Command = dataOnly ? IocbCommand.Fdsync : IocbCommand.Fsync, Handle = handle };
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

    private ValueTask<int> SubmitAwaitable(ref Iocb cb, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        RequestSlot? slot = SubmitAwaitableSlot(ref cb, haveBudget: false, cancellationToken, out short version);
        return slot is not null ? new ValueTask<int>(slot, version) : WaitThenSubmitAsync(cb, cancellationToken);
    }

    /// <summary>
    /// Submits one awaitable request. Null when the context is full and set to wait
    /// (<see cref="AioFullBehavior.Wait"/>) — or someone already waits, who must not be overtaken —
    /// and the caller did not bring a budget unit: the caller then waits for one.
    /// </summary>
    private RequestSlot? SubmitAwaitableSlot(ref Iocb cb, bool haveBudget, CancellationToken cancellationToken, out short version)
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
            err = SubmitOne(ref cb, awaitable: true, haveBudget, cancellationToken, out slot, out version);
            if (err >= 0)
            {
                // Alone: this is the context's only outstanding request (budget taken and not
                // given back), so completing it on this thread, before its ValueTask is even
                // returned, keeps no other awaiter waiting. Otherwise the engine may coalesce.
                _engine.FlushAwaited(alone: _reqs.Capacity - _reqs.Available <= 1);
            }
        }
        finally
        {
            Exit();
        }

        if (err < 0)
        {
            ThrowHelper.ThrowAio(-err, $"{cb.Command} refused at submit");
        }

        return slot!;
    }
}
