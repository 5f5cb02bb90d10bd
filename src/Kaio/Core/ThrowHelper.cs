// Design: the one place that turns errno values into exceptions at the public edge.
using System.Diagnostics.CodeAnalysis;

namespace Kaio.Core;

internal static class ThrowHelper
{
    [DoesNotReturn]
    internal static void ThrowAio(int errno, string message) => throw new AioException(errno, message);

    [DoesNotReturn]
    internal static void ThrowDisposed() => throw new ObjectDisposedException(nameof(AioContext), "The AIO context has been destroyed (EINVAL).");

    [DoesNotReturn]
    internal static void ThrowAwaitedTwice() => throw new InvalidOperationException("The ValueTask of this I/O request was already awaited: each ValueTask may be awaited (or its result read) only once.");

    /// <summary>The exception for a request's negative result (-errno) delivered to an awaiter.</summary>
    internal static Exception ForResult(long res, CancellationToken token)
    {
        int errno = (int)-res;
        if (errno == Errno.ECANCELED)
        {
            return token.IsCancellationRequested
                ? new OperationCanceledException("The I/O request was cancelled.", token)
                : new OperationCanceledException("The I/O request was cancelled (ECANCELED).");
        }

        return new AioException(errno, "The I/O request failed");
    }
}
