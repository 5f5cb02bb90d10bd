using Kaio.Cli.Jobs;
using Kaio.Cli.Verify;

namespace Kaio.Cli.Tests;

public class BlockVerifierTests
{
    private const int Bs = 4096;
    private const ulong Seed = 0x89;
    private readonly byte[] _scratch = new byte[2 * Bs];

    private static byte[] Block(long offset, long generation, ulong seed = Seed, VerifyMode kind = VerifyMode.XxHash64)
    {
        byte[] block = new byte[Bs];
        BlockVerifier.Fill(block, offset, seed, generation, kind);
        return block;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Check_IntactBlock_Passes(bool crc64)
    {
        VerifyMode kind = crc64 ? VerifyMode.Crc64 : VerifyMode.XxHash64;
        byte[] block = Block(8192, 3, kind: kind);
        Assert.Null(BlockVerifier.Check(block, 8192, Seed, 3, kind, _scratch));
        Assert.Null(BlockVerifier.Check(block, 8192, Seed, null, kind, _scratch));
    }

    [Theory]
    [InlineData("crc32c")]
    [InlineData("crc32c-intel")]
    [InlineData("crc32")]
    [InlineData("md5")]
    [InlineData("sha1")]
    [InlineData("sha256")]
    [InlineData("sha512")]
    public void Check_EveryFioChecksum_PassesIntactAndCatchesOneFlippedBit(string name)
    {
        var job = new JobSpec();
        JobOptions.Apply(job, "verify", name);
        VerifyMode kind = job.Verify;
        byte[] block = Block(8192, 3, kind: kind);
        Assert.True(BlockHeader.TryRead(block, out BlockHeader header));
        Assert.Equal(kind, header.Kind);
        Assert.Null(BlockVerifier.Check(block, 8192, Seed, 3, kind, _scratch));
        block[3000] ^= 0x10;
        VerifyFailure? failure = BlockVerifier.Check(block, 8192, Seed, 3, kind, _scratch);
        Assert.NotNull(failure);
        Assert.Equal("corrupted", failure.ProblemName);
    }

    [Theory]
    [InlineData("0xaa555aa5", "AA555AA5")]
    [InlineData("170", "AA")]
    [InlineData("\"ab\"|0x00", "616200")]
    [InlineData("0xabc", "0ABC")]
    public void Pattern_ReadsAsFioReadsIt(string text, string hex)
    {
        Assert.True(FioValues.TryParsePattern(text, out byte[] pattern, out string? error), error);
        Assert.Equal(hex, Convert.ToHexString(pattern));
    }

    [Theory]
    [InlineData("%o")]
    [InlineData("'file'")]
    [InlineData("0xzz")]
    public void Pattern_Unsupported_IsRefused(string text)
        => Assert.False(FioValues.TryParsePattern(text, out _, out _));

    [Fact]
    public void VerifyInterval_AHeaderPerInterval_WithThePatternBetween_CatchesTheBadInterval()
    {
        var job = new JobSpec();
        JobOptions.Apply(job, "verify", "meta");
        JobOptions.Apply(job, "verify_pattern", "0xaa555aa5");
        JobOptions.Apply(job, "verify_interval", "512");
        Assert.Null(job.Validate());
        byte[] block = new byte[Bs];
        BlockVerifier.Fill(block, 65536, Seed, 1, job);
        for (int at = 0; at < Bs; at += 512)
        {
            Assert.True(BlockHeader.TryRead(block.AsSpan(at, 512), out BlockHeader header));
            Assert.Equal(65536 + at, header.Offset);
            Assert.Equal(512, header.Length);
            Assert.Equal("AA555AA5AA555AA5", Convert.ToHexString(block, at + BlockHeader.Size, 8));
        }

        Assert.Null(BlockVerifier.Check(block, 65536, Seed, 1, job, _scratch));
        block[1500] ^= 1;
        VerifyFailure? failure = BlockVerifier.Check(block, 65536, Seed, 1, job, _scratch);
        Assert.NotNull(failure);
        Assert.Equal("corrupted", failure.ProblemName);
        Assert.Equal(65536 + 1024, failure.BlockOffset);
        Assert.Equal(65536 + 1500, failure.BadOffset);
    }

    [Fact]
    public void VerifyPattern_WithoutVerify_TurnsVerifyOn_AndABadIntervalIsRefused()
    {
        var job = new JobSpec();
        JobOptions.Apply(job, "verify_pattern", "0xff");
        Assert.Equal(VerifyMode.XxHash64, job.Verify);
        JobOptions.Apply(job, "verify_interval", "1000");
        Assert.Contains("verify_interval=1000 must divide bs=4KiB", job.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyPattern_InAJob_KeepsTheChecksumChosenInGlobal()
    {
        var jobs = JobFileParser.Parse("[global]\nverify=md5\nrw=write\nsize=64k\n[j]\nverify_pattern=0x55\n", "t.fio", new JobSpec());
        Assert.Equal(VerifyMode.Md5, jobs[0].Verify);
        Assert.Equal([0x55], jobs[0].VerifyPattern);
    }

    [Fact]
    public void Crc32C_GivesTheStandardCheckValue()
    {
        // CRC-32C of "123456789" is 0xE3069283 (RFC 3720, iSCSI).
        Assert.Equal(0xE3069283u, ~BlockHeader.Crc32C(uint.MaxValue, "123456789"u8));
    }

    [Fact]
    public void Fill_DependsOnOffsetSeedAndGeneration()
    {
        Assert.NotEqual(Block(0, 1), Block(4096, 1));
        Assert.NotEqual(Block(0, 1), Block(0, 2));
        Assert.NotEqual(Block(0, 1), Block(0, 1, seed: 7));
        Assert.Equal(Block(0, 1), Block(0, 1));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(4095)]
    [InlineData(3)]
    public void Check_FlippedByte_CorruptedAtThatOffset(int at)
    {
        byte[] block = Block(8192, 2);
        byte original = block[at];
        block[at] ^= 0x40;
        VerifyFailure failure = Assert.IsType<VerifyFailure>(BlockVerifier.Check(block, 8192, Seed, 2, VerifyMode.XxHash64, _scratch));
        Assert.Equal(VerifyProblem.Corrupted, failure.Problem);
        Assert.Equal(8192, failure.BlockOffset);
        Assert.Equal(8192 + at, failure.BadOffset);
        Assert.Equal($"0x{original:x2}", failure.Expected);
        Assert.Equal($"0x{original ^ 0x40:x2}", failure.Found);
        Assert.Contains("1 byte differs", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_FlippedPayloadByte_UnknownGeneration_StillNamesTheByte()
    {
        byte[] block = Block(0, 5);
        block[1000] ^= 1;
        VerifyFailure failure = Assert.IsType<VerifyFailure>(BlockVerifier.Check(block, 0, Seed, null, VerifyMode.XxHash64, _scratch));
        Assert.Equal(VerifyProblem.Corrupted, failure.Problem);
        Assert.Equal(1000, failure.BadOffset);
    }

    [Fact]
    public void Check_BlockWrittenForAnotherOffset_Misplaced()
    {
        byte[] block = Block(4096, 1);
        VerifyFailure failure = Assert.IsType<VerifyFailure>(BlockVerifier.Check(block, 12288, Seed, 1, VerifyMode.XxHash64, _scratch));
        Assert.Equal(VerifyProblem.Misplaced, failure.Problem);
        Assert.Equal(12288, failure.BlockOffset);
        Assert.Contains("4096", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OlderGeneration_Stale()
    {
        VerifyFailure failure = Assert.IsType<VerifyFailure>(BlockVerifier.Check(Block(0, 2), 0, Seed, 3, VerifyMode.XxHash64, _scratch));
        Assert.Equal(VerifyProblem.Stale, failure.Problem);
        Assert.Equal("generation 3", failure.Expected);
        Assert.Equal("generation 2", failure.Found);
    }

    [Fact]
    public void Check_AnotherRunsSeed_Stale()
    {
        VerifyFailure failure = Assert.IsType<VerifyFailure>(BlockVerifier.Check(Block(0, 1, seed: 99), 0, Seed, null, VerifyMode.XxHash64, _scratch));
        Assert.Equal(VerifyProblem.Stale, failure.Problem);
        Assert.Contains("another run", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_NewHeadOldTail_Torn()
    {
        byte[] block = Block(0, 4);
        Block(0, 3).AsSpan(2048).CopyTo(block.AsSpan(2048));
        VerifyFailure failure = Assert.IsType<VerifyFailure>(BlockVerifier.Check(block, 0, Seed, 4, VerifyMode.XxHash64, _scratch));
        Assert.Equal(VerifyProblem.Torn, failure.Problem);
        Assert.Equal(2048, failure.BadOffset);
        Assert.Contains("4 of 8 sectors", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OldHeadNewTail_Torn()
    {
        byte[] block = Block(0, 3);
        Block(0, 4).AsSpan(512).CopyTo(block.AsSpan(512));
        VerifyFailure failure = Assert.IsType<VerifyFailure>(BlockVerifier.Check(block, 0, Seed, 4, VerifyMode.XxHash64, _scratch));
        Assert.Equal(VerifyProblem.Torn, failure.Problem);
        Assert.Equal(0, failure.BadOffset);
    }

    [Fact]
    public void Check_ZeroTail_TornNeverWritten()
    {
        byte[] block = Block(0, 1);
        block.AsSpan(3584).Clear();
        VerifyFailure failure = Assert.IsType<VerifyFailure>(BlockVerifier.Check(block, 0, Seed, 1, VerifyMode.XxHash64, _scratch));
        Assert.Equal(VerifyProblem.Torn, failure.Problem);
        Assert.Equal(3584, failure.BadOffset);
    }

    [Fact]
    public void Check_NoHeader_Corrupted()
    {
        VerifyFailure failure = Assert.IsType<VerifyFailure>(BlockVerifier.Check(new byte[Bs], 4096, Seed, null, VerifyMode.XxHash64, _scratch));
        Assert.Equal(VerifyProblem.Corrupted, failure.Problem);
        Assert.Equal(4096, failure.BadOffset);
        Assert.Contains("no valid block header", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_NamesFileOffsetsAndValues()
    {
        byte[] block = Block(8192, 2);
        block[300] ^= 0xff;
        string line = BlockVerifier.Check(block, 8192, Seed, 2, VerifyMode.XxHash64, _scratch)!.Describe("/data/f");
        Assert.StartsWith("verify failed in /data/f: corrupted block at offset 8192: first bad offset 8492: expected 0x", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
    }
}
