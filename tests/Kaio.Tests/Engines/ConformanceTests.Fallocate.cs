using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>
/// Fallocate (issue 10 §4), a Kaio extension like io_uring's IORING_OP_FALLOCATE, on every engine:
/// each mode does to a real file on ext4 what fallocate(2) does (length, allocated blocks, bytes
/// read back); vfs_fallocate()'s argument checks are refused at submit in its order (EINVAL for the
/// range, EOPNOTSUPP for the mode, then EBADF for a handle not open for writing), as the kernel
/// answers them (checked against fallocate(2) on this machine); what only the file can tell
/// (ESPIPE for a pipe, ENODEV for a character device, EFBIG) arrives in the event, the same on
/// every engine; FallocateAsync checks its arguments as RandomAccess would.
/// </summary>
public abstract partial class ConformanceTests
{
    [Fact]
    public void Fallocate_Allocate_ExtendsTheFileWithZeros()
    {
        RequireRealIo();
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        IoEvent ev = SubmitOne(ctx, Iocb.PrepFallocate(h, 4096, 8192, data: 7));
        Assert.Equal(0, ev.Result);
        Assert.Equal(7ul, ev.Data);

        (long length, long allocated, _) = Native.Space(file.Path);
        Assert.Equal(12288, length);
        Assert.True(allocated >= 12288, $"{allocated} bytes allocated for a 12288-byte file");
        byte[] content = File.ReadAllBytes(file.Path);
        Assert.Equal(file.Content, content.AsSpan(0, 4096).ToArray());
        Assert.All(content.AsSpan(4096).ToArray(), b => Assert.Equal(0, b));
        AssertIdle(ctx);
    }

    [Fact]
    public void Fallocate_KeepSize_ReservesBlocksLengthUnchanged()
    {
        RequireRealIo();
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        long before = Native.Space(file.Path).Allocated;
        IoEvent ev = SubmitOne(ctx, Iocb.PrepFallocate(h, 4096, 1 << 20, FallocateMode.KeepSize));
        Assert.Equal(0, ev.Result);

        (long length, long allocated, _) = Native.Space(file.Path);
        Assert.Equal(4096, length);
        Assert.True(allocated >= before + (1 << 20), $"{allocated} bytes allocated, {before} before a 1 MiB reservation");
        Assert.Equal(file.Content, File.ReadAllBytes(file.Path));
        AssertIdle(ctx);
    }

