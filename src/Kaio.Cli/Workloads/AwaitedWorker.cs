// Design: the awaited runners: iodepth loops, each keeping one request outstanding and awaiting
// it, as a .NET program written against an async file API does. Two faces drive the same loops:
// .NET's own RandomAccess.ReadAsync/WriteAsync (the baseline a .NET program has today) and
// Kaio's AioContext.ReadAsync/WriteAsync/FlushAsync (`ioengine=io_uring:await`...), so the two
// differ only in the calls they make. The loops are generic over a struct face, so neither pays a
// virtual call the other does not. They share the offset source and the statistics under one
// lock (the work under it is a few arithmetic steps; the I/O is outside); each loop starts with
// Task.Yield, so the loops run on the .NET thread pool as a server's tasks would, and awaits with
// ConfigureAwait(false).
// RandomAccess has no per-write durability flags and no fdatasync: sync/dsync open the file with
// O_SYNC/O_DSYNC instead, and both fsync and fdatasync are RandomAccess.FlushToDisk (fsync,
// blocking the loop's thread). Kaio's face passes RWF_DSYNC/RWF_SYNC per write and awaits
// FlushAsync (fsync or fdatasync, joining the group commit).
using System.Diagnostics;
using System.Globalization;
using Kaio.Cli.Jobs;
using Kaio.Cli.Verify;

namespace Kaio.Cli.Workloads;

/// <summary>One awaited write: Kaio's returns the bytes written; RandomAccess's writes all or throws.</summary>
internal readonly struct PendingWrite
{
    public PendingWrite(ValueTask<int> counted) => (Counted, IsCounted) = (counted, true);

    public PendingWrite(ValueTask whole) => Whole = whole;

    public ValueTask<int> Counted { get; }

    public ValueTask Whole { get; }

    public bool IsCounted { get; }
}

/// <summary>The calls an awaited loop makes.</summary>
internal interface IAwaitedFace
{
    /// <summary>The engine's name in errors (<c>randomaccess</c>, <c>io_uring:await</c>).</summary>
    string Name { get; }

    /// <summary>Reads file <paramref name="file"/> (an index into the job thread's files).</summary>
    ValueTask<int> ReadAsync(int file, Memory<byte> buffer, long offset);

    PendingWrite WriteAsync(int file, ReadOnlyMemory<byte> buffer, long offset);

    /// <summary>fsync, or fdatasync when <paramref name="dataOnly"/>.</summary>
    ValueTask SyncAsync(int file, bool dataOnly);

    /// <summary>A trim: punches a hole (fallocate PUNCH_HOLE | KEEP_SIZE).</summary>
    ValueTask TrimAsync(int file, long offset, int length);
}

/// <summary>.NET's RandomAccess: the baseline.</summary>
internal readonly struct RandomAccessFace(SafeFileHandle[] handles) : IAwaitedFace
{
    public const string Reason = ".NET RandomAccess.ReadAsync/WriteAsync: blocking calls on the .NET thread pool (the baseline)";

    public string Name => "randomaccess";

    public ValueTask<int> ReadAsync(int file, Memory<byte> buffer, long offset) => RandomAccess.ReadAsync(handles[file], buffer, offset);

    public PendingWrite WriteAsync(int file, ReadOnlyMemory<byte> buffer, long offset) => new(RandomAccess.WriteAsync(handles[file], buffer, offset));

    public ValueTask SyncAsync(int file, bool dataOnly)
    {
        RandomAccess.FlushToDisk(handles[file]);
        return ValueTask.CompletedTask;
    }

    public ValueTask TrimAsync(int file, long offset, int length) => throw new IOException("trims need a Kaio engine: .NET RandomAccess cannot punch holes");
}

/// <summary>Kaio's awaitable face on one context.</summary>
internal readonly struct KaioFace(AioContext context, SafeFileHandle[] handles, AioRwFlags writeFlags, string name) : IAwaitedFace
{
    public string Name => name;

    public ValueTask<int> ReadAsync(int file, Memory<byte> buffer, long offset) => context.ReadAsync(handles[file], buffer, offset);

    public PendingWrite WriteAsync(int file, ReadOnlyMemory<byte> buffer, long offset) => new(context.WriteAsync(handles[file], buffer, offset, writeFlags));

    public ValueTask SyncAsync(int file, bool dataOnly) => context.FlushAsync(handles[file], dataOnly);

    public ValueTask TrimAsync(int file, long offset, int length) => context.FallocateAsync(handles[file], offset, length, FallocateMode.PunchHole | FallocateMode.KeepSize);
}

/// <summary>The awaited runners' entry points.</summary>
internal static class AwaitedWorker
{
    /// <summary>Runs one job thread through .NET's RandomAccess.</summary>
    public static void RunRandomAccess(JobThread thread)
    {
        thread.EngineName = "randomaccess";
        thread.EngineReason = RandomAccessFace.Reason;
        using FileHandles handles = FileHandles.Open(thread.Job, thread.Paths, forBaseline: true);
        using AlignedBufferPool buffers = TargetFile.CreateBuffers(thread.Job, thread.Path);
        new AwaitedLoops<RandomAccessFace>(thread, new RandomAccessFace(handles.Handles)).Run(buffers);
    }

