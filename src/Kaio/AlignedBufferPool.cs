// Design: native buffers aligned for direct I/O. One slab from NativeMemory.AlignedAlloc, cut
// into equal buffers, each exposed as Memory<byte> through a MemoryManager whose Pin is free
// (native memory does not move). The slab is freed by Dispose; the caller must not dispose the
// pool while a request still uses one of its buffers (dispose the AioContext first).
using System.Buffers;
using System.Runtime.InteropServices;

namespace Kaio;

/// <summary>A fixed set of buffers aligned for O_DIRECT.</summary>
public sealed unsafe class AlignedBufferPool : IDisposable
{
    private readonly Segment[] _segments;
    private byte* _slab;

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
        _slab = (byte*)NativeMemory.AlignedAlloc((nuint)(stride * count), (nuint)alignment);
        NativeMemory.Clear(_slab, (nuint)(stride * count));
        _segments = new Segment[count];
        for (int i = 0; i < count; i++)
        {
            _segments[i] = new Segment(_slab + (i * stride), bufferSize);
        }

        BufferSize = bufferSize;
        Alignment = alignment;
    }

    /// <summary>Bytes per buffer.</summary>
    public int BufferSize { get; }

    /// <summary>The alignment of every buffer's address.</summary>
    public int Alignment { get; }

    /// <summary>How many buffers.</summary>
    public int Count => _segments.Length;

    /// <summary>Buffer <paramref name="index"/>.</summary>
    public Memory<byte> this[int index] => GetBuffer(index);

    /// <summary>Buffer <paramref name="index"/>.</summary>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public Memory<byte> GetBuffer(int index)
    {
        ObjectDisposedException.ThrowIf(_slab is null, this);
        return _segments[index].Memory;
    }

    /// <summary>Frees the buffers. No request may still be using one.</summary>
    public void Dispose()
    {
        byte* slab = _slab;
        _slab = null;
        if (slab is not null)
        {
            NativeMemory.AlignedFree(slab);
        }
    }

    private sealed class Segment : MemoryManager<byte>
    {
        private readonly byte* _pointer;
        private readonly int _length;

        internal Segment(byte* pointer, int length)
        {
            _pointer = pointer;
            _length = length;
        }

        public override Span<byte> GetSpan() => new(_pointer, _length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
