// The thread-pool engine's workers: dedicated threads that take requests off the queue, run the
// blocking call and deliver its result. See the Design comment in ThreadPoolEngine.cs.
using Kaio.Core;

namespace Kaio.Engines.ThreadPool;

internal sealed unsafe partial class ThreadPoolEngine
{
    /// <summary>Starts a worker for a request just queued; false at the limit (or at teardown).</summary>
    private bool StartWorker()
    {
        if (Volatile.Read(ref _started) >= _workers.Length)
        {
            return false;
        }

        lock (_startLock)
        {
            if (_stopping || _started >= _workers.Length)
            {
                return false;
            }

            var worker = new Worker(this, _started);
            _workers[_started] = worker;
            Volatile.Write(ref _started, _started + 1);
            worker.Start();
            return true;
        }
    }

    private void Run(Worker self)
    {
        while (true)
        {
            RequestSlot? slot;
            lock (_queueLock)
            {
                slot = DequeueLocked();
                if (slot is null)
                {
                    // Read under the lock: Dispose sets it, then wakes every worker, so a worker
                    // that saw false here is woken after it went idle.
                    if (_stopping)
                    {
                        return;
                    }

                    if (!self.IsIdle)
                    {
                        self.IsIdle = true;
                        _idleWorkers[_idleCount++] = self;
                    }
                }
            }

            if (slot is null)
            {
                self.WaitForWork();
                continue;
            }

            long res = slot.IsCancelRequested ? -Errno.ECANCELED : Execute(slot, self);
            Completer.Complete(slot.Key, res, 0);
        }
    }

    private RequestSlot? DequeueLocked()
    {
        if (_queueCount == 0)
        {
            return null;
        }

        int tag = _queue[_queueHead];
        _queueHead = (_queueHead + 1) % _queue.Length;
        _queueCount--;
        return Completer.SlotOf(tag); // the core owns tag → slot
    }

    private static long Execute(RequestSlot slot, Worker self)
    {
        if (slot.IsStream && slot.Command is IocbCommand.Pread or IocbCommand.Pwrite or IocbCommand.Preadv or IocbCommand.Pwritev)
        {
            return self.StreamReadWrite(slot);
        }

        long res;
        int flags = (int)slot.RwFlags;
        do
        {
            switch (slot.Command)
            {
                case IocbCommand.Pread:
                    if (flags == 0)
                    {
                        res = Interop.ToRes(Interop.pread(slot.Fd, slot.Buffer, (nuint)slot.Length, slot.Offset));
                    }
                    else
                    {
                        Interop.iovec one = new() { iov_base = slot.Buffer, iov_len = (nuint)slot.Length };
                        res = Interop.ToRes(Interop.preadv2(slot.Fd, &one, 1, slot.Offset, flags));
                    }

                    break;
                case IocbCommand.Pwrite:
                    if (flags == 0)
                    {
                        res = Interop.ToRes(Interop.pwrite(slot.Fd, slot.Buffer, (nuint)slot.Length, slot.Offset));
                    }
                    else
                    {
                        Interop.iovec one = new() { iov_base = slot.Buffer, iov_len = (nuint)slot.Length };
                        res = Interop.ToRes(Interop.pwritev2(slot.Fd, &one, 1, slot.Offset, flags));
                    }

                    break;
                case IocbCommand.Preadv:
                    res = Interop.ToRes(Interop.preadv2(slot.Fd, slot.Iovecs, slot.IovecCount, slot.Offset, flags));
                    break;
                case IocbCommand.Pwritev:
                    res = Interop.ToRes(Interop.pwritev2(slot.Fd, slot.Iovecs, slot.IovecCount, slot.Offset, flags));
                    break;
                case IocbCommand.Fsync:
                    res = Interop.ToRes(Interop.fsync(slot.Fd));
                    break;
                case IocbCommand.Fdsync:
                    res = Interop.ToRes(Interop.fdatasync(slot.Fd));
                    break;
                case IocbCommand.Poll:
                    res = self.Poll(slot);
                    break;
                case IocbCommand.Fallocate:
                    res = Interop.ToRes(Interop.fallocate(slot.Fd, (int)slot.FallocateMode, slot.Offset, slot.TotalLength));
                    break;
                default:
                    res = -Errno.EINVAL;
                    break;
            }
        }
        while (res == -Errno.EINTR);

        return res;
    }

