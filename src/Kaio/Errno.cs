namespace Kaio;

/// <summary>
/// The Linux errno values Kaio reports (asm-generic/errno-base.h and errno.h). Results inside
/// Kaio are kernel-style: <c>res &gt;= 0</c> is a byte count, <c>res &lt; 0</c> is <c>-errno</c>.
/// </summary>
public static class Errno
{
    /// <summary>Operation not permitted.</summary>
    public const int EPERM = 1;
    /// <summary>No such file or directory.</summary>
    public const int ENOENT = 2;
    /// <summary>Interrupted system call.</summary>
    public const int EINTR = 4;
    /// <summary>I/O error.</summary>
    public const int EIO = 5;
    /// <summary>Bad file descriptor, or a handle not open for the access asked.</summary>
    public const int EBADF = 9;
    /// <summary>Try again: the context or the budget is full, or NoWait would block.</summary>
    public const int EAGAIN = 11;
    /// <summary>Out of memory.</summary>
    public const int ENOMEM = 12;
    /// <summary>Bad address.</summary>
    public const int EFAULT = 14;
    /// <summary>Invalid argument.</summary>
    public const int EINVAL = 22;
    /// <summary>No space left on device.</summary>
    public const int ENOSPC = 28;
    /// <summary>Function not implemented.</summary>
    public const int ENOSYS = 38;
    /// <summary>Operation not supported (unknown <see cref="AioRwFlags"/> bits).</summary>
    public const int EOPNOTSUPP = 95;
    /// <summary>Operation cancelled.</summary>
    public const int ECANCELED = 125;

    /// <summary>A short name for an errno value, such as <c>EINVAL</c>, or its number.</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => nameof(EPERM),
        ENOENT => nameof(ENOENT),
        EINTR => nameof(EINTR),
        EIO => nameof(EIO),
        EBADF => nameof(EBADF),
        EAGAIN => nameof(EAGAIN),
        ENOMEM => nameof(ENOMEM),
        EFAULT => nameof(EFAULT),
        EINVAL => nameof(EINVAL),
        ENOSPC => nameof(ENOSPC),
        ENOSYS => nameof(ENOSYS),
        EOPNOTSUPP => nameof(EOPNOTSUPP),
        ECANCELED => nameof(ECANCELED),
        _ => "errno " + errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
