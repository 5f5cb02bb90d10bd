using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Kaio.Cli.Tests.Infrastructure;

namespace Kaio.Cli.Tests;

/// <summary>
/// fio's file options of issue 13's remainder: invalidate (the page cache dropped before the job),
/// file_append, create_only, allow_file_create, unlink_each_loop and openfiles. Real files under
/// the test temp directory (ext4 here: invalidation needs a page cache a disk backs, not tmpfs).
/// </summary>
public class FileOptionsTests
{
    private const int FileSize = 32 << 20;

    /// <summary>The file's pages in the page cache (mincore over a shared read-only mapping), from <paramref name="from"/> to its end.</summary>
    private static int ResidentPages(string path, long from = 0)
    {
        using SafeFileHandleOwner file = new(path);
        long length = new FileInfo(path).Length;
        int page = Environment.SystemPageSize;
        nint map = NativeMethods.mmap(0, (nuint)length, NativeMethods.PROT_READ, NativeMethods.MAP_SHARED, file.Fd, 0);
        Assert.NotEqual(-1, map);
        try
        {
            byte[] vector = new byte[(length + page - 1) / page];
            Assert.Equal(0, NativeMethods.mincore(map, (nuint)length, vector));
            return vector.Skip((int)(from / page)).Count(b => (b & 1) != 0);
        }
        finally
        {
            Assert.Equal(0, NativeMethods.munmap(map, (nuint)length));
        }
    }

    /// <summary>A file of random bytes, written and fsynced, so its pages are in the cache and clean.</summary>
    private static byte[] WriteSynced(string path, int length)
    {
        byte[] data = RandomNumberGenerator.GetBytes(length);
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            stream.Write(data);
            stream.Flush(flushToDisk: true);
        }

