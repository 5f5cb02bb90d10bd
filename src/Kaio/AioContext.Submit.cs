// Design: io_submit. Each iocb goes through the kernel's io_submit_one() in the kernel's order:
// field checks (EINVAL), the slot budget (EAGAIN), the file (EBADF), the eventfd (EBADF), the
// opcode (EINVAL), then the command's own checks (aio_prep_rw, aio_fsync, aio_poll; for Kaio's
// Fallocate, the argument checks of vfs_fallocate that precede the file system). An accepted
// request holds a reference on its handles and pins on its buffers until its final completion.
// The batch is handed to the engine with one Flush (io_uring: one io_uring_enter).
// Threading: any number of submitters at once; each holds a user reference for the call, so a
// racing Dispose waits for it and every request it accepted is completed, never lost.
// fs/aio.c: SYSCALL_DEFINE3(io_submit), io_submit_one(), __io_submit_one(), aio_prep_rw().
using System.Runtime.InteropServices;
using Kaio.Core;
using Kaio.Diagnostics;
using Kaio.Engines;

namespace Kaio;

public sealed partial class AioContext
{
    /// <summary>The most vectors one request may carry (<c>UIO_MAXIOV</c>).</summary>
    public const int MaxVectors = 1024;

    private const AioRwFlags KnownRwFlags = AioRwFlags.HiPri | AioRwFlags.Dsync | AioRwFlags.Sync | AioRwFlags.NoWait | AioRwFlags.Append;

    /// <summary>
    /// io_submit(2): queues <paramref name="iocbs"/> in order and writes each accepted one's
    /// <see cref="Iocb.Key"/>. Stops at the first refusal.
    /// </summary>
    /// <returns>The number accepted (0 for an empty span). Each accepted request yields exactly one event.</returns>
    /// <exception cref="ObjectDisposedException">The context is disposed (the kernel's EINVAL).</exception>
    /// <exception cref="AioException">
    /// Thrown only when the first iocb is refused, with the errno of that refusal:
    /// EAGAIN — the context is full (Capacity requests outstanding);
    /// EBADF — no handle, a closed or invalid handle, a read on a handle not open for reading or a write or Fallocate on one not open for writing, or a bad <see cref="Iocb.EventFd"/>;
    /// EINVAL — an unknown command, <see cref="Iocb.CallbackRunsInline"/> with <see cref="Iocb.CallbackIsBlocking"/>, a negative offset, an offset plus length that overflows, more than <see cref="MaxVectors"/> vectors,
    /// Buffer/Buffers/WriteBuffers/Offset/RwFlags set on Fsync, Fdsync or Poll, Buffers or WriteBuffers set on Pread/Pwrite,
    /// Buffer on Preadv/Pwritev, WriteBuffers on Preadv, both Buffers and WriteBuffers on Pwritev,
    /// a Fallocate with a <see cref="Iocb.Length"/> ≤ 0 or with a buffer or RwFlags, a Length or FallocateMode on any other command;
    /// EOPNOTSUPP — unknown <see cref="AioRwFlags"/> bits; a <see cref="FallocateMode"/> with unknown bits or a combination
    /// the kernel refuses (PunchHole without KeepSize, two operations, KeepSize with CollapseRange or InsertRange).
    /// A later refusal ends the batch and is not reported; submit it again to see its error.
    /// </exception>
    /// <example>
    /// <code>
    /// Iocb[] batch = [Iocb.PrepPread(file, bufferA, 0, data: 1), Iocb.PrepPread(file, bufferB, 4096, data: 2)];
    /// int accepted = ctx.Submit(batch);     // keys written back into batch[i].Key
    /// </code>
    /// </example>
    public int Submit(Span<Iocb> iocbs)
    {
        if (!TryEnter())
        {
            ThrowHelper.ThrowDisposed();
        }

        int accepted = 0;
        int err = 0;
        try
        {
            // Ordered requests (Iocb.StartsAfterPrevious): the requests before each form its
            // group; a call without one pays one scan and allocates nothing.
            OrderedGroup? group = HasOrderedRequest(iocbs) ? new OrderedGroup() : null;
            for (; accepted < iocbs.Length; accepted++)
            {
                ref Iocb cb = ref iocbs[accepted];
                bool hold = cb.StartsAfterPrevious && accepted > 0;
                OrderedGroup? next = hold && HasOrderedRequest(iocbs[(accepted + 1)..]) ? new OrderedGroup() : null;
                var order = new Ordering(hold ? next : group, hold ? group : null);
                err = SubmitOne(ref cb, awaitable: false, haveBudget: false, default, out _, out _, order);
                if (err < 0)
                {
                    break;
                }

                if (hold)
                {
                    group = next;
                }
            }

            if (accepted > 0)
            {
                _engine.Flush();
            }
        }
        finally
        {
            Exit();
        }

        if (accepted == 0 && err < 0)
        {
            ThrowHelper.ThrowRefused(-err, FailedRequest.Of(in iocbs[0]), "io_submit: ");
        }

        return accepted;
    }

