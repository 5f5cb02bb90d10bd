using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Kaio.Tests.Infrastructure;

namespace Kaio.Tests.Engines;

/// <summary>
/// Streams — pipes, FIFOs, sockets: files with no position (FMODE_STREAM). io_uring and the
/// kernel's AIO ignore the offset of a read or write on them, answer NoWait with -EAGAIN when it
/// would block, and a read waiting for a peer can be cancelled; no engine may block in submit.
/// Every wait here is bounded, and a test that fails closes the peer first, so that a request
/// stuck in the kernel ends (EOF) and teardown cannot hang.
/// </summary>
public abstract partial class ConformanceTests
{
    /// <summary>How long a submit, a cancel or a ready read may take before the test calls it blocked.</summary>
    private static readonly TimeSpan s_streamPrompt = TimeSpan.FromSeconds(2);

    [Fact]
    public void Pread_Pipe_ReadsWrittenBytesIgnoringOffset()
    {
        RequireRealIo();
        var (r, w) = Native.Pipe();
        using (r)
        using (w)
        {
            using AioContext ctx = NewContext();
            byte[] data = [1, 2, 3, 4, 5, 6, 7];
            WriteAll(w, data);
            var buf = new byte[64];
            IoEvent ev = SubmitOneWithin(ctx, Iocb.PrepPread(r, buf, 4096, data: 21), w);
            Assert.Equal(data.Length, ev.Result);
            Assert.Equal(data, buf.AsSpan(0, data.Length).ToArray());
            AssertIdle(ctx);
        }
    }

    [Fact]
    public void Pwrite_Pipe_OtherEndReadsTheBytesIgnoringOffset()
    {
        RequireRealIo();
        var (r, w) = Native.Pipe();
        using (r)
        using (w)
        {
            using AioContext ctx = NewContext();
            byte[] a = [10, 11, 12];
            byte[] b = [13, 14];
            Assert.Equal(a.Length, SubmitOneWithin(ctx, Iocb.PrepPwrite(w, a, 8192), r).Result);
            Memory<byte>[] vec = [b.AsMemory(0, 1), b.AsMemory(1)];
            Assert.Equal(b.Length, SubmitOneWithin(ctx, Iocb.PrepPwritev(w, vec, 123), r).Result);
            Assert.Equal([.. a, .. b], ReadAvailable(r, 64));
            AssertIdle(ctx);
        }
    }

    [Fact]
    public void Pwrite_PipeWithDsync_WritesWithoutASync()
    {
        RequireRealIo();
        var (r, w) = Native.Pipe();
        using (r)
        using (w)
        {
            using AioContext ctx = NewContext();
            // pipe_write() never calls generic_write_sync(): RWF_DSYNC changes nothing on a
            // pipe, where fdatasync would answer EINVAL.
            byte[] a = [1, 2];
            Assert.Equal(a.Length, SubmitOneWithin(ctx, Iocb.PrepPwrite(w, a, 0, flags: AioRwFlags.Dsync), r).Result);
            Assert.Equal(a.Length, SubmitOneWithin(ctx, Iocb.PrepPwrite(w, a, 0, flags: AioRwFlags.Sync), r).Result);
            Assert.Equal([.. a, .. a], ReadAvailable(r, 64));
            AssertIdle(ctx);
        }
    }

    [Fact]
    public void NoWait_EmptyPipe_CompletesWithEagain()
    {
        RequireRealIo();
        var (r, w) = Native.Pipe();
        using (r)
        using (w)
        {
            using AioContext ctx = NewContext();
            var iocb = new Iocb { Command = IocbCommand.Pread, Handle = r, Buffer = new byte[64], Offset = 512, RwFlags = AioRwFlags.NoWait };
            // The read end is blocking: only NoWait keeps the engine from waiting for a writer.
            Assert.Equal(-Errno.EAGAIN, SubmitOneWithin(ctx, iocb, w).Result);
            // With data there, the same NoWait read succeeds.
            WriteAll(w, [9]);
            Assert.Equal(1, SubmitOneWithin(ctx, iocb, w).Result);
            AssertIdle(ctx);
        }
    }

