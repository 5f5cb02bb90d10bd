namespace Kaio;

/// <summary>
/// A call-level failure of a Kaio call, carrying the errno Linux gives for it. Per-request
/// failures are not exceptions: they arrive as a negative <see cref="IoEvent.Result"/>.
/// </summary>
public class AioException : IOException
{
    /// <summary>Creates an exception for <paramref name="errno"/> with a message.</summary>
    public AioException(int errno, string message)
        : base(message + " (" + Kaio.Errno.Name(errno) + ")", -errno)
    {
        Errno = errno;
    }

    /// <summary>Creates an exception with no errno (EIO).</summary>
    public AioException() : this(Kaio.Errno.EIO, "I/O error") { }

    /// <summary>Creates an exception with a message (EIO).</summary>
    public AioException(string message) : this(Kaio.Errno.EIO, message) { }

    /// <summary>Creates an exception with a message and an inner exception (EIO).</summary>
    public AioException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errno = Kaio.Errno.EIO;
    }

    /// <summary>The positive errno value (for example <see cref="Kaio.Errno.EINVAL"/>).</summary>
    public int Errno { get; }
}
