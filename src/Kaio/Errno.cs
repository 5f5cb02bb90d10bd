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
    /// <summary>Permission denied.</summary>
    public const int EACCES = 13;
    /// <summary>Bad address.</summary>
    public const int EFAULT = 14;
    /// <summary>File exists (<see cref="FileMode.CreateNew"/> of an existing file).</summary>
    public const int EEXIST = 17;
    /// <summary>No such device (fallocate on a file that is neither regular nor a block device).</summary>
    public const int ENODEV = 19;
    /// <summary>Not a directory.</summary>
    public const int ENOTDIR = 20;
    /// <summary>Is a directory.</summary>
    public const int EISDIR = 21;
    /// <summary>Invalid argument.</summary>
    public const int EINVAL = 22;
    /// <summary>File too large.</summary>
    public const int EFBIG = 27;
    /// <summary>No space left on device.</summary>
    public const int ENOSPC = 28;
    /// <summary>Illegal seek: an offset on a file that has none (a socket given a non-zero offset).</summary>
    public const int ESPIPE = 29;
    /// <summary>File name too long.</summary>
    public const int ENAMETOOLONG = 36;
    /// <summary>Function not implemented.</summary>
    public const int ENOSYS = 38;
    /// <summary>Operation not supported (unknown <see cref="AioRwFlags"/> bits).</summary>
    public const int EOPNOTSUPP = 95;
    /// <summary>Operation cancelled.</summary>
    public const int ECANCELED = 125;

    /// <summary>A short name for an errno value, such as <c>ESPIPE</c> (any errno Linux defines), or <c>errno N</c> for a number it does not.</summary>
    public static string Name(int errno)
        => (uint)errno < (uint)s_names.Length && s_names[errno] is string name
            ? name
            : "errno " + errno.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The name and the C library's description, such as <c>ESPIPE (Illegal seek)</c>.</summary>
    public static string Describe(int errno) => Name(errno) + " (" + System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno) + ")";

    // asm-generic/errno-base.h and asm-generic/errno.h, by number (41 and 58 are unused aliases' gaps).
    private static readonly string?[] s_names =
    [
        null, "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG",
        "ENOEXEC", "EBADF", "ECHILD", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK",
        "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR", "EISDIR", "EINVAL", "ENFILE",
        "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS", "EMLINK",
        "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY",
        "ELOOP", null, "ENOMSG", "EIDRM", "ECHRNG", "EL2NSYNC", "EL3HLT", "EL3RST",
        "ELNRNG", "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR", "EXFULL", "ENOANO",
        "EBADRQC", "EBADSLT", null, "EBFONT", "ENOSTR", "ENODATA", "ETIME", "ENOSR",
        "ENONET", "ENOPKG", "EREMOTE", "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO",
        "EMULTIHOP", "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ", "EBADFD", "EREMCHG", "ELIBACC",
        "ELIBBAD", "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ", "ERESTART", "ESTRPIPE", "EUSERS",
        "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "EOPNOTSUPP",
        "EPFNOSUPPORT", "EAFNOSUPPORT", "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED",
        "ECONNRESET", "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT", "ECONNREFUSED",
        "EHOSTDOWN", "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE", "EUCLEAN", "ENOTNAM", "ENAVAIL",
        "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE", "ECANCELED", "ENOKEY", "EKEYEXPIRED",
        "EKEYREVOKED", "EKEYREJECTED", "EOWNERDEAD", "ENOTRECOVERABLE", "ERFKILL", "EHWPOISON",
    ];
}