    [Fact]
    public void Pread_FifoWithoutData_SubmitReturnsAndCancelCompletesOnceWithEcanceled()
    {
        RequireRealIo();
        AioContext ctx = NewContext();
        var (r, w) = Fifo();
        try
        {
            Iocb[] one = [Iocb.PrepPread(r, new byte[64], 4096, data: 5)];
            Assert.Equal(1, CallWithin(() => ctx.Submit(one), w, "Submit of a read on a FIFO with no data"));
            // It waits for the writer.
            Assert.Equal(0, ctx.GetEvents(1, new IoEvent[1], TimeSpan.FromMilliseconds(50)));
            var sw = Stopwatch.StartNew();
            ctx.Cancel(in one[0]);
            Assert.True(sw.Elapsed < s_streamPrompt, $"Cancel took {sw.Elapsed.TotalMilliseconds:F0} ms");
            IoEvent ev = ReapWithin(ctx, w);
            Assert.Equal(5ul, ev.Data);
            Assert.Equal(-Errno.ECANCELED, ev.Result);
            Assert.Equal(0, ctx.GetEvents(1, new IoEvent[1], TimeSpan.FromMilliseconds(50)));
            AssertIdle(ctx);
        }
        finally
        {
            w.Dispose(); // EOF for a read still in the kernel: teardown cannot wait forever
            ctx.Dispose();
            r.Dispose();
        }
    }

    /// <summary>Regression: ReadAsync on a FIFO with no data did not return for 60 s on Linux AIO (io_submit did the read).</summary>
    [Fact]
    public async Task ReadAsync_FifoWithoutData_ReturnsAtOnceAndTokenCancels()
    {
        RequireRealIo();
        AioContext ctx = NewContext();
        var (r, w) = Fifo();
        try
        {
            using var cts = new CancellationTokenSource();
            var buf = new byte[64];
            ValueTask<int> read = CallWithin(() => ctx.ReadAsync(r, buf, 4096, cts.Token), w, "ReadAsync on a FIFO with no data");
            await Task.Delay(20, TestContext.Current.CancellationToken);
            Assert.False(read.IsCompleted, "the read completed without a writer");
            cts.Cancel();
            Task<int> outcome = read.AsTask();
            // WaitAsync's TimeoutException is not an OperationCanceledException: a cancel that
            // does not reach the read fails here, and the finally block ends the read.
            OperationCanceledException e = await Assert.ThrowsAnyAsync<OperationCanceledException>(
                () => outcome.WaitAsync(s_streamPrompt, TestContext.Current.CancellationToken));
            Assert.Equal(cts.Token, e.CancellationToken);
            AssertIdle(ctx);
        }
        finally
        {
            w.Dispose();
            ctx.Dispose();
            r.Dispose();
        }
    }

    [Fact]
    public void Pwrite_FullPipe_SubmitReturnsAndCancelCompletesOnceWithEcanceled()
    {
        RequireRealIo();
        AioContext ctx = NewContext();
        var (r, w) = Native.Pipe();
        try
        {
            Fill(w);
            Iocb[] one = [Iocb.PrepPwrite(w, new byte[4096], 0, data: 6)];
            Assert.Equal(1, CallWithin(() => ctx.Submit(one), r, "Submit of a write to a full pipe"));
            // It waits for the reader.
            Assert.Equal(0, ctx.GetEvents(1, new IoEvent[1], TimeSpan.FromMilliseconds(50)));
            ctx.Cancel(in one[0]);
            IoEvent ev = ReapWithin(ctx, r);
            Assert.Equal(6ul, ev.Data);
            Assert.Equal(-Errno.ECANCELED, ev.Result);
            AssertIdle(ctx);
        }
        finally
        {
            r.Dispose(); // EPIPE for a write still in the kernel
            ctx.Dispose();
            w.Dispose();
        }
    }

