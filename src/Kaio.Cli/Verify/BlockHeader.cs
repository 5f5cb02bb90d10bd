// Design: the header every verified block starts with, in the spirit of fio's verify_header
// (verify.h): enough to tell, from the block alone, where it belongs, which run and which write
// of that block produced it, and whether its bytes are intact. Little-endian, 64 bytes:
//
//   0  magic "KAIO"   4  version (1)   6  header size (64)
//   8  file offset of the block        16 block length      20 checksum kind (1 xxhash64, 2 crc64,
//                                                           3 crc32c, 4 crc32, 5 md5, 6 sha1, 7 sha256, 8 sha512)
//   24 seed of the run                 32 generation: 0 = laid out, n = the n-th write of the block
//   40 reserved (0)
//   48 checksum of the whole block, computed with these 8 bytes left out (a CRC-32 zero-extended;
//      the first 8 bytes of an MD5 or SHA digest)
//   56 reserved (0)
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Numerics;
using System.Security.Cryptography;
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
            kind is >= 1 and <= (uint)VerifyMode.Sha512 ? (VerifyMode)kind : VerifyMode.None,
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
        BinaryPrimitives.WriteUInt32LittleEndian(block[20..], (uint)Kind);
        BinaryPrimitives.WriteUInt64LittleEndian(block[24..], Seed);
        BinaryPrimitives.WriteInt64LittleEndian(block[32..], Generation);
        BinaryPrimitives.WriteUInt64LittleEndian(block[40..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(block[ChecksumOffset..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(block[56..], 0);
    }

    /// <summary>The checksum of a whole block, leaving out the checksum field itself.</summary>
    public static ulong ComputeChecksum(ReadOnlySpan<byte> block, VerifyMode kind)
    {
        ReadOnlySpan<byte> head = block[..ChecksumOffset];
        ReadOnlySpan<byte> rest = block[(ChecksumOffset + 8)..];
        switch (kind)
        {
            case VerifyMode.Crc64:
                var crc64 = new Crc64();
                crc64.Append(head);
                crc64.Append(rest);
                return crc64.GetCurrentHashAsUInt64();
            case VerifyMode.Crc32:
                var crc32 = new Crc32();
                crc32.Append(head);
                crc32.Append(rest);
                return crc32.GetCurrentHashAsUInt32();
            case VerifyMode.Crc32c:
                return ~Crc32C(Crc32C(uint.MaxValue, head), rest);
            case VerifyMode.Md5 or VerifyMode.Sha1 or VerifyMode.Sha256 or VerifyMode.Sha512:
                using (var hash = IncrementalHash.CreateHash(kind switch
                {
                    VerifyMode.Md5 => HashAlgorithmName.MD5,
                    VerifyMode.Sha1 => HashAlgorithmName.SHA1,
                    VerifyMode.Sha256 => HashAlgorithmName.SHA256,
                    _ => HashAlgorithmName.SHA512,
                }))
                {
                    hash.AppendData(head);
                    hash.AppendData(rest);
                    Span<byte> digest = stackalloc byte[64];
                    int written = hash.GetHashAndReset(digest);
                    return BinaryPrimitives.ReadUInt64LittleEndian(digest[..Math.Min(written, 8)]);
                }

            default:
                var xx = new XxHash64();
                xx.Append(head);
                xx.Append(rest);
                return xx.GetCurrentHashAsUInt64();
        }
    }

    /// <summary>CRC-32C without the final inversion, through the CPU's CRC32 instructions (BitOperations).</summary>
    internal static uint Crc32C(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    /// <summary>Stores <paramref name="checksum"/> into a block's header.</summary>
    public static void WriteChecksum(Span<byte> block, ulong checksum)
        => BinaryPrimitives.WriteUInt64LittleEndian(block[ChecksumOffset..], checksum);
}
