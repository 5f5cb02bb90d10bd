using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Context;

public sealed class AioFileTests
{
    [Fact]
    public void GetDirectIoAlignment_IsDiscovered_PowerOfTwo()
    {
        using var file = new TempFile(4096);
        DirectIoAlignment a = AioFile.GetDirectIoAlignment(file.Path);
        Assert.True(a.OffsetAlignment >= 1 && (a.OffsetAlignment & (a.OffsetAlignment - 1)) == 0, $"offset alignment {a.OffsetAlignment}");
        Assert.True(a.MemoryAlignment >= 1 && (a.MemoryAlignment & (a.MemoryAlignment - 1)) == 0, $"memory alignment {a.MemoryAlignment}");
        TestContext.Current.SendDiagnosticMessage($"direct I/O alignment here: memory {a.MemoryAlignment}, offset {a.OffsetAlignment}");
    }

    [Fact]
    public void Open_MissingDirectory_DirectoryNotFound_WithPathAndEnoentInside()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => AioFile.Open("/nonexistent/kaio.dat", FileMode.Open, FileAccess.Read));
        Assert.Equal(Errno.ENOENT, Assert.IsType<AioException>(e.InnerException).Errno);
        Assert.Contains("/nonexistent/kaio.dat", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_DsyncAndDirect_GivesUsableHandle()
    {
        using var file = new TempFile(8192);
        using SafeFileHandle h = AioFile.Open(file.Path, FileMode.Open, FileAccess.ReadWrite, AioOpenOptions.Direct | AioOpenOptions.Dsync);
        Assert.False(h.IsInvalid);
        Assert.Equal(8192, RandomAccess.GetLength(h));
    }

    [Fact]
    public void AlignedBufferPool_BuffersAreAlignedAndDistinct()
    {
        using var pool = new AlignedBufferPool(1000, 4096, 3);
        var seen = new HashSet<long>();
        for (int i = 0; i < pool.Count; i++)
        {
            using System.Buffers.MemoryHandle pin = pool[i].Pin();
            long addr;
            unsafe
            {
                addr = (long)pin.Pointer;
            }

            Assert.Equal(0, addr % 4096);
            Assert.True(seen.Add(addr));
            Assert.Equal(1000, pool[i].Length);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBufferPool(10, 3000, 1));
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool[0]);
    }
}