    [Fact]
    public void Pread_Socket_ReadsSentBytes_NonZeroOffsetIsEspipe()
    {
        RequireRealIo();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        using Socket server = listener.Accept();
        using AioContext ctx = NewContext();
        byte[] data = [42, 43, 44, 45];
        Assert.Equal(data.Length, client.Send(data));
        var buf = new byte[64];
        // Unlike a pipe, a socket refuses a position: sock_read_iter() and sock_write_iter()
        // answer -ESPIPE for ki_pos != 0, through io_uring and the kernel's AIO alike.
        Assert.Equal(-Errno.ESPIPE, SubmitOneWithin(ctx, new Iocb { Command = IocbCommand.Pread, Handle = server.SafeHandle, Buffer = buf, Offset = 777 }, client).Result);
        Assert.Equal(-Errno.ESPIPE, SubmitOneWithin(ctx, new Iocb { Command = IocbCommand.Pwrite, Handle = server.SafeHandle, Buffer = data, Offset = 99 }, client).Result);
        // The client's Dispose (when a read waits in vain) gives EOF, so this cannot hang.
        IoEvent ev = SubmitOneWithin(ctx, new Iocb { Command = IocbCommand.Pread, Handle = server.SafeHandle, Buffer = buf, Data = 3 }, client);
        Assert.Equal(3ul, ev.Data);
        Assert.Equal(data.Length, ev.Result);
        Assert.Equal(data, buf.AsSpan(0, data.Length).ToArray());
        // And the other way: a write to the socket, received by the peer.
        Assert.Equal(data.Length, SubmitOneWithin(ctx, new Iocb { Command = IocbCommand.Pwrite, Handle = server.SafeHandle, Buffer = data }, client).Result);
        var back = new byte[64];
        client.ReceiveTimeout = (int)s_streamPrompt.TotalMilliseconds;
        Assert.Equal(data.Length, client.Receive(back));
        Assert.Equal(data, back.AsSpan(0, data.Length).ToArray());
        AssertIdle(ctx);
    }

