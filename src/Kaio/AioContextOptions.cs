namespace Kaio;

/// <summary>The engine that runs a context's requests.</summary>
public enum AioEngineKind
{
    /// <summary>The best engine that works on this kernel: io_uring, then Linux AIO, then the thread pool.</summary>
    Auto = 0,
    /// <summary>io_uring (Linux 5.6 or later): batched submission, native DSYNC, async cancel.</summary>
    IoUring,
    /// <summary>The kernel's own AIO (io_submit); truly asynchronous only with O_DIRECT.</summary>
    LinuxAio,
    /// <summary>Blocking calls on dedicated worker threads; works anywhere .NET runs on Linux.</summary>
    ThreadPool,
    /// <summary>Completes every request at once without doing I/O; measures the core's own cost.</summary>
    Null,
}

/// <summary>Options for <see cref="AioContext.Setup"/>.</summary>
public sealed class AioContextOptions
{
    /// <summary>The engine to use; <see cref="AioEngineKind.Auto"/> (the default) picks one and says why.</summary>
    /// <remarks>
    /// Auto takes io_uring where it works, then Linux AIO, then the thread pool
    /// (<see cref="AioContext.EngineReason"/> says which and why). As measured on a 2-core VM
    /// (bench/README.md): io_uring is fastest for Submit/GetEvents from the page cache and for
    /// durable appends; Linux AIO is the lightest on O_DIRECT with many awaiting tasks; the thread
    /// pool runs anywhere and is quick for cached reads from many awaiting tasks. Every engine
    /// passes the same conformance suite: the choice changes speed, not behaviour.
    /// </remarks>
    public AioEngineKind Engine { get; set; } = AioEngineKind.Auto;

    /// <summary>
    /// Worker threads of the thread-pool engine; 0 (the default) picks one per outstanding request
    /// up to 64.
    /// </summary>
    public int ThreadPoolWorkers { get; set; }

    /// <summary>
    /// What the awaitable calls (<see cref="AioContext.ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)">AioContext.ReadAsync</see>, <see cref="AioContext.WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, AioRwFlags, CancellationToken)">AioContext.WriteAsync</see>,
    /// <see cref="AioContext.FlushAsync"/>) do when <see cref="AioContext.Capacity"/> requests are
    /// outstanding: refuse with EAGAIN (the default, as io_submit) or wait, FIFO and cancellable, for a
    /// slot. <see cref="AioContext.Submit"/> always refuses.
    /// </summary>
    public AioFullBehavior WhenFull { get; set; } = AioFullBehavior.Refuse;

    /// <summary>
    /// Whether an awaited read (<see cref="AioContext.ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)">AioContext.ReadAsync</see>
    /// with one buffer) of a buffered file whose data the page cache holds completes inside the
    /// call — one preadv2(RWF_NOWAIT) on the calling thread, an already-completed ValueTask, the
    /// code after the await running on at once — instead of going through the engine. True by
    /// default: many tasks reading cached data then use every core, as RandomAccess does, at the cost
    /// of one system call. A read the cache does not wholly hold goes through the engine as before
    /// (and a thread yields through the engine after a run of inline completions, so that loops take
    /// turns). O_DIRECT files, streams and <see cref="AioContext.Submit"/> are never affected. Set
    /// false when every read must reach the engine.
    /// </summary>
    public bool CompleteCachedReadsInline { get; set; } = true;

    /// <summary>
    /// A promise that every thread that submits requests to this context soon makes a system call
    /// of its own — typically because it waits for their events (<see cref="AioContext.GetEvents"/>)
    /// in a submit-and-reap loop, as fio's jobs and most storage engines' I/O threads do. False by
    /// default.
    /// </summary>
    /// <remarks>
    /// io_uring only; the other engines ignore it. io_uring finishes a completion (posts its event)
    /// on the thread that submitted the request. By default the kernel interrupts that thread
    /// with an inter-processor interrupt to do so at once. With this set, the ring is created with
    /// IORING_SETUP_COOP_TASKRUN and IORING_SETUP_TASKRUN_FLAG (Linux 5.19; ignored before): the
    /// completion is finished the next time its submitting thread enters the kernel — its next
    /// submit or wait, any system call, or at the latest the next scheduler tick (4 ms at
    /// HZ=250) if it runs user code without one. A GetEvents that polls (minNr 0) on the
    /// submitting thread enters the kernel to finish its own completions when the kernel says some
    /// are pending, so a polling loop does not wait for the tick. fio sets the same flag.
    /// Measured on a 2-core VM, O_DIRECT 4 KiB random writes at queue depth 32 from one
    /// submit-and-reap thread: 0.70× fio's IOPS at 1.42× its CPU per write without it, 0.91–0.99×
    /// at 1.03–1.16× with it (bench/README.md). Leave it false when requests are submitted from threads that may then
    /// compute for milliseconds without a system call (for example thread-pool threads awaiting
    /// <see cref="AioContext.ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)">ReadAsync</see>
    /// among other work): their completions could then wait for the tick.
    /// </remarks>
    public bool SubmittersReap { get; set; }

    /// <summary>The process-wide budget to charge; null means <see cref="AioLimits.Default"/>.</summary>
    public AioLimits? Limits { get; set; }

    /// <summary>Tests only: builds the engine (for example a fault-injecting wrapper) instead of <see cref="Engine"/>.</summary>
    internal Func<Engines.IRequestCompleter, int, Engines.AioEngine>? EngineOverride { get; set; }
}
