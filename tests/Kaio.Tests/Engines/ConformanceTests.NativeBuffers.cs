using System.Runtime.InteropServices;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>Buffers given as an address and a length (Iocb.BufferAddress, the nint ReadAsync/WriteAsync) on every engine.</summary>
public abstract partial class ConformanceTests
{
    [Fact]
    public unsafe void NativeBuffer_SubmitWriteThenRead_RoundTrip()
    {
        const int Size = 8192;
        using var file = new TempFile(Size);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        byte* memory = (byte*)NativeMemory.AlignedAlloc(2 * Size, 4096);
        try
        {
            var data = new Span<byte>(memory, Size);
            for (int i = 0; i < Size; i++)
            {
                data[i] = (byte)(i * 7);
            }

            IoEvent written = SubmitOne(ctx, Iocb.PrepPwrite(h, (nint)memory, Size, 0, data: 1));
            Assert.Equal(Size, written.Result);
            IoEvent read = SubmitOne(ctx, Iocb.PrepPread(h, (nint)(memory + Size), Size, 0, data: 2));
            Assert.Equal(Size, read.Result);
            if (DoesRealIo)
            {
                Assert.True(new Span<byte>(memory + Size, Size).SequenceEqual(data));
                Assert.True(File.ReadAllBytes(file.Path).AsSpan().SequenceEqual(data));
            }
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }

        AssertIdle(ctx);
    }

    [Fact]
    public async Task NativeBuffer_AwaitedReadAndWrite_RoundTrip()
    {
        const int Size = 4096;
        using var file = new TempFile(Size);
        using SafeFileHandle h = file.OpenReadWrite();
        await using AioContext ctx = NewContext();
        nint memory = NativeBlock(2 * Size, out byte[] expected);
        try
        {
            CancellationToken ct = TestContext.Current.CancellationToken;
            Assert.Equal(Size, await ctx.WriteAsync(h, memory, Size, 4096 - Size, AioRwFlags.None, ct));
            Assert.Equal(Size, await ctx.ReadAsync(h, memory + Size, Size, 0, ct));
            if (DoesRealIo)
            {
                Assert.True(ReadNative(memory + Size, Size).AsSpan().SequenceEqual(expected.AsSpan(0, Size)));
            }

            Assert.Equal(0, await ctx.ReadAsync(h, 0, 0, 0, ct)); // an empty read needs no memory
        }
        finally
        {
            FreeNative(memory);
        }
    }

    [Fact]
    public void NativeBuffer_Misuse_RefusedAtSubmitOrAtTheCall()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        nint memory = NativeBlock(4096, out _);
        try
        {
            // Submit keeps errno semantics.
            Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, Iocb.PrepPread(h, memory, 4096, 0) with { Buffer = new byte[16] }).Errno); // two buffers
            Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, Iocb.PrepFsync(h) with { BufferAddress = memory }).Errno);                 // not a read or write
            Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, Iocb.PrepPread(h, memory, 4096, 0) with { Length = -1 }).Errno);          // a negative length
            Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, Iocb.PrepPread(h, memory, 4096, 0) with { Length = (long)int.MaxValue + 1 }).Errno);
            Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, Iocb.PrepPread(h, new byte[16], 0) with { Length = 16 }).Errno);           // a length with no native buffer
            Assert.Equal(Errno.EFAULT, SubmitRefused(ctx, Iocb.PrepPread(h, -4096, 4096, 0)).Errno);                               // not user memory (io_submit: EFAULT)

            // The awaitable face throws as RandomAccess would.
            CancellationToken ct = TestContext.Current.CancellationToken;
            Assert.Throws<ArgumentOutOfRangeException>("length", () => { _ = ctx.ReadAsync(h, memory, -1, 0, ct).AsTask(); });
            Assert.Throws<ArgumentNullException>("buffer", () => { _ = ctx.WriteAsync(h, 0, 16, 0, AioRwFlags.None, ct).AsTask(); });
            Assert.Throws<ArgumentOutOfRangeException>("fileOffset", () => { _ = ctx.ReadAsync(h, memory, 16, -1, ct).AsTask(); });
        }
        finally
        {
            FreeNative(memory);
        }

        AssertIdle(ctx);
    }

    private static unsafe nint NativeBlock(int size, out byte[] content)
    {
        byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)size, 4096);
        content = new byte[size];
        new Random(size).NextBytes(content);
        content.AsSpan().CopyTo(new Span<byte>(memory, size));
        return (nint)memory;
    }

    private static unsafe void FreeNative(nint memory) => NativeMemory.AlignedFree((void*)memory);

    private static unsafe byte[] ReadNative(nint memory, int size) => new Span<byte>((void*)memory, size).ToArray();
}
