// Design: native buffers aligned for direct I/O. One slab from NativeMemory.AlignedAlloc, cut
// into equal buffers, each exposed as Memory<byte> through a MemoryManager whose Pin is free
// (native memory does not move). Two ways to use them: by index (a fixed assignment, no
// allocation) or Rent/Dispose-to-return (an IMemoryOwner<byte> lease; one small object per Rent,
// so a stale owner's second Dispose can never return a buffer someone else has rented since).
//
// Lifetime: Dispose frees the slab; a pool that is never disposed frees it in its finalizer. The
// finalizer can only run once nothing can reach the buffers: each buffer's MemoryManager
// references the pool, and each pin (MemoryHandle) references the MemoryManager, so a
// Memory<byte> anywhere — or a request's pin, held in its slot until its final completion —
// keeps the slab alive. The caller must still not Dispose the pool while a request uses one of
// its buffers (dispose the AioContext first): Dispose is explicit and immediate.
// Threading: Rent and Return from any thread (the free list under _lock); Dispose once, by the owner.
using System.Buffers;
using System.Diagnostics.CodeAnalysis;

namespace Kaio;

/// <summary>A fixed set of buffers aligned for O_DIRECT, by index or rented as <see cref="IMemoryOwner{T}"/>.</summary>
public sealed unsafe class AlignedBufferPool : IDisposable
{
    private static long s_finalizedSlabs;

    private readonly Segment[] _segments;
    private readonly long _bytes;
    private readonly Lock _lock = new();
    private readonly int[] _free; // guarded by _lock: indices not rented, a stack
    private int _freeCount;       // guarded by _lock
    private nint _slab;           // the slab; 0 once freed (Interlocked.Exchange: freed exactly once)

    /// <summary>Creates <paramref name="count"/> buffers of <paramref name="bufferSize"/> bytes, each aligned to <paramref name="alignment"/>.</summary>
    /// <param name="bufferSize">Bytes per buffer; rounded up to a multiple of <paramref name="alignment"/> for spacing.</param>
    /// <param name="alignment">A power of two, for example <see cref="DirectIoAlignment.MemoryAlignment"/>.</param>
    /// <param name="count">How many buffers.</param>
    public AlignedBufferPool(int bufferSize, int alignment, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "alignment must be a power of two");
        }

        long stride = (bufferSize + (long)alignment - 1) / alignment * alignment;
        _bytes = stride * count;
        byte* slab = (byte*)NativeMemory.AlignedAlloc((nuint)_bytes, (nuint)alignment);
        NativeMemory.Clear(slab, (nuint)_bytes);
        _slab = (nint)slab;
        GC.AddMemoryPressure(_bytes);
        _segments = new Segment[count];
        _free = new int[count];
        for (int i = 0; i < count; i++)
        {
            _segments[i] = new Segment(this, slab + (i * stride), bufferSize);
            _free[i] = count - 1 - i; // Rent hands out 0, 1, 2... first
        }

        _freeCount = count;
        BufferSize = bufferSize;
        Alignment = alignment;
    }

    /// <summary>Frees the slab of a pool nobody disposed (nothing can reach its buffers any more).</summary>
    ~AlignedBufferPool()
    {
        if (Free())
        {
            Interlocked.Increment(ref s_finalizedSlabs);
        }
    }

    /// <summary>Slabs freed by the finalizer, process-wide (tests).</summary>
    internal static long FinalizedSlabs => Interlocked.Read(ref s_finalizedSlabs);

    /// <summary>Bytes per buffer.</summary>
    public int BufferSize { get; }

    /// <summary>The alignment of every buffer's address.</summary>
    public int Alignment { get; }

    /// <summary>How many buffers.</summary>
    public int Count => _segments.Length;

    /// <summary>How many buffers <see cref="Rent"/> can hand out now.</summary>
    public int Available
    {
        get
        {
            lock (_lock)
            {
                return _freeCount;
            }
        }
    }

    /// <summary>Buffer <paramref name="index"/>.</summary>
    public Memory<byte> this[int index] => GetBuffer(index);

    /// <summary>
    /// Buffer <paramref name="index"/>: a fixed assignment, without renting. Do not mix with
    /// <see cref="Rent"/> on one pool: the index does not take the buffer off the rent list.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public Memory<byte> GetBuffer(int index)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _slab) == 0, this);
        return _segments[index].Memory;
    }

    /// <summary>
    /// Rents a buffer; disposing the owner returns it (once: a second Dispose does nothing). The
    /// owner is one small allocation; the buffer belongs to a request until it completes, so
    /// return it only after the await (or the event) that used it.
    /// </summary>
    /// <exception cref="InvalidOperationException">Every buffer is rented.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public IMemoryOwner<byte> Rent()
        => TryRent(out IMemoryOwner<byte>? owner)
            ? owner
            : throw new InvalidOperationException($"All {Count} buffers of the pool are rented.");

    /// <summary>Rents a buffer if one is free; see <see cref="Rent"/>.</summary>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public bool TryRent([NotNullWhen(true)] out IMemoryOwner<byte>? owner)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _slab) == 0, this);
        int index;
        lock (_lock)
        {
            if (_freeCount == 0)
            {
                owner = null;
                return false;
            }

            index = _free[--_freeCount];
        }

        owner = new Lease(this, index);
        return true;
    }

    private void Return(int index)
    {
        lock (_lock)
        {
            _free[_freeCount++] = index;
        }
    }

    /// <summary>Frees the buffers. No request may still be using one.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private bool Free()
    {
        nint slab = Interlocked.Exchange(ref _slab, 0);
        if (slab == 0)
        {
            return false;
        }

        NativeMemory.AlignedFree((void*)slab);
        GC.RemoveMemoryPressure(_bytes);
        return true;
    }

    private sealed class Lease(AlignedBufferPool pool, int index) : IMemoryOwner<byte>
    {
        private int _returned;

        public Memory<byte> Memory
        {
            get
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _returned) != 0, this);
                return pool.GetBuffer(index);
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                pool.Return(index);
            }
        }
    }

    private sealed class Segment : MemoryManager<byte>
    {
        private readonly AlignedBufferPool _pool; // keeps the slab alive while this buffer is reachable
        private readonly byte* _pointer;
        private readonly int _length;

        internal Segment(AlignedBufferPool pool, byte* pointer, int length)
        {
            _pool = pool;
            _pointer = pointer;
            _length = length;
        }

        public override Span<byte> GetSpan()
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _pool._slab) == 0, _pool);
            return new(_pointer, _length);
        }

        // The handle references this manager, so a pin (a request's, held until its final
        // completion) keeps the pool, and with it the slab, from being finalized.
        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _pool._slab) == 0, _pool);
            return new(_pointer + elementIndex, pinnable: this);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