    /// <summary>Runs one job thread through Kaio's ReadAsync/WriteAsync/FlushAsync, iodepth tasks on one context.</summary>
    public static void RunKaio(JobThread thread)
    {
        JobSpec job = thread.Job;
        using FileHandles handles = FileHandles.Open(job, thread.Paths, forBaseline: false);

        // Declared before the context so that they are freed after it (disposing the context waits for what is in flight).
        using AlignedBufferPool buffers = TargetFile.CreateBuffers(job, thread.Path);

        // Each loop has one request outstanding, so iodepth slots are enough; Wait keeps a full
        // context from ever refusing (as RandomAccess never does).
        // Tasks submit from whatever thread runs their continuation, which then goes on to other
        // work: completions keep interrupting it (no SubmittersReap).
        using AioContext context = KaioWorker.Setup(job, job.IoDepth, AioFullBehavior.Wait, submittersReap: false);
        string name = IoEngineChoice.DisplayName(context.Engine, awaited: true);
        thread.EngineName = name;
        thread.EngineReason = context.EngineReason + "; awaited ReadAsync/WriteAsync from iodepth tasks";
        AioRwFlags writeFlags = job.Sync switch
        {
            SyncMode.Sync => AioRwFlags.Sync,
            SyncMode.Dsync => AioRwFlags.Dsync,
            _ => AioRwFlags.None,
        };
        new AwaitedLoops<KaioFace>(thread, new KaioFace(context, handles.Handles, writeFlags, name)).Run(buffers);
    }
}

