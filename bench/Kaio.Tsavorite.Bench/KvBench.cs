// Issue 12, item 4 (KV level): a Tsavorite key-value store with a log memory far smaller than its
// data (≥ 10×), on Kaio's device (each engine) and on Tsavorite's RandomAccessLocalStorageDevice:
// upserts of 1 KiB values from one thread (the log flushes to the device as it goes), then random
// reads from READERS threads, each a session that issues BATCH reads and completes the pending
// ones (waiting), for SECONDS. Devices alternate round by round (A/B, ROUNDS times), each round on
// a fresh store and file; medians and ratios against the RandomAccess device. /proc/self/io's
// read_bytes and write_bytes around each phase confirm the traffic reached the disk.
// usage: Kaio.Tsavorite.Bench kv [dir] [seconds] [rounds] [records] [logMemoryMiB]
using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Tsavorite.core;

namespace Kaio.Tsavorite.Bench;

using Store = TsavoriteKV<StoreFunctions<SpanByteComparer, SpanByteRecordTriggers>, SpanByteAllocator<StoreFunctions<SpanByteComparer, SpanByteRecordTriggers>>>;

internal static class KvBench
{
    private const int ValueSize = 1024;
    private const int Readers = 2;
    private const int Batch = 64;

    public static int Run(string[] args)
    {
        string dir = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "scratch");
        double seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        int rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        int records = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 200_000;
        long logMemory = (args.Length > 4 ? long.Parse(args[4], CultureInfo.InvariantCulture) : 16) << 20;
        Directory.CreateDirectory(dir);

        List<(string Name, Func<string, IDevice> Make)> devices = Devices.All(poolToo: true);
        var upserts = new Dictionary<string, List<double>>();
        var reads = new Dictionary<string, List<double>>();
        var readBytesPerRead = new Dictionary<string, List<double>>();
        var writeBytes = new Dictionary<string, List<double>>();

        Console.WriteLine($"KV level: {records:N0} records of {ValueSize} B (~{records * (ValueSize + 40L) >> 20} MiB) in a store with {logMemory >> 20} MiB of log memory; "
            + $"{Readers} reader threads × {Batch} reads per batch for {seconds} s; {devices.Count} devices, {rounds} rounds; files in {dir}");
        for (int round = 1; round <= rounds; round++)
        {
            foreach ((string name, Func<string, IDevice> make) in round % 2 == 1 ? devices : Enumerable.Reverse(devices))
            {
                string path = Path.Combine(dir, "kv-" + name.Replace(' ', '-'), "hlog");
                (double upsertRate, double readRate, long readBytes, long reads1, long written) = RunOnce(make(path), records, logMemory, seconds);
                Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
                Add(upserts, name, upsertRate);
                Add(reads, name, readRate);
                Add(readBytesPerRead, name, reads1 == 0 ? 0 : (double)readBytes / reads1);
                Add(writeBytes, name, written);
                Console.WriteLine($"round {round} {name,-24} upserts {upsertRate,10:N0}/s (disk writes {written >> 20} MiB)   reads {readRate,10:N0}/s (disk reads {readBytes >> 20} MiB, {(reads1 == 0 ? 0 : readBytes / reads1):N0} B per read)");
            }
        }

