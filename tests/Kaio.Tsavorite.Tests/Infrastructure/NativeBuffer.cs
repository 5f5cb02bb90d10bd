using System.Runtime.InteropServices;

namespace Kaio.Tsavorite.Tests.Infrastructure;

/// <summary>A 4096-aligned native buffer, as Tsavorite's sector-aligned pools hand out.</summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    private void* _pointer;

    public NativeBuffer(int length, Func<int, byte>? fill = null)
    {
        Length = length;
        _pointer = NativeMemory.AlignedAlloc((nuint)length, 4096);
        Span<byte> span = Span;
        for (int i = 0; i < length; i++)
        {
            span[i] = fill is null ? (byte)0 : fill(i);
        }
    }

    public int Length { get; }

    public IntPtr Pointer => (IntPtr)_pointer;

    public Span<byte> Span => new(_pointer, Length);

    /// <summary>The index of the first byte that differs from <paramref name="expected"/>, or -1.</summary>
    public int FirstMismatch(Func<int, byte> expected)
    {
        Span<byte> span = Span;
        for (int i = 0; i < span.Length; i++)
        {
            if (span[i] != expected(i))
            {
                return i;
            }
        }

        return -1;
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_pointer);
        _pointer = null;
    }
}