        return data;
    }

    /// <summary>One 4 KiB buffered read at offset 0 of the 32 MiB file (readahead reaches at most read_ahead_kb: 8 MiB here).</summary>
    private static KaioCli.Result ReadOneBlock(string path, params string[] extra)
        => KaioCli.Run(["bench", "--name=r", "--filename=" + path, "--rw=read", "--bs=4k", "--size=32m", "--io_size=4k", "--ioengine=threadpool", "--output-format=json", .. extra]);

    [Fact]
    public void Invalidate_Default_DropsTheJustWrittenFilesCacheBeforeTheJob()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");
        WriteSynced(path, FileSize);
        int pages = FileSize / Environment.SystemPageSize;
        Assert.InRange(ResidentPages(path), pages * 9 / 10, pages); // written through the cache: there now

        KaioCli.Result result = ReadOneBlock(path);

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(0, ResidentPages(path, from: 16 << 20)); // dropped; the read and its readahead touch only the start
    }

    [Fact]
    public void Invalidate0_KeepsTheJustWrittenFilesCache()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");
        WriteSynced(path, FileSize);
        int pages = FileSize / Environment.SystemPageSize;

        KaioCli.Result result = ReadOneBlock(path, "--invalidate=0");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.InRange(ResidentPages(path), pages * 9 / 10, pages);
    }

    /// <summary>A file kaio lays out itself is fsynced (fio's create_fsync), so invalidate drops it: dirty pages would stay.</summary>
    [Fact]
    public void Invalidate_FileKaioLaysOut_IsDroppedAfterTheLayout()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = ReadOneBlock(path);

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(FileSize, new FileInfo(path).Length);
        Assert.Equal(0, ResidentPages(path, from: 16 << 20));
    }

    [Fact]
    public void Invalidate0_FileKaioLaysOut_StaysInTheCache()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = ReadOneBlock(path, "--invalidate=0");

        Assert.True(result.Exit == 0, result.ToString());
        int pages = FileSize / Environment.SystemPageSize;
        Assert.InRange(ResidentPages(path), pages * 9 / 10, pages);
    }

    /// <summary>fio's file_append: offset is the file's size; what the file held stays (an odd length too: the layout does not round it down).</summary>
    [Fact]
    public void FileAppend_WriteJob_WritesAfterTheEndAndKeepsWhatTheFileHeld()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");
        byte[] before = WriteSynced(path, (64 << 10) + 100);

        KaioCli.Result result = KaioCli.Run("bench", "--name=a", "--filename=" + path, "--rw=write", "--bs=4k", "--size=64k", "--file_append=1", "--ioengine=libaio", "--output-format=json");

        Assert.True(result.Exit == 0, result.ToString());
        byte[] after = File.ReadAllBytes(path);
        Assert.Equal(before.Length + (64 << 10), after.Length);
        Assert.True(after.AsSpan(0, before.Length).SequenceEqual(before), "the file's earlier bytes changed");
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(64 << 10, doc.RootElement.GetProperty("jobs")[0].GetProperty("write").GetProperty("io_bytes").GetInt64());
    }

    [Fact]
    public void FileAppend_MissingFile_StartsAtZero()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = KaioCli.Run("bench", "--name=a", "--filename=" + path, "--rw=write", "--bs=4k", "--size=64k", "--file_append", "--ioengine=libaio");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(64 << 10, new FileInfo(path).Length);
    }

    [Fact]
    public void CreateOnly_LaysOutTheFileAndDoesNoIo()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = KaioCli.Run("bench", "--name=c", "--filename=" + path, "--rw=randread", "--bs=4k", "--size=1m", "--create_only=1", "--ioengine=libaio", "--output-format=json");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(1 << 20, new FileInfo(path).Length);
        using var doc = JsonDocument.Parse(result.Out);
        JsonElement job = doc.RootElement.GetProperty("jobs")[0];
        Assert.Equal(0, job.GetProperty("read").GetProperty("io_bytes").GetInt64());
        Assert.Equal(0, job.GetProperty("read").GetProperty("total_ios").GetInt64());
        Assert.Equal(0, job.GetProperty("error").GetInt32());
    }

    [Fact]
    public void AllowFileCreate0_MissingFile_FailsNamingTheOptionAndCreatesNothing()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = KaioCli.Run("bench", "--name=n", "--filename=" + path, "--rw=write", "--bs=4k", "--size=64k", "--allow_file_create=0", "--ioengine=libaio");

        Assert.Equal(1, result.Exit);
        Assert.Contains(path + ": no such file, and allow_file_create=0 forbids creating it", result.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void AllowFileCreate0_ExistingFile_Runs()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");
        WriteSynced(path, 64 << 10);

        KaioCli.Result result = KaioCli.Run("bench", "--name=n", "--filename=" + path, "--rw=write", "--bs=4k", "--size=64k", "--allow_file_create=0", "--ioengine=libaio");

        Assert.True(result.Exit == 0, result.ToString());
    }

    [Theory]
    [InlineData("--unlink_each_loop=1", false)]
    [InlineData("--unlink_each_loop=0", true)]
    public void UnlinkEachLoop_OneLoop_RemovesTheFileWhenTheJobIsDone(string option, bool stays)
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = KaioCli.Run("bench", "--name=u", "--filename=" + path, "--rw=write", "--bs=4k", "--size=64k", option, "--ioengine=libaio");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(stays, File.Exists(path));
    }

    [Fact]
    public void OpenFiles_BelowTheFileCount_IsRefusedBeforeAnythingRuns()
    {
        using var dir = new TempDirectory();

        KaioCli.Result result = KaioCli.Run("bench", "--name=o", "--directory=" + dir.Path, "--nrfiles=4", "--openfiles=2", "--rw=read", "--size=256k", "--ioengine=libaio");

        Assert.Equal(2, result.Exit);
        Assert.Contains("openfiles=2 is below the job's 4 files", result.Err, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(dir.Path));
    }

    [Fact]
    public void OpenFiles_AtLeastTheFileCount_Runs()
    {
        using var dir = new TempDirectory();

        KaioCli.Result result = KaioCli.Run("bench", "--name=o", "--directory=" + dir.Path, "--nrfiles=4", "--openfiles=4", "--rw=read", "--size=256k", "--ioengine=libaio", "--output-format=json");

        Assert.True(result.Exit == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(256 << 10, doc.RootElement.GetProperty("jobs")[0].GetProperty("read").GetProperty("io_bytes").GetInt64());
    }

    /// <summary>fio's filesize=LOW-HIGH: each file a random size in [LOW, HIGH), a multiple of bs; size (not given) is their total.</summary>
    [Fact]
    public void FileSizeRange_EachFileGetsARandomSizeInTheRange_AndTheJobReadsThemWhole()
    {
        using var dir = new TempDirectory();

        KaioCli.Result result = KaioCli.Run("bench", "--name=f", "--directory=" + dir.Path, "--filename_format=f.$filenum", "--nrfiles=8", "--filesize=64k-1m",
            "--rw=read", "--bs=4k", "--file_service_type=sequential", "--ioengine=libaio", "--output-format=json");

        Assert.True(result.Exit == 0, result.ToString());
        long[] sizes = [.. Enumerable.Range(0, 8).Select(f => new FileInfo(dir.File("f." + f)).Length)];
        Assert.All(sizes, size => Assert.InRange(size, 64 << 10, (1 << 20) - 1));
        Assert.All(sizes, size => Assert.Equal(0, size % 4096));
        Assert.True(sizes.Distinct().Count() > 1, string.Join(", ", sizes));
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(sizes.Sum(), doc.RootElement.GetProperty("jobs")[0].GetProperty("read").GetProperty("io_bytes").GetInt64());
    }

    /// <summary>Files of different sizes laid end to end: every block lands in its own file (verify checks each block's offset).</summary>
    [Fact]
    public void FileSizeRange_VerifiedRandomWrites_LandInTheirOwnFiles()
    {
        using var dir = new TempDirectory();

        KaioCli.Result result = KaioCli.Run("bench", "--name=v", "--directory=" + dir.Path, "--filename_format=v.$filenum", "--nrfiles=4", "--filesize=64k-512k",
            "--rw=randwrite", "--bs=4k", "--verify=crc32c", "--iodepth=8", "--ioengine=io_uring", "--output-format=json");

        Assert.True(result.Exit == 0, result.ToString());
        long[] sizes = [.. Enumerable.Range(0, 4).Select(f => new FileInfo(dir.File("v." + f)).Length)];
        Assert.True(sizes.Distinct().Count() > 1, string.Join(", ", sizes));
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(sizes.Sum(), doc.RootElement.GetProperty("jobs")[0].GetProperty("write").GetProperty("io_bytes").GetInt64());
    }

    [Fact]
    public void FileSizeRange_OneFile_GetsOneSizeInTheRange()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = KaioCli.Run("bench", "--name=one", "--filename=" + path, "--filesize=1m-64k", "--rw=read", "--bs=4k", "--ioengine=libaio");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.InRange(new FileInfo(path).Length, 64 << 10, (1 << 20) - 1);
        Assert.Equal(0, new FileInfo(path).Length % 4096);
    }

    /// <summary>fio's setup_files(): an existing file whose size is in filesize's range keeps that size.</summary>
    [Fact]
    public void FileSizeRange_ExistingFileInTheRange_KeepsItsSize()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");
        WriteSynced(path, 200 << 10);

        KaioCli.Result result = KaioCli.Run("bench", "--name=k", "--filename=" + path, "--filesize=64k-1m", "--rw=read", "--bs=4k", "--ioengine=libaio", "--output-format=json");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(200 << 10, new FileInfo(path).Length);
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(200 << 10, doc.RootElement.GetProperty("jobs")[0].GetProperty("read").GetProperty("io_bytes").GetInt64());
    }

    /// <summary>4 KiB blocks of the file that hold anything but zeros.</summary>
    private static int WrittenBlocks(string path)
    {
        byte[] all = File.ReadAllBytes(path);
        return Enumerable.Range(0, (all.Length + 4095) / 4096).Count(b => all.AsSpan(b * 4096, Math.Min(4096, all.Length - (b * 4096))).ContainsAnyExcept((byte)0));
    }

    /// <summary>Bytes the file system allocated to the file (stat's st_blocks x 512).</summary>
    private static long AllocatedBytes(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%b", path]) { RedirectStandardOutput = true })!;
        string blocks = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return long.Parse(blocks, System.Globalization.CultureInfo.InvariantCulture) * 512;
    }

    /// <summary>One 4 KiB write at offset 0 of a job whose region is 1 MiB.</summary>
    private static KaioCli.Result WriteOneBlock(string path, params string[] extra)
        => KaioCli.Run(["bench", "--name=w", "--filename=" + path, "--rw=write", "--bs=4k", "--size=1m", "--io_size=4k", "--ioengine=libaio", .. extra]);

    /// <summary>fio's extend_file() for a job that does not read: the file is fallocated (native, fio's default) and not written.</summary>
    [Fact]
    public void Fallocate_WriteOnlyJobOnANewFile_ReservesTheFileAndWritesOnlyTheJobsBlocks()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = WriteOneBlock(path);

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(1 << 20, new FileInfo(path).Length);
        Assert.Equal(1, WrittenBlocks(path));
        Assert.InRange(AllocatedBytes(path), 1 << 20, 2 << 20);
    }

    [Theory]
    [InlineData("none", 4096L, 0L, 64L << 10)]            // nothing reserved: the file is what the job wrote
    [InlineData("keep", 4096L, 1L << 20, 2L << 20)]       // FALLOC_FL_KEEP_SIZE: reserved past the end, the size stays
    [InlineData("truncate", 1L << 20, 0L, 64L << 10)]     // ftruncate: the size, sparse
    [InlineData("posix", 1L << 20, 1L << 20, 2L << 20)]   // posix_fallocate: size and blocks
    public void Fallocate_Mode_ShapesTheFileOfAWriteOnlyJob(string mode, long length, long allocatedMin, long allocatedMax)
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = WriteOneBlock(path, "--fallocate=" + mode);

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(length, new FileInfo(path).Length);
        Assert.Equal(1, WrittenBlocks(path));
        Assert.InRange(AllocatedBytes(path), allocatedMin, allocatedMax);
    }

    /// <summary>overwrite=1: a writing job lays the file out by writing it, as a reading job does.</summary>
    [Fact]
    public void Overwrite_WriteOnlyJob_LaysTheFileOutByWritingIt()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = WriteOneBlock(path, "--overwrite=1");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(256, WrittenBlocks(path));
    }

    /// <summary>fio unlinks a writing job's file that is too short and creates it afresh (extend_file()'s unlink_file).</summary>
    [Fact]
    public void Fallocate_WriteOnlyJobOnAShortFile_CreatesItAfresh()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");
        WriteSynced(path, 64 << 10);

        KaioCli.Result result = WriteOneBlock(path);

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(1 << 20, new FileInfo(path).Length);
        Assert.Equal(1, WrittenBlocks(path)); // the 64 KiB it held are gone
    }

    /// <summary>create_on_open: no layout; the job's open creates the file, which holds what the job wrote.</summary>
    [Fact]
    public void CreateOnOpen_NoLayout_TheJobsOpenCreatesTheFile()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = WriteOneBlock(path, "--create_on_open=1");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.DoesNotContain("laying out", result.Out, StringComparison.Ordinal);
        Assert.Equal(4096, new FileInfo(path).Length);
    }

    [Fact]
    public void CreateOnOpen_WithAllowFileCreate0_MissingFileFails()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data");

        KaioCli.Result result = WriteOneBlock(path, "--create_on_open=1", "--allow_file_create=0");

        Assert.Equal(1, result.Exit);
        Assert.Contains("allow_file_create=0", result.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    private sealed class SafeFileHandleOwner : IDisposable
    {
        private readonly FileStream _stream;

        public SafeFileHandleOwner(string path) => _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);

        public int Fd => (int)_stream.SafeFileHandle.DangerousGetHandle();

        public void Dispose() => _stream.Dispose();
    }

    private static class NativeMethods
    {
        public const int PROT_READ = 0x1;
        public const int MAP_SHARED = 0x01;

        [DllImport("libc", SetLastError = true)]
        public static extern nint mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

        [DllImport("libc", SetLastError = true)]
        public static extern int munmap(nint addr, nuint length);

        [DllImport("libc", SetLastError = true)]
        public static extern int mincore(nint addr, nuint length, byte[] vec);
    }
}
