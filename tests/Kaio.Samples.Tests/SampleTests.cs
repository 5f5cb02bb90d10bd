using Kaio;
using Kaio.Samples;

namespace Kaio.Samples.Tests;

/// <summary>Each recipe of the cookbook runs as shipped, on a scratch directory of the real disk (not tmpfs).</summary>
public sealed class SampleTests : IDisposable
{
    private readonly string _directory = Path.Combine(AppContext.BaseDirectory, "scratch", Guid.NewGuid().ToString("N"));
    private readonly StringWriter _output = new();

    public void Dispose()
    {
        TestContext.Current.SendDiagnosticMessage(_output.ToString());
        _output.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>The WAL recipe on every engine that works here (docs/wal.md: create, append with group-committed Dsync, recover).</summary>
    [Theory]
    [InlineData(AioEngineKind.IoUring)]
    [InlineData(AioEngineKind.LinuxAio)]
    [InlineData(AioEngineKind.ThreadPool)]
    public async Task WriteAheadLog_DurableAppendsFromManyTasks_AllRecovered(AioEngineKind engine)
    {
        AioEngineStatus status0 = AioContext.ProbeEngines().Single(s => s.Kind == engine);
        if (!status0.Available)
        {
            Assert.Skip($"{engine} does not work here: {status0.Reason}");
        }

        int status = await WriteAheadLogSample.RunAsync(_directory, records: 512, _output, TestContext.Current.CancellationToken, engine);
        Assert.True(status == 0, _output.ToString());
        Assert.Contains("recovered 512 of 512 records", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("on " + engine, _output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8L << 20)]
    [InlineData((3L << 20) + 12345)] // not a multiple of the block size: the padding is trimmed
    public async Task DirectCopy_OfAFile_Identical(long bytes)
    {
        int status = await DirectCopySample.RunAsync(_directory, bytes, _output, TestContext.Current.CancellationToken);
        Assert.True(status == 0, _output.ToString());
        Assert.Contains("the copy is identical", _output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadServer_ManyClientsWithDeadlines_EveryAnswerRight()
    {
        int status = await ReadServerSample.RunAsync(_directory, clients: 32, requestsPerClient: 200, _output, TestContext.Current.CancellationToken);
        Assert.True(status == 0, _output.ToString());
        Assert.Contains("6,400 requests from 32 clients", _output.ToString(), StringComparison.Ordinal);
    }
}
