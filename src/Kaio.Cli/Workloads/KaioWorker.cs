// Design: one job thread driving one AioContext the libaio way (fio's engines/libaio.c and
// io_u.c): keep iodepth requests in flight; each round prepares Iocbs for the free slots,
// submits them (io_submit; in one call, or iodepth_batch_submit at a time), then reaps at least
// iodepth_batch_complete_min completions (io_getevents). The
// Iocb's Data cookie is the slot number, so a completion finds its buffer, offset and timestamps
// in O(1). Requests the context refuses with EAGAIN stay queued for the next round. fsync /
// fdatasync every N writes are requests like the others, taking a slot of the depth as in fio.
// On the first failed request the thread stops issuing, drains what is in flight, and reports.
// Latencies as fio takes them for its async engines (io_u.c get_io_u(), engines/libaio.c and
// io_uring.c *_queued(), FIO_ASYNCIO_SETS_ISSUE_TIME): a request's start is when it is prepared,
// its issue when the submit call that carried it returned; slat = issue - start, clat =
// completion reaped - issue, lat = slat + clat. A request the kernel completes inside the submit
// call (io_uring on the page cache) has its time in slat, in fio as here.
// Threading: everything here runs on the job thread; the progress display only reads counters.
using System.Diagnostics;
using System.Globalization;
using Kaio.Cli.Jobs;
using Kaio.Cli.Verify;

namespace Kaio.Cli.Workloads;

/// <summary>Runs one job thread through Kaio's Submit/GetEvents ring path.</summary>
internal sealed class KaioWorker
{
    private enum Op : byte
    {
        Read,
        Write,
        Fsync,
        Fdatasync,
        Trim, // rw=trim, randtrim: fallocate(PUNCH_HOLE | KEEP_SIZE), fio's trim of a regular file
    }

    private static readonly double s_nanosecondsPerTick = 1e9 / Stopwatch.Frequency;
    private static readonly TimeSpan s_reapTimeout = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a drain may see no completion at all before the run is declared hung.</summary>
    private static readonly TimeSpan s_drainLimit = TimeSpan.FromSeconds(30);

    private readonly JobThread _thread;
    private readonly JobSpec _job;

    public KaioWorker(JobThread thread)
    {
        _thread = thread;
        _job = thread.Job;
    }

    public void Run()
    {
        using FileHandles handles = FileHandles.Open(_job, _thread.Paths, forBaseline: false);

        // Declared before the context so that they are freed after it: disposing the context waits
        // for every request still in flight (after an error, say), so no engine writes into freed memory.
        using AlignedBufferPool buffers = TargetFile.CreateBuffers(_job, _thread.Path);
        // This thread submits and waits for the events itself, so io_uring may finish each
        // completion on its next Submit or GetEvents instead of interrupting it (SubmittersReap).
        using AioContext context = Setup(_job, _job.IoDepth, AioFullBehavior.Refuse, submittersReap: true);
        _thread.EngineName = IoEngineChoice.DisplayName(context.Engine);
        _thread.EngineReason = context.EngineReason;
        var phase = new Phase(this, context, handles.Handles, buffers);
        _thread.RunMeasuredThenVerify(phase.Run);
    }

    /// <summary>A context of <paramref name="capacity"/> on the job's engine; a refusal as the job's one-line error.</summary>
    internal static AioContext Setup(JobSpec job, int capacity, AioFullBehavior whenFull, bool submittersReap)
    {
        AioEngineKind kind = job.IoEngine.Kind ?? AioEngineKind.Auto;
        try
        {
            return AioContext.Setup(capacity, new AioContextOptions { Engine = kind, WhenFull = whenFull, SubmittersReap = submittersReap });
        }
        catch (AioException e) when (e.Errno == Errno.EAGAIN)
        {
            throw new WorkloadException($"io_setup({capacity}) refused: the process-wide event budget (like aio-max-nr) is used up; lower iodepth or numjobs ({e.Message})") { Errno = e.Errno };
        }
        catch (AioException e)
        {
            string why = e.Message;
            if (kind != AioEngineKind.Auto)
            {
                AioEngineStatus? status = AioContext.ProbeEngines().FirstOrDefault(s => s.Kind == kind);
                if (status is { Available: false })
                {
                    why = status.Reason;
                }
            }

            throw new WorkloadException($"ioengine={job.IoEngine.Name} does not work here: {why}") { Errno = e.Errno };
        }
    }

