// Design: one request slot — the kernel's struct kiocb, living in a lazily allocated page of the
// context (seed 002) and named by a tag (its index). A slot is reused; each use has a new
// generation, and the state word packs generation and state so that every transition is one
// compare-and-swap that also checks the generation: a stale key can never cancel or complete a
// newer request in the same slot.
//
// States (the seed's ki_cancel word, made explicit):
//   Free        — on the tag pool; no request.
//   Armed       — submitted, cancellable, no engine callback            (ki_cancel == NULL)
//   Callback    — submitted, the engine registered its cancel callback  (ki_cancel == fn)
//   Cancelling  — a canceller is running the engine callback            (KIOCB_CANCELLING)
//   Cancelled   — cancel was asked; the engine may honour it at dequeue (KIOCB_CANCELLED)
//   Completed   — the engine's completion won; delivery in progress or done
// Transitions: Free→Armed (submit, sole owner); Armed→Callback (engine, TrySetCancelCallback;
// on Cancelled it answers CancelAsked and the engine stops the request in line, no callback);
// Armed→Cancelled and Callback→Cancelling→Cancelled (cancel); {Armed,Callback,Cancelled}→Completed
// (completion; it waits out Cancelling so a callback never runs after completion returned);
// Completed→Free (after delivery, with the generation bumped on the next arm).
//
// Threading: request fields are written by the submitting thread before the release store that
// arms the slot, and read by the engine after; delivery fields are written by the completing
// thread after it won the CAS into Completed. fs/aio.c: struct kiocb, kiocb_set_cancel_fn(),
// kiocb_cancel(), aio_complete().
using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Kaio.Core;

internal enum SlotState : byte
{
    Free = 0,
    Armed = 1,
    Callback = 2,
    Cancelling = 3,
    Cancelled = 4,
    Completed = 5,
}

/// <summary>What <see cref="RequestSlot.TrySetCancelCallback"/> found.</summary>
internal enum CancelRegistration : byte
{
    /// <summary>Registered: a later cancel runs the engine's callback (once).</summary>
    Registered,
    /// <summary>A cancel was asked before registration: the callback will never run; the engine stops the request itself.</summary>
    CancelAsked,
    /// <summary>The request already completed.</summary>
    Completed,
}

internal sealed unsafe class RequestSlot : IValueTaskSource<int>, IValueTaskSource<long>, IValueTaskSource, IThreadPoolWorkItem, IDeferredWork
{
    private const int StateBits = 8;
    private const long StateMask = (1L << StateBits) - 1;

    // The state word: generation << 8 | state. Moved only by CAS (and by the owner's release
    // store when arming and freeing). Pairs: the release store in Arm() with the acquire reads
    // in TryCancel/TryComplete.
    private long _state;

    internal RequestSlot(int tag)
    {
        Tag = tag;
        _vts.RunContinuationsAsynchronously = true;
    }

    /// <summary>The slot's index in its context (the seed's ki_id).</summary>
    internal int Tag { get; }

    // ---- The request, as the engine sees it (written by the submitter before Arm). ----
    internal IocbCommand Command;
    internal int Fd;
    internal byte* Buffer;
    internal int Length;
    internal Interop.iovec* Iovecs;
    internal int IovecCount;
    internal long TotalLength;
    internal long Offset;
    /// <summary>The RWF_* flags the engine should apply itself (Dsync/Sync removed when the core defers them).</summary>
    internal AioRwFlags RwFlags;
    internal short PollEvents;
    internal ushort Priority;
    /// <summary>Fallocate's mode (<c>FALLOC_FL_*</c>); None for every other command. Its length is <see cref="TotalLength"/>.</summary>
    internal FallocateMode FallocateMode;
    /// <summary>The file is a pipe, FIFO, socket or character device (<see cref="HandleInfo.IsStream"/>).</summary>
    internal bool IsStream => HandleInfo.IsStreamType(FileType);
    /// <summary>The file's type, stx_mode &amp; S_IFMT (<see cref="HandleInfo.FileType"/>): a socket's offset must be 0, a pipe's is ignored.</summary>
    internal int FileType;
    /// <summary>The file was open with O_DIRECT when the request was submitted (fcntl F_GETFL, cached per handle).</summary>
    internal bool IsDirect;
    internal ulong Key;

