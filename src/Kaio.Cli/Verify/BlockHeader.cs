// Design: the header every verified block starts with, in the spirit of fio's verify_header
// (verify.h): enough to tell, from the block alone, where it belongs, which run and which write
// of that block produced it, and whether its bytes are intact. Little-endian, 64 bytes:
//
//   0  magic "KAIO"   4  version (1)   6  header size (64)
//   8  file offset of the block        16 block length      20 checksum kind (1 xxhash64, 2 crc64)
//   24 seed of the run                 32 generation: 0 = laid out, n = the n-th write of the block
//   40 reserved (0)
//   48 checksum of the whole block, computed with these 8 bytes left out
//   56 reserved (0)
using System.Buffers.Binary;
using System.IO.Hashing;
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Verify;

/// <summary>The 64-byte header at the start of each verified block.</summary>
internal readonly record struct BlockHeader(long Offset, int Length, VerifyMode Kind, ulong Seed, long Generation, ulong Checksum)
{
    public const int Size = 64;
    public const uint Magic = 0x4F49414B; // "KAIO" little-endian
    public const ushort Version = 1;
    private const int ChecksumOffset = 48;

    /// <summary>Reads the header fields; false when the magic, version or sizes are not ours.</summary>
    public static bool TryRead(ReadOnlySpan<byte> block, out BlockHeader header)
    {
        header = default;
        if (block.Length < Size
            || BinaryPrimitives.ReadUInt32LittleEndian(block) != Magic
            || BinaryPrimitives.ReadUInt16LittleEndian(block[4..]) != Version
            || BinaryPrimitives.ReadUInt16LittleEndian(block[6..]) != Size)
        {
            return false;
        }

        uint kind = BinaryPrimitives.ReadUInt32LittleEndian(block[20..]);
        header = new BlockHeader(
            BinaryPrimitives.ReadInt64LittleEndian(block[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(block[16..]),
            kind switch { 1 => VerifyMode.XxHash64, 2 => VerifyMode.Crc64, _ => VerifyMode.None },
            BinaryPrimitives.ReadUInt64LittleEndian(block[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(block[32..]),
            BinaryPrimitives.ReadUInt64LittleEndian(block[ChecksumOffset..]));
        return true;
    }

    /// <summary>Writes the header into the first <see cref="Size"/> bytes of <paramref name="block"/>, checksum excluded.</summary>
    public void WriteWithoutChecksum(Span<byte> block)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(block, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(block[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(block[6..], Size);
        BinaryPrimitives.WriteInt64LittleEndian(block[8..], Offset);
        BinaryPrimitives.WriteInt32LittleEndian(block[16..], Length);
        BinaryPrimitives.WriteUInt32LittleEndian(block[20..], Kind == VerifyMode.Crc64 ? 2u : 1u);
        BinaryPrimitives.WriteUInt64LittleEndian(block[24..], Seed);
        BinaryPrimitives.WriteInt64LittleEndian(block[32..], Generation);
        BinaryPrimitives.WriteUInt64LittleEndian(block[40..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(block[ChecksumOffset..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(block[56..], 0);
    }

    /// <summary>The checksum of a whole block, leaving out the checksum field itself.</summary>
    public static ulong ComputeChecksum(ReadOnlySpan<byte> block, VerifyMode kind)
    {
        if (kind == VerifyMode.Crc64)
        {
            var crc = new Crc64();
            crc.Append(block[..ChecksumOffset]);
            crc.Append(block[(ChecksumOffset + 8)..]);
            return crc.GetCurrentHashAsUInt64();
        }

        var xx = new XxHash64();
        xx.Append(block[..ChecksumOffset]);
        xx.Append(block[(ChecksumOffset + 8)..]);
        return xx.GetCurrentHashAsUInt64();
    }

    /// <summary>Stores <paramref name="checksum"/> into a block's header.</summary>
    public static void WriteChecksum(Span<byte> block, ulong checksum)
        => BinaryPrimitives.WriteUInt64LittleEndian(block[ChecksumOffset..], checksum);
}
