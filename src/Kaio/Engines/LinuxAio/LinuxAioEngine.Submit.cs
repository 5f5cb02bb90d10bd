// The Linux AIO engine's submission side: the iocb at each request's tag, queued under
// _submitLock, and io_submit for the queue in chunks (Flush). See the Design comment in
// LinuxAioEngine.cs.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kaio.Core;

namespace Kaio.Engines.LinuxAio;

internal sealed unsafe partial class LinuxAioEngine
{
    public override int Submit(RequestSlot slot)
    {
        int tag = slot.Tag;
        if ((uint)tag >= (uint)_capacity)
        {
            return -Errno.EINVAL;
        }

        if (IsRouted(slot))
        {
            return Hosted().Submit(slot);
        }

        Interop.iocb* cb = &_iocbs[tag];
        *cb = default;
        cb->aio_data = slot.Key;
        cb->aio_fildes = (uint)slot.Fd;
        if (slot.Priority != 0)
        {
            cb->aio_flags |= Interop.IOCB_FLAG_IOPRIO;
            cb->aio_reqprio = (short)slot.Priority;
        }

        switch (slot.Command)
        {
            case IocbCommand.Pread:
            case IocbCommand.Pwrite:
                cb->aio_lio_opcode = slot.Command == IocbCommand.Pread ? Interop.IOCB_CMD_PREAD : Interop.IOCB_CMD_PWRITE;
                cb->aio_buf = (ulong)slot.Buffer;
                cb->aio_nbytes = (ulong)slot.Length;
                cb->aio_offset = slot.Offset;
                cb->aio_rw_flags = (int)slot.RwFlags;
                break;
            case IocbCommand.Preadv:
            case IocbCommand.Pwritev:
                cb->aio_lio_opcode = slot.Command == IocbCommand.Preadv ? Interop.IOCB_CMD_PREADV : Interop.IOCB_CMD_PWRITEV;
                cb->aio_buf = (ulong)slot.Iovecs;
                cb->aio_nbytes = (ulong)slot.IovecCount;
                cb->aio_offset = slot.Offset;
                cb->aio_rw_flags = (int)slot.RwFlags;
                break;
            case IocbCommand.Fsync:
                cb->aio_lio_opcode = Interop.IOCB_CMD_FSYNC;
                break;
            case IocbCommand.Fdsync:
                cb->aio_lio_opcode = Interop.IOCB_CMD_FDSYNC;
                break;
            case IocbCommand.Poll:
                cb->aio_lio_opcode = Interop.IOCB_CMD_POLL;
                cb->aio_buf = (ushort)slot.PollEvents; // aio_poll(): the events are in aio_buf
                break;
            default:
                return -Errno.EINVAL;
        }

        bool quiet = slot.Command is IocbCommand.Pread or IocbCommand.Pwrite or IocbCommand.Preadv or IocbCommand.Pwritev
            && !slot.IsDirect; // O_DIRECT as the core learned it at submit (one cache of handle facts)
        if (quiet)
        {
            // Release: published before the tag is queued; read by Flush's check and by Finish.
            Volatile.Write(ref _quietStamps[tag], QuietStamp(slot.Key));
            // Pairs with the reaper's read when it chooses how to wait, and Finish's decrement.
            Interlocked.Increment(ref _quietInFlight);
        }
        else
        {
            cb->aio_flags |= Interop.IOCB_FLAG_RESFD; // |=: IOCB_FLAG_IOPRIO may be set
            cb->aio_resfd = (uint)_eventFdNumber;
            // Pairs with the poller's read in MayKeepPolling; ended in EndOf.
            Interlocked.Increment(ref _signalledInFlight);

            // Nobody may ever reap it on a caller's thread: the reaper must be up (see MayParkIdle).
            bool needsAsync = !_callerWaits || slot.NeedsAsyncDelivery;
            _asyncTags[tag] = needsAsync ? (byte)1 : (byte)0;
            if (needsAsync)
            {
                Interlocked.Increment(ref _asyncInFlight); // full fence before reading _parked: pairs with ParkIdle
                UnparkIfIdle();
            }
        }

        CancelRegistration registration;
        lock (_submitLock)
        {
            _states[slot.Tag] = Stamp(slot, Queued);
            // Under the lock, before the tag is queued: a cancel asked from another thread from
            // now on waits for the lock in Cancel() and finds the request Queued. One asked before
            // only marked it (CancelAsked): it is never queued, and completes below.
            registration = slot.TrySetCancelCallback();
            Debug.Assert(registration != CancelRegistration.Completed, "it is not queued yet");
            if (registration == CancelRegistration.Registered)
            {
                Debug.Assert(_queueCount < _queue.Length);
                _queue[(_queueHead + _queueCount) % _queue.Length] = tag;
                _queueCount++;
            }
        }

        if (registration == CancelRegistration.CancelAsked)
        {
            Finish(tag, slot.Key, -Errno.ECANCELED, 0); // never reached the kernel: cancelled for sure
        }

        return 0;
    }

    public override void Flush() => SubmitQueued(reap: true);

