using System.Buffers;
using System.Buffers.Binary;
using Kaio.Tsavorite.Tests.Infrastructure;
using Tsavorite.core;

namespace Kaio.Tsavorite.Tests;

using Store = TsavoriteKV<StoreFunctions<SpanByteComparer, SpanByteRecordTriggers>, SpanByteAllocator<StoreFunctions<SpanByteComparer, SpanByteRecordTriggers>>>;

/// <summary>
/// Tsavorite end to end on Kaio: a key-value store whose log memory is a small fraction of its
/// data, so random reads must go to the device (each read is pending, served by a Kaio read);
/// then a checkpoint through a Kaio named-device factory, a new store recovered from it, and
/// every value read back.
/// </summary>
public sealed class TsavoriteStoreTests
{
    private const int Records = 16_000;
    private const int ValueSize = 256;          // ~4.5 MB of records in all
    private const long LogMemory = 1L << 18;   // 256 KiB in memory: under 6 % of the data
    private const int RandomReads = 2_000;

    [Theory]
    [MemberData(nameof(TestEngines.RealAndInline), MemberType = typeof(TestEngines))]
    public async Task Store_SmallLogMemory_RandomReadsGoToTheDevice_CheckpointRecoversEveryValue(AioEngineKind engine, bool inline)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        using var dir = new Scratch();
        await using AioContext ctx = TestEngines.Setup(engine, capacity: 512);
        var options = new KaioDeviceOptions { InlineCompletions = inline };
        var creator = new KaioNamedDeviceFactoryCreator(ctx, options);
        string logPath = dir.File("hlog");
        string checkpoints = dir.File("checkpoints");
        Guid token;

        using (var log = new KaioStorageDevice(logPath, ctx, options))
        using (var checkpointManager = new DeviceLogCommitCheckpointManager(creator, new DefaultCheckpointNamingScheme(checkpoints, 0), true, 0, null))
        using (Store store = NewStore(log, checkpointManager))
        {
            using var session = store.NewSession<BytesKey, PinnedSpanByte, SpanByteAndMemory, long, SpanByteFunctions<long>>(new SpanByteFunctions<long>(MemoryPool<byte>.Shared));
            var bContext = session.BasicContext;
            byte[] value = new byte[ValueSize];
            for (int i = 0; i < Records; i++)
            {
                Fill(value, i);
                Status upsert = bContext.Upsert(BytesKey.Of(i), value, 0);
                Assert.False(upsert.IsFaulted, $"upsert {i}: {upsert}");
            }

            Assert.True(store.Log.HeadAddress > store.Log.BeginAddress, "the log never spilled to the device");
            long readsBefore = log.CompletedReads;
            Assert.True(log.CompletedWrites > 0);

            // Random reads of the oldest half: long evicted, every one must be served by the device.
            var random = new Random(12);
            var keys = new int[RandomReads];
            for (int i = 0; i < keys.Length; i++)
            {
                keys[i] = random.Next(Records / 2);
            }

            (int pending, int verified) = ReadAndVerify(ref bContext, keys);
            Assert.Equal(RandomReads, pending);
            Assert.Equal(RandomReads, verified);
            Assert.True(log.CompletedReads - readsBefore >= RandomReads, $"{log.CompletedReads - readsBefore} device reads for {RandomReads} pending reads");

            bool ok;
            (ok, token) = await store.TakeFullCheckpointAsync(CheckpointType.FoldOver, ct);
            Assert.True(ok, "the checkpoint failed");
            await store.CompleteCheckpointAsync(ct);
        }

        Assert.NotEmpty(Directory.GetFiles(checkpoints, "*", SearchOption.AllDirectories));

