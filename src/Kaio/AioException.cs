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

    // verbatim: the message is used as given (it names the errno already); only distinguishes the overload.
    private AioException(int errno, string message, bool verbatim)
        : base(message, -errno)
    {
        _ = verbatim;
        Errno = errno;
    }

    /// <summary>An exception whose <paramref name="message"/> already names the errno (ThrowHelper words it).</summary>
    internal static AioException Create(int errno, string message) => new(errno, message, verbatim: true);

    /// <summary>The positive errno value (for example <see cref="Kaio.Errno.EINVAL"/>).</summary>
    public int Errno { get; }
}
