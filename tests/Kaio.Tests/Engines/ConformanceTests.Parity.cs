using System.Runtime.CompilerServices;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>
/// The awaitable face as a drop-in for RandomAccess (issue 9 §4, §5), on every engine: argument
/// errors of the same types as RandomAccess's, checked against RandomAccess itself; scatter/gather
/// overloads (arrays and other lists); Iocb's read-only write vectors; messages that name the
/// request; and where continuations and callbacks run, with or without the caller's ExecutionContext.
/// </summary>
public abstract partial class ConformanceTests
{
    private static readonly AsyncLocal<string?> s_ambient = new();

    /// <summary>One argument case: the same call made on RandomAccess and on the context.</summary>
    private sealed record ParityCase(string Name, Func<Task> RandomAccessCall, Func<AioContext, Task> KaioCall);

    private static IEnumerable<ParityCase> ArgumentCases(SafeFileHandle open, SafeFileHandle invalid, SafeFileHandle closed)
    {
        var buffer = new byte[16];
        Memory<byte>[] vectors = [new byte[16]];
        ReadOnlyMemory<byte>[] writeVectors = [new byte[16]];
        var cancelled = new CancellationToken(canceled: true);
        foreach ((string name, SafeFileHandle? handle, long offset) in new (string, SafeFileHandle?, long)[]
        {
            ("null handle", null, 0),
            ("invalid handle", invalid, 0),
            ("closed handle", closed, 0),
            ("closed handle, negative offset", closed, -1),
            ("negative offset", open, -1),
        })
        {
            yield return new ParityCase($"ReadAsync, {name}",
                async () => await RandomAccess.ReadAsync(handle!, buffer, offset, cancelled),
                async ctx => await ctx.ReadAsync(handle!, buffer, offset, cancelled));
            yield return new ParityCase($"WriteAsync, {name}",
                async () => await RandomAccess.WriteAsync(handle!, (ReadOnlyMemory<byte>)buffer, offset, cancelled),
                async ctx => await ctx.WriteAsync(handle!, buffer, offset, cancellationToken: cancelled));
            yield return new ParityCase($"vectored ReadAsync, {name}",
                async () => await RandomAccess.ReadAsync(handle!, vectors, offset, cancelled),
                async ctx => await ctx.ReadAsync(handle!, vectors, offset, cancelled));
            yield return new ParityCase($"vectored WriteAsync, {name}",
                async () => await RandomAccess.WriteAsync(handle!, writeVectors, offset, cancelled),
                async ctx => await ctx.WriteAsync(handle!, writeVectors, offset, cancellationToken: cancelled));
            yield return new ParityCase($"vectored ReadAsync, null list, {name}",
                async () => await RandomAccess.ReadAsync(handle!, (IReadOnlyList<Memory<byte>>)null!, offset, cancelled),
                async ctx => await ctx.ReadAsync(handle!, (IReadOnlyList<Memory<byte>>)null!, offset, cancelled));
            yield return new ParityCase($"vectored WriteAsync, null list, {name}",
                async () => await RandomAccess.WriteAsync(handle!, (IReadOnlyList<ReadOnlyMemory<byte>>)null!, offset, cancelled),
                async ctx => await ctx.WriteAsync(handle!, (IReadOnlyList<ReadOnlyMemory<byte>>)null!, offset, cancellationToken: cancelled));
        }

        yield return new ParityCase("vectored ReadAsync, null list",
            async () => await RandomAccess.ReadAsync(open, (IReadOnlyList<Memory<byte>>)null!, 0, cancelled),
            async ctx => await ctx.ReadAsync(open, (IReadOnlyList<Memory<byte>>)null!, 0, cancelled));
        yield return new ParityCase("vectored WriteAsync, null list",
            async () => await RandomAccess.WriteAsync(open, (IReadOnlyList<ReadOnlyMemory<byte>>)null!, 0, cancelled),
            async ctx => await ctx.WriteAsync(open, (IReadOnlyList<ReadOnlyMemory<byte>>)null!, 0, cancellationToken: cancelled));
    }