    /// <summary>The slots and the loop of one phase (the workload, then the verify pass).</summary>
    private sealed class Phase
    {
        private readonly JobThread _thread;
        private readonly JobSpec _job;
        private readonly AioContext _context;
        private readonly SafeFileHandle[] _handles;
        private readonly AlignedBufferPool _buffers;
        private readonly Iocb[] _queued;
        private readonly IoEvent[] _events;
        private readonly Stack<int> _free;
        private readonly long[] _offsets;
        private readonly int[] _lengths;
        private readonly Op[] _ops;
        private readonly long[] _preparedAt;
        private readonly long[] _submittedAt;
        private readonly long[] _previousGeneration;
        private readonly ushort[] _priorities;
        private LatencyTarget? _target;
        private readonly byte[] _scratch;
        private int _queuedCount;
        private int _inFlight;
        private int _writesSinceFsync;
        private int _writesSinceFdatasync;
        private int _lastWriteFile; // several files: fsync/fdatasync go to the file last written
        private bool _paced; // the last Prepare stopped at a rate limit or thinktime

        // The latest clock read of this loop (Prepare, Submit, the reap). The loop's own checks
        // (runtime over, ramp over) reuse it instead of reading the clock again: a read costs
        // ~20 ns, and with the three every request needs (prepared, submitted, completed) it was
        // a quarter of the null engine's cost per request at QD1 (perf).
        private long _clock;

        // True while _clock still stands for "now": set by Submit's read and by the reap's when it
        // delivered one plain completion (bookkeeping only, tens of ns), cleared by anything slower
        // (a verify, a sleep, interval logs). Prepare then takes _clock as its requests' start
        // instead of reading the clock again, so a request's start is at most that bookkeeping
        // early: its slat and lat can only come out longer, never shorter. Two reads per request
        // instead of three: null engine QD1, perf: 22.7 % -> 10.9 % of the job thread in
        // clock_gettime; 3.24M -> 3.47M IOPS (medians of 9 alternated runs, ratios 0.86-1.16: the
        // machine is noisy).
        private bool _clockFresh;

        public Phase(KaioWorker worker, AioContext context, SafeFileHandle[] handles, AlignedBufferPool buffers)
        {
            _thread = worker._thread;
            _job = worker._job;
            _context = context;
            _handles = handles;
            _buffers = buffers;
            int depth = _job.IoDepth;
            _queued = new Iocb[depth];
            _events = new IoEvent[depth];
            _free = new Stack<int>(Enumerable.Range(0, depth).Reverse());
            _offsets = new long[depth];
            _lengths = new int[depth];
            _ops = new Op[depth];
            _preparedAt = new long[depth];
            _submittedAt = new long[depth];
            _previousGeneration = new long[depth];
            _priorities = new ushort[depth];
            _scratch = new byte[_job.BlockSize];
        }

        /// <summary>
        /// Runs until <paramref name="next"/> is done or <paramref name="deadline"/> passes, then
        /// drains. Completions from <paramref name="recordFrom"/> on are recorded (ramp_time before
        /// it; long.MaxValue: the verify pass, never recorded, and no syncs).
        /// </summary>
        public void Run(NextRequest next, Action<long> release, long deadline, long recordFrom)
        {
            bool record = recordFrom != long.MaxValue;
            _target = record && _job.LatencyTarget is not null ? new LatencyTarget(_job, Stopwatch.GetTimestamp()) : null;
            try
            {
                RunLoop(next, release, deadline, recordFrom, record);
            }
            finally
            {
                if (_target is not null)
                {
                    _thread.LatencyDepth = _target.BestDepth;
                }
            }
        }

