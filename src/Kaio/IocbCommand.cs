namespace Kaio;

/// <summary>
/// The operation an <see cref="Iocb"/> asks for. Values are the kernel's <c>IOCB_CMD_*</c>
/// from <c>linux/aio_abi.h</c>, so a libaio user recognises them.
/// </summary>
public enum IocbCommand : ushort
{
    /// <summary><c>IOCB_CMD_PREAD</c>: read <see cref="Iocb.Buffer"/> at <see cref="Iocb.Offset"/>.</summary>
    Pread = 0,
    /// <summary><c>IOCB_CMD_PWRITE</c>: write <see cref="Iocb.Buffer"/> at <see cref="Iocb.Offset"/>.</summary>
    Pwrite = 1,
    /// <summary><c>IOCB_CMD_FSYNC</c>: flush data and metadata of the file.</summary>
    Fsync = 2,
    /// <summary><c>IOCB_CMD_FDSYNC</c>: flush the file's data (fdatasync).</summary>
    Fdsync = 3,
    /// <summary><c>IOCB_CMD_POLL</c>: wait until any handle is ready for <see cref="Iocb.PollEvents"/>; the result is revents.</summary>
    Poll = 5,
    /// <summary>
    /// <c>IOCB_CMD_NOOP</c>: completes at once with result 0. A deliberate departure: the kernel's
    /// AIO refuses it with EINVAL; Kaio follows io_uring's NOP so the core's own cost can be measured.
    /// </summary>
    Noop = 6,
    /// <summary><c>IOCB_CMD_PREADV</c>: scatter read into <see cref="Iocb.Buffers"/>.</summary>
    Preadv = 7,
    /// <summary><c>IOCB_CMD_PWRITEV</c>: gather write from <see cref="Iocb.Buffers"/>.</summary>
    Pwritev = 8,
}