    // ---- For an error message only (ThrowHelper.ForResult); plain numbers, kept past Unpin. ----
    /// <summary>Every pinned buffer address OR-ed together (a misaligned one leaves low bits set); written at pin.</summary>
    internal ulong AddressBits;
    /// <summary>Every buffer length OR-ed together; written at pin.</summary>
    internal long LengthBits;
    /// <summary>The number of vectors a Preadv/Pwritev carried (IovecCount is cleared at Unpin); written at pin.</summary>
    internal int VectorCount;
    /// <summary>An awaited request's file, kept unreferenced (no AddRef) until GetResult so a failure can name its path.</summary>
    internal SafeHandle? AwaitedHandle;

    // ---- Delivery (written by the submitter; consumed by the completer). ----
    internal ulong Data;
    internal SafeHandle? HandleRef;          // DangerousAddRef'd at submit, released at final completion
    internal SafeHandle? EventFdRef;         // DangerousAddRef'd at submit, released at final completion
    internal IIoCompletionCallback? Callback;
    internal bool CallbackIsBlocking;
    internal bool CallbackRunsInline;
    internal bool IsAwaitable;

    /// <summary>
    /// Someone waits for this request's end outside GetEvents (an awaiter, a callback, an eventfd to
    /// signal): its completion must be delivered even if no caller ever reaps, so an engine's reaper
    /// must stay up while it is in flight. A plain ring request is reaped by the GetEvents that wants it.
    /// </summary>
    internal bool NeedsAsyncDelivery => IsAwaitable || Callback is not null || EventFdRef is not null;
    /// <summary>
    /// The engine may complete it on the submitting thread, inside Submit (a cached read): a ring
    /// request always; an awaited one only when it is the context's only outstanding request, so
    /// that a loop whose reads keep completing inside its own call never keeps others waiting.
    /// </summary>
    internal bool MayCompleteInline;
    /// <summary>
    /// An awaited read that ends a thread's run of inline completions (AioContext.CachedRead.cs):
    /// its continuation always goes through the thread pool's global queue, never inline and
    /// never before the await, so that its loop gives up the thread for the others.
    /// </summary>
    internal bool Yields;
    /// <summary>The core's preadv2(RWF_NOWAIT) of this awaited read found it not wholly cached (AioContext.CachedRead.cs): an engine does not ask again.</summary>
    internal bool CacheMissed;
    /// <summary>The group of a later ordered request (Iocb.StartsAfterPrevious) this request belongs to; cleared at completion.</summary>
    internal OrderedGroup? Group;
    /// <summary>The deferred durability step (group commit): 0 none, else IocbCommand.Fdsync or Fsync after a successful write or for a flush.</summary>
    internal IocbCommand DeferredSync;
    /// <summary>A successful completion waits for the group's sync (derived: <see cref="DeferredSync"/> is set).</summary>
    internal bool NeedsDeferredSync => DeferredSync != default;
    internal ulong Device;
    internal long Res;
    internal long Res2;
    /// <summary>Stopwatch ticks at submit while kaio.io.duration has a listener, else 0 (KaioMetrics); written at prepare, cleared at delivery.</summary>
    internal long SubmitTimestamp;
    /// <summary>An awaited request's result was handed to its source (the slot stays Completed until GetResult).</summary>
    internal bool Delivered;
    internal CancellationToken Token;
    internal CancellationTokenRegistration TokenRegistration;

    private MemoryHandle _pin;
    private MemoryHandle[]? _pins;
    private int _pinCount;
    private Interop.iovec* _iovecStorage;
    private int _iovecCapacity;

    private ManualResetValueTaskSourceCore<int> _vts;

    // The one claim on an awaited result: version + 1 of the value-task source while this
    // request's result is unconsumed (set at submit, before the ValueTask exists), 0 otherwise.
    // GetResult takes it with one CAS, so of two awaits of one ValueTask exactly one returns the
    // slot; a stale token can never match a newer request's claim (the version moved on).
    private int _awaitClaim;
    private volatile bool _awaiterWaiting;  // OnCompleted was called: completion must run a continuation (see SetAwaitResult)
    private int _awaitResult;              // the result a queued completion hands to the awaiter (see Execute)

