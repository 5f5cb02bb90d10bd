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

    /// <summary>The Garnet sample serves SET and GET over RESP with its log spilling to disk through Kaio, and stops on its token.</summary>
    [Fact]
    public async Task Garnet_SetsPastLogMemory_EveryGetRight_LogOnDisk()
    {
        const int Keys = 12_000; // ~12.5 MB of 1 KiB values for 4 MiB of log memory
        int port = FreePort();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        Task<int> server = Task.Run(() => GarnetSample.RunAsync(_directory, port, logMemory: "4m", _output, stop.Token), TestContext.Current.CancellationToken);
        try
        {
            using var client = ConnectWhenUp(port, server);
            byte[] value = new byte[1024];
            for (int start = 0; start < Keys; start += 256)
            {
                int end = Math.Min(Keys, start + 256);
                for (int i = start; i < end; i++)
                {
                    value.AsSpan().Fill((byte)i);
                    BitConverter.TryWriteBytes(value, i);
                    client.Append("SET"u8.ToArray(), Kaio.Tsavorite.Tests.Infrastructure.RespClient.Key(i), value);
                }

                client.Flush();
                for (int i = start; i < end; i++)
                {
                    Assert.Equal("OK", client.Read());
                }
            }

            for (int start = 0; start < Keys; start += 256)
            {
                int end = Math.Min(Keys, start + 256);
                for (int i = start; i < end; i++)
                {
                    client.Append("GET"u8.ToArray(), Kaio.Tsavorite.Tests.Infrastructure.RespClient.Key(i));
                }

                client.Flush();
                for (int i = start; i < end; i++)
                {
                    byte[] got = Assert.IsType<byte[]>(client.Read());
                    Assert.Equal(i, BitConverter.ToInt32(got));
                    Assert.Equal((byte)i, got[1023]);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.Equal(0, await server);
        string log = Path.Combine(_directory, "log");
        Assert.True(Directory.GetFiles(log, "hlog.*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) > 4 << 20, "the log did not spill to disk");
        Assert.Contains("Garnet on Kaio (", _output.ToString(), StringComparison.Ordinal);
        Assert.Contains("stopped", _output.ToString(), StringComparison.Ordinal);
    }

    private static Kaio.Tsavorite.Tests.Infrastructure.RespClient ConnectWhenUp(int port, Task<int> server)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return new Kaio.Tsavorite.Tests.Infrastructure.RespClient(port);
            }
            catch (System.Net.Sockets.SocketException) when (attempt < 100 && !server.IsCompleted)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