        // A new store over the same files, recovered from the checkpoint: every value comes back.
        using (var log = new KaioStorageDevice(logPath, ctx, options))
        using (var checkpointManager = new DeviceLogCommitCheckpointManager(creator, new DefaultCheckpointNamingScheme(checkpoints, 0), true, 0, null))
        using (Store store = NewStore(log, checkpointManager))
        {
            await store.RecoverAsync(-1, true, ct);
            Assert.Equal(token, GetLatestLogToken(store));
            using var session = store.NewSession<BytesKey, PinnedSpanByte, SpanByteAndMemory, long, SpanByteFunctions<long>>(new SpanByteFunctions<long>(MemoryPool<byte>.Shared));
            var bContext = session.BasicContext;
            int[] all = Enumerable.Range(0, Records).ToArray();
            (int pending, int verified) = ReadAndVerify(ref bContext, all);
            Assert.Equal(Records, verified);
            Assert.True(pending > Records / 2, $"only {pending} of {Records} reads went to the device after recovery");
            Assert.True(log.CompletedReads > 0);
            TestContext.Current.SendDiagnosticMessage(
                $"{engine}: after recovery {pending} of {Records} reads pending, {log.CompletedReads} device reads, {log.CompletedWrites} writes; {Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories).Length} files");
        }
    }

    private static Guid GetLatestLogToken(Store store)
    {
        store.GetLatestCheckpointTokens(out _, out Guid logToken, out _);
        return logToken;
    }

    private static Store NewStore(IDevice log, ICheckpointManager checkpointManager) =>
        new(
            new KVSettings
            {
                IndexSize = 1L << 16,
                LogDevice = log,
                LogMemorySize = LogMemory,
                PageSize = 1L << 14,
                SegmentSize = 1L << 20, // several segment files
                CheckpointManager = checkpointManager,
            },
            StoreFunctions.Create(SpanByteComparer.Instance, SpanByteRecordTriggers.Instance),
            (settings, functions) => new(settings, functions));

    /// <summary>Reads <paramref name="keys"/> in batches, completing the pending ones; checks every value. Returns (pending, verified).</summary>
    private static (int Pending, int Verified) ReadAndVerify(
        ref BasicContext<BytesKey, PinnedSpanByte, SpanByteAndMemory, long, SpanByteFunctions<long>, StoreFunctions<SpanByteComparer, SpanByteRecordTriggers>, SpanByteAllocator<StoreFunctions<SpanByteComparer, SpanByteRecordTriggers>>> bContext,
        int[] keys)
    {
        const int Batch = 256;
        int pending = 0, verified = 0;
        byte[] expected = new byte[ValueSize];
        for (int start = 0; start < keys.Length; start += Batch)
        {
            int end = Math.Min(keys.Length, start + Batch);
            for (int i = start; i < end; i++)
            {
                SpanByteAndMemory output = default;
                Status status = bContext.Read(BytesKey.Of(keys[i]), ref output, keys[i]);
                if (status.IsPending)
                {
                    pending++;
                    continue;
                }

                Check(keys[i], status, ref output);
            }

            Assert.True(bContext.CompletePendingWithOutputs(out CompletedOutputIterator<PinnedSpanByte, SpanByteAndMemory, long> outputs, wait: true));
            using (outputs)
            {
                while (outputs.Next())
                {
                    ref CompletedOutput<PinnedSpanByte, SpanByteAndMemory, long> completed = ref outputs.Current;
                    Check((int)completed.Context, completed.Status, ref completed.Output);
                }
            }
        }

        return (pending, verified);

        void Check(int key, Status status, ref SpanByteAndMemory output)
        {
            Assert.True(status.Found, $"key {key}: {status}");
            Fill(expected, key);
            Assert.True(output.ReadOnlySpan.SequenceEqual(expected), $"key {key}: wrong value");
            output.Dispose();
            verified++;
        }
    }

    private static void Fill(byte[] value, int key)
    {
        for (int i = 0; i < value.Length; i++)
        {
            value[i] = (byte)(key * 13 + i);
        }

        BinaryPrimitives.WriteInt32LittleEndian(value, key);
    }

    /// <summary>A key of four bytes (the record number), for Tsavorite's IKey.</summary>
    private readonly struct BytesKey : IKey
    {
        private readonly byte[] _bytes;

        private BytesKey(byte[] bytes) => _bytes = bytes;

        public bool IsPinned => false;

        public bool IsEmpty => false;

        public ReadOnlySpan<byte> KeyBytes => _bytes;

        public bool HasNamespace => false;

        public ReadOnlySpan<byte> NamespaceBytes => [];

        public static BytesKey Of(int key)
        {
            byte[] bytes = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, key);
            return new BytesKey(bytes);
        }
    }
}
