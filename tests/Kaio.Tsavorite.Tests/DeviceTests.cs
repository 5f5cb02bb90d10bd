using Kaio.Tsavorite.Tests.Infrastructure;
using Tsavorite.core;

namespace Kaio.Tsavorite.Tests;

/// <summary>
/// The IDevice contract Garnet checks its own devices against (test.hlog DeviceTests, IDevice_*),
/// re-expressed for KaioStorageDevice on every engine that does real I/O: what is written is read
/// back byte for byte, at segment boundaries, under concurrency, before Initialize, in unbounded
/// single-segment mode and with the segment id left out of the file name.
/// </summary>
public sealed class DeviceTests
{
    private const long Mib = 1L << 20;

    private static byte Pattern(int i, int seed) => (byte)((i * 7 + seed * 31 + (i >> 8)) & 0xFF);

    private static KaioStorageDevice NewDevice(AioContext ctx, string path, long segmentSize, KaioDeviceOptions? options = null)
    {
        var device = new KaioStorageDevice(path, ctx, options);
        device.Initialize(segmentSize);
        return device;
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void RoundTrip_BasicReadWrite_BytesReadBackEqualBytesWritten(AioEngineKind engine)
    {
        const int Size = 64 * 1024;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        using KaioStorageDevice device = NewDevice(ctx, dir.File("test.log"), 64 * Mib);
        using var done = new Completions();
        using var w = new NativeBuffer(Size, i => Pattern(i, 1));
        using var r = new NativeBuffer(Size);

        device.WriteAsync(w.Pointer, 0, 0, Size, done.Callback, null);
        done.WaitOk();
        device.ReadAsync(0, 0, r.Pointer, Size, done.Callback, null);
        done.WaitOk();

        Assert.Equal(-1, r.FirstMismatch(i => Pattern(i, 1)));
        Assert.Equal(2 * Size, done.Bytes);
        Assert.True(File.Exists(dir.File("test.log.0")));
        Assert.Equal(1, device.CompletedReads);
        Assert.Equal(1, device.CompletedWrites);
        Completions.AssertNoneInFlight(device);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void RoundTrip_AcrossSegmentBoundary_EachSegmentItsOwnFile(AioEngineKind engine)
    {
        const int Size = 64 * 1024;
        const long SegmentSize = 64 * Mib;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        using KaioStorageDevice device = NewDevice(ctx, dir.File("test.log"), SegmentSize);
        using var done = new Completions();
        using var last = new NativeBuffer(Size, i => Pattern(i, 2));
        using var first = new NativeBuffer(Size, i => Pattern(i, 3));
        using var r = new NativeBuffer(Size);

        // The last 64 KiB of segment 0 and the first of segment 1, by logical address.
        device.WriteAsync(last.Pointer, (ulong)(SegmentSize - Size), Size, done.Callback, null);
        device.WriteAsync(first.Pointer, (ulong)SegmentSize, Size, done.Callback, null);
        done.WaitOk(2);

        device.ReadAsync((ulong)(SegmentSize - Size), r.Pointer, Size, done.Callback, null);
        done.WaitOk();
        Assert.Equal(-1, r.FirstMismatch(i => Pattern(i, 2)));
        device.ReadAsync(segmentId: 1, sourceAddress: 0, r.Pointer, Size, done.Callback, null);
        done.WaitOk();
        Assert.Equal(-1, r.FirstMismatch(i => Pattern(i, 3)));

        Assert.Equal(SegmentSize, new FileInfo(dir.File("test.log.0")).Length);
        Assert.Equal(Size, new FileInfo(dir.File("test.log.1")).Length);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void Parallel_32ConcurrentWrites_EveryBlockReadsBack(AioEngineKind engine)
    {
        const int N = 32, Size = 8 * 1024;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        using KaioStorageDevice device = NewDevice(ctx, dir.File("test.log"), 64 * Mib);
        using var done = new Completions();
        var blocks = new NativeBuffer[N];
        try
        {
            for (int b = 0; b < N; b++)
            {
                int id = b;
                blocks[b] = new NativeBuffer(Size, i => Pattern(i, id));
                device.WriteAsync(blocks[b].Pointer, 0, (ulong)(b * Size), Size, done.Callback, null);
            }

            done.WaitOk(N);
            using var r = new NativeBuffer(Size);
            for (int b = 0; b < N; b++)
            {
                int id = b;
                device.ReadAsync(0, (ulong)(b * Size), r.Pointer, Size, done.Callback, null);
                done.WaitOk();
                Assert.True(r.FirstMismatch(i => Pattern(i, id)) == -1, $"block {b}");
            }
        }
        finally
        {
            foreach (NativeBuffer? b in blocks)
            {
                b?.Dispose();
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void Parallel_BurstyTraffic_TenBurstsOfTen_AllLand(AioEngineKind engine)
    {
        const int Bursts = 10, Per = 10, Size = 4096;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        using KaioStorageDevice device = NewDevice(ctx, dir.File("test.log"), 64 * Mib);
        using var done = new Completions();
        for (int burst = 0; burst < Bursts; burst++)
        {
            var buffers = new NativeBuffer[Per];
            for (int i = 0; i < Per; i++)
            {
                int id = burst * Per + i;
                buffers[i] = new NativeBuffer(Size, j => Pattern(j, id));
                device.WriteAsync(buffers[i].Pointer, 0, (ulong)(id * Size), Size, done.Callback, null);
            }

            done.WaitOk(Per);
            foreach (NativeBuffer b in buffers)
            {
                b.Dispose();
            }
        }

        using var all = new NativeBuffer(Bursts * Per * Size);
        device.ReadAsync(0, 0, all.Pointer, (uint)all.Length, done.Callback, null);
        done.WaitOk();
        Assert.Equal(-1, all.FirstMismatch(j => Pattern(j % Size, j / Size)));
    }

    public static TheoryData<AioEngineKind, long> EnginesBySegmentSize()
    {
        var data = new TheoryData<AioEngineKind, long>();
        foreach (AioEngineKind engine in new[] { AioEngineKind.IoUring, AioEngineKind.LinuxAio, AioEngineKind.ThreadPool })
        {
            foreach (long size in new[] { 64 * Mib, 256 * Mib, 1024 * Mib })
            {
                data.Add(engine, size);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EnginesBySegmentSize))]
    public void RoundTrip_VariousSegmentSizes_AddressesSplitAtTheSegmentSize(AioEngineKind engine, long segmentSize)
    {
        const int Size = 64 * 1024;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        using KaioStorageDevice device = NewDevice(ctx, dir.File("test.log"), segmentSize);
        using var done = new Completions();
        using var w = new NativeBuffer(Size, i => Pattern(i, 5));
        using var r = new NativeBuffer(Size);

        // Logical address 2 * segmentSize + 4096: segment 2, offset 4096 (the files are sparse).
        ulong address = (ulong)(2 * segmentSize + 4096);
        device.WriteAsync(w.Pointer, address, Size, done.Callback, null);
        done.WaitOk();
        device.ReadAsync(segmentId: 2, sourceAddress: 4096, r.Pointer, Size, done.Callback, null);
        done.WaitOk();

        Assert.Equal(-1, r.FirstMismatch(i => Pattern(i, 5)));
        Assert.Equal(4096 + Size, new FileInfo(dir.File("test.log.2")).Length);
        Assert.False(File.Exists(dir.File("test.log.0")));
        Assert.Equal(segmentSize, device.SegmentSize);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void Parallel_64ConcurrentReads_EachGetsItsBlock(AioEngineKind engine)
    {
        const int N = 64, Size = 4096;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        using KaioStorageDevice device = NewDevice(ctx, dir.File("test.log"), 64 * Mib);
        using var done = new Completions();
        using var w = new NativeBuffer(N * Size, j => Pattern(j % Size, j / Size));
        device.WriteAsync(w.Pointer, 0, 0, (uint)w.Length, done.Callback, null);
        done.WaitOk();

        var reads = new NativeBuffer[N];
        try
        {
            for (int b = 0; b < N; b++)
            {
                reads[b] = new NativeBuffer(Size);
                device.ReadAsync(0, (ulong)(b * Size), reads[b].Pointer, Size, done.Callback, null);
            }

            done.WaitOk(N);
            for (int b = 0; b < N; b++)
            {
                int id = b;
                Assert.True(reads[b].FirstMismatch(i => Pattern(i, id)) == -1, $"block {b}");
            }
        }
        finally
        {
            foreach (NativeBuffer? b in reads)
            {
                b?.Dispose();
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void Parallel_MixedReadsAndWrites_DisjointRegionsBothRight(AioEngineKind engine)
    {
        const int N = 16, Size = 4096;
        const ulong ReadBase = 0, WriteBase = 256 * 1024;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        using KaioStorageDevice device = NewDevice(ctx, dir.File("test.log"), 64 * Mib);
        using var done = new Completions();
        using var pre = new NativeBuffer(N * Size, j => Pattern(j, 9));
        device.WriteAsync(pre.Pointer, 0, ReadBase, (uint)pre.Length, done.Callback, null);
        done.WaitOk();

        var reads = new NativeBuffer[N];
        var writes = new NativeBuffer[N];
        try
        {
            for (int b = 0; b < N; b++)
            {
                int id = b;
                reads[b] = new NativeBuffer(Size);
                writes[b] = new NativeBuffer(Size, i => Pattern(i, 100 + id));
                device.ReadAsync(0, ReadBase + (ulong)(b * Size), reads[b].Pointer, Size, done.Callback, null);
                device.WriteAsync(writes[b].Pointer, 0, WriteBase + (ulong)(b * Size), Size, done.Callback, null);
            }

            done.WaitOk(2 * N);
            for (int b = 0; b < N; b++)
            {
                int start = b * Size;
                Assert.True(reads[b].FirstMismatch(i => Pattern(start + i, 9)) == -1, $"read {b}");
            }

            using var back = new NativeBuffer(N * Size);
            device.ReadAsync(0, WriteBase, back.Pointer, (uint)back.Length, done.Callback, null);
            done.WaitOk();
            Assert.Equal(-1, back.FirstMismatch(j => Pattern(j % Size, 100 + j / Size)));
        }
        finally
        {
            for (int b = 0; b < N; b++)
            {
                reads[b]?.Dispose();
                writes[b]?.Dispose();
            }
        }
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void Parallel_StressBurst_100WritesPastTheThrottleAndASmallContext_AllLand(AioEngineKind engine)
    {
        const int N = 100, Size = 4096;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine, capacity: 8); // far fewer slots than requests: the core queues them
        using KaioStorageDevice device = NewDevice(ctx, dir.File("test.log"), 64 * Mib);
        using var done = new Completions();
        var buffers = new NativeBuffer[N];
        try
        {
            for (int b = 0; b < N; b++)
            {
                int id = b;
                buffers[b] = new NativeBuffer(Size, i => Pattern(i, id));
                device.WriteAsync(buffers[b].Pointer, 0, (ulong)(b * Size), Size, done.Callback, null);
            }

            done.WaitOk(N);
        }
        finally
        {
            foreach (NativeBuffer? b in buffers)
            {
                b?.Dispose();
            }
        }

        using var all = new NativeBuffer(N * Size);
        device.ReadAsync(0, 0, all.Pointer, (uint)all.Length, done.Callback, null);
        done.WaitOk();
        Assert.Equal(-1, all.FirstMismatch(j => Pattern(j % Size, j / Size)));
        Completions.AssertNoneInFlight(device);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void BeforeInitialize_WriteThenReadThroughAnotherDevice_SingleSegmentZero(AioEngineKind engine)
    {
        const int Size = 4096;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        string path = dir.File("initopt.log");
        using var done = new Completions();
        using (var writer = new KaioStorageDevice(path, ctx))
        {
            using var w = new NativeBuffer(Size, i => Pattern(i, 11));
            writer.WriteAsync(w.Pointer, 0, 0, Size, done.Callback, null);
            done.WaitOk();
            Assert.Equal(-1, writer.SegmentSize);
        }

        Assert.True(File.Exists(path + ".0"));
        using var reader = new KaioStorageDevice(path, ctx, new KaioDeviceOptions { DeleteOnClose = true });
        using var r = new NativeBuffer(Size);
        reader.ReadAsync(0, 0, r.Pointer, Size, done.Callback, null);
        done.WaitOk();
        Assert.Equal(-1, r.FirstMismatch(i => Pattern(i, 11)));
        reader.Dispose();
        Assert.False(File.Exists(path + ".0"));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void InitializeMinusOne_HighAddress_StaysInSegmentZero(AioEngineKind engine)
    {
        const int Size = 4096;
        const ulong High = 8UL << 30; // past any segment size a store would pick; the file is sparse
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        using KaioStorageDevice device = NewDevice(ctx, dir.File("unbounded.log"), -1);
        using var done = new Completions();
        using var w = new NativeBuffer(Size, i => Pattern(i, 12));
        using var r = new NativeBuffer(Size);

        device.WriteAsync(w.Pointer, High, Size, done.Callback, null);
        done.WaitOk();
        device.ReadAsync(High, r.Pointer, Size, done.Callback, null);
        done.WaitOk();

        Assert.Equal(-1, r.FirstMismatch(i => Pattern(i, 12)));
        Assert.Equal((long)High + Size, new FileInfo(dir.File("unbounded.log.0")).Length);
        Assert.Equal((long)High + Size, device.GetFileSize(0));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void OmitSegmentIdFromFilename_WritesTheBareName(AioEngineKind engine)
    {
        const int Size = 4096;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        string path = dir.File("omit.log");
        using var device = new KaioStorageDevice(path, ctx);
        device.Initialize(-1, omitSegmentIdFromFilename: true);
        using var done = new Completions();
        using var w = new NativeBuffer(Size, i => Pattern(i, 13));
        using var r = new NativeBuffer(Size);

        device.WriteAsync(w.Pointer, 0, 0, Size, done.Callback, null);
        done.WaitOk();
        device.ReadAsync(0, 0, r.Pointer, Size, done.Callback, null);
        done.WaitOk();

        Assert.True(File.Exists(path));
        Assert.False(File.Exists(path + ".0"));
        Assert.Equal(-1, r.FirstMismatch(i => Pattern(i, 13)));
        Assert.Equal(Size, device.GetFileSize(0));
    }

    [Fact]
    public void OmitSegmentIdFromFilename_WithASegmentSize_Throws()
    {
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(AioEngineKind.ThreadPool);
        using var device = new KaioStorageDevice(dir.File("omit.log"), ctx);
        Assert.Throws<TsavoriteException>(() => device.Initialize(64 * Mib, omitSegmentIdFromFilename: true));
    }
}
