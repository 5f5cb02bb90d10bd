// Design: the baseline: the same job through .NET's own RandomAccess.ReadAsync/WriteAsync, which
// is what a .NET program has today. iodepth loops each keep one request outstanding, so the job
// has iodepth requests in flight as in the Kaio runner. The loops share the offset source and the
// statistics under one lock (the work under it is a few arithmetic steps; the I/O is outside).
// RandomAccess has no per-write durability flags and no fdatasync: sync/dsync open the file with
// O_SYNC/O_DSYNC instead, and both fsync and fdatasync are RandomAccess.FlushToDisk (fsync).
using System.Diagnostics;
using System.Globalization;
using Kaio.Cli.Jobs;
using Kaio.Cli.Verify;

namespace Kaio.Cli.Workloads;

/// <summary>Runs one job thread through RandomAccess with iodepth requests outstanding.</summary>
internal sealed class RandomAccessWorker
{
    private static readonly double s_nanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly JobThread _thread;
    private readonly JobSpec _job;
    private readonly Lock _gate = new();
    private int _writesSinceSync;
    private bool _stopping;

    public RandomAccessWorker(JobThread thread)
    {
        _thread = thread;
        _job = thread.Job;
    }

    public const string Reason = ".NET RandomAccess.ReadAsync/WriteAsync: blocking calls on the .NET thread pool (the baseline)";

    public void Run()
    {
        _thread.EngineName = "randomaccess";
        _thread.EngineReason = Reason;
        using SafeFileHandle handle = TargetFile.Open(_job, _thread.Path, forBaseline: true);
        using AlignedBufferPool buffers = TargetFile.CreateBuffers(_job, _thread.Path);

        // Warm up before the group's gate, outside the measured window: the first awaited
        // RandomAccess read JITs the async path and starts the thread pool's workers, which on a
        // loaded machine took longer than a short run (a 500 ms --compare baseline once finished
        // no read at all). Kaio's runners have no such cold start: they call on their own thread.
        try
        {
            RandomAccess.ReadAsync(handle, buffers[0], 0).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // The measured phase meets the same error and reports it as the job's.
        }

        _thread.RunMeasuredThenVerify(
            (next, release, deadline, recordFrom) => RunLoops(handle, buffers, next, release, deadline, recordFrom),
            beforeVerify: () => _stopping = false);
    }

    /// <summary>Completions from <paramref name="recordFrom"/> on are recorded; long.MaxValue: the verify pass.</summary>
    private void RunLoops(SafeFileHandle handle, AlignedBufferPool buffers, NextRequest next, Action<long> release, long deadline, long recordFrom)
    {
        var loops = new Task[_job.IoDepth];
        for (int i = 0; i < loops.Length; i++)
        {
            loops[i] = LoopAsync(handle, buffers[i], next, release, deadline, recordFrom);
        }

        Task.WaitAll(loops);
    }

    private async Task LoopAsync(SafeFileHandle handle, Memory<byte> buffer, NextRequest next, Action<long> release, long deadline, long recordFrom)
    {
        bool phaseRecords = recordFrom != long.MaxValue;
        byte[] scratch = new byte[_job.BlockSize];
        await Task.Yield();
        while (true)
        {
            long offset;
            bool isWrite;
            bool sync = false;
            long generation = 0;
            lock (_gate)
            {
                if (_stopping || _thread.Stop.IsCancellationRequested || Stopwatch.GetTimestamp() >= deadline)
                {
                    _stopping = true;
                    return;
                }

                int every = Math.Max(_job.FsyncEvery, _job.FdatasyncEvery);
                if (phaseRecords && every > 0 && _writesSinceSync >= every)
                {
                    _writesSinceSync = 0;
                    sync = true;
                    offset = 0;
                    isWrite = false;
                }
                else
                {
                    NextIo result = next(out offset, out isWrite);
                    if (result == NextIo.Done)
                    {
                        return;
                    }

                    if (result == NextIo.Busy)
                    {
                        offset = -1;
                    }
                    else if (isWrite)
                    {
                        _writesSinceSync++;
                        if (_thread.Generations is not null)
                        {
                            generation = _thread.NextGeneration(offset);
                        }
                    }
                }
            }

            if (offset < 0)
            {
                await Task.Yield();
                continue;
            }

            long prepared = Stopwatch.GetTimestamp();
            try
            {
                if (sync)
                {
                    RandomAccess.FlushToDisk(handle);
                    long synced = Stopwatch.GetTimestamp();
                    if (synced >= recordFrom)
                    {
                        lock (_gate)
                        {
                            _thread.Stats.Sync.Record((long)((synced - prepared) * s_nanosecondsPerTick));
                        }
                    }

                    continue;
                }

                int transferred;
                long submitted;
                if (isWrite)
                {
                    if (_thread.Generations is not null)
                    {
                        BlockVerifier.Fill(buffer.Span, offset, _job.Seed, generation, _job.Verify);
                    }

                    ValueTask pending = RandomAccess.WriteAsync(handle, (ReadOnlyMemory<byte>)buffer, offset);
                    submitted = Stopwatch.GetTimestamp();
                    await pending.ConfigureAwait(false);
                    transferred = buffer.Length;
                }
                else
                {
                    ValueTask<int> pending = RandomAccess.ReadAsync(handle, buffer, offset);
                    submitted = Stopwatch.GetTimestamp();
                    transferred = await pending.ConfigureAwait(false);
                }

                long completed = Stopwatch.GetTimestamp();
                lock (_gate)
                {
                    release(offset);
                    if (transferred != _job.BlockSize)
                    {
                        Fail(string.Create(CultureInfo.InvariantCulture, $"{_thread.Path}: short {(isWrite ? "write" : "read")} at offset {offset}: {transferred} of {_job.BlockSize} bytes"), Errno.EIO);
                        return;
                    }

                    if (!isWrite && _thread.ShouldVerifyRead(offset) && _thread.VerifyFailure is null)
                    {
                        _thread.VerifyFailure = BlockVerifier.Check(buffer.Span, offset, _job.Seed, _thread.ExpectedGeneration(offset), _job.Verify, scratch);
                        if (_thread.VerifyFailure is not null)
                        {
                            _stopping = true;
                        }
                    }

                    if (completed >= recordFrom)
                    {
                        long slat = (long)((submitted - prepared) * s_nanosecondsPerTick);
                        long clat = (long)((completed - submitted) * s_nanosecondsPerTick);
                        (isWrite ? _thread.Stats.Write : _thread.Stats.Read).Record(_job.BlockSize, slat, clat);
                        _thread.AddProgress(_job.BlockSize);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                WorkloadException failure = TargetFile.Describe(e, _thread.Path, sync ? "fsync" : string.Create(CultureInfo.InvariantCulture, $"{(isWrite ? "write" : "read")} at offset {offset}"));
                lock (_gate)
                {
                    Fail(failure.Message + " on ioengine=randomaccess", failure.Errno);
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
