// Design: the one place that turns errno values into exceptions at the public edge, and the one
// place that words them. A message about a request names what a reader needs to find it: the
// operation, the file (its path, read from /proc/self/fd — only here, on a failure path), the
// offset and length, and the errno by name; an EINVAL on an O_DIRECT file also says the alignment
// rule and which part of the request broke it. Everything here runs after a failure: the facts it
// needs are plain fields the slot keeps anyway (RequestSlot.AddressBits/LengthBits), so a request
// that succeeds pays nothing for them.
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Kaio.Core;

/// <summary>What an error message says about a request; gathered only when it failed.</summary>
internal readonly struct FailedRequest
{
    public IocbCommand Command { get; init; }

    /// <summary>The file, for its path; not referenced by this struct (it may be closed by now).</summary>
    public SafeHandle? Handle { get; init; }

    public long Offset { get; init; }

    public long Length { get; init; }

    /// <summary>Fallocate's mode; None for the other commands.</summary>
    public FallocateMode FallocateMode { get; init; }

    /// <summary>The number of vectors of Preadv/Pwritev; 0 for the other commands.</summary>
    public int VectorCount { get; init; }

    /// <summary>The file was open with O_DIRECT when the request was submitted.</summary>
    public bool IsDirect { get; init; }

    /// <summary>Every buffer address OR-ed together: a misaligned one leaves low bits set.</summary>
    public ulong AddressBits { get; init; }

    /// <summary>Every buffer length OR-ed together: a length that is not a multiple leaves low bits set.</summary>
    public long LengthBits { get; init; }

    /// <summary>The facts of an iocb as the caller gave it (a refusal at submit).</summary>
    public static FailedRequest Of(in Iocb cb)
    {
        long length = cb.Command == IocbCommand.Fallocate || cb.BufferAddress != 0 ? cb.Length : cb.Buffer.Length;
        int vectors = 0;
        if (cb.Command is IocbCommand.Preadv or IocbCommand.Pwritev)
        {
            length = 0;
            if (!cb.WriteBuffers.IsEmpty)
            {
                vectors = cb.WriteBuffers.Length;
                foreach (ReadOnlyMemory<byte> b in cb.WriteBuffers.Span)
                {
                    length += b.Length;
                }
            }
            else
            {
                vectors = cb.Buffers.Length;
                foreach (Memory<byte> b in cb.Buffers.Span)
                {
                    length += b.Length;
                }
            }
        }

        return new FailedRequest { Command = cb.Command, Handle = cb.Handle, Offset = cb.Offset, Length = length, FallocateMode = cb.FallocateMode, VectorCount = vectors };
    }
}

internal static class ThrowHelper
{
    [DoesNotReturn]
    internal static void ThrowAio(int errno, string message) => throw new AioException(errno, message);

    [DoesNotReturn]
    internal static void ThrowDisposed() => throw new ObjectDisposedException(nameof(AioContext), "The AIO context has been destroyed (EINVAL).");

    [DoesNotReturn]
    internal static void ThrowAwaitedTwice() => throw new InvalidOperationException("The ValueTask of this I/O request was already awaited: each ValueTask may be awaited (or its result read) only once.");

    /// <summary>RandomAccess's answer to a handle whose value is invalid (-1).</summary>
    [DoesNotReturn]
    internal static void ThrowInvalidHandle(string paramName) => throw new ArgumentException("Invalid handle.", paramName);

    /// <summary>RandomAccess's answer to a closed handle.</summary>
    [DoesNotReturn]
    internal static void ThrowFileClosed() => throw new ObjectDisposedException(null, "Cannot access a closed file.");

    /// <summary>An awaitable call refused at submit (or Submit refusing its first iocb): io_submit's errno, worded.</summary>
    [DoesNotReturn]
    internal static void ThrowRefused(int errno, in FailedRequest request, string prefix = "")
        => throw AioException.Create(errno, prefix + Describe(request) + " refused at submit: " + Errno.Describe(errno));

    /// <summary>
    /// open(2)'s errno as File.OpenHandle throws it: FileNotFoundException, DirectoryNotFoundException,
    /// UnauthorizedAccessException, PathTooLongException, else AioException. The mapped ones carry
    /// an AioException with the errno as their InnerException.
    /// </summary>
    internal static Exception ForOpen(int errno, string path)
    {
        var inner = AioException.Create(errno, $"open '{path}': {Errno.Describe(errno)}");
        switch (errno)
        {
            case Errno.ENOENT:
                string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
                return directory is null || Directory.Exists(directory)
                    ? new FileNotFoundException($"Could not find file '{path}' ({Errno.Name(errno)}).", path, inner)
                    : new DirectoryNotFoundException($"Could not find a part of the path '{path}' ({Errno.Name(errno)}).", inner);
            case Errno.ENOTDIR:
                return new DirectoryNotFoundException($"Could not find a part of the path '{path}': a component is not a directory ({Errno.Name(errno)}).", inner);
            case Errno.EACCES:
            case Errno.EPERM:
            case Errno.EISDIR:
                return new UnauthorizedAccessException($"Access to the path '{path}' is denied ({Errno.Describe(errno)}){(errno == Errno.EISDIR ? ": it is a directory (AioFile.OpenDirectory opens one)" : string.Empty)}.", inner);
            case Errno.ENAMETOOLONG:
                return new PathTooLongException($"The path '{path}' is too long ({Errno.Name(errno)}).", inner);
            default:
                return inner;
        }
    }

