using System.Globalization;
using Kaio.Cli.Tests.Infrastructure;

namespace Kaio.Cli.Tests;

/// <summary>Tests that count the process's reads from storage (/proc/self/io read_bytes), run alone so no other test's reads are counted.</summary>
[CollectionDefinition(nameof(StorageReadsCollection), DisableParallelization = true)]
public sealed class StorageReadsCollection;

/// <summary>
/// fio's do_verify(): before the read-back of a writing job with verify, each file is synced and,
/// with invalidate (the default), dropped from the page cache, so the blocks are read from the
/// disk, not from the pages the writes left.
/// </summary>
[Collection(nameof(StorageReadsCollection))]
public class VerifyReadBackTests
{
    private const int FileSize = 8 << 20;

    /// <summary>Bytes this process (all its threads, the engines' workers too) read from storage.</summary>
    private static long ReadBytes()
    {
        string line = File.ReadLines("/proc/self/io").Single(l => l.StartsWith("read_bytes:", StringComparison.Ordinal));
        return long.Parse(line["read_bytes:".Length..].Trim(), CultureInfo.InvariantCulture);
    }

    private static long ReadFromStorageWhileVerifying(params string[] extra)
    {
        using var dir = new TempDirectory();
        long before = ReadBytes();
        KaioCli.Result result = KaioCli.Run(["bench", "--name=v", "--filename=" + dir.File("data"), "--rw=write", "--bs=64k", "--size=8m", "--verify=crc32c",
            "--ioengine=threadpool", .. extra]);
        Assert.True(result.Exit == 0, result.ToString());
        return ReadBytes() - before;
    }

    [Fact]
    public void Verify_WritingJob_ReadsBackFromTheDisk()
    {
        long read = ReadFromStorageWhileVerifying();
        Assert.True(read >= FileSize * 9L / 10, $"{read} bytes read from storage for an {FileSize}-byte read-back");
    }

    [Fact]
    public void Verify_Invalidate0_ReadsBackFromTheCache()
    {
        long read = ReadFromStorageWhileVerifying("--invalidate=0");
        Assert.True(read < FileSize / 4, $"{read} bytes read from storage for an {FileSize}-byte read-back");
    }
}