        private void RunLoop(NextRequest next, Action<long> release, long deadline, long recordFrom, bool record)
        {
            int reapMax = Math.Min(_job.ReapMax, _events.Length);
            bool stopping = false;
            bool done = false;
            long lastProgress = _clock = Stopwatch.GetTimestamp();
            while (true)
            {
                if (!stopping && (_thread.Stop.IsCancellationRequested || _clock >= deadline || _thread.Error is not null || _thread.VerifyFailure is not null))
                {
                    stopping = true;
                    Unqueue(release);
                }

                if (!stopping && !done)
                {
                    done = Prepare(next, record);
                }

                while (_queuedCount > 0)
                {
                    Submit(release, record && _clock >= recordFrom); // the clock as Prepare read it
                    if (_queuedCount > 0 || stopping || done || _free.Count == 0)
                    {
                        break;
                    }

                    // iodepth_batch_submit: the next batch is prepared after this one went in, as fio
                    // prepares each request just before queueing it, so its slat holds no earlier call.
                    done = Prepare(next, record);
                }

                if (_inFlight == 0)
                {
                    if (stopping || (done && _queuedCount == 0) || _thread.Error is not null)
                    {
                        return;
                    }

                    _clockFresh = false;
                    if (_paced)
                    {
                        // rate, rate_iops or thinktime: the next request is due later.
                        Thread.Sleep(1);
                        continue;
                    }

                    // Refused with EAGAIN while nothing of ours is in flight: the budget is shared; back off.
                    Thread.Yield();
                    continue;
                }

                // iodepth_batch_complete_min: 0 polls, as fio's does.
                int reaped = _context.GetEvents(Math.Min(_job.BatchCompleteMin, _inFlight), _events.AsSpan(0, reapMax), s_reapTimeout);
                long now = _clock = Stopwatch.GetTimestamp();
                _clockFresh = reaped == 1 && _thread.Logs is null; // write_*_log may write a window out
                if (reaped == 0)
                {
                    if (stopping && Stopwatch.GetElapsedTime(lastProgress) > s_drainLimit)
                    {
                        _thread.Error ??= $"{_thread.Path}: {_inFlight} requests did not complete within {s_drainLimit.TotalSeconds:0} s";
                        return;
                    }

                    continue;
                }

                lastProgress = now;
                if (record && now >= recordFrom)
                {
                    _thread.Stats.RecordComplete(reaped);
                }

                for (int i = 0; i < reaped; i++)
                {
                    Complete(_events[i], now, release, record && now >= recordFrom);
                }

                // latency_target: each window is judged after a reap.
                _target?.Check(now);
            }
        }

        /// <summary>Queues requests for the free slots; returns true when the phase has issued everything.</summary>
        private bool Prepare(NextRequest next, bool record)
        {
            int limit = _job.BatchSubmit > 0 ? _job.BatchSubmit : int.MaxValue;

            // fio's start_time, one clock read for the batch: what separates its requests' starts
            // is only choosing their offsets, and the batch goes to the kernel right after.
            long now = _clockFresh ? _clock : (_clock = Stopwatch.GetTimestamp());
            _clockFresh = false;
            if (_target is { } target)
            {
                // latency_target: a lowered (or found) depth waits until nothing is in flight; the
                // found depth's final window then starts with fresh statistics.
                target.Draining &= _inFlight > 0;
                if (target.TakeReset(now))
                {
                    _thread.ResetStats(now);
                }

                if (target.Done)
                {
                    return true;
                }
            }

            while (_free.Count > 0 && _queuedCount < limit
                && (_target is null || (!_target.Draining && _inFlight + _queuedCount < _target.Depth)))
            {
                Op op;
                long offset = 0;
                int length = 0;
                if (record && _job.FsyncEvery > 0 && _writesSinceFsync >= _job.FsyncEvery)
                {
                    op = Op.Fsync;
                    _writesSinceFsync = 0;
                }
                else if (record && _job.FdatasyncEvery > 0 && _writesSinceFdatasync >= _job.FdatasyncEvery)
                {
                    op = Op.Fdatasync;
                    _writesSinceFdatasync = 0;
                }
                else
                {
                    NextIo result = next(out offset, out length, out bool isWrite, out bool isTrim);
                    if (result == NextIo.Done)
                    {
                        return true;
                    }

                    if (result is NextIo.Busy or NextIo.Later)
                    {
                        _paced = result == NextIo.Later;
                        return false;
                    }

                    _paced = false;

                    op = isTrim ? Op.Trim : isWrite ? Op.Write : Op.Read;
                }

                int slot = _free.Pop();
                _offsets[slot] = offset;
                _lengths[slot] = length;
                _ops[slot] = op;
                _preparedAt[slot] = now;
                Memory<byte> buffer = _buffers[slot][..length];
                (int file, long fileOffset) = op is Op.Read or Op.Write or Op.Trim ? _thread.Locate(offset) : (_lastWriteFile, 0L);
                SafeFileHandle handle = _handles[file];
                Iocb iocb = op switch
                {
                    Op.Read => Iocb.PrepPread(handle, buffer, fileOffset, (ulong)slot),
                    Op.Write => PrepareWrite(handle, buffer, offset, fileOffset, slot),
                    Op.Fsync => Iocb.PrepFsync(handle, (ulong)slot),
                    Op.Trim => Iocb.PrepFallocate(handle, fileOffset, length, FallocateMode.PunchHole | FallocateMode.KeepSize, (ulong)slot),
                    _ => Iocb.PrepFdsync(handle, (ulong)slot),
                };
                if (op == Op.Write)
                {
                    _lastWriteFile = file;
                }

                if (_thread.Priorities is { } priorities && op is Op.Read or Op.Write)
                {
                    // prio, prioclass, cmdprio_*: aio_reqprio / sqe->ioprio of this request.
                    iocb.Priority = priorities.Next(op == Op.Write, length);
                }

                _priorities[slot] = iocb.Priority;
                _queued[_queuedCount++] = iocb;
            }

            return false;
        }

