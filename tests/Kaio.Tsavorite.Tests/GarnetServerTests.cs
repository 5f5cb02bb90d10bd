using System.Net;
using System.Net.Sockets;
using Garnet;
using Garnet.server;
using Kaio.Tsavorite.Tests.Infrastructure;
using Tsavorite.core;

namespace Kaio.Tsavorite.Tests;

/// <summary>
/// Garnet end to end on Kaio: an embedded GarnetServer whose storage tier goes through
/// <see cref="KaioNamedDeviceFactoryCreator"/>, with a log memory of 1 MiB, is sent ~12× that in
/// 1 KiB values over a real socket (RESP on 127.0.0.1), and every value comes back right; most of
/// the GETs are served by Kaio device reads.
/// </summary>
public sealed class GarnetServerTests
{
    private const int Keys = 12_000;          // ~12.5 MB of records
    private const int ValueSize = 1024;
    private const string LogMemory = "1m";
    private const int Batch = 256;             // commands per pipelined round trip

    [Theory]
    [MemberData(nameof(TestEngines.RealAndInline), MemberType = typeof(TestEngines))]
    public void GarnetServer_StorageTierOnKaio_TenTimesMemoryOfValues_EveryGetRight(AioEngineKind engine, bool inline)
    {
        using var dir = new Scratch();
        using AioContext ctx = TestEngines.Setup(engine, capacity: 512);
        var devices = new RecordingCreator(new KaioNamedDeviceFactoryCreator(ctx, new KaioDeviceOptions { InlineCompletions = inline }));
        int port = FreePort();

        using (var server = new GarnetServer(new GarnetServerOptions
        {
            EndPoints = [new IPEndPoint(IPAddress.Loopback, port)],
            EnableStorageTier = true,
            LogDir = dir.File("log"),
            CheckpointDir = dir.File("checkpoints"),
            LogMemorySize = LogMemory,
            PageSize = "32k",
            SegmentSize = "4m",          // several segment files
            IndexMemorySize = "1m",
            DeviceFactoryCreator = devices,
            QuietMode = true,
        }))
        {
            server.Start();
            using var client = new RespClient(port);
            byte[] value = new byte[ValueSize];
            for (int start = 0; start < Keys; start += Batch)
            {
                int end = Math.Min(Keys, start + Batch);
                for (int i = start; i < end; i++)
                {
                    Fill(value, i);
                    client.Append("SET"u8.ToArray(), RespClient.Key(i), value);
                }

                client.Flush();
                for (int i = start; i < end; i++)
                {
                    Assert.Equal("OK", client.Read());
                }
            }

            long readsAfterLoad = devices.CompletedReads;
            Assert.True(devices.CompletedWrites > 0, "nothing was flushed to the Kaio device");
            Assert.True(Directory.GetFiles(dir.File("log"), "hlog.*", SearchOption.AllDirectories).Length > 1, "the log did not spill into several segment files");

            // Every value, in an order unrelated to the load's; the oldest are long evicted.
            int[] order = Enumerable.Range(0, Keys).ToArray();
            new Random(12).Shuffle(order);
            byte[] expected = new byte[ValueSize];
            for (int start = 0; start < Keys; start += Batch)
            {
                int end = Math.Min(Keys, start + Batch);
                for (int i = start; i < end; i++)
                {
                    client.Append("GET"u8.ToArray(), RespClient.Key(order[i]));
                }

                client.Flush();
                for (int i = start; i < end; i++)
                {
                    byte[] got = Assert.IsType<byte[]>(client.Read());
                    Fill(expected, order[i]);
                    Assert.True(got.AsSpan().SequenceEqual(expected), $"key {order[i]}: wrong value");
                }
            }

            long deviceReads = devices.CompletedReads - readsAfterLoad;
            TestContext.Current.SendDiagnosticMessage(
                $"{engine}{(inline ? " inline" : "")}: {Keys} GETs, {deviceReads} Kaio device reads, {devices.CompletedWrites} writes, {devices.Count} devices");
            Assert.True(deviceReads >= Keys / 2, $"only {deviceReads} device reads for {Keys} GETs with {LogMemory} of log memory");
        }
    }

    private static void Fill(byte[] value, int key)
    {
        for (int i = 0; i < value.Length; i++)
        {
            value[i] = (byte)(key * 7 + i);
        }

        BitConverter.TryWriteBytes(value, key);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Kaio's creator, keeping every device its factories hand out so the test can read their counters.</summary>
    private sealed class RecordingCreator(KaioNamedDeviceFactoryCreator inner) : INamedDeviceFactoryCreator
    {
        private readonly List<KaioStorageDevice> _devices = [];

        public int Count
        {
            get
            {
                lock (_devices)
                {
                    return _devices.Count;
                }
            }
        }

        public long CompletedReads => Sum(d => d.CompletedReads);

        public long CompletedWrites => Sum(d => d.CompletedWrites);

        public INamedDeviceFactory Create(string baseName) => new RecordingFactory(this, (KaioNamedDeviceFactory)inner.Create(baseName));

        private long Sum(Func<KaioStorageDevice, long> counter)
        {
            lock (_devices)
            {
                return _devices.Sum(counter);
            }
        }

        private sealed class RecordingFactory(RecordingCreator owner, KaioNamedDeviceFactory inner) : INamedDeviceFactory
        {
            public IDevice Get(FileDescriptor fileInfo)
            {
                var device = (KaioStorageDevice)inner.Get(fileInfo);
                lock (owner._devices)
                {
                    owner._devices.Add(device);
                }

                return device;
            }

            public void Delete(FileDescriptor fileInfo) => inner.Delete(fileInfo);

            public IEnumerable<FileDescriptor> ListContents(string path) => inner.ListContents(path);

            public Stream OpenRead(FileDescriptor fileInfo) => inner.OpenRead(fileInfo);

            public uint GetSectorSize(FileDescriptor fileInfo) => inner.GetSectorSize(fileInfo);
        }
    }
}