/// <summary>Runs one job thread as iodepth awaiting loops over <typeparamref name="TFace"/>.</summary>
internal sealed class AwaitedLoops<TFace>
    where TFace : struct, IAwaitedFace
{
    private static readonly double s_nanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly JobThread _thread;
    private readonly JobSpec _job;
    private readonly TFace _face;
    private readonly Lock _gate = new();
    private int _outstanding; // loops with a request in flight; under _gate
    private int _writesSinceFsync;
    private int _writesSinceFdatasync;
    private int _lastWriteFile; // several files: fsync/fdatasync go to the file last written; under _gate
    private bool _stopping;

    public AwaitedLoops(JobThread thread, TFace face)
    {
        _thread = thread;
        _job = thread.Job;
        _face = face;
    }

    public void Run(AlignedBufferPool buffers)
    {
        // Warm up before the group's gate, outside the measured window: the first awaited read
        // JITs the async path and starts the thread pool's workers, which on a loaded machine took
        // longer than a short run (a 500 ms --compare baseline once finished no read at all).
        try
        {
            _face.ReadAsync(0, buffers[0], 0).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // The measured phase meets the same error and reports it as the job's.
        }

        _thread.RunMeasuredThenVerify(
            (next, release, deadline, recordFrom) => RunLoops(buffers, next, release, deadline, recordFrom),
            beforeVerify: () => _stopping = false);
    }

    /// <summary>Completions from <paramref name="recordFrom"/> on are recorded; long.MaxValue: the verify pass.</summary>
    private void RunLoops(AlignedBufferPool buffers, NextRequest next, Action<long> release, long deadline, long recordFrom)
    {
        var loops = new Task[_job.IoDepth];
        for (int i = 0; i < loops.Length; i++)
        {
            loops[i] = LoopAsync(buffers[i], next, release, deadline, recordFrom);
        }

        Task.WaitAll(loops);
    }

    private async Task LoopAsync(Memory<byte> buffer, NextRequest next, Action<long> release, long deadline, long recordFrom)
    {
        bool phaseRecords = recordFrom != long.MaxValue;
        byte[] scratch = new byte[_job.BlockSize];
        await Task.Yield();
        while (true)
        {
            long offset;
            int length = 0;
            bool isWrite;
            bool isTrim = false;
            bool sync = false;
            bool dataOnly = false;
            int file = 0;
            long fileOffset = 0;
            long generation = 0;
            ulong contentSeed = 0;
            lock (_gate)
            {
                long now = Stopwatch.GetTimestamp();
                if (_stopping || _thread.Stop.IsCancellationRequested || now >= deadline)
                {
                    _stopping = true;
                    return;
                }

                // fsync and fdatasync every N writes each count on their own, as in the Submit runner.
                if (phaseRecords && _job.FsyncEvery > 0 && _writesSinceFsync >= _job.FsyncEvery)
                {
                    _writesSinceFsync = 0;
                    sync = true;
                    file = _lastWriteFile;
                    offset = 0;
                    isWrite = false;
                }
                else if (phaseRecords && _job.FdatasyncEvery > 0 && _writesSinceFdatasync >= _job.FdatasyncEvery)
                {
                    _writesSinceFdatasync = 0;
                    sync = true;
                    dataOnly = true;
                    file = _lastWriteFile;
                    offset = 0;
                    isWrite = false;
                }
                else
                {
                    NextIo result = next(out offset, out length, out isWrite, out isTrim);
                    if (result == NextIo.Done)
                    {
                        return;
                    }

                    if (result is NextIo.Busy or NextIo.Later)
                    {
                        offset = result == NextIo.Later ? -2 : -1;
                    }
                    else
                    {
                        (file, fileOffset) = _thread.Locate(offset);
                    }

                    if (result == NextIo.Ready && isWrite && !isTrim)
                    {
                        _lastWriteFile = file;
                        _writesSinceFsync++;
                        _writesSinceFdatasync++;
                        if (_thread.Generations is not null)
                        {
                            generation = _thread.NextGeneration(offset);
                        }
                        else if (_thread.Content is { } content)
                        {
                            contentSeed = content.NextSeed();
                        }
                    }
                }

                if (offset >= 0)
                {
                    _outstanding++;
                    if (phaseRecords && now >= recordFrom)
                    {
                        _thread.Stats.RecordDepth(_outstanding); // the job's effective depth: loops with a request out
                        _thread.Stats.RecordSubmit(1); // one request per call, as fio's sync engines count it
                    }
                }
            }

            if (offset < 0)
            {
                // -2: paced by rate, rate_iops or thinktime; -1: the block is in flight.
                await (offset == -2 ? Task.Delay(1) : Task.CompletedTask).ConfigureAwait(false);
                await Task.Yield();
                continue;
            }

            long prepared = Stopwatch.GetTimestamp();
            try
            {
                if (sync)
                {
                    await _face.SyncAsync(file, dataOnly).ConfigureAwait(false);
                    long synced = Stopwatch.GetTimestamp();
                    lock (_gate)
                    {
                        _outstanding--;
                        if (synced >= recordFrom)
                        {
                            _thread.Stats.Sync.Record((long)((synced - prepared) * s_nanosecondsPerTick));
                        }
                    }

                    continue;
                }

                int transferred;
                long submitted;
                Memory<byte> request = buffer[..length];
                if (isTrim)
                {
                    ValueTask trim = _face.TrimAsync(file, fileOffset, length);
                    submitted = Stopwatch.GetTimestamp();
                    await trim.ConfigureAwait(false);
                    transferred = length;
                }
                else if (isWrite)
                {
                    if (_thread.Generations is not null)
                    {
                        BlockVerifier.Fill(request.Span, fileOffset, _job.Seed, generation, _job); // the header names the offset in its file
                    }
                    else
                    {
                        _thread.Content?.Fill(request.Span, contentSeed);
                    }

                    PendingWrite pending = _face.WriteAsync(file, request, fileOffset);
                    submitted = Stopwatch.GetTimestamp();
                    if (pending.IsCounted)
                    {
                        transferred = await pending.Counted.ConfigureAwait(false);
                    }
                    else
                    {
                        await pending.Whole.ConfigureAwait(false);
                        transferred = request.Length;
                    }
                }
                else
                {
                    ValueTask<int> pending = _face.ReadAsync(file, request, fileOffset);
                    submitted = Stopwatch.GetTimestamp();
                    transferred = await pending.ConfigureAwait(false);
                }

                long completed = Stopwatch.GetTimestamp();
                lock (_gate)
                {
                    _outstanding--;
                    release(offset);
                    if (transferred != length)
                    {
                        Fail(string.Create(CultureInfo.InvariantCulture, $"{_thread.Paths[file]}: short {(isWrite ? "write" : "read")} at offset {fileOffset}: {transferred} of {length} bytes"), Errno.EIO);
                        return;
                    }

                    if (!isWrite && _thread.ShouldVerifyRead(offset) && _thread.VerifyFailure is null)
                    {
                        _thread.VerifyFailure = BlockVerifier.Check(request.Span, fileOffset, _job.Seed, _thread.ExpectedGeneration(offset), _job, scratch);
                        if (_thread.VerifyFailure is not null)
                        {
                            _stopping = true;
                        }
                    }

                    if (completed >= recordFrom)
                    {
                        long slat = (long)((submitted - prepared) * s_nanosecondsPerTick);
                        long clat = (long)((completed - submitted) * s_nanosecondsPerTick);
                        if (isTrim)
                        {
                            _thread.RecordTrim(length, slat, clat, fileOffset, completed);
                        }
                        else
                        {
                            _thread.RecordIo(isWrite, length, slat, clat, fileOffset, completed);
                        }
                        _thread.Stats.RecordComplete(1);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                WorkloadException failure = TargetFile.Describe(e, _thread.Paths[file], sync ? (dataOnly ? "fdatasync" : "fsync") : string.Create(CultureInfo.InvariantCulture, $"{(isWrite ? "write" : "read")} at offset {fileOffset}"));
                lock (_gate)
                {
                    Fail(failure.Message + " on ioengine=" + _face.Name, failure.Errno);
                }

                return;
            }
        }
    }

    private void Fail(string message, int errno)
    {
        _stopping = true;
        if (_thread.Error is null)
        {
            _thread.Error = message;
            _thread.ErrorErrno = errno;
        }
    }
}