        private Iocb PrepareWrite(SafeFileHandle handle, Memory<byte> buffer, long offset, long fileOffset, int slot)
        {
            if (_thread.Generations is not null)
            {
                _previousGeneration[slot] = _thread.Generations[offset / _job.BlockSize];
                BlockVerifier.Fill(buffer.Span, fileOffset, _job.Seed, _thread.NextGeneration(offset), _job); // the header names the offset in its file
            }
            else if (_thread.Content is { } content)
            {
                content.Fill(buffer.Span, content.NextSeed());
            }

            _writesSinceFsync++;
            _writesSinceFdatasync++;
            AioRwFlags flags = _job.Sync switch
            {
                SyncMode.Sync => AioRwFlags.Sync,
                SyncMode.Dsync => AioRwFlags.Dsync,
                _ => AioRwFlags.None,
            };
            return Iocb.PrepPwrite(handle, buffer, fileOffset, (ulong)slot, flags);
        }

        /// <summary>Gives back the slots of requests prepared but never submitted, undoing their generations.</summary>
        private void Unqueue(Action<long> release)
        {
            for (int i = 0; i < _queuedCount; i++)
            {
                int slot = (int)_queued[i].Data;
                if (_ops[slot] == Op.Write && _thread.Generations is not null)
                {
                    _thread.Generations[_offsets[slot] / _job.BlockSize] = _previousGeneration[slot];
                }

                if (_ops[slot] is Op.Read or Op.Write or Op.Trim)
                {
                    release(_offsets[slot]);
                }

                _free.Push(slot);
            }

            Array.Clear(_queued, 0, _queuedCount);
            _queuedCount = 0;
        }

        /// <summary>Submits the queue, iodepth_batch_submit requests per call (all at once by default).</summary>
        private void Submit(Action<long> release, bool record)
        {
            while (_queuedCount > 0)
            {
                int batch = _job.BatchSubmit > 0 ? Math.Min(_job.BatchSubmit, _queuedCount) : _queuedCount;
                int submitted;
                try
                {
                    submitted = _context.Submit(_queued.AsSpan(0, batch));
                }
                catch (AioException e) when (e.Errno == Errno.EAGAIN)
                {
                    submitted = 0;
                }
                catch (AioException e)
                {
                    Fail((int)_queued[0].Data, e.Errno, "submit refused");
                    Unqueue(release);
                    return;
                }

                long now = _clock = Stopwatch.GetTimestamp();
                _clockFresh = true;
                for (int i = 0; i < submitted; i++)
                {
                    _submittedAt[(int)_queued[i].Data] = now;
                }

                _inFlight += submitted;
                if (record)
                {
                    _thread.Stats.RecordDepth(_inFlight, submitted); // fio: each request submitted counts at the depth after the call
                    if (submitted > 0)
                    {
                        _thread.Stats.RecordSubmit(submitted);
                    }
                }

                int left = _queuedCount - submitted;
                if (left > 0 && submitted > 0)
                {
                    Array.Copy(_queued, submitted, _queued, 0, left);
                }

                Array.Clear(_queued, left, _queuedCount - left);
                _queuedCount = left;
                if (submitted < batch)
                {
                    // Back-pressure (EAGAIN or a short count): reap before trying again.
                    return;
                }
            }
        }