    /// <summary>The exception for a request's negative result (-errno) delivered to an awaiter.</summary>
    internal static Exception ForResult(long res, CancellationToken token, in FailedRequest request)
    {
        int errno = (int)-res;
        if (errno == Errno.ECANCELED)
        {
            return token.IsCancellationRequested
                ? new OperationCanceledException("The I/O request was cancelled.", token)
                : new OperationCanceledException("The I/O request was cancelled (ECANCELED).");
        }

        string message = Describe(request) + " failed: " + Errno.Describe(errno);
        if (errno == Errno.EINVAL && request.IsDirect && IsReadWrite(request.Command))
        {
            message += ". " + DirectIoRule(request);
        }

        return AioException.Create(errno, message);
    }

    /// <summary>"read of 4096 bytes at offset 8192 on '/data/file'": the operation, its extent and its file.</summary>
    internal static string Describe(in FailedRequest r)
    {
        var sb = new StringBuilder();
        sb.Append(r.Command switch
        {
            IocbCommand.Pread => "read",
            IocbCommand.Pwrite => "write",
            IocbCommand.Preadv => "vectored read",
            IocbCommand.Pwritev => "vectored write",
            IocbCommand.Fsync => "fsync",
            IocbCommand.Fdsync => "fdatasync",
            IocbCommand.Poll => "poll",
            IocbCommand.Noop => "noop",
            IocbCommand.Fallocate => r.FallocateMode == FallocateMode.None ? "fallocate" : "fallocate (" + r.FallocateMode.ToString() + ")",
            _ => "command " + ((int)r.Command).ToString(CultureInfo.InvariantCulture),
        });
        if (IsReadWrite(r.Command))
        {
            sb.Append(CultureInfo.InvariantCulture, $" of {r.Length} bytes");
            if (r.Command is IocbCommand.Preadv or IocbCommand.Pwritev)
            {
                sb.Append(CultureInfo.InvariantCulture, $" in {r.VectorCount} buffers");
            }

            sb.Append(CultureInfo.InvariantCulture, $" at offset {r.Offset}");
        }
        else if (r.Command == IocbCommand.Fallocate)
        {
            sb.Append(CultureInfo.InvariantCulture, $" of {r.Length} bytes at offset {r.Offset}");
        }

        if (r.Command != IocbCommand.Noop)
        {
            sb.Append(" on ").Append(NameOf(r.Handle));
        }

        return sb.ToString();
    }

    /// <summary>The file behind a handle: its path in quotes, else what is known about the handle.</summary>
    private static string NameOf(SafeHandle? handle)
    {
        if (handle is null)
        {
            return "no handle";
        }

        if (handle.IsClosed)
        {
            return "a closed handle";
        }

        if (handle.IsInvalid)
        {
            return "an invalid handle";
        }

        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            string? path = Interop.PathOfFd(fd);
            return path is null ? "fd " + fd.ToString(CultureInfo.InvariantCulture) : "'" + path + "'";
        }
        catch (ObjectDisposedException)
        {
            return "a closed handle";
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// O_DIRECT's rule (iomap_dio_rw, blkdev_direct_IO: buffer addresses aligned to the device's DMA
    /// alignment, offset and every length to its logical block size), with this file's numbers and
    /// the part of the request that broke it.
    /// </summary>
    private static string DirectIoRule(in FailedRequest r)
    {
        DirectIoAlignment? known = null;
        SafeHandle? handle = r.Handle;
        bool added = false;
        try
        {
            if (handle is { IsClosed: false, IsInvalid: false })
            {
                handle.DangerousAddRef(ref added);
                known = AioFile.DirectIoAlignmentOf((int)handle.DangerousGetHandle());
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException)
        {
            known = null;
        }
        finally
        {
            if (added)
            {
                handle!.DangerousRelease();
            }
        }

        if (known is not { } a)
        {
            return "The file is open with O_DIRECT: every buffer address must be a multiple of the file system's memory alignment, and the offset and every length a multiple of its offset alignment (AioFile.GetDirectIoAlignment).";
        }

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"The file is open with O_DIRECT: every buffer address must be a multiple of {a.MemoryAlignment} (MemoryAlignment), and the offset and every buffer length a multiple of {a.OffsetAlignment} (OffsetAlignment); ");
        var broken = new List<string>(3);
        if (a.OffsetAlignment > 0 && r.Offset % a.OffsetAlignment != 0)
        {
            broken.Add(string.Create(CultureInfo.InvariantCulture, $"the offset {r.Offset} is not"));
        }

        if (a.OffsetAlignment > 0 && r.LengthBits % a.OffsetAlignment != 0)
        {
            broken.Add(r.VectorCount > 0 ? "a buffer length is not" : string.Create(CultureInfo.InvariantCulture, $"the length {r.Length} is not"));
        }

        if (a.MemoryAlignment > 0 && (r.AddressBits & (ulong)(a.MemoryAlignment - 1)) != 0)
        {
            broken.Add(r.VectorCount > 0 ? "a buffer address is not" : "the buffer address is not");
        }

        sb.Append(broken.Count > 0 ? "here " + string.Join(", and ", broken) + "." : "this request looks aligned, so the EINVAL has another cause.");
        return sb.ToString();
    }

    private static bool IsReadWrite(IocbCommand cmd) => cmd is IocbCommand.Pread or IocbCommand.Pwrite or IocbCommand.Preadv or IocbCommand.Pwritev;
}