    /// <summary>The owning context; set once when the page is created.</summary>
    internal AioContext Context = null!;

    internal uint Generation => (uint)(Volatile.Read(ref _state) >> StateBits);

    internal SlotState State => (SlotState)(Volatile.Read(ref _state) & StateMask);

    /// <summary>True once cancel was asked (engines check it at dequeue: the seed's kiocb_cancelled()).</summary>
    internal bool IsCancelRequested
    {
        get
        {
            SlotState s = State;
            return s is SlotState.Cancelled or SlotState.Cancelling;
        }
    }

    /// <summary>Free, or an awaited request already handed to its awaiter: nothing left for the engine or the core.</summary>
    internal bool IsIdleForTeardown
    {
        get
        {
            SlotState s = State;
            return s == SlotState.Free || (s == SlotState.Completed && Volatile.Read(ref Delivered));
        }
    }

    /// <summary>An awaited request whose result was handed to its source and not yet consumed by GetResult.</summary>
    internal bool IsUnawaitedCompletion => State == SlotState.Completed && IsAwaitable && Volatile.Read(ref Delivered);

    private static long Pack(uint generation, SlotState state) => ((long)generation << StateBits) | (long)state;

    /// <summary>
    /// Makes the slot a live request with a new generation and returns its key. Called by the
    /// submitter, the slot's only owner at this point (it holds the tag).
    /// </summary>
    internal ulong Arm()
    {
        long old = Volatile.Read(ref _state);
        Debug.Assert((SlotState)(old & StateMask) == SlotState.Free);
        uint generation = (uint)(old >> StateBits) + 1;
        if (generation == 0)
        {
            generation = 1; // key 0 never names a live request
        }

        Key = RequestKey.Make(generation, Tag);
        Delivered = false;
        // Release: the request fields written above are visible to whoever acquires this state
        // (cancel, completion) — the seed's smp_wmb() before ki_cancel = NULL.
        Volatile.Write(ref _state, Pack(generation, SlotState.Armed));
        return Key;
    }

    /// <summary>Returns an armed slot that the engine refused to Free (submit failed; no completion).</summary>
    internal void Disarm()
    {
        long old = Volatile.Read(ref _state);
        Volatile.Write(ref _state, Pack((uint)(old >> StateBits), SlotState.Free));
    }

    /// <summary>
    /// fs/aio.c: kiocb_set_cancel_fn(). The engine registers its cancel callback, which a later
    /// cancel runs. Nothing runs inside this call: when a cancel was asked before the engine
    /// registered, the answer is <see cref="CancelRegistration.CancelAsked"/> and the engine acts on
    /// it itself, in line, where it stands (the seed runs the callback from here instead; that
    /// re-entered the engine from inside its own Submit).
    /// </summary>
    internal CancelRegistration TrySetCancelCallback()
    {
        long old = Volatile.Read(ref _state);
        while (true)
        {
            var state = (SlotState)(old & StateMask);
            switch (state)
            {
                case SlotState.Armed:
                {
                    long seen = Interlocked.CompareExchange(ref _state, Pack((uint)(old >> StateBits), SlotState.Callback), old);
                    if (seen == old)
                    {
                        return CancelRegistration.Registered;
                    }

                    old = seen;
                    continue;
                }

                case SlotState.Cancelled:
                    // Cancel came first and found no callback: it only marked the request. The
                    // state stays Cancelled (a later cancel is a no-op) and the engine stops it.
                    return CancelRegistration.CancelAsked;
                case SlotState.Callback:
                case SlotState.Cancelling:
                    return CancelRegistration.Registered;
                default:
                    return CancelRegistration.Completed;
            }
        }
    }