        private void Complete(in IoEvent ioEvent, long now, Action<long> release, bool record)
        {
            int slot = (int)ioEvent.Data;
            _inFlight--;
            Op op = _ops[slot];
            long offset = _offsets[slot];
            long slat = (long)((_submittedAt[slot] - _preparedAt[slot]) * s_nanosecondsPerTick);
            long clat = (long)((now - _submittedAt[slot]) * s_nanosecondsPerTick);
            try
            {
                if (ioEvent.Result < 0)
                {
                    Fail(slot, (int)-ioEvent.Result, "failed");
                    return;
                }

                if (op is Op.Fsync or Op.Fdatasync)
                {
                    if (record)
                    {
                        _thread.Stats.Sync.Record(slat + clat);
                    }

                    return;
                }

                int length = _lengths[slot];
                if (op == Op.Trim)
                {
                    // fallocate's result is 0, not a byte count.
                    if (record)
                    {
                        _thread.RecordTrim(length, slat, clat, _thread.Locate(offset).Offset, now);
                    }

                    return;
                }

                if (ioEvent.Result != length)
                {
                    _thread.Error ??= string.Create(CultureInfo.InvariantCulture,
                        $"{_thread.PathOf(offset)}: short {(op == Op.Read ? "read" : "write")} at offset {_thread.Locate(offset).Offset}: {ioEvent.Result} of {length} bytes");
                    _thread.ErrorErrno = Errno.EIO;
                    return;
                }

                if (op == Op.Read && _thread.ShouldVerifyRead(offset) && _thread.VerifyFailure is null)
                {
                    _thread.VerifyFailure = BlockVerifier.Check(_buffers[slot].Span, _thread.Locate(offset).Offset, _job.Seed, _thread.ExpectedGeneration(offset), _job, _scratch);
                    _clockFresh = false; // a checksum of the block: not bookkeeping
                }

                if (record)
                {
                    _thread.RecordIo(op == Op.Write, length, slat, clat, _thread.Locate(offset).Offset, now, _priorities[slot]);
                }

                if (_target is not null && !_target.Complete(slat + clat, now))
                {
                    _thread.Error ??= string.Create(CultureInfo.InvariantCulture,
                        $"{_thread.PathOf(offset)}: latency of {slat + clat} ns exceeds latency_target={FioValues.FormatTime(_job.LatencyTarget!.Value)} at queue depth 1 ({(op == Op.Read ? "read" : "write")} at offset {_thread.Locate(offset).Offset})");
                    _thread.ErrorErrno = ErrnoText.ETIMEDOUT;
                }
            }
            finally
            {
                if (op is Op.Read or Op.Write or Op.Trim)
                {
                    release(offset);
                }

                _free.Push(slot);
            }
        }

        private void Fail(int slot, int errno, string what)
        {
            if (_thread.Error is not null)
            {
                return;
            }

            bool data = _ops[slot] is Op.Read or Op.Write or Op.Trim;
            string request = _ops[slot] switch
            {
                Op.Read => string.Create(CultureInfo.InvariantCulture, $"read at offset {_thread.Locate(_offsets[slot]).Offset}"),
                Op.Write => string.Create(CultureInfo.InvariantCulture, $"write at offset {_thread.Locate(_offsets[slot]).Offset}"),
                Op.Trim => string.Create(CultureInfo.InvariantCulture, $"trim (punching a hole) at offset {_thread.Locate(_offsets[slot]).Offset}"),
                Op.Fsync => "fsync",
                _ => "fdatasync",
            };
            string meaning = errno == Errno.EINVAL && _job.Direct ? "invalid argument (EINVAL; misaligned direct I/O?)" : ErrnoText.Describe(errno);
            string path = data ? _thread.PathOf(_offsets[slot]) : _thread.Paths[_lastWriteFile];
            _thread.Error = $"{path}: {request} {what}: {meaning} on ioengine={_thread.EngineName}";
            _thread.ErrorErrno = errno;
        }
    }
}