    /// <summary>
    /// io_submit for every queued request, in chunks. With <paramref name="reap"/>, what completed
    /// inside io_submit is reaped and delivered here (not inline); without, the caller reaps it
    /// (the poller, one event at a time with its continuation inline).
    /// </summary>
    // The stackalloc'd scratch is written before it is read (only its first n entries are read):
    // not zeroing it saves a 1.5-2 KB memset per call on the per-request path.
    [SkipLocalsInit]
    private void SubmitQueued(bool reap)
    {
        Interop.iocb** batch = stackalloc Interop.iocb*[SubmitChunk];
        int* tags = stackalloc int[SubmitChunk];
        int* stamps = stackalloc int[SubmitChunk];
        while (true)
        {
            int n = 0;
            int cancelled = 0;
            lock (_submitLock)
            {
                while (_queueCount > 0 && n + cancelled < SubmitChunk)
                {
                    int tag = _queue[_queueHead];
                    _queueHead = (_queueHead + 1) % _queue.Length;
                    _queueCount--;
                    RequestSlot slot = Completer.SlotOf(tag)!;
                    if ((_states[slot.Tag] & StateMask) == CancelledQueued)
                    {
                        // Completed below, outside the lock, after the ones to submit.
                        tags[SubmitChunk - 1 - cancelled++] = tag;
                        continue;
                    }

                    _states[slot.Tag] = stamps[n] = Stamp(slot, Submitting);
                    tags[n] = tag;
                    batch[n++] = &_iocbs[tag];
                }
            }

            if (n == 0 && cancelled == 0)
            {
                return;
            }

            if (n > 0)
            {
                SubmitBatch(batch, tags, stamps, n);
                // A buffered request completed inside io_submit: its event is in the ring
                // already. Reap it here, on the thread that will want it, rather than have the
                // reaper deliver it while the submitter sleeps and is woken in turn.
                if (reap)
                {
                    _ = TryReap();
                }

                CheckQuiet(tags, n); // without the reap, a quiet request of the batch kicks the reaper: late, never lost
            }

            for (int i = 0; i < cancelled; i++)
            {
                // Never reached the kernel: the cancel wins for sure.
                int tag = tags[SubmitChunk - 1 - i];
                Finish(tag, Completer.SlotOf(tag)!.Key, -Errno.ECANCELED, 0);
            }
        }
    }

    /// <summary>
    /// After Flush reaped: a quiet request of this batch still in flight did not complete inside
    /// io_submit, and no eventfd will announce it. Kick the reaper, which then polls for it.
    /// </summary>
    private void CheckQuiet(int* tags, int n)
    {
        for (int i = 0; i < n; i++)
        {
            RequestSlot slot = Completer.SlotOf(tags[i])!;
            // Acquire: pairs with the release in Submit and in Finish. A stamp left by a newer
            // request in the same tag only causes a spurious kick.
            int stamp = Volatile.Read(ref _quietStamps[tags[i]]);
            if (stamp != 0 && stamp == QuietStamp(slot.Key))
            {
                Kick();
                return;
            }
        }
    }

    private void Kick()
    {
        long one = 1;
        _ = Interop.write(_eventFdNumber, &one, sizeof(long));
        // The reaper may rest (MayParkIdle reads _quietInFlight, raised before this): wake it to
        // poll for the quiet request that went asynchronous.
        UnparkIfIdle();
    }

    private static int QuietStamp(ulong key) => (int)(RequestKey.GenerationOf(key) << 1) | 1;

    /// <summary>io_submit for <paramref name="n"/> iocbs; a refused iocb completes with the refusal's errno.</summary>
    private void SubmitBatch(Interop.iocb** batch, int* tags, int* stamps, int n)
    {
        int done = 0;
        int again = 0;
        while (done < n)
        {
            uint tailBefore = _ring != null ? Volatile.Read(ref _ring->tail) : 0; // acquire: as in ReapLocked
            long ret = Interop.io_submit(_ctx, n - done, batch + done);
            // Pairs with nothing: a diagnostics counter read with Interlocked.Read.
            Interlocked.Increment(ref _submitCalls);
            if (ret > 0)
            {
                if (_ring != null)
                {
                    uint tailAfter = Volatile.Read(ref _ring->tail); // acquire: as in ReapLocked
                    uint completed = (tailAfter + _ring->nr - tailBefore) % _ring->nr;
                    // Diagnostics counter, read with Interlocked.Read.
                    Interlocked.Add(ref _inlineCompletions, Math.Min(completed, (uint)ret));
                }

                for (long i = 0; i < ret; i++)
                {
                    // Submitting → InKernel only for the request we submitted: if it already
                    // completed and its slot was reused, the state belongs to the next request
                    // and keeps its value. Full fence: pairs with the acquire spin in Cancel.
                    RequestSlot submitted = Completer.SlotOf(tags[done + i])!;
                    int submitting = stamps[done + i];
                    _ = Interlocked.CompareExchange(ref _states[submitted.Tag], (submitting & ~StateMask) | InKernel, submitting);
                }

                done += (int)ret;
                continue;
            }

            int errno = ret == 0 ? Errno.EAGAIN : (int)-ret; // EINTR is retried by the wrapper
            if (errno == Errno.EAGAIN && again++ < 100)
            {
                // The kernel is short of request slots: events we have not reaped yet still hold
                // them (refill_reqs_available). Reap, then retry.
                _ = TryReap();
                Thread.Yield();
                continue;
            }

            // io_submit_one() refused the first iocb of the rest (EBADF, EINVAL, EOPNOTSUPP...):
            // the kernel never took it, so it completes here with that errno, and the batch goes on.
            RequestSlot slot = Completer.SlotOf(tags[done])!;
            // Release: pairs with the acquire spin in Cancel, which must stop waiting for io_submit
            // before Complete can finish (Complete waits for a running cancel callback).
            Volatile.Write(ref _states[slot.Tag], (stamps[done] & ~StateMask) | Failed);
            Finish(tags[done], slot.Key, -errno, 0);
            done++;
            again = 0;
        }
    }

    private static int Stamp(RequestSlot slot, int state) => (int)(RequestKey.GenerationOf(slot.Key) << 4) | state;
}