    private sealed class Worker
    {
        private readonly ThreadPoolEngine _engine;
        private readonly Thread _thread;
        private int _wakeFd = -1; // created by this worker on its first Poll; closed after Join
        private readonly int _idleFd;  // a blocking eventfd the worker waits on while idle (see Enqueue); -1 if none could be made

        internal Worker(ThreadPoolEngine engine, int index)
        {
            _engine = engine;
            Index = index;
            // Without one (out of descriptors) the worker naps 1 ms at a time while idle instead.
            _idleFd = Interop.eventfd(0, Interop.EFD_CLOEXEC);
            _thread = new Thread(() => _engine.Run(this))
            {
                IsBackground = true,
                Name = "kaio-tp-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
        }

        internal int Index { get; }

        /// <summary>On the engine's stack of idle workers: guarded by the engine's _queueLock.</summary>
        internal bool IsIdle { get; set; }

        /// <summary>Ends this worker's WaitForWork (or its next one): a request was queued for it, or teardown.</summary>
        internal void WakeForWork()
        {
            if (_idleFd >= 0)
            {
                ulong one = 1;
                _ = Interop.write(_idleFd, &one, sizeof(ulong));
            }
        }

        /// <summary>Waits for WakeForWork; returns early on EINTR (the caller looks at the queue again).</summary>
        internal void WaitForWork()
        {
            if (_idleFd < 0)
            {
                Thread.Sleep(1);
                return;
            }

            ulong count;
            _ = Interop.read(_idleFd, &count, sizeof(ulong));
        }

        internal void Start() => _thread.UnsafeStart();

        internal void Join()
        {
            _thread.Join();
            int fd = Interlocked.Exchange(ref _wakeFd, -1);
            if (fd >= 0)
            {
                Interop.close(fd);
            }

            if (_idleFd >= 0)
            {
                Interop.close(_idleFd);
            }
        }

        internal void Wake()
        {
            int fd = Volatile.Read(ref _wakeFd);
            if (fd >= 0)
            {
                ulong one = 1;
                Interop.write(fd, &one, sizeof(ulong));
            }
        }

        /// <summary>A cancellable poll(2) on the request's descriptor; the result is revents.</summary>
        internal long Poll(RequestSlot slot)
        {
            int err = RegisterCancel(slot);
            if (err < 0)
            {
                return err;
            }

            Interop.pollfd* fds = stackalloc Interop.pollfd[2];
            while (true)
            {
                fds[0] = new Interop.pollfd { fd = slot.Fd, events = slot.PollEvents };
                fds[1] = new Interop.pollfd { fd = _wakeFd, events = PollEvents.In };
                int rc = Interop.poll(fds, 2, -1);
                if (rc < 0)
                {
                    err = Interop.LastRes();
                    if (err == -Errno.EINTR)
                    {
                        continue;
                    }

                    return err;
                }

                if (fds[0].revents != 0)
                {
                    // aio_poll_complete(): the asked events plus the ones always reported.
                    return fds[0].revents & (slot.PollEvents | PollEvents.Err | PollEvents.Hup | PollEvents.Nval);
                }

                if (fds[1].revents != 0)
                {
                    ulong drained;
                    Interop.read(_wakeFd, &drained, sizeof(ulong));
                    if (slot.IsCancelRequested)
                    {
                        return -Errno.ECANCELED;
                    }
                }
            }
        }

        /// <summary>
        /// A read or write on a stream: the offset as the kernel's read_iter sees it, and a wait
        /// for the peer that Cancel can interrupt (see the Design comment).
        /// </summary>
        internal long StreamReadWrite(RequestSlot slot)
        {
            // sock_read_iter()/sock_write_iter(): "if (iocb->ki_pos != 0) return -ESPIPE;".
            if (slot.FileType == Interop.S_IFSOCK && slot.Offset != 0)
            {
                return -Errno.ESPIPE;
            }

            long offset = slot.FileType == Interop.S_IFCHR ? slot.Offset : -1;
            int flags = (int)slot.RwFlags;
            if ((flags & Interop.RWF_NOWAIT) != 0)
            {
                return Transfer(slot, ref offset, flags);
            }

            int err = RegisterCancel(slot);
            if (err < 0)
            {
                return err;
            }

            short events = slot.Command is IocbCommand.Pwrite or IocbCommand.Pwritev ? PollEvents.Out : PollEvents.In;
            int attempt = flags | Interop.RWF_NOWAIT;
            while (true)
            {
                long res = Transfer(slot, ref offset, attempt);
                if (res == -Errno.EOPNOTSUPP && attempt != flags)
                {
                    // No FMODE_NOWAIT on this file: wait for readiness first, then call plainly.
                    attempt = flags;
                    res = -Errno.EAGAIN;
                }

                if (res != -Errno.EAGAIN)
                {
                    return res;
                }

                res = WaitReady(slot, events);
                if (res < 0)
                {
                    return res;
                }
            }
        }

        /// <summary>One preadv2/pwritev2 of the request at <paramref name="offset"/>, which becomes -1 if the file refuses a position.</summary>
        private static long Transfer(RequestSlot slot, ref long offset, int flags)
        {
            bool vectored = slot.Command is IocbCommand.Preadv or IocbCommand.Pwritev;
            bool writes = slot.Command is IocbCommand.Pwrite or IocbCommand.Pwritev;
            Interop.iovec one = new() { iov_base = slot.Buffer, iov_len = (nuint)slot.Length };
            Interop.iovec* iov = vectored ? slot.Iovecs : &one;
            int count = vectored ? slot.IovecCount : 1;
            while (true)
            {
                long res = Interop.ToRes(writes
                    ? Interop.pwritev2(slot.Fd, iov, count, offset, flags)
                    : Interop.preadv2(slot.Fd, iov, count, offset, flags));
                if (res == -Errno.EINTR)
                {
                    continue;
                }

                if (res == -Errno.ESPIPE && offset != -1)
                {
                    // A character device opened nonseekable: its read_iter ignores the offset.
                    offset = -1;
                    continue;
                }

                return res;
            }
        }

        /// <summary>
        /// Waits until the stream is ready for <paramref name="events"/> (or hung up, or in error:
        /// the next call reports that) or the request is cancelled (-ECANCELED).
        /// </summary>
        private long WaitReady(RequestSlot slot, short events)
        {
            Interop.pollfd* fds = stackalloc Interop.pollfd[2];
            while (true)
            {
                fds[0] = new Interop.pollfd { fd = slot.Fd, events = events };
                fds[1] = new Interop.pollfd { fd = _wakeFd, events = PollEvents.In };
                if (Interop.poll(fds, 2, -1) < 0)
                {
                    int err = Interop.LastRes();
                    if (err == -Errno.EINTR)
                    {
                        continue;
                    }

                    return err;
                }

                if (fds[1].revents != 0)
                {
                    // Checked before readiness: a stream that polls ready but still answers
                    // EAGAIN (another reader took the data) must not keep a cancel waiting.
                    ulong drained;
                    Interop.read(_wakeFd, &drained, sizeof(ulong));
                    if (slot.IsCancelRequested)
                    {
                        return -Errno.ECANCELED;
                    }
                }

                if ((fds[0].revents & PollEvents.Nval) != 0)
                {
                    return -Errno.EBADF;
                }

                if (fds[0].revents != 0)
                {
                    return 0;
                }
            }
        }

        /// <summary>
        /// Makes this worker's wake eventfd (once) and registers the request's cancel callback,
        /// which wakes this worker; -ECANCELED when a cancel was asked already.
        /// </summary>
        private int RegisterCancel(RequestSlot slot)
        {
            if (_wakeFd < 0)
            {
                int fd = Interop.eventfd(0, Interop.EFD_CLOEXEC | Interop.EFD_NONBLOCK);
                if (fd < 0)
                {
                    return Interop.LastRes();
                }

                // Release: Cancel's Volatile.Read sees a complete descriptor.
                Volatile.Write(ref _wakeFd, fd);
            }

            // Release (and the CAS in TrySetCancelCallback after it): pairs with the read in Cancel.
            Volatile.Write(ref _engine._workerOf[slot.Tag], Index);
            // A cancel asked before this point only marked the request: it has not started, so
            // it is cancelled for sure, and no callback will wake this worker for it.
            return slot.TrySetCancelCallback() == CancelRegistration.CancelAsked ? -Errno.ECANCELED : 0;
        }
    }
}