    /// <summary>
    /// fs/aio.c: kiocb_cancel(). Asks the request named by <paramref name="key"/> to stop. Never
    /// blocks. Returns false when the key names no live request (stale, completed, or free).
    /// </summary>
    internal bool TryCancel(ulong key)
    {
        uint generation = RequestKey.GenerationOf(key);
        long old = Volatile.Read(ref _state); // acquire: pairs with the release store in Arm()
        while (true)
        {
            if ((uint)(old >> StateBits) != generation)
            {
                return false;
            }

            switch ((SlotState)(old & StateMask))
            {
                case SlotState.Armed:
                {
                    long seen = Interlocked.CompareExchange(ref _state, Pack(generation, SlotState.Cancelled), old);
                    if (seen == old)
                    {
                        return true;
                    }

                    old = seen;
                    continue;
                }

                case SlotState.Callback:
                {
                    long seen = Interlocked.CompareExchange(ref _state, Pack(generation, SlotState.Cancelling), old);
                    if (seen != old)
                    {
                        old = seen;
                        continue;
                    }

                    // We own the callback: completion spins until we leave Cancelling, so the
                    // callback cannot run after completion returned.
                    RunCancelCallback(generation);
                    return true;
                }

                case SlotState.Cancelling:
                case SlotState.Cancelled:
                    return true; // already asked; asking twice is asking once

                default:
                    return false;
            }
        }
    }

    private void RunCancelCallback(uint generation)
    {
        try
        {
            Context.EngineForCallbacks.Cancel(this);
        }
        finally
        {
            // Release: pairs with the acquire re-read in TryComplete's Cancelling spin.
            Volatile.Write(ref _state, Pack(generation, SlotState.Cancelled));
        }
    }

    /// <summary>
    /// The gate in front of delivery: moves the request named by <paramref name="key"/> into
    /// Completed. Exactly one caller per request wins; stale and duplicate completions lose.
    /// </summary>
    internal bool TryComplete(ulong key)
    {
        uint generation = RequestKey.GenerationOf(key);
        long old = Volatile.Read(ref _state);
        SpinWait spin = default;
        while (true)
        {
            if ((uint)(old >> StateBits) != generation)
            {
                return false;
            }

            switch ((SlotState)(old & StateMask))
            {
                case SlotState.Armed:
                case SlotState.Callback:
                case SlotState.Cancelled:
                {
                    long seen = Interlocked.CompareExchange(ref _state, Pack(generation, SlotState.Completed), old);
                    if (seen == old)
                    {
                        return true;
                    }

                    old = seen;
                    continue;
                }

                case SlotState.Cancelling:
                    // The seed's cpu_relax() loop: wait for the canceller's callback to return.
                    spin.SpinOnce(sleep1Threshold: -1);
                    old = Volatile.Read(ref _state);
                    continue;

                default:
                    return false; // Free or Completed: duplicate
            }
        }
    }

    /// <summary>Back to Free after delivery; the generation moves on at the next Arm.</summary>
    internal void Release()
    {
        long old = Volatile.Read(ref _state);
        Debug.Assert((SlotState)(old & StateMask) == SlotState.Completed);
        // Release: the slot's fields are reset before another submitter can take the tag.
        Volatile.Write(ref _state, Pack((uint)(old >> StateBits), SlotState.Free));
    }

    // ---- Pins ----

    internal void Pin(Memory<byte> buffer)
    {
        _pin = buffer.Pin();
        Buffer = (byte*)_pin.Pointer;
        Length = buffer.Length;
        AddressBits = (ulong)Buffer;
        LengthBits = Length;
    }

    /// <summary>A buffer of native memory the caller owns until the event (Iocb.BufferAddress): nothing to pin.</summary>
    internal void UseNativeBuffer(nint address, int length)
    {
        Buffer = (byte*)address;
        Length = length;
        AddressBits = (ulong)address;
        LengthBits = length;
    }

    /// <summary>Pins every vector and fills the slot's iovec array.</summary>
    internal void PinVectors(ReadOnlySpan<Memory<byte>> buffers)
    {
        ReserveVectors(buffers.Length);
        for (int i = 0; i < buffers.Length; i++)
        {
            SetVector(i, buffers[i].Pin(), buffers[i].Length);
        }
    }

    /// <summary>Pins every read-only vector of a gather write (<see cref="Iocb.WriteBuffers"/>) and fills the slot's iovec array.</summary>
    internal void PinVectors(ReadOnlySpan<ReadOnlyMemory<byte>> buffers)
    {
        ReserveVectors(buffers.Length);
        for (int i = 0; i < buffers.Length; i++)
        {
            SetVector(i, buffers[i].Pin(), buffers[i].Length);
        }
    }