    /// <summary>Some request after the first has <see cref="Iocb.StartsAfterPrevious"/>.</summary>
    private static bool HasOrderedRequest(ReadOnlySpan<Iocb> iocbs)
    {
        for (int i = 1; i < iocbs.Length; i++)
        {
            if (iocbs[i].StartsAfterPrevious)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Where a request of a Submit call stands in its ordering (<see cref="OrderedGroup"/>).</summary>
    /// <param name="MemberOf">The group of a later ordered request: this one joins it.</param>
    /// <param name="HeldBy">This is the ordered request of that group: held until its members completed.</param>
    private readonly record struct Ordering(OrderedGroup? MemberOf, OrderedGroup? HeldBy);

    /// <summary>
    /// fs/aio.c: io_submit_one(). Returns 0 when accepted (slot set), else -errno. The caller
    /// holds a user reference. Four steps — the budget, Prepare (validate and fill a slot), Arm,
    /// HandOff to the engine — and one undo path for a refusal at any of them.
    /// </summary>
    private int SubmitOne(ref Iocb cb, bool awaitable, bool haveBudget, CancellationToken token, out RequestSlot? accepted, out short awaitVersion, Ordering order = default, CachedRead cached = CachedRead.NotTried)
    {
        accepted = null;
        awaitVersion = 0;

        // io_submit_one(): fields that cannot be valid whatever the file (aio_nbytes overflow).
        if (IsReadWrite(cb.Command) && cb.Offset < 0)
        {
            if (haveBudget)
            {
                PutReqs(1);
            }

            return KaioMetrics.OnRefused(_engineName, cb.Command, -Errno.EINVAL);
        }

        // get_reqs_available(): never blocks; a full context refuses. A caller that waited for a
        // slot (AioFullBehavior.Wait) already owns its unit; either way Undo's caller returns it.
        if (!haveBudget && !_reqs.TryGet())
        {
            return KaioMetrics.OnRefused(_engineName, cb.Command, -Errno.EAGAIN);
        }

        PendingRequest pending = default;
        int res = Prepare(ref cb, awaitable, cached, token, ref pending);
        if (res == 0)
        {
            if (awaitable)
            {
                awaitVersion = pending.Slot!.OpenAwait(); // published by Arm's release store
            }

            res = ArmAndHandOff(ref cb, awaitable, order, token, ref pending);
        }

        if (res < 0)
        {
            Undo(ref pending);
            PutReqs(1);
            return KaioMetrics.OnRefused(_engineName, cb.Command, res);
        }

        KaioMetrics.OnSubmitted(_engineName, cb.Command);
        accepted = pending.Slot;
        return 0;
    }

    /// <summary>What a request holds between validation and hand-off; <see cref="Undo"/> gives back whatever it took.</summary>
    private ref struct PendingRequest
    {
        /// <summary>The file's reference, until the slot owns it.</summary>
        public SafeHandle? Handle;

        /// <summary>The eventfd's reference, until the slot owns it.</summary>
        public SafeHandle? EventFd;

        /// <summary>The slot (its tag taken); once set it owns the references and the pins.</summary>
        public RequestSlot? Slot;

        /// <summary>Armed: a key was issued; an engine refusal disarms it.</summary>
        public bool Armed;

        /// <summary>The core completes it at arm, without the engine (Noop; a group-committed flush).</summary>
        public bool CompletesAtArm;
    }

    /// <summary>
    /// __io_submit_one() and aio_prep_rw(): references the handles, checks them and the command,
    /// takes a tag and fills its slot (pinning the buffers). Nothing is armed yet.
    /// </summary>
    private int Prepare(ref Iocb cb, bool awaitable, CachedRead cached, CancellationToken token, ref PendingRequest pending)
    {
        IocbCommand cmd = cb.Command;
        bool isRw = IsReadWrite(cmd);
        int fd = -1;
        HandleInfo? info = null;
        int res;
        if (cmd != IocbCommand.Noop)
        {
            // fget(aio_fildes) → EBADF, for every command: a handle whose descriptor is not open
            // is refused here, never in the event.
            res = AddRefHandle(cb.Handle, out pending.Handle, out fd);
            if (res < 0 || (res = _handles.Get(pending.Handle!, fd, out info)) < 0)
            {
                return res;
            }
        }

        if (cb.EventFd is not null)
        {
            // IOCB_FLAG_RESFD: eventfd_ctx_fdget(aio_resfd) → EBADF when not open, EINVAL when
            // not an eventfd (completion writes an 8-byte count into it: never into a file).
            res = AddRefHandle(cb.EventFd, out pending.EventFd, out int efd);
            if (res < 0 || (res = _handles.Get(pending.EventFd!, efd, out HandleInfo? efdInfo)) < 0)
            {
                return res;
            }

            if (!efdInfo!.IsEventFd)
            {
                return -Errno.EINVAL;
            }
        }

        res = CheckCommand(ref cb, cmd, isRw);
        if (res < 0)
        {
            return res;
        }

        // aio_prep_rw(): "req->ki_flags &= ~IOCB_HIPRI; /* no one is going to poll for this I/O */".
        // The one place HiPri is dropped: engines pass RwFlags on as they are.
        AioRwFlags engineFlags = cb.RwFlags & ~AioRwFlags.HiPri;
        IocbCommand deferredSync = default;
        if (isRw)
        {
            // aio_read()/aio_write(): FMODE_READ / FMODE_WRITE → EBADF.
            bool writes = cmd is IocbCommand.Pwrite or IocbCommand.Pwritev;
            if (writes ? !info!.CanWrite : !info!.CanRead)
            {
                return -Errno.EBADF;
            }

            if (writes && !info.IsStream && (engineFlags & (AioRwFlags.Dsync | AioRwFlags.Sync)) != 0 && GroupCommits(info))
            {
                // Group commit (DeferredWorkQueue): the engine writes without the flag, and the
                // completion waits on the device's work queue (seed 003) for one fdatasync (fsync
                // for Sync) that began after the write completed — shared by every write that
                // completed before it. Not for a stream: its write_iter syncs nothing
                // (pipe_write) and fdatasync would answer EINVAL, so the engine passes the flags
                // to pwritev2 as the kernel's AIO would.
                deferredSync = (engineFlags & AioRwFlags.Sync) != 0 ? IocbCommand.Fsync : IocbCommand.Fdsync;
                engineFlags &= ~(AioRwFlags.Dsync | AioRwFlags.Sync);
            }
        }
        else if (cmd == IocbCommand.Fallocate && !info!.CanWrite)
        {
            return -Errno.EBADF; // vfs_fallocate(): !(file->f_mode & FMODE_WRITE), after its argument checks
        }
        else if (cmd is IocbCommand.Fsync or IocbCommand.Fdsync && info!.FileType == Interop.S_IFREG && (_features & EngineFeatures.RealIo) != 0)
        {
            // A flush joins the group commit: it never reaches the engine; it completes at arm
            // and waits on the work queue for a sync that began after it was submitted, so it
            // covers every write that completed before it was submitted (FlushAsync's contract).
            deferredSync = cmd;
            pending.CompletesAtArm = true;
        }

        // aio_get_req(): a tag names the slot; the budget guarantees one is free.
        if (!_tags.TryAlloc(out int tag))
        {
            System.Diagnostics.Debug.Fail("tag pool empty with budget available");
            return -Errno.EAGAIN;
        }

        RequestSlot slot = SlotForNewTag(tag);
        pending.Slot = slot;
        slot.Command = cmd;
        slot.Fd = fd;
        slot.Offset = cb.Offset;
        slot.RwFlags = engineFlags;
        slot.PollEvents = cb.PollEvents;
        slot.Priority = isRw ? cb.Priority : (ushort)0; // only aio_prep_rw() reads aio_reqprio
        slot.FallocateMode = cb.FallocateMode; // None unless Fallocate (CheckCommand)
        slot.FileType = info?.FileType ?? 0;
        slot.IsDirect = info is not null && (info.OpenFlags & Interop.O_DIRECT) != 0;
        slot.Data = cb.Data;
        slot.AwaitedHandle = awaitable ? pending.Handle : null; // no reference: only a failure's message reads it
        slot.HandleRef = pending.Handle;   // owned by the slot from here; released at final
        slot.EventFdRef = pending.EventFd; // completion (or by Unpin in Undo)
        pending.Handle = pending.EventFd = null;
        slot.Callback = cb.Callback;
        slot.CallbackIsBlocking = cb.CallbackIsBlocking;
        slot.CallbackRunsInline = cb.CallbackRunsInline;
        slot.IsAwaitable = awaitable;
        // Alone: budget taken (this one's included) and not given back is the context's whole
        // outstanding work, continuations not yet run included — not merely what an engine holds.
        slot.MayCompleteInline = !awaitable || _reqs.Capacity - _reqs.Available <= 1;
        slot.Yields = cached == CachedRead.Yields;
        slot.CacheMissed = cached == CachedRead.Missed;
        slot.DeferredSync = deferredSync;
        slot.Device = info?.Device ?? 0;
        slot.Token = token;
        slot.Res = 0;
        slot.Res2 = 0;
        slot.SubmitTimestamp = KaioMetrics.SubmitTimestamp(); // before Arm: the request may complete inside the hand-off
        switch (cmd)
        {
            case IocbCommand.Pread:
            case IocbCommand.Pwrite:
                if (cb.BufferAddress != 0)
                {
                    slot.UseNativeBuffer(cb.BufferAddress, (int)cb.Length); // the caller's memory: no pin
                }
                else
                {
                    slot.Pin(cb.Buffer);
                }

                slot.TotalLength = slot.Length;
                break;
            case IocbCommand.Preadv:
                slot.PinVectors(cb.Buffers.Span);
                break;
            case IocbCommand.Pwritev:
                if (cb.WriteBuffers.IsEmpty)
                {
                    slot.PinVectors(cb.Buffers.Span);
                }
                else
                {
                    slot.PinVectors(cb.WriteBuffers.Span);
                }

                break;
            case IocbCommand.Fallocate:
                slot.TotalLength = cb.Length;
                break;
            default:
                slot.TotalLength = 0;
                break;
        }

        // aio_setup_rw(): import_ubuf()/import_iovec() → EFAULT for a range outside user memory;
        // then rw_verify_area(): pos + count overflows loff_t → EINVAL.
        if (isRw && (res = slot.CheckUserRanges()) < 0)
        {
            return res;
        }

        return isRw && slot.TotalLength > long.MaxValue - cb.Offset ? -Errno.EINVAL : 0;
    }

    /// <summary>Arms the prepared slot (the key is written back) and hands it to the engine.</summary>
    private int ArmAndHandOff(ref Iocb cb, bool awaitable, Ordering order, CancellationToken token, ref PendingRequest pending)
    {
        RequestSlot slot = pending.Slot!;
        slot.Group = null;
        if (awaitable && token.CanBeCanceled)
        {
            // Registered while the slot is still ours; a callback that fires before Arm sees the
            // old generation and does nothing, so the token is re-checked after Arm.
            slot.TokenRegistration = token.UnsafeRegister(s_cancelFromToken, slot);
        }

        cb.Key = slot.Arm();
        pending.Armed = true;
        if (awaitable && token.IsCancellationRequested)
        {
            slot.TryCancel(cb.Key); // marked: the engine finds it when it registers (CancelAsked)
        }

        if (order.MemberOf is { } group)
        {
            // Joins before it can complete; an engine refusal below leaves it counted, but the
            // call stops there, so the group's ordered request is never reached (never held).
            group.Add();
            slot.Group = group;
        }

        if (order.HeldBy is { } held)
        {
            // Accepted and keyed; handed on when its group's last member has completed.
            held.Held = slot;
            held.HeldCompletesAtArm = cb.Command == IocbCommand.Noop || pending.CompletesAtArm;
            if (held.Release())
            {
                HandOffHeld(held);
            }

            return 0;
        }

        if (cb.Command == IocbCommand.Noop || pending.CompletesAtArm)
        {
            // A departure: Noop completes at once with 0 (io_uring's NOP), on every engine. A
            // group-committed flush completes here too, and its event waits for its sync.
            CompleteRequest(slot.Key, 0, 0);
            return 0;
        }

        // 0: the engine owns the request until it completes it; -errno: refused, not completed.
        return _engine.Submit(slot);
    }

    /// <summary>
    /// An ordered request's turn (see <see cref="OrderedGroup"/>): from its Submit call, or from
    /// the completion of its group's last member, on whatever thread delivered it. It was
    /// accepted long ago, so an engine's refusal now becomes its event.
    /// </summary>
    private void HandOffHeld(OrderedGroup group)
    {
        RequestSlot slot = group.Held!;
        if (slot.IsCancelRequested)
        {
            // Asked while it waited its turn: it never starts (as an engine answers CancelAsked).
            CompleteRequest(slot.Key, -Errno.ECANCELED, 0);
            return;
        }

        if (group.HeldCompletesAtArm)
        {
            CompleteRequest(slot.Key, 0, 0);
            return;
        }

        int res = _engine.Submit(slot);
        if (res < 0)
        {
            CompleteRequest(slot.Key, res, 0);
            return;
        }

        _engine.Flush();
    }

    /// <summary>The one undo path of a refused request: gives back every reference, pin and tag it took.</summary>
    private void Undo(ref PendingRequest pending)
    {
        pending.Handle?.DangerousRelease();
        pending.EventFd?.DangerousRelease();
        if (pending.Slot is not { } slot)
        {
            return;
        }

        slot.TokenRegistration.Dispose();
        slot.TokenRegistration = default;
        slot.Unpin(); // releases the handle references the slot took
        slot.AwaitedHandle = null;
        if (pending.Armed)
        {
            slot.Disarm();
        }

        _tags.Free(slot.Tag);
    }

    /// <summary>
    /// A DSYNC/SYNC write on this file is made durable by group commit rather than by the engine:
    /// every buffered file on an engine that does real I/O (one sync for many writes beats one
    /// each: the measurements are in bench/README.md), and O_DIRECT files only on an engine that
    /// cannot pass the flag on (for them the native flag is a FUA write, cheaper than a flush).
    /// </summary>
    private bool GroupCommits(HandleInfo info)
        => (_features & EngineFeatures.NativeSyncFlags) == 0
            || ((_features & EngineFeatures.RealIo) != 0 && (info.OpenFlags & Interop.O_DIRECT) == 0);

    private static bool IsReadWrite(IocbCommand cmd) => cmd is IocbCommand.Pread or IocbCommand.Pwrite or IocbCommand.Preadv or IocbCommand.Pwritev;

    /// <summary>The command's own argument checks: aio_prep_rw(), aio_fsync(), aio_poll(), and the opcode switch.</summary>
    private static int CheckCommand(ref Iocb cb, IocbCommand cmd, bool isRw)
    {
        if (cb.CallbackRunsInline && cb.CallbackIsBlocking)
        {
            return -Errno.EINVAL; // a callback cannot both run inline and on the device work queue
        }

        if (cb.BufferAddress != 0)
        {
            // A native buffer: a Pread/Pwrite's only buffer, its length in Length.
            if (cmd is not (IocbCommand.Pread or IocbCommand.Pwrite) || !cb.Buffer.IsEmpty || cb.Length is < 0 or > int.MaxValue)
            {
                return -Errno.EINVAL;
            }
        }
        else if (cmd != IocbCommand.Fallocate && cb.Length != 0)
        {
            return -Errno.EINVAL; // a length with no native buffer, on a command that has no use for one
        }

        if (cmd != IocbCommand.Fallocate && cb.FallocateMode != FallocateMode.None)
        {
            return -Errno.EINVAL; // Fallocate's own field, on a command that has no use for it
        }

        switch (cmd)
        {
            case IocbCommand.Pread:
            case IocbCommand.Pwrite:
                if (!cb.Buffers.IsEmpty || !cb.WriteBuffers.IsEmpty)
                {
                    return -Errno.EINVAL;
                }

                break;
            case IocbCommand.Preadv:
                // import_iovec(): nr_segs > UIO_MAXIOV → EINVAL.
                if (!cb.Buffer.IsEmpty || !cb.WriteBuffers.IsEmpty || cb.Buffers.Length > MaxVectors)
                {
                    return -Errno.EINVAL;
                }

                break;
            case IocbCommand.Pwritev:
                // One vector array: Buffers, or the read-only WriteBuffers, not both.
                if (!cb.Buffer.IsEmpty || (!cb.Buffers.IsEmpty && !cb.WriteBuffers.IsEmpty)
                    || cb.Buffers.Length > MaxVectors || cb.WriteBuffers.Length > MaxVectors)
                {
                    return -Errno.EINVAL;
                }

                break;
            case IocbCommand.Fsync:
            case IocbCommand.Fdsync:
            case IocbCommand.Poll:
                // aio_fsync() / aio_poll(): aio_buf, aio_offset, aio_nbytes and aio_rw_flags must be 0.
                if (!cb.Buffer.IsEmpty || !cb.Buffers.IsEmpty || !cb.WriteBuffers.IsEmpty || cb.Offset != 0 || cb.RwFlags != AioRwFlags.None)
                {
                    return -Errno.EINVAL;
                }

                break;
            case IocbCommand.Fallocate:
                // A Kaio extension (io_uring's IORING_OP_FALLOCATE): no buffers, no RWF_* flags;
                // then vfs_fallocate()'s checks in its order: offset < 0 || len <= 0 → EINVAL,
                // the mode → EOPNOTSUPP. The file's own answers (ESPIPE for a pipe, ENODEV, EFBIG,
                // EOPNOTSUPP from a file system without ->fallocate) arrive in the event.
                if (!cb.Buffer.IsEmpty || !cb.Buffers.IsEmpty || !cb.WriteBuffers.IsEmpty || cb.RwFlags != AioRwFlags.None
                    || cb.Offset < 0 || cb.Length <= 0)
                {
                    return -Errno.EINVAL;
                }

                if (!IsValidFallocateMode(cb.FallocateMode))
                {
                    return -Errno.EOPNOTSUPP;
                }

                break;
            case IocbCommand.Noop:
                break;
            default:
                return -Errno.EINVAL; // "invalid aio operation"
        }

        if (isRw)
        {
            // aio_prep_rw(): IOCB_FLAG_IOPRIO → ioprio_check_cap(aio_reqprio), then
            // kiocb_set_rw_flags(): unknown RWF_* bits → EOPNOTSUPP.
            int res = CheckIoPriority(cb.Priority);
            if (res < 0)
            {
                return res;
            }

            if ((cb.RwFlags & ~KnownRwFlags) != 0)
            {
                return -Errno.EOPNOTSUPP;
            }
        }

        return 0;
    }

    /// <summary>
    /// fs/open.c: vfs_fallocate()'s mode switch. At most one operation besides KEEP_SIZE
    /// (FALLOC_FL_MODE_MASK); a punch needs KEEP_SIZE, a collapse or an insert refuses it; unknown
    /// bits and any other combination are EOPNOTSUPP.
    /// </summary>
    private static bool IsValidFallocateMode(FallocateMode mode) => (mode & ~FallocateMode.KeepSize) switch
    {
        FallocateMode.None or FallocateMode.ZeroRange => true,
        FallocateMode.PunchHole => (mode & FallocateMode.KeepSize) != 0,
        FallocateMode.CollapseRange or FallocateMode.InsertRange => (mode & FallocateMode.KeepSize) == 0,
        _ => false,
    };

    /// <summary>
    /// block/ioprio.c: ioprio_check_cap(). <paramref name="priority"/> is class &lt;&lt; 13 | hint &lt;&lt; 3 | level
    /// (0 means none was given). EINVAL for an unknown class or a level with class none; EPERM for
    /// the real-time class without CAP_SYS_NICE or CAP_SYS_ADMIN (checked on the calling thread).
    /// </summary>
    internal static int CheckIoPriority(ushort priority)
    {
        if (priority == 0)
        {
            return 0;
        }

        int level = priority & IoPriority.LevelMask;
        switch (priority >> IoPriority.ClassShift)
        {
            case IoPriority.ClassRealTime:
                return Interop.HasCapability(Interop.CAP_SYS_NICE) || Interop.HasCapability(Interop.CAP_SYS_ADMIN) ? 0 : -Errno.EPERM;
            case IoPriority.ClassBestEffort:
            case IoPriority.ClassIdle:
                return 0;
            case IoPriority.ClassNone:
                return level == 0 ? 0 : -Errno.EINVAL;
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>References an open handle for the life of a request; EBADF when it is not usable.</summary>
    private static int AddRefHandle(SafeHandle? handle, out SafeHandle? referenced, out int fd)
    {
        referenced = null;
        fd = -1;
        if (handle is null || handle.IsInvalid || handle.IsClosed)
        {
            return -Errno.EBADF;
        }

        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return -Errno.EBADF;
        }

        if (!added)
        {
            return -Errno.EBADF;
        }

        long raw = handle.DangerousGetHandle();
        if (raw < 0 || raw > int.MaxValue)
        {
            handle.DangerousRelease();
            return -Errno.EBADF;
        }

        referenced = handle;
        fd = (int)raw;
        return 0;
    }
}