    [Fact]
    public async Task AwaitableCalls_ArgumentErrors_SameTypesAndOrderAsRandomAccess_ThrownAtTheCall()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle open = file.OpenReadWrite();
        using var invalid = new SafeFileHandle(-1, ownsHandle: false);
        SafeFileHandle closed = file.OpenReadWrite();
        closed.Dispose();
        await using AioContext ctx = NewContext();
        int cases = 0;
        foreach (ParityCase c in ArgumentCases(open, invalid, closed))
        {
            // Every case passes a cancelled token: an argument error wins over it, as in RandomAccess.
            Exception expected = await Assert.ThrowsAnyAsync<Exception>(c.RandomAccessCall);
            Assert.IsNotAssignableFrom<OperationCanceledException>(expected);
            Exception actual = await Assert.ThrowsAnyAsync<Exception>(() => c.KaioCall(ctx));
            Assert.True(expected.GetType() == actual.GetType(), $"{c.Name}: RandomAccess threw {expected.GetType().Name}, Kaio {actual.GetType().Name}: {actual.Message}");
            Assert.Equal((expected as ArgumentException)?.ParamName, (actual as ArgumentException)?.ParamName);
            cases++;
        }

        Assert.Equal(32, cases);
        AssertIdle(ctx);
        Assert.Equal(0, SubmitOne(ctx, Iocb.PrepNoop()).Result); // still usable
    }

    [Fact]
    public async Task AwaitableCalls_ArgumentErrors_ThrowSynchronously_FlushToo()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        SafeFileHandle closed = file.OpenReadWrite();
        closed.Dispose();
        using var invalid = new SafeFileHandle(-1, ownsHandle: false);
        await using AioContext ctx = NewContext();
        Memory<byte>[] vectors = [new byte[8]];
        ReadOnlyMemory<byte>[] writeVectors = [new byte[8]];
        // Not awaited: the exception comes out of the call itself, before any ValueTask exists.
        Assert.Equal("fileOffset", Assert.Throws<ArgumentOutOfRangeException>(() => { _ = ctx.ReadAsync(h, new byte[8], -1, TestContext.Current.CancellationToken).AsTask(); }).ParamName);
        Assert.Equal("fileOffset", Assert.Throws<ArgumentOutOfRangeException>(() => { _ = ctx.WriteAsync(h, new byte[8], -1, cancellationToken: TestContext.Current.CancellationToken).AsTask(); }).ParamName);
        Assert.Equal("fileOffset", Assert.Throws<ArgumentOutOfRangeException>(() => { _ = ctx.ReadAsync(h, vectors, -1, TestContext.Current.CancellationToken).AsTask(); }).ParamName);
        Assert.Equal("fileOffset", Assert.Throws<ArgumentOutOfRangeException>(() => { _ = ctx.WriteAsync(h, writeVectors, -1, cancellationToken: TestContext.Current.CancellationToken).AsTask(); }).ParamName);
        Assert.Equal("handle", Assert.Throws<ArgumentNullException>(() => { _ = ctx.FlushAsync(null!, cancellationToken: TestContext.Current.CancellationToken).AsTask(); }).ParamName);
        Assert.Equal("handle", Assert.Throws<ArgumentException>(() => { _ = ctx.FlushAsync(invalid, cancellationToken: TestContext.Current.CancellationToken).AsTask(); }).ParamName);
        Assert.Throws<ObjectDisposedException>(() => { _ = ctx.FlushAsync(closed, cancellationToken: TestContext.Current.CancellationToken).AsTask(); });
        AssertIdle(ctx);
    }

    [Fact]
    public void Submit_KeepsErrnoSemantics_NegativeOffsetAndClosedHandleRefusedWithErrno()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        SafeFileHandle closed = file.OpenReadWrite();
        closed.Dispose();
        using AioContext ctx = NewContext();
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, Iocb.PrepPread(h, new byte[8], -1)).Errno);
        Assert.Equal(Errno.EBADF, SubmitRefused(ctx, Iocb.PrepPread(closed, new byte[8], 0)).Errno);
        Assert.Equal(Errno.EBADF, SubmitRefused(ctx, Iocb.PrepFsync(closed)).Errno);
        AssertIdle(ctx);
    }

    [Fact]
    public async Task VectoredWriteAsync_ThenVectoredReadAsync_RoundTrip_ArraysAndLists()
    {
        using var file = new TempFile(1 << 16);
        using SafeFileHandle h = file.OpenReadWrite();
        await using AioContext ctx = NewContext();
        CancellationToken ct = TestContext.Current.CancellationToken;
        var rng = new Random(11);
        byte[][] parts = [new byte[100], new byte[4096], new byte[7]];
        foreach (byte[] p in parts)
        {
            rng.NextBytes(p);
        }

        // A ReadOnlyMemory<byte>[] goes through as it is; a List is copied into a pooled array.
        ReadOnlyMemory<byte>[] asArray = [parts[0], parts[1], parts[2]];
        Assert.Equal(4203L, await ctx.WriteAsync(h, asArray, 1000, cancellationToken: ct));
        var asList = new List<ReadOnlyMemory<byte>> { parts[2], parts[1], parts[0] };
        Assert.Equal(4203L, await ctx.WriteAsync(h, asList, 20_000, AioRwFlags.Dsync, ct));

        byte[][] back = [new byte[100], new byte[4096], new byte[7]];
        Assert.Equal(4203L, await ctx.ReadAsync(h, new Memory<byte>[] { back[0], back[1], back[2] }, 1000, ct));
        byte[][] back2 = [new byte[7], new byte[4096], new byte[100]];
        Assert.Equal(4203L, await ctx.ReadAsync(h, new List<Memory<byte>> { back2[0], back2[1], back2[2] }, 20_000, ct));
        if (DoesRealIo)
        {
            Assert.Equal(parts, back);
            Assert.Equal(new[] { parts[2], parts[1], parts[0] }, back2);
            var onDisk = new byte[4203];
            Assert.Equal(4203, RandomAccess.Read(h, onDisk, 1000));
            Assert.Equal(parts.SelectMany(p => p).ToArray(), onDisk);
        }

        AssertIdle(ctx);
    }

    [Fact]
    public async Task VectoredReadAsync_PastEndOfFile_ShortThenZero_EmptyListZero()
    {
        using var file = new TempFile(1000);
        using SafeFileHandle h = file.OpenReadWrite();
        await using AioContext ctx = NewContext();
        CancellationToken ct = TestContext.Current.CancellationToken;
        Memory<byte>[] two = [new byte[600], new byte[600]];
        Assert.Equal(DoesRealIo ? 1000L : 1200L, await ctx.ReadAsync(h, two, 0, ct));
        Assert.Equal(DoesRealIo ? 0L : 1200L, await ctx.ReadAsync(h, two, 5000, ct));
        Assert.Equal(0L, await ctx.ReadAsync(h, Array.Empty<Memory<byte>>(), 0, ct));
        Assert.Equal(0L, await ctx.WriteAsync(h, new List<ReadOnlyMemory<byte>>(), 0, cancellationToken: ct));
        if (DoesRealIo)
        {
            Assert.Equal(file.Content.AsSpan(0, 600).ToArray(), two[0].ToArray().AsSpan(0, 600).ToArray());
            Assert.Equal(file.Content.AsSpan(600, 400).ToArray(), two[1].Span[..400].ToArray());
            Assert.Equal(1000, RandomAccess.GetLength(h)); // the empty write wrote nothing
        }

        AssertIdle(ctx);
    }

    [Fact]
    public async Task VectoredAsync_TooManyBuffers_EinvalAtTheCall_CancelledToken_WriteOnlyHandle()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle w = file.OpenWrite();
        await using AioContext ctx = NewContext();
        CancellationToken ct = TestContext.Current.CancellationToken;
        var many = new List<Memory<byte>>();
        for (int i = 0; i <= AioContext.MaxVectors; i++)
        {
            many.Add(new byte[1]);
        }

        AioException e = Assert.Throws<AioException>(() => { _ = ctx.ReadAsync(w, many, 0, ct).AsTask(); });
        Assert.Equal(Errno.EINVAL, e.Errno);
        Assert.Contains("1025 buffers", e.Message, StringComparison.Ordinal);
        ReadOnlyMemory<byte>[] manyWrites = [.. many.Select(m => (ReadOnlyMemory<byte>)m)];
        Assert.Equal(Errno.EINVAL, Assert.Throws<AioException>(() => { _ = ctx.WriteAsync(w, manyWrites, 0, cancellationToken: ct).AsTask(); }).Errno);
        // Read on a write-only handle: io_submit's EBADF at the call, as for the single-buffer read.
        Assert.Equal(Errno.EBADF, Assert.Throws<AioException>(() => { _ = ctx.ReadAsync(w, new Memory<byte>[] { new byte[8] }, 0, ct).AsTask(); }).Errno);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await ctx.ReadAsync(w, new Memory<byte>[] { new byte[8] }, 0, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await ctx.WriteAsync(w, new ReadOnlyMemory<byte>[] { new byte[8] }, 0, cancellationToken: cts.Token));
        AssertIdle(ctx);
    }

    [Fact]
    public void Submit_PwritevWithReadOnlyVectors_WritesThem_AndMisuseIsEinval()
    {
        using var file = new TempFile(8192);
        using SafeFileHandle h = file.OpenReadWrite();
        using AioContext ctx = NewContext();
        byte[] a = [1, 2, 3], b = [4, 5];
        ReadOnlyMemory<byte>[] ro = [a, b];
        IoEvent ev = SubmitOne(ctx, Iocb.PrepPwritev(h, ro, 100, data: 9));
        Assert.Equal(5, ev.Result);
        Assert.Equal(9ul, ev.Data);
        if (DoesRealIo)
        {
            var back = new byte[5];
            RandomAccess.Read(h, back, 100);
            Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, back);
        }

        Memory<byte>[] rw = [new byte[3]];
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, new Iocb { Command = IocbCommand.Pwritev, Handle = h, Buffers = rw, WriteBuffers = ro }).Errno);
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, new Iocb { Command = IocbCommand.Preadv, Handle = h, WriteBuffers = ro }).Errno);
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, new Iocb { Command = IocbCommand.Pwrite, Handle = h, WriteBuffers = ro }).Errno);
        Assert.Equal(Errno.EINVAL, SubmitRefused(ctx, new Iocb { Command = IocbCommand.Fsync, Handle = h, WriteBuffers = ro }).Errno);
        AssertIdle(ctx);
    }

    // ---------------- errors that help (§5) ----------------

    [Fact]
    public async Task AwaitableRefusedAtSubmit_MessageNamesOperationPathOffsetLengthAndErrno()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle w = file.OpenWrite();
        await using AioContext ctx = NewContext();
        AioException e = Assert.Throws<AioException>(() => { _ = ctx.ReadAsync(w, new byte[10], 30, TestContext.Current.CancellationToken).AsTask(); });
        Assert.Equal(Errno.EBADF, e.Errno);
        Assert.Contains("read of 10 bytes at offset 30", e.Message, StringComparison.Ordinal);
        Assert.Contains(file.Path, e.Message, StringComparison.Ordinal);
        Assert.Contains("EBADF", e.Message, StringComparison.Ordinal);

        AioException v = SubmitRefused(ctx, Iocb.PrepPreadv(w, new Memory<byte>[] { new byte[3], new byte[4] }, 8));
        Assert.Contains("io_submit: vectored read of 7 bytes in 2 buffers at offset 8", v.Message, StringComparison.Ordinal);
        Assert.Contains(file.Path, v.Message, StringComparison.Ordinal);
        AssertIdle(ctx);
    }

    [Fact]
    public async Task AwaitedEinvalOnDirectFile_MessageSaysTheAlignmentRuleAndWhatBrokeIt()
    {
        RequireRealIo();
        using var file = new TempFile(1 << 16);
        DirectIoAlignment align = AioFile.GetDirectIoAlignment(file.Path);
        using SafeFileHandle h = AioFile.Open(file.Path, FileMode.Open, FileAccess.ReadWrite, AioOpenOptions.Direct);
        using var pool = new AlignedBufferPool(8192, Math.Max(align.MemoryAlignment, 512), 2);
        await using AioContext ctx = NewContext();
        CancellationToken ct = TestContext.Current.CancellationToken;

        // A misaligned offset: the kernel's EINVAL arrives at the await, with the rule in words.
        AioException e = await Assert.ThrowsAsync<AioException>(async () => await ctx.ReadAsync(h, pool[0][..4096], 100, ct));
        Assert.Equal(Errno.EINVAL, e.Errno);
        Assert.Contains("read of 4096 bytes at offset 100", e.Message, StringComparison.Ordinal);
        Assert.Contains(file.Path, e.Message, StringComparison.Ordinal);
        Assert.Contains("EINVAL", e.Message, StringComparison.Ordinal);
        Assert.Contains("O_DIRECT", e.Message, StringComparison.Ordinal);
        Assert.Contains($"a multiple of {align.OffsetAlignment}", e.Message, StringComparison.Ordinal);
        Assert.Contains("the offset 100 is not", e.Message, StringComparison.Ordinal);
        TestContext.Current.SendDiagnosticMessage(e.Message);

        // A misaligned length, on a gather write.
        AioException v = await Assert.ThrowsAsync<AioException>(async () => await ctx.WriteAsync(h, new ReadOnlyMemory<byte>[] { pool[0][..4096], pool[1][..100] }, 0, cancellationToken: ct));
        Assert.Equal(Errno.EINVAL, v.Errno);
        Assert.Contains("vectored write of 4196 bytes in 2 buffers at offset 0", v.Message, StringComparison.Ordinal);
        Assert.Contains("a buffer length is not", v.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("the offset", v.Message.Split("; ")[^1], StringComparison.Ordinal);
        AssertIdle(ctx);
    }

    // ---------------- threads and ExecutionContext ----------------

    [Fact]
    public async Task AwaitedCall_ExecutionContextFlows_ContinuationNotOnTheReapingThread()
    {
        using var file = new TempFile(1 << 16);
        using SafeFileHandle h = file.OpenReadWrite();
        await using AioContext ctx = NewContext();
        CancellationToken ct = TestContext.Current.CancellationToken;
        for (int i = 0; i < 50; i++)
        {
            // The source itself: a continuation registered through the awaiter (which asks for the
            // ExecutionContext to flow) sees the caller's AsyncLocal, on a thread-pool thread.
            string mine = "call " + i;
            s_ambient.Value = mine;
            var seen = new TaskCompletionSource<(string? Ambient, bool OnPool)>(TaskCreationOptions.RunContinuationsAsynchronously);
            ValueTask<int> single = ctx.ReadAsync(h, new byte[512], 512L * i, ct);
            ValueTask<long> vectored = ctx.ReadAsync(h, new Memory<byte>[] { new byte[256], new byte[256] }, 512L * i, ct);
            ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter awaiter = OnCompletedWithoutSchedulingContext(single, seen);
            s_ambient.Value = null;
            (string? ambient, bool onPool) = await seen.Task.WaitAsync(TimeSpan.FromSeconds(20), ct);
            Assert.Equal(mine, ambient);
            Assert.True(onPool, "the continuation ran on a thread that is not the thread pool's");
            Assert.Equal(512, ResultOf(awaiter)); // completed: consumes the result, the slot goes back

            // An ordinary await: the AsyncLocal is there after it, for the vectored call too.
            s_ambient.Value = mine;
            Assert.Equal(512L, await vectored);
            Assert.Equal(mine, s_ambient.Value);
        }

        s_ambient.Value = "flush";
        await ctx.FlushAsync(h, dataOnly: true, ct);
        Assert.Equal("flush", s_ambient.Value);
        s_ambient.Value = null;
        AssertIdle(ctx);
    }

    /// <summary>Registers a continuation as an await with ConfigureAwait(false) does (the ExecutionContext asked to flow).</summary>
    private static ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter OnCompletedWithoutSchedulingContext(ValueTask<int> task, TaskCompletionSource<(string? Ambient, bool OnPool)> seen)
    {
        ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter awaiter = task.ConfigureAwait(false).GetAwaiter();
        awaiter.OnCompleted(() => seen.TrySetResult((s_ambient.Value, Thread.CurrentThread.IsThreadPoolThread)));
        return awaiter;
    }

    private static int ResultOf(ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter completed) => completed.GetResult();

    [Fact]
    public async Task Callback_RunsOnThePoolOrWorkQueue_WithoutTheSubmittersExecutionContext()
    {
        using var file = new TempFile(4096);
        using SafeFileHandle h = file.OpenReadWrite();
        await using AioContext ctx = NewContext();
        foreach (bool blocking in new[] { false, true })
        {
            var seen = new AmbientRecorder();
            s_ambient.Value = "submitter";
            Iocb[] one = [new Iocb { Command = IocbCommand.Pread, Handle = h, Buffer = new byte[64], Callback = seen, CallbackIsBlocking = blocking }];
            Assert.Equal(1, ctx.Submit(one));
            s_ambient.Value = null;
            await seen.Done.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            Assert.Null(seen.Ambient); // the submitter's AsyncLocal does not reach the callback
            Assert.Equal(!blocking, seen.OnThreadPool); // blocking: the device work queue's own thread
            Assert.Equal(64, seen.Result);
        }

        AssertIdle(ctx);
    }

    private sealed class AmbientRecorder : IIoCompletionCallback
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string? Ambient { get; private set; }

        public bool OnThreadPool { get; private set; }

        public long Result { get; private set; }

        public void OnCompleted(in IoEvent ioEvent)
        {
            Ambient = s_ambient.Value;
            OnThreadPool = Thread.CurrentThread.IsThreadPoolThread;
            Result = ioEvent.Result;
            Done.TrySetResult();
        }
    }
}