    [Fact]
    public void Pread_CharacterDevice_ZeroAndNull()
    {
        RequireRealIo();
        using SafeFileHandle zero = File.OpenHandle("/dev/zero", FileMode.Open, FileAccess.Read);
        using SafeFileHandle devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Write);
        using AioContext ctx = NewContext();
        var buf = new byte[4096];
        Array.Fill(buf, (byte)0xEE);
        Assert.Equal(buf.Length, SubmitOneWithin(ctx, Iocb.PrepPread(zero, buf, 12345), zero).Result);
        Assert.All(buf, b => Assert.Equal(0, b));
        Assert.Equal(buf.Length, SubmitOneWithin(ctx, new Iocb { Command = IocbCommand.Pread, Handle = zero, Buffer = buf, RwFlags = AioRwFlags.NoWait }, zero).Result);
        Assert.Equal(buf.Length, SubmitOneWithin(ctx, Iocb.PrepPwrite(devNull, buf, 777), devNull).Result);
        AssertIdle(ctx);
    }

    [Fact]
    public async Task Dispose_WithFifoReadOutstanding_CancelsAndReturns()
    {
        RequireRealIo();
        AioContext ctx = NewContext();
        var (r, w) = Fifo();
        try
        {
            Iocb[] reads = [Iocb.PrepPread(r, new byte[64], 0, 1), Iocb.PrepPread(r, new byte[64], 0, 2)];
            Assert.Equal(2, CallWithin(() => ctx.Submit(reads), w, "Submit of reads on a FIFO with no data"));
            Task dispose = Task.Run(ctx.Dispose, TestContext.Current.CancellationToken);
            // Dispose cancels both reads (they wait for a writer) and waits for their completions.
            Assert.Same(dispose, await Task.WhenAny(dispose, Task.Delay(s_streamPrompt, TestContext.Current.CancellationToken)));
            await dispose;
            Assert.Null(AioContext.Lookup(ctx.Id));
        }
        finally
        {
            w.Dispose();
            ctx.Dispose();
            r.Dispose();
        }
    }

    // ---------------- helpers ----------------

    /// <summary>
    /// Runs a call that must return promptly (submit never blocks). If it does not, the peer is
    /// closed (EOF or EPIPE ends whatever waits in the kernel) and the test fails.
    /// </summary>
    private static T CallWithin<T>(Func<T> call, IDisposable peer, string what)
    {
        Task<T> task = Task.Run(call);
        if (!task.Wait(s_streamPrompt))
        {
            peer.Dispose();
            task.Wait(s_reapTimeout);
            Assert.Fail($"{what} did not return within {s_streamPrompt.TotalSeconds} s: it blocked in the engine");
        }

        return task.Result;
    }

    /// <summary>Submits one request and reaps its event within <see cref="s_streamPrompt"/>, closing the peer if it does not come.</summary>
    private static IoEvent SubmitOneWithin(AioContext ctx, Iocb cb, IDisposable peer)
    {
        Iocb[] boxed = [cb];
        Assert.Equal(1, CallWithin(() => ctx.Submit(boxed), peer, $"Submit of {cb.Command} on a stream"));
        IoEvent ev = ReapWithin(ctx, peer);
        Assert.Equal(boxed[0].Key, ev.Key);
        return ev;
    }

    /// <summary>One event within <see cref="s_streamPrompt"/>; otherwise the peer is closed and the test fails.</summary>
    private static IoEvent ReapWithin(AioContext ctx, IDisposable peer)
    {
        var events = new IoEvent[1];
        if (ctx.GetEvents(1, events, s_streamPrompt) == 1)
        {
            return events[0];
        }

        peer.Dispose();
        Assert.Fail($"no event within {s_streamPrompt.TotalSeconds} s");
        return default;
    }

    /// <summary>
    /// A FIFO in the scratch directory (a real filesystem), unlinked once both ends are open; the
    /// read end is blocking, so a read with no data waits in the kernel. The read end is opened
    /// first with O_NONBLOCK (open(2) of a FIFO for reading would wait for a writer), then the
    /// write end (a reader exists, so no ENXIO), then O_NONBLOCK is cleared on the read end.
    /// </summary>
    private static (SafeFileHandle Read, SafeFileHandle Write) Fifo()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "scratch");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "kaio-" + Guid.NewGuid().ToString("N") + ".fifo");
        const uint UserReadWrite = 0b110_000_000; // S_IRUSR | S_IWUSR
        if (Kaio.Interop.mkfifo(path, UserReadWrite) < 0)
        {
            throw new IOException("mkfifo failed: " + Marshal.GetLastPInvokeError());
        }

        try
        {
            var read = new SafeFileHandle(Open(path, Kaio.Interop.O_RDONLY | Kaio.Interop.O_NONBLOCK), ownsHandle: true);
            var write = new SafeFileHandle(Open(path, Kaio.Interop.O_WRONLY | Kaio.Interop.O_NONBLOCK), ownsHandle: true);
            SetNonBlocking(read, false);
            SetNonBlocking(write, false);
            return (read, write);
        }
        finally
        {
            File.Delete(path);
        }

        static int Open(string path, int flags)
        {
            int fd = Kaio.Interop.open(path, flags | Kaio.Interop.O_CLOEXEC, 0);
            if (fd < 0)
            {
                throw new IOException("open of a FIFO failed: " + Marshal.GetLastPInvokeError());
            }

            return fd;
        }
    }

    private static void SetNonBlocking(SafeHandle h, bool on)
    {
        int fd = (int)h.DangerousGetHandle();
        int flags = Kaio.Interop.fcntl(fd, Kaio.Interop.F_GETFL);
        flags = on ? flags | Kaio.Interop.O_NONBLOCK : flags & ~Kaio.Interop.O_NONBLOCK;
        if (flags < 0 || Kaio.Interop.fcntl(fd, Kaio.Interop.F_SETFL, flags) < 0)
        {
            throw new IOException("fcntl failed: " + Marshal.GetLastPInvokeError());
        }
    }

    private static unsafe void WriteAll(SafeHandle w, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            Assert.Equal(data.Length, (int)Kaio.Interop.write((int)w.DangerousGetHandle(), p, (nuint)data.Length));
        }
    }

    /// <summary>What the pipe holds now (read without waiting).</summary>
    private static unsafe byte[] ReadAvailable(SafeHandle r, int max)
    {
        SetNonBlocking(r, true);
        try
        {
            var buf = new byte[max];
            fixed (byte* p = buf)
            {
                nint n = Kaio.Interop.read((int)r.DangerousGetHandle(), p, (nuint)max);
                return n > 0 ? buf[..(int)n] : [];
            }
        }
        finally
        {
            SetNonBlocking(r, false);
        }
    }

    /// <summary>Writes into a pipe until it is full (a write then waits for the reader).</summary>
    private static unsafe void Fill(SafeHandle w)
    {
        SetNonBlocking(w, true);
        try
        {
            byte* chunk = stackalloc byte[4096];
            while (Kaio.Interop.write((int)w.DangerousGetHandle(), chunk, 4096) > 0)
            {
            }

            Assert.Equal(Errno.EAGAIN, Marshal.GetLastPInvokeError());
        }
        finally
        {
            SetNonBlocking(w, false);
        }
    }
}
