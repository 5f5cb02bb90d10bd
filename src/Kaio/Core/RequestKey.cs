// Design: the request key — the one encoding of "which request" that travels through Submit's
// write-back (Iocb.Key), the engines (io_uring's user_data, Linux AIO's aio_data), completion and
// cancel. key = generation << 32 | tag: the tag names the slot in O(1) (the seed's ki_id), the
// generation tells this use of the slot from every earlier and later one, so a stale key can never
// complete or cancel a newer request in the same slot (RequestSlot's CAS checks it).
//
// Generation 0 is never issued (RequestSlot.Arm skips it), so key 0 names no request. Tags are
// below AioContext.MaxEventsLimit (2^23), so the top of the key space — tag >= ReservedTagFloor —
// can never be a request's key: engines take their own user_data values from there (ReservedTop - n).
namespace Kaio.Core;

internal static class RequestKey
{
    /// <summary>No tag reaches this (tags are below <see cref="AioContext.MaxEventsLimit"/>); keys at or above it in the low half are the engines'.</summary>
    private const uint ReservedTagFloor = 0xFFFF_FF00;

    internal static ulong Make(uint generation, int tag) => ((ulong)generation << 32) | (uint)tag;

    internal static int TagOf(ulong key) => (int)(uint)key;

    internal static uint GenerationOf(ulong key) => (uint)(key >> 32);

    /// <summary>
    /// The top of the key space: an engine's own user_data values are ReservedTop - n for
    /// n in 0..255 (a cancel, a wake, a stop each get one) and are never a request's key.
    /// </summary>
    internal const ulong ReservedTop = ulong.MaxValue;

    /// <summary>True for the engines' values below <see cref="ReservedTop"/> (and only for them, given a request's tag is small).</summary>
    internal static bool IsReserved(ulong userData) => (uint)userData >= ReservedTagFloor && (userData >> 32) == uint.MaxValue;
}
