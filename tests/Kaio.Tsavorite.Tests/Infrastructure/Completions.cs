using Tsavorite.core;

namespace Kaio.Tsavorite.Tests.Infrastructure;

/// <summary>
/// Collects Tsavorite device completions: one <see cref="Callback"/> for many requests; records
/// every error and counts every callback, so a test can wait for N and assert none failed.
/// </summary>
public sealed class Completions : IDisposable
{
    private readonly SemaphoreSlim _done = new(0);
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _errors = new();
    private long _bytes;
    private int _count;

    public Completions() => Callback = OnCompleted;

    public DeviceIOCompletionCallback Callback { get; }

    public int Count => Volatile.Read(ref _count);

    public long Bytes => Interlocked.Read(ref _bytes);

    public uint LastErrorCode { get; private set; }

    public Exception? LastException { get; private set; }

    /// <summary>Waits for <paramref name="n"/> more completions (30 s at most) and asserts none failed.</summary>
    public void WaitOk(int n = 1)
    {
        Wait(n);
        Assert.True(_errors.IsEmpty, "device errors: " + string.Join("; ", _errors));
    }

    public void Wait(int n = 1)
    {
        for (int i = 0; i < n; i++)
        {
            Assert.True(_done.Wait(TimeSpan.FromSeconds(30)), $"completion {i + 1} of {n} did not arrive in 30 s");
        }
    }

    private void OnCompleted(uint errorCode, uint numBytes, object context, Exception ioException)
    {
        if (errorCode != 0)
        {
            LastErrorCode = errorCode;
            LastException = ioException;
            _errors.Enqueue($"errno {errorCode}: {ioException?.Message}");
        }

        Interlocked.Add(ref _bytes, numBytes);
        Interlocked.Increment(ref _count);
        _done.Release();
    }

    /// <summary>
    /// Asserts that <paramref name="device"/> has no request in flight once the callbacks a test
    /// waited for have returned. A request counts until its callback has returned, and the callback
    /// signals this object before it returns, so the count may lag the signal by a moment: wait for
    /// it (10 s at most) instead of reading it once.
    /// </summary>
    public static void AssertNoneInFlight(Kaio.Tsavorite.KaioStorageDevice device)
    {
        Assert.True(SpinWait.SpinUntil(() => device.InFlight == 0, TimeSpan.FromSeconds(10)), $"{device.InFlight} requests still in flight 10 s after their callbacks");
    }

    public void Dispose() => _done.Dispose();
}
