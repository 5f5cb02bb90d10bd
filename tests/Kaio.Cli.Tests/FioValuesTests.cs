using Kaio.Cli.Jobs;

namespace Kaio.Cli.Tests;

public class FioValuesTests
{
    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("4k", 4096L)]
    [InlineData("4K", 4096L)]
    [InlineData("4kb", 4096L)]
    [InlineData("4KB", 4096L)]
    [InlineData("4KiB", 4000L)] // fio's default kb_base=1024 reads IEC suffixes as powers of 1000
    [InlineData("64m", 64L * 1024 * 1024)]
    [InlineData("64MB", 64L * 1024 * 1024)]
    [InlineData("64MiB", 64_000_000L)]
    [InlineData("1g", 1024L * 1024 * 1024)]
    [InlineData("2t", 2L * 1024 * 1024 * 1024 * 1024)]
    [InlineData("1p", 1024L * 1024 * 1024 * 1024 * 1024)]
    [InlineData("512b", 512L)]
    [InlineData("0x1000", 4096L)]
    [InlineData("0x10k", 16L * 1024)]
    [InlineData(" 8k ", 8192L)]
    public void TryParseSize_KbBase1024_ReadsAsFio(string text, long expected)
    {
        Assert.True(FioValues.TryParseSize(text, 1024, out long value, out string? error), error);
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("4k", 4000L)]
    [InlineData("4kB", 4000L)]
    [InlineData("4KiB", 4096L)]
    [InlineData("1MiB", 1024L * 1024)]
    [InlineData("1m", 1_000_000L)]
    [InlineData("1GiB", 1024L * 1024 * 1024)]
    public void TryParseSize_KbBase1000_UsesTrueUnits(string text, long expected)
    {
        Assert.True(FioValues.TryParseSize(text, 1000, out long value, out string? error), error);
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("k")]
    [InlineData("4x")]
    [InlineData("4kfoo")]
    [InlineData("4 k b")]
    [InlineData("-1")]
    [InlineData("1.5k")]
    [InlineData("99999999999999999999")]
    [InlineData("16777216p")]
    public void TryParseSize_Malformed_FailsNamingTheValue(string text)
    {
        Assert.False(FioValues.TryParseSize(text, 1024, out _, out string? error));
        Assert.NotNull(error);
        if (text.Trim().Length > 0)
        {
            Assert.Contains(text.Trim().Split(' ')[0], error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("3", 3_000_000L)]
    [InlineData("3s", 3_000_000L)]
    [InlineData("500ms", 500_000L)]
    [InlineData("500msec", 500_000L)]
    [InlineData("250us", 250L)]
    [InlineData("250usec", 250L)]
    [InlineData("2m", 120_000_000L)]
    [InlineData("1h", 3_600_000_000L)]
    [InlineData("1d", 86_400_000_000L)]
    [InlineData("10S", 10_000_000L)]
    [InlineData("10MS", 10_000L)]
    public void TryParseTime_ReadsAsFio_SecondsByDefault(string text, long expectedMicroseconds)
    {
        Assert.True(FioValues.TryParseTime(text, out TimeSpan value, out string? error), error);
        Assert.Equal(expectedMicroseconds, (long)value.TotalMicroseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("10sec")] // fio would silently read ten microseconds
    [InlineData("1.5s")]
    [InlineData("-1")]
    [InlineData("3x")]
    public void TryParseTime_Malformed_Fails(string text)
    {
        Assert.False(FioValues.TryParseTime(text, out _, out string? error));
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("1", true)]
    [InlineData("0", false)]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("yes", true)]
    [InlineData("off", false)]
    public void TryParseBool_AcceptsFioAndWords(string? text, bool expected)
    {
        Assert.True(FioValues.TryParseBool(text, out bool value));
        Assert.Equal(expected, value);
    }

    [Fact]
    public void TryParseBool_Two_Fails() => Assert.False(FioValues.TryParseBool("2", out _));

    [Theory]
    [InlineData(4096L, "4KiB")]
    [InlineData(64L * 1024 * 1024, "64MiB")]
    [InlineData(1000L, "1000B")]
    [InlineData(3L * 1024 * 1024 * 1024, "3GiB")]
    public void FormatSize_LargestUnitThatDivides(long bytes, string expected) => Assert.Equal(expected, FioValues.FormatSize(bytes));
}
