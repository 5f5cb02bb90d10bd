namespace Kaio;

/// <summary>
/// The operation an <see cref="Iocb"/> asks for. Values are the kernel's <c>IOCB_CMD_*</c>
/// from <c>linux/aio_abi.h</c>, so a libaio user recognises them; Kaio's own extensions are
/// numbered from <c>0x100</c> up, clear of every <c>IOCB_CMD_*</c> (0–8).
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
    /// <summary>
    /// fallocate(2) on the file: allocate, reserve, punch out or zero <see cref="Iocb.Length"/> bytes
    /// at <see cref="Iocb.Offset"/> as <see cref="Iocb.FallocateMode"/> says; the result is 0. A Kaio
    /// extension, like io_uring's <c>IORING_OP_FALLOCATE</c>: the kernel's AIO has no such command
    /// (its io_submit answers an unknown <c>aio_lio_opcode</c> with EINVAL), so the value lies
    /// outside the <c>IOCB_CMD_*</c> range.
    /// </summary>
    Fallocate = 0x100,
}