        Console.WriteLine();
        Console.WriteLine($"| phase | device | ops/s (median of {rounds}) | range | × RandomAccess device | disk traffic (median, /proc/self/io) |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: |");
        Table("upsert, 1 thread", upserts, devices, name => $"{Stats.Median(writeBytes[name]) / (1 << 20):N0} MiB written");
        Table($"random read, {Readers} threads", reads, devices, name => $"{Stats.Median(readBytesPerRead[name]):N0} B read per read");
        return 0;
    }

    private static void Add(Dictionary<string, List<double>> results, string name, double value) =>
        (results.TryGetValue(name, out List<double>? list) ? list : results[name] = []).Add(value);

    private static void Table(string phase, Dictionary<string, List<double>> results, List<(string Name, Func<string, IDevice> Make)> devices, Func<string, string> traffic)
    {
        double baseline = Stats.Median(results[devices[0].Name]);
        foreach ((string name, _) in devices)
        {
            List<double> runs = results[name];
            Console.WriteLine($"| {phase} | {name} | {Stats.Median(runs):N0} | {runs.Min():N0}–{runs.Max():N0} | {Stats.Median(runs) / baseline:F2} | {traffic(name)} |");
        }
    }

    private static (double Upserts, double Reads, long ReadBytes, long ReadCount, long WriteBytes) RunOnce(IDevice device, int records, long logMemory, double seconds)
    {
        using (device)
        using (var store = new Store(
            new KVSettings
            {
                IndexSize = 1L << 22,
                LogDevice = device,
                LogMemorySize = logMemory,
                PageSize = 1L << 20,
                SegmentSize = 1L << 28,
            },
            StoreFunctions.Create(SpanByteComparer.Instance, SpanByteRecordTriggers.Instance),
            (settings, functions) => new(settings, functions)))
        {
            (long read0, long write0) = ProcIo.Self();
            long started = Stopwatch.GetTimestamp();
            using (var session = store.NewSession<Key, PinnedSpanByte, SpanByteAndMemory, long, SpanByteFunctions<long>>(new SpanByteFunctions<long>(MemoryPool<byte>.Shared)))
            {
                var bContext = session.BasicContext;
                byte[] value = new byte[ValueSize];
                for (int i = 0; i < records; i++)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(value, i);
                    bContext.Upsert(Key.Of(i), value, 0);
                }

                bContext.CompletePending(wait: true);
            }

            double upsertRate = records / Stopwatch.GetElapsedTime(started).TotalSeconds;
            (long read1, long write1) = ProcIo.Self();
            if (store.Log.HeadAddress <= store.Log.BeginAddress)
            {
                throw new InvalidOperationException("the log never spilled to the device");
            }

            long total = 0;
            long deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
            started = Stopwatch.GetTimestamp();
            var threads = new Thread[Readers];
            for (int t = 0; t < Readers; t++)
            {
                int seed = t;
                threads[t] = new Thread(() => Interlocked.Add(ref total, ReadLoop(store, records, seed, deadline)));
                threads[t].Start();
            }

            foreach (Thread t in threads)
            {
                t.Join();
            }

            double readRate = total / Stopwatch.GetElapsedTime(started).TotalSeconds;
            (long read2, _) = ProcIo.Self();
            return (upsertRate, readRate, read2 - read1, total, write1 - write0);
        }
    }

    private static long ReadLoop(Store store, int records, int seed, long deadline)
    {
        using var session = store.NewSession<Key, PinnedSpanByte, SpanByteAndMemory, long, SpanByteFunctions<long>>(new SpanByteFunctions<long>(MemoryPool<byte>.Shared));
        var bContext = session.BasicContext;
        var random = new Random(seed);
        long done = 0;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            for (int i = 0; i < Batch; i++)
            {
                int key = random.Next(records);
                SpanByteAndMemory output = default;
                Status status = bContext.Read(Key.Of(key), ref output, key);
                if (!status.IsPending)
                {
                    Check(key, status, ref output);
                }
            }

            bContext.CompletePendingWithOutputs(out CompletedOutputIterator<PinnedSpanByte, SpanByteAndMemory, long> outputs, wait: true);
            using (outputs)
            {
                while (outputs.Next())
                {
                    ref CompletedOutput<PinnedSpanByte, SpanByteAndMemory, long> completed = ref outputs.Current;
                    Check((int)completed.Context, completed.Status, ref completed.Output);
                }
            }

            done += Batch;
        }

        return done;

        static void Check(int key, Status status, ref SpanByteAndMemory output)
        {
            if (!status.Found || BinaryPrimitives.ReadInt32LittleEndian(output.ReadOnlySpan) != key)
            {
                throw new InvalidOperationException($"key {key}: {status}, wrong or missing value");
            }

            output.Dispose();
        }
    }

    /// <summary>A key of eight bytes (the record number, twice), for Tsavorite's IKey.</summary>
    private readonly struct Key : IKey
    {
        private readonly byte[] _bytes;

        private Key(byte[] bytes) => _bytes = bytes;

        public bool IsPinned => false;

        public bool IsEmpty => false;

        public ReadOnlySpan<byte> KeyBytes => _bytes;

        public bool HasNamespace => false;

        public ReadOnlySpan<byte> NamespaceBytes => [];

        public static Key Of(int key)
        {
            byte[] bytes = new byte[8];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, key);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), ~key);
            return new Key(bytes);
        }
    }
}