    /// <summary>Grows the slot's iovec and pin arrays to <paramref name="n"/> (storage exists even for 0 vectors) and resets the totals.</summary>
    private void ReserveVectors(int n)
    {
        if (_iovecStorage is null || _iovecCapacity < n)
        {
            NativeMemory.Free(_iovecStorage);
            _iovecStorage = null;
            _iovecCapacity = 0;
            int capacity = Math.Max(n, 8);
            _iovecStorage = (Interop.iovec*)NativeMemory.Alloc((nuint)capacity, (nuint)sizeof(Interop.iovec));
            _iovecCapacity = capacity;
        }

        if (_pins is null || _pins.Length < n)
        {
            _pins = new MemoryHandle[Math.Max(n, 8)];
        }

        Iovecs = _iovecStorage;
        IovecCount = n;
        VectorCount = n;
        TotalLength = 0;
        AddressBits = 0;
        LengthBits = 0;
    }

    private void SetVector(int i, MemoryHandle pin, int length)
    {
        _pins![i] = pin;
        _pinCount = i + 1;
        _iovecStorage[i].iov_base = pin.Pointer;
        _iovecStorage[i].iov_len = (nuint)length;
        TotalLength += length;
        AddressBits |= (ulong)pin.Pointer;
        LengthBits |= (uint)length; // lengths are never negative
    }

    /// <summary>
    /// EFAULT when a pinned buffer lies outside the user half of the address space (a custom
    /// <see cref="MemoryManager{T}"/> can hand out any pointer): the kernel's access_ok() at submit.
    /// </summary>
    internal int CheckUserRanges()
    {
        if (Iovecs is null)
        {
            return Interop.IsUserRange(Buffer, Length) ? 0 : -Errno.EFAULT;
        }

        for (int i = 0; i < IovecCount; i++)
        {
            if (!Interop.IsUserRange(Iovecs[i].iov_base, (long)Iovecs[i].iov_len))
            {
                return -Errno.EFAULT;
            }
        }

        return 0;
    }

    /// <summary>Releases every pin and handle reference the request took; called once, at final completion.</summary>
    internal void Unpin()
    {
        _pin.Dispose();
        _pin = default;
        if (_pins is not null)
        {
            for (int i = 0; i < _pinCount; i++)
            {
                _pins[i].Dispose();
                _pins[i] = default;
            }
        }

        _pinCount = 0;
        Buffer = null;
        Iovecs = null;
        IovecCount = 0;
        HandleRef?.DangerousRelease();
        HandleRef = null;
        EventFdRef?.DangerousRelease();
        EventFdRef = null;
        Callback = null;
    }

    /// <summary>Frees the slot's native iovec storage; teardown only.</summary>
    internal void FreeNative()
    {
        NativeMemory.Free(_iovecStorage);
        _iovecStorage = null;
        _iovecCapacity = 0;
    }

    // ---- The awaitable face: the slot is the pooled value-task source. ----

    internal short VtsVersion => _vts.Version;

    /// <summary>Opens this request's claim on its awaited result; called by the submitter before the ValueTask exists.</summary>
    internal short OpenAwait()
    {
        short version = _vts.Version;
        _awaitClaim = (ushort)version + 1;
        return version;
    }

