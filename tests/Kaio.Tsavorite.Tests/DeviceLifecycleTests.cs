using Kaio.Tsavorite.Tests.Infrastructure;
using Tsavorite.core;

namespace Kaio.Tsavorite.Tests;

/// <summary>
/// What the device does beyond moving bytes: O_DIRECT and the sector size, errors through the
/// callback (errno and an IOException, never a throw at Tsavorite), throttling, segment removal
/// and truncation, Reset, and a Dispose that drains.
/// </summary>
public sealed class DeviceLifecycleTests
{
    private const long Mib = 1L << 20;

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void ODirect_MisalignedRead_CallbackGetsEinvalAndAnIOException(AioEngineKind engine)
    {
        using var dir = new Scratch();
        SkipUnlessDirectIo(dir);
        using AioContext ctx = TestEngines.Setup(engine);
        using var device = new KaioStorageDevice(dir.File("test.log"), ctx);
        using var done = new Completions();
        using var w = new NativeBuffer(8192, i => (byte)i);

        device.WriteAsync(w.Pointer, 0, 0, 8192, done.Callback, null);
        done.WaitOk();
        Assert.True(device.IsDirect);
        DirectIoAlignment alignment = AioFile.GetDirectIoAlignment(dir.Path);
        Assert.Equal((uint)Math.Max(512, Math.Max(alignment.MemoryAlignment, alignment.OffsetAlignment)), device.SectorSize);

        device.ReadAsync(0, 100, w.Pointer, 4096, done.Callback, null); // offset 100: not a sector multiple
        done.Wait();
        Assert.Equal((uint)Errno.EINVAL, done.LastErrorCode);
        IOException e = Assert.IsAssignableFrom<IOException>(done.LastException);
        Assert.Contains("EINVAL", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void OpenFails_ParentIsAFile_CallbackGetsTheErrnoNothingThrown(AioEngineKind engine)
    {
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        string blocker = dir.File("blocker");
        using var device = new KaioStorageDevice(dir.File("sub") + "/test.log", ctx);
        Directory.Delete(dir.File("sub")); // the device made it; a file takes its place
        File.WriteAllText(blocker, "x");
        File.Move(blocker, dir.File("sub"));
        using var done = new Completions();
        using var w = new NativeBuffer(4096);

        device.WriteAsync(w.Pointer, 0, 0, 4096, done.Callback, null); // must not throw
        done.Wait();

        Assert.Equal((uint)Errno.ENOTDIR, done.LastErrorCode);
        Assert.IsAssignableFrom<IOException>(done.LastException);
        Completions.AssertNoneInFlight(device);
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void ReadOnly_Write_CallbackGetsEbadf(AioEngineKind engine)
    {
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        using var device = new KaioStorageDevice(dir.File("ro.log"), ctx, new KaioDeviceOptions { ReadOnly = true });
        using var done = new Completions();
        using var w = new NativeBuffer(4096);

        device.WriteAsync(w.Pointer, 0, 0, 4096, done.Callback, null);
        done.Wait();

        Assert.Equal((uint)Errno.EBADF, done.LastErrorCode);
        Assert.IsAssignableFrom<IOException>(done.LastException);
    }

    [Fact]
    public void Throttle_TrueWhileMoreThanTheLimitAreOutstanding_FalseOnceTheyReturn()
    {
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(AioEngineKind.ThreadPool);
        using var device = new KaioStorageDevice(dir.File("throttle.log"), ctx, new KaioDeviceOptions { ThrottleLimit = 1 });
        Assert.Equal(1, device.ThrottleLimit);
        using var gate = new ManualResetEventSlim();
        using var entered = new CountdownEvent(2);
        using var left = new CountdownEvent(2);
        using var w = new NativeBuffer(4096);
        DeviceIOCompletionCallback blocking = (_, _, _, _) =>
        {
            entered.Signal();
            gate.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            left.Signal();
        };

        Assert.False(device.Throttle());
        device.WriteAsync(w.Pointer, 0, 0, 4096, blocking, null);
        device.WriteAsync(w.Pointer, 0, 4096, 4096, blocking, null);
        Assert.True(entered.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));

        Assert.Equal(2, device.InFlight); // a request counts until its callback returns
        Assert.True(device.Throttle());
        gate.Set();
        Assert.True(left.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        SpinWait.SpinUntil(() => device.InFlight == 0, TimeSpan.FromSeconds(30));
        Assert.False(device.Throttle());
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void TruncateUntilSegment_RemovesEarlierSegmentFiles_LaterStillRead(AioEngineKind engine)
    {
        const int Size = 4096;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        var epoch = new LightEpoch();
        using var device = new KaioStorageDevice(dir.File("trunc.log"), ctx);
        device.Initialize(1 * Mib, epoch);
        using var done = new Completions();
        using var w = new NativeBuffer(Size, i => (byte)(i * 3));
        for (int s = 0; s < 4; s++)
        {
            device.WriteAsync(w.Pointer, s, 0, Size, done.Callback, null);
        }

        done.WaitOk(4);
        device.TruncateUntilSegment(2);

        Assert.Equal(2, device.StartSegment);
        Assert.False(File.Exists(dir.File("trunc.log.0")));
        Assert.False(File.Exists(dir.File("trunc.log.1")));
        Assert.True(File.Exists(dir.File("trunc.log.2")));
        using var r = new NativeBuffer(Size);
        device.ReadAsync(3, 0, r.Pointer, Size, done.Callback, null);
        done.WaitOk();
        Assert.Equal(-1, r.FirstMismatch(i => (byte)(i * 3)));

        device.RemoveSegment(3);
        Assert.False(File.Exists(dir.File("trunc.log.3")));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void Capacity_WritingPastIt_TruncatesTheOldestSegments(AioEngineKind engine)
    {
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        var epoch = new LightEpoch();
        using var device = new KaioStorageDevice(dir.File("cap.log"), ctx, new KaioDeviceOptions { Capacity = 2 * Mib });
        device.Initialize(1 * Mib, epoch);
        using var done = new Completions();
        using var w = new NativeBuffer(4096);
        for (int s = 0; s < 4; s++)
        {
            device.WriteAsync(w.Pointer, s, 0, 4096, done.Callback, null);
            done.WaitOk();
        }

        // Tsavorite's rule (HandleCapacity): keep Capacity / SegmentSize segments behind the one being
        // written, so writing segment 3 with room for 2 truncates until segment 1.
        Assert.True(SpinWait.SpinUntil(() => !File.Exists(dir.File("cap.log.0")), TimeSpan.FromSeconds(10)));
        Assert.Equal(1, device.StartSegment);
        Assert.Equal(3, device.EndSegment);
        Assert.True(File.Exists(dir.File("cap.log.1")));
        Assert.True(File.Exists(dir.File("cap.log.3")));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void Reset_ClosesFiles_NextIoReopensThem(AioEngineKind engine)
    {
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        using var device = new KaioStorageDevice(dir.File("reset.log"), ctx);
        using var done = new Completions();
        using var w = new NativeBuffer(4096, i => (byte)(i ^ 0x5A));
        using var r = new NativeBuffer(4096);
        Assert.Equal(0, device.GetFileSize(0));

        device.WriteAsync(w.Pointer, 0, 0, 4096, done.Callback, null);
        done.WaitOk();
        device.Reset();
        device.ReadAsync(0, 0, r.Pointer, 4096, done.Callback, null);
        done.WaitOk();

        Assert.Equal(-1, r.FirstMismatch(i => (byte)(i ^ 0x5A)));
        Assert.Equal(4096, device.GetFileSize(0));
    }

    [Theory]
    [MemberData(nameof(TestEngines.Real), MemberType = typeof(TestEngines))]
    public void Dispose_WithRequestsInFlight_ReturnsOnlyAfterEveryCallback(AioEngineKind engine)
    {
        const int N = 64;
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine);
        var device = new KaioStorageDevice(dir.File("drain.log"), ctx, new KaioDeviceOptions { DeleteOnClose = true });
        using var done = new Completions();
        using var w = new NativeBuffer(N * 4096, i => (byte)i);
        for (int i = 0; i < N; i++)
        {
            device.WriteAsync(w.Pointer + (i * 4096), 0, (ulong)(i * 4096), 4096, done.Callback, null);
        }

        device.Dispose();

        Assert.Equal(N, done.Count); // every callback has run by the time Dispose returns
        Assert.Equal(0, device.InFlight);
        Assert.False(File.Exists(dir.File("drain.log.0")));
        Assert.Throws<ObjectDisposedException>(() => device.ReadAsync(0, 0, w.Pointer, 4096, done.Callback, null));
        device.Dispose(); // idempotent
    }

    [Fact]
    public void Create_OwnsItsContext_DisposedWithTheDevice()
    {
        using var dir = new Scratch();
        KaioStorageDevice device = KaioStorageDevice.Create(dir.File("own.log"), AioEngineKind.ThreadPool);
        using var done = new Completions();
        using var w = new NativeBuffer(4096, i => (byte)(i + 1));
        device.WriteAsync(w.Pointer, 0, 0, 4096, done.Callback, null);
        done.WaitOk();
        Assert.Equal(AioEngineKind.ThreadPool, device.Context.Engine);

        device.Dispose();

        Assert.True(device.Context.IsDisposed);
    }

    private static void SkipUnlessDirectIo(Scratch dir)
    {
        try
        {
            using SafeFileHandle probe = AioFile.Open(dir.File("probe"), FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite, AioOpenOptions.Direct);
        }
        catch (AioException e) when (e.Errno == Errno.EINVAL)
        {
            Assert.Skip($"the file system under {dir.Path} refuses O_DIRECT");
        }
    }
}
