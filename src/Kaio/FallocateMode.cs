namespace Kaio;

/// <summary>
/// What a <see cref="IocbCommand.Fallocate"/> does to its range: fallocate(2)'s <c>mode</c>.
/// Values are the kernel's <c>FALLOC_FL_*</c> from <c>linux/falloc.h</c>. At most one operation
/// (<see cref="PunchHole"/>, <see cref="ZeroRange"/>, <see cref="CollapseRange"/>,
/// <see cref="InsertRange"/>) may be given, with or without <see cref="KeepSize"/> as each allows;
/// any other combination, or an unknown bit, is refused with EOPNOTSUPP, as <c>vfs_fallocate()</c>
/// refuses it. Whether the file system can do an operation is its own answer (EOPNOTSUPP in the event).
/// </summary>
[Flags]
public enum FallocateMode
{
    /// <summary>
    /// <c>FALLOC_FL_ALLOCATE_RANGE</c> (0): allocate the range; past the end of the file the file
    /// grows to cover it (its new bytes read as zeros).
    /// </summary>
    None = 0x00,

    /// <summary>
    /// <c>FALLOC_FL_KEEP_SIZE</c>: the file's length stays as it is; blocks past its end are
    /// reserved (and a later write there cannot fail for want of space). Required by
    /// <see cref="PunchHole"/>; not allowed with <see cref="CollapseRange"/> or <see cref="InsertRange"/>.
    /// </summary>
    KeepSize = 0x01,

    /// <summary>
    /// <c>FALLOC_FL_PUNCH_HOLE</c>: deallocate the range (it then reads as zeros). Must be given with
    /// <see cref="KeepSize"/> (the kernel refuses it alone with EOPNOTSUPP).
    /// </summary>
    PunchHole = 0x02,

    /// <summary>
    /// <c>FALLOC_FL_COLLAPSE_RANGE</c>: remove the range and shift what follows down, so the file
    /// shrinks by its length. Offset and length must be multiples of the file system's block size,
    /// and the range must end before the end of the file (else EINVAL in the event).
    /// </summary>
    CollapseRange = 0x08,

    /// <summary>
    /// <c>FALLOC_FL_ZERO_RANGE</c>: make the range read as zeros, preferably without writing them
    /// (unwritten extents); the blocks stay allocated. With <see cref="KeepSize"/> the length stays.
    /// </summary>
    ZeroRange = 0x10,

    /// <summary>
    /// <c>FALLOC_FL_INSERT_RANGE</c>: insert a hole of the range's length at the offset, shifting what
    /// follows up, so the file grows by its length. Offset and length must be multiples of the file
    /// system's block size, and the offset must lie before the end of the file (else EINVAL in the event).
    /// </summary>
    InsertRange = 0x20,
}