    [Fact]
    public void Fallocate_PunchHoleKeepSize_ZeroesTheRangeAndFreesItsBlocks()
    {
        RequireRealIo();
        const int Size = 64 * 1024, Off = 16 * 1024, Len = 32 * 1024;
        using var file = new TempFile(Size);
        using SafeFileHandle h = file.OpenReadWrite();
        Kaio.Interop.fdatasync((int)h.DangerousGetHandle()); // blocks allocated on disk, not merely reserved
        long before = Native.Space(file.Path).Allocated;
        Assert.True(before >= Size, $"{before} bytes allocated for a {Size}-byte file");
        using AioContext ctx = NewContext();
        IoEvent ev = SubmitOne(ctx, Iocb.PrepFallocate(h, Off, Len, FallocateMode.PunchHole | FallocateMode.KeepSize));
        Assert.Equal(0, ev.Result);

        (long length, long allocated, _) = Native.Space(file.Path);
        Assert.Equal(Size, length);
        Assert.True(allocated <= before - Len, $"{allocated} bytes allocated after punching {Len} out of {before}");
        byte[] content = File.ReadAllBytes(file.Path);
        Assert.Equal(file.Content.AsSpan(0, Off).ToArray(), content.AsSpan(0, Off).ToArray());
        Assert.All(content.AsSpan(Off, Len).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(file.Content.AsSpan(Off + Len).ToArray(), content.AsSpan(Off + Len).ToArray());
        AssertIdle(ctx);
    }

    [Fact]
    public void Fallocate_ZeroRange_ZeroesTheRange_KeepSizePastTheEndKeepsTheLength()
    {
        RequireRealIo();
        const int Size = 64 * 1024, Off = 8 * 1024, Len = 16 * 1024;
        using var file = new TempFile(Size);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        Assert.Equal(0, SubmitOne(ctx, Iocb.PrepFallocate(h, Off, Len, FallocateMode.ZeroRange)).Result);
        Assert.Equal(0, SubmitOne(ctx, Iocb.PrepFallocate(h, Size, Len, FallocateMode.ZeroRange | FallocateMode.KeepSize)).Result);

        Assert.Equal(Size, Native.Space(file.Path).Length);
        byte[] content = File.ReadAllBytes(file.Path);
        Assert.Equal(file.Content.AsSpan(0, Off).ToArray(), content.AsSpan(0, Off).ToArray());
        Assert.All(content.AsSpan(Off, Len).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(file.Content.AsSpan(Off + Len).ToArray(), content.AsSpan(Off + Len).ToArray());

        Assert.Equal(0, SubmitOne(ctx, Iocb.PrepFallocate(h, Size, Len, FallocateMode.ZeroRange)).Result);
        Assert.Equal(Size + Len, Native.Space(file.Path).Length); // without KeepSize the file grows
        AssertIdle(ctx);
    }

    [Fact]
    public void Fallocate_InsertThenCollapse_ShiftTheRestAndBack_MisalignedEinvalInTheEvent()
    {
        RequireRealIo();
        const int Size = 64 * 1024;
        using var file = new TempFile(Size);
        using SafeFileHandle h = file.OpenReadWrite();
        int bs = Native.Space(file.Path).BlockSize;
        int at = 4 * bs;
        using AioContext ctx = NewContext();
        long res = SubmitOne(ctx, Iocb.PrepFallocate(h, at, bs, FallocateMode.InsertRange)).Result;
        if (res == -Errno.EOPNOTSUPP)
        {
            Assert.Skip("the file system cannot insert a range (EOPNOTSUPP)");
        }

        Assert.Equal(0, res);
        byte[] content = File.ReadAllBytes(file.Path);
        Assert.Equal(Size + bs, content.Length);
        Assert.Equal(file.Content.AsSpan(0, at).ToArray(), content.AsSpan(0, at).ToArray());
        Assert.All(content.AsSpan(at, bs).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(file.Content.AsSpan(at).ToArray(), content.AsSpan(at + bs).ToArray());

        Assert.Equal(0, SubmitOne(ctx, Iocb.PrepFallocate(h, at, bs, FallocateMode.CollapseRange)).Result);
        Assert.Equal(file.Content, File.ReadAllBytes(file.Path));

        // The file system's own rules arrive in the event: a range off the block size, one crossing the end.
        Assert.Equal(-Errno.EINVAL, SubmitOne(ctx, Iocb.PrepFallocate(h, 1, bs, FallocateMode.CollapseRange)).Result);
        Assert.Equal(-Errno.EINVAL, SubmitOne(ctx, Iocb.PrepFallocate(h, Size - bs, 2L * bs, FallocateMode.CollapseRange)).Result);
        Assert.Equal(file.Content, File.ReadAllBytes(file.Path));
        AssertIdle(ctx);
    }

    [Fact]
    public void Fallocate_Batch_EachCompletesOnceWithItsData()
    {
        const int N = 16, Len = 64 * 1024;
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        var batch = new Iocb[N];
        for (int i = 0; i < N; i++)
        {
            batch[i] = Iocb.PrepFallocate(h, (long)i * Len, Len, FallocateMode.KeepSize, data: (ulong)i + 1);
        }

        Assert.Equal(N, ctx.Submit(batch));
        IoEvent[] events = Reap(ctx, N);
        Assert.All(events, ev => Assert.Equal(0, ev.Result));
        Assert.Equal(Enumerable.Range(1, N).Select(i => (ulong)i), events.Select(ev => ev.Data).Order());
        Assert.Equal(batch.Select(cb => cb.Key).Order(), events.Select(ev => ev.Key).Order());
        if (DoesRealIo)
        {
            (long length, long allocated, _) = Native.Space(file.Path);
            Assert.Equal(4096, length);
            Assert.True(allocated >= (long)N * Len, $"{allocated} bytes allocated, {N * Len} reserved");
        }

        AssertIdle(ctx);
    }

    [Fact]
    public void Fallocate_BadArguments_RefusedAtSubmitInTheKernelsOrder_ContextStaysUsable()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle rw = file.OpenReadWrite();
        using SafeFileHandle ro = file.OpenRead();
        using AioContext ctx = NewContext();

        // vfs_fallocate(): offset < 0 || len <= 0 → EINVAL.
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, Iocb.PrepFallocate(rw, -1, 4096)).Errno);
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, Iocb.PrepFallocate(rw, 0, 0)).Errno);
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, Iocb.PrepFallocate(rw, 0, -4096)).Errno);

        // Then the mode → EOPNOTSUPP: unknown bits, a punch without KEEP_SIZE, two operations,
        // KEEP_SIZE with a collapse or an insert.
        foreach (FallocateMode bad in new[]
        {
            FallocateMode.PunchHole,
            (FallocateMode)0x04, // FALLOC_FL_NO_HIDE_STALE: reserved
            (FallocateMode)0x40, // FALLOC_FL_UNSHARE_RANGE: not offered by Kaio
            (FallocateMode)0x200,
            FallocateMode.PunchHole | FallocateMode.ZeroRange | FallocateMode.KeepSize,
            FallocateMode.CollapseRange | FallocateMode.InsertRange,
            FallocateMode.CollapseRange | FallocateMode.KeepSize,
            FallocateMode.InsertRange | FallocateMode.KeepSize,
        })
        {
            AioException e = SubmitRefused(ctx, Iocb.PrepFallocate(rw, 0, 4096, bad));
            Assert.True(e.Errno == Errno.EOPNOTSUPP, $"mode {bad}: {e.Message}");
            Assert.Contains("fallocate", e.Message, StringComparison.Ordinal);
        }

        // Then FMODE_WRITE → EBADF: after the argument checks, as the kernel orders them.
        Assert.Equal(Errno.EBADF, SubmitRefused(ctx, Iocb.PrepFallocate(ro, 0, 4096)).Errno);
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, Iocb.PrepFallocate(ro, -1, 4096)).Errno);
        Assert.Equal(Errno.EOPNOTSUPP, SubmitRefused(ctx, Iocb.PrepFallocate(ro, 0, 4096, FallocateMode.PunchHole)).Errno);

        // Kaio's own fields: no buffers or RwFlags on a Fallocate; no Length or mode on another command.
        Iocb withBuffer = Iocb.PrepFallocate(rw, 0, 4096);
        withBuffer.Buffer = new byte[16];
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, withBuffer).Errno);
        Iocb withFlags = Iocb.PrepFallocate(rw, 0, 4096);
        withFlags.RwFlags = AioRwFlags.Dsync;
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, withFlags).Errno);
        Iocb readWithLength = Iocb.PrepPread(rw, new byte[16], 0);
        readWithLength.Length = 16;
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, readWithLength).Errno);
        Iocb syncWithMode = Iocb.PrepFsync(rw);
        syncWithMode.FallocateMode = FallocateMode.KeepSize;
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, syncWithMode).Errno);
        AssertIdle(ctx);

        Assert.Equal(0, SubmitOne(ctx, Iocb.PrepFallocate(rw, 0, 4096, FallocateMode.KeepSize)).Result);
        if (DoesRealIo)
        {
            Assert.Equal(file.Content, File.ReadAllBytes(file.Path));
        }

        AssertIdle(ctx);
    }

    [Fact]
    public void Fallocate_PipeCharDeviceOrPastTheLargestFile_ErrnoInTheEvent()
    {
        RequireRealIo();
        var (r, w) = Native.Pipe();
        using (r)
        using (w)
        using (SafeFileHandle devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Write))
        using (var file = new TempFile(4096))
        using (SafeFileHandle h = file.OpenReadWrite())
        {
            using AioContext ctx = NewContext();
            // vfs_fallocate(): S_ISFIFO → ESPIPE; neither regular nor a block device → ENODEV;
            // offset + len past s_maxbytes (or wrapping) → EFBIG. fallocate(2) answers the same.
            Assert.Equal(-Errno.ESPIPE, SubmitOne(ctx, Iocb.PrepFallocate(w, 0, 4096)).Result);
            Assert.Equal(-Errno.ENODEV, SubmitOne(ctx, Iocb.PrepFallocate(devNull, 0, 4096)).Result);
            Assert.Equal(-Errno.EFBIG, SubmitOne(ctx, Iocb.PrepFallocate(h, long.MaxValue - 4096, 8192)).Result);
            Assert.Equal(0, Native.BytesAvailable(r));
            Assert.Equal(file.Content, File.ReadAllBytes(file.Path));

            // The read end is not open for writing: refused at submit, as fallocate(2) refuses it.
            Assert.Equal(Errno.EBADF, SubmitRefused(ctx, Iocb.PrepFallocate(r, 0, 4096)).Errno);
            AssertIdle(ctx);
        }
    }

    [Fact]
    public async Task FallocateAsync_ExtendsThenFlushes_ReservesWithKeepSize()
    {
        RequireRealIo();
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        await using AioContext ctx = NewContext();
        CancellationToken ct = TestContext.Current.CancellationToken;

        await ctx.FallocateAsync(h, 0, 1 << 20, cancellationToken: ct);
        await ctx.FlushAsync(h, dataOnly: true, ct);
        Assert.Equal(1 << 20, RandomAccess.GetLength(h));

        await ctx.FallocateAsync(h, 1 << 20, 1 << 20, FallocateMode.KeepSize, ct);
        (long length, long allocated, _) = Native.Space(file.Path);
        Assert.Equal(1 << 20, length);
        Assert.True(allocated >= 2 << 20, $"{allocated} bytes allocated, 2 MiB asked");
        Assert.Equal(file.Content, (await File.ReadAllBytesAsync(file.Path, ct)).AsSpan(0, 4096).ToArray());
        Assert.Equal(ctx.Capacity, ctx.AvailableSlots);
    }

    [Fact]
    public async Task FallocateAsync_ArgumentErrors_ThrownAtTheCall_BeforeTheToken()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle open = file.OpenReadWrite();
        using var invalid = new SafeFileHandle(-1, ownsHandle: false);
        SafeFileHandle closed = file.OpenReadWrite();
        closed.Dispose();
        await using AioContext ctx = NewContext();
        var cancelled = new CancellationToken(canceled: true);

        // RandomAccess's checks and types, in its order; an argument error wins over a cancelled token.
        Assert.Equal("handle", (await Assert.ThrowsAsync<ArgumentNullException>(async () => await ctx.FallocateAsync(null!, 0, 4096, cancellationToken: cancelled))).ParamName);
        Assert.Equal("handle", (await Assert.ThrowsAsync<ArgumentException>(async () => await ctx.FallocateAsync(invalid, 0, 4096, cancellationToken: cancelled))).ParamName);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await ctx.FallocateAsync(closed, -1, 0, cancellationToken: cancelled));
        Assert.Equal("fileOffset", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ctx.FallocateAsync(open, -1, 4096, cancellationToken: cancelled))).ParamName);
        Assert.Equal("length", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ctx.FallocateAsync(open, 0, 0, cancellationToken: cancelled))).ParamName);
        Assert.Equal("length", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ctx.FallocateAsync(open, 0, -1, cancellationToken: cancelled))).ParamName);

        // Valid arguments and a cancelled token: cancelled, nothing submitted.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await ctx.FallocateAsync(open, 0, 4096, cancellationToken: cancelled));
        if (DoesRealIo)
        {
            Assert.Equal(4096, RandomAccess.GetLength(open));
        }

        AssertIdle(ctx);
    }

    [Fact]
    public async Task FallocateAsync_RefusedAtSubmit_AioExceptionWithTheErrno_ContextStaysUsable()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle rw = file.OpenReadWrite();
        using SafeFileHandle ro = file.OpenRead();
        await using AioContext ctx = NewContext();
        CancellationToken ct = TestContext.Current.CancellationToken;

        AioException notWritable = await Assert.ThrowsAsync<AioException>(async () => await ctx.FallocateAsync(ro, 0, 4096, cancellationToken: ct));
        Assert.Equal(Errno.EBADF, notWritable.Errno);
        Assert.Contains("fallocate of 4096 bytes at offset 0", notWritable.Message, StringComparison.Ordinal);
        AioException badMode = await Assert.ThrowsAsync<AioException>(async () => await ctx.FallocateAsync(rw, 0, 4096, FallocateMode.PunchHole, ct));
        Assert.Equal(Errno.EOPNOTSUPP, badMode.Errno);
        Assert.Contains("fallocate (PunchHole)", badMode.Message, StringComparison.Ordinal);
        AssertIdle(ctx);

        await ctx.FallocateAsync(rw, 0, 4096, FallocateMode.PunchHole | FallocateMode.KeepSize, ct);
        AssertIdle(ctx);
    }

    [Fact]
    public async Task FallocateAsync_Pipe_EspipeFromTheAwait_MessageNamesTheRequest()
    {
        RequireRealIo();
        var (r, w) = Native.Pipe();
        using (r)
        using (w)
        {
            await using AioContext ctx = NewContext();
            AioException e = await Assert.ThrowsAsync<AioException>(async () => await ctx.FallocateAsync(w, 8192, 4096, FallocateMode.KeepSize, TestContext.Current.CancellationToken));
            Assert.Equal(Errno.ESPIPE, e.Errno);
            Assert.Contains("fallocate (KeepSize) of 4096 bytes at offset 8192", e.Message, StringComparison.Ordinal);
            Assert.Contains("ESPIPE", e.Message, StringComparison.Ordinal);
            AssertIdle(ctx);
        }
    }
}
