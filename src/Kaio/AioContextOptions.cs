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

    /// <summary>The process-wide budget to charge; null means <see cref="AioLimits.Default"/>.</summary>
    public AioLimits? Limits { get; set; }

    /// <summary>Tests only: builds the engine (for example a fault-injecting wrapper) instead of <see cref="Engine"/>.</summary>
    internal Func<Engines.IRequestCompleter, int, Engines.AioEngine>? EngineOverride { get; set; }
}