    /// <summary>
    /// Completes the awaited result. The continuation is queued to the thread pool, unless
    /// <paramref name="inline"/>: then it runs on this thread, inside this call (see
    /// <see cref="Engines.AioEngine.InlineContinuations"/>).
    /// </summary>
    /// <remarks>
    /// Queued as this slot itself (an IThreadPoolWorkItem, no allocation), which then completes
    /// the source with its continuation inline: letting ManualResetValueTaskSourceCore queue it
    /// (RunContinuationsAsynchronously) allocated a 32-byte wrapper per completion, on every
    /// engine whose requests complete after the call. When nobody waits yet (the awaiter has not
    /// called OnCompleted: the request completed before its ValueTask was awaited) the source is
    /// completed here, at once; an awaiter arriving in between is queued by the source, as before.
    /// </remarks>
    internal void SetAwaitResult(int res, bool inline)
    {
        if (!Yields && (inline || !_awaiterWaiting))
        {
            _vts.RunContinuationsAsynchronously = !inline;
            _vts.SetResult(res);
            return;
        }

        _awaitResult = res;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    int IValueTaskSource<int>.GetResult(short token) => GetAwaitResult(token);

    /// <summary>The vectored awaitables' face (ValueTask&lt;long&gt;, as RandomAccess's): the same result, widened.</summary>
    long IValueTaskSource<long>.GetResult(short token) => GetAwaitResult(token);

    void IValueTaskSource.GetResult(short token) => GetAwaitResult(token);

    /// <summary>
    /// Consumes the result, returns the slot to the pool, and turns -errno into an exception.
    /// A misuse — a result not ready yet (<c>.Result</c> before completion), a stale token (a
    /// second await), or losing the claim to a concurrent await of the same ValueTask — throws
    /// InvalidOperationException and changes nothing: the slot returns exactly once, after the
    /// engine is done with it (dotnet/runtime's pooled sources behave so).
    /// </summary>
    private int GetAwaitResult(short token)
    {
        // Throws InvalidOperationException for a wrong token or a result not yet set.
        int res = _vts.GetResult(token);
        CancellationToken cancellationToken = Token;
        if (Interlocked.CompareExchange(ref _awaitClaim, 0, (ushort)token + 1) != (ushort)token + 1)
        {
            ThrowHelper.ThrowAwaitedTwice();
        }

        if (res < 0)
        {
            // The facts for the message, taken before the slot goes back to the pool.
            var failed = new FailedRequest
            {
                Command = Command,
                Handle = AwaitedHandle,
                Offset = Offset,
                Length = TotalLength,
                FallocateMode = FallocateMode,
                VectorCount = Command is IocbCommand.Preadv or IocbCommand.Pwritev ? VectorCount : 0,
                IsDirect = IsDirect,
                AddressBits = AddressBits,
                LengthBits = LengthBits,
            };
            Context.ReturnAwaitedSlot(this);
            throw ThrowHelper.ForResult(res, cancellationToken, in failed);
        }

        Context.ReturnAwaitedSlot(this);
        return res;
    }

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _vts.GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _vts.GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource<long>.GetStatus(short token) => _vts.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => OnAwaitCompleted(continuation, state, token, flags);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => OnAwaitCompleted(continuation, state, token, flags);

    void IValueTaskSource<long>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => OnAwaitCompleted(continuation, state, token, flags);

    private void OnAwaitCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        _awaiterWaiting = true; // before the continuation is stored: a completion that misses it lets the source queue it
        _vts.OnCompleted(continuation, state, token, flags);
    }

    internal void ResetAwait()
    {
        _awaiterWaiting = false;
        _vts.Reset();
    }

    /// <summary>Runs a user completion callback off the reaping thread, or a queued awaited completion with its continuation (IThreadPoolWorkItem: no allocation).</summary>
    void IThreadPoolWorkItem.Execute()
    {
        if (IsAwaitable)
        {
            // A queued awaited completion (SetAwaitResult): the continuation runs here, inline.
            _vts.RunContinuationsAsynchronously = false;
            _vts.SetResult(_awaitResult);
            return;
        }

        Context.RunCallback(this);
    }

    /// <summary>Runs this request's blocking completion step on a device work queue.</summary>
    void IDeferredWork.RunDeferred() => Context.RunDeferred(this);

    /// <summary>Group commit: the descriptor whose sync this completion waits for (a write that succeeded, or a flush), else -1.</summary>
    int IDeferredWork.SyncFd => NeedsDeferredSync && Res >= 0 ? Fd : -1;

    bool IDeferredWork.SyncIsFull => DeferredSync == IocbCommand.Fsync;

    /// <summary>generic_write_sync() failing turns the write's result into the sync's error.</summary>
    void IDeferredWork.SyncDone(int res)
    {
        if (res < 0 && Res >= 0)
        {
            Res = res;
        }
    }
}
