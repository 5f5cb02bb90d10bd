// Issue 12, item 4 (device level): 4 KiB O_DIRECT random reads and 1 MiB writes through
// Tsavorite's IDevice interface, at 1 and 2 submitting threads, Kaio's KaioStorageDevice
// (io_uring, Linux AIO, thread pool; and io_uring with InlineCompletions off, "+pool") against
// Tsavorite's RandomAccessLocalStorageDevice, on one
// segment file each, alternated round by round (A/B, ROUNDS times); medians and ratios against
// the RandomAccess device.
// usage: dotnet run -c Release --project bench/Kaio.Tsavorite.Bench [dir] [seconds] [rounds]
// The KV level (KvBench.cs) and the server level (ServerBench.cs) are modes: `kv ...`, `server ...`.
using System.Diagnostics;
using System.Runtime.InteropServices;
using Kaio;
using Kaio.Tsavorite;
using Kaio.Tsavorite.Bench;
using Tsavorite.core;

switch (args.Length > 0 ? args[0] : "")
{
    case "kv":
        return KvBench.Run(args[1..]);
    case "server":
        return ServerBench.Run(args[1..]);
    case "serve":
        return ServerBench.Serve(args[1..]);
}

string dir = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "scratch");
double seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
int rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
Directory.CreateDirectory(dir);
const long SegmentSize = 1L << 30;
const long DataSize = 512L << 20;

List<(string Name, Func<string, IDevice> Make)> devices = Kaio.Tsavorite.Bench.Devices.All(poolToo: true);

var results = new Dictionary<(string Workload, string Device), List<double>>();
(string Name, Func<IDevice, double> Run)[] workloads =
[
    ("4 KiB random reads, QD32, 1 thread", d => RandomReads(d, threads: 1, depth: 32)),
    ("4 KiB random reads, QD32 each, 2 threads", d => RandomReads(d, threads: 2, depth: 32)),
    ("1 MiB writes, QD4, 1 thread", d => Writes(d, depth: 4)),
];

Console.WriteLine($"{devices.Count} devices, {rounds} rounds of {seconds} s per workload, files in {dir}");
for (int round = 1; round <= rounds; round++)
{
    foreach ((string name, Func<string, IDevice> make) in round % 2 == 1 ? devices : Enumerable.Reverse(devices))
    {
        string path = Path.Combine(dir, "bench-" + name.Replace(' ', '-') + ".log");
        using IDevice device = make(path);
        device.Initialize(SegmentSize);
        if (round == 1)
        {
            Fill(device); // lay the data out once per device (its own file)
        }

        foreach ((string workload, Func<IDevice, double> run) in workloads)
        {
            double opsPerSecond = run(device);
            (results.TryGetValue((workload, name), out List<double>? list) ? list : results[(workload, name)] = []).Add(opsPerSecond);
            Console.WriteLine($"round {round} {workload,-42} {name,-24} {opsPerSecond,12:N0} ops/s");
        }
    }
}

Console.WriteLine();
Console.WriteLine($"| workload | device | ops/s (median of {rounds}) | range | × RandomAccess device |");
Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
foreach ((string workload, _) in workloads)
{
    double baseline = Median(results[(workload, devices[0].Name)]);
    foreach ((string name, _) in devices)
    {
        List<double> runs = results[(workload, name)];
        Console.WriteLine($"| {workload} | {name} | {Median(runs):N0} | {runs.Min():N0}–{runs.Max():N0} | {Median(runs) / baseline:F2} |");
    }
}

foreach ((string name, _) in devices)
{
    foreach (string file in Directory.GetFiles(dir, "bench-" + name.Replace(' ', '-') + ".log*"))
    {
        File.Delete(file);
    }
}

return 0;

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[(sorted.Count - 1) / 2];
}

unsafe void Fill(IDevice device)
{
    const int Chunk = 1 << 20;
    byte* buffer = (byte*)NativeMemory.AlignedAlloc(Chunk, 4096);
    try
    {
        new Span<byte>(buffer, Chunk).Fill(0x5a);
        using var done = new SemaphoreSlim(0);
        for (long offset = 0; offset < DataSize; offset += Chunk)
        {
            device.WriteAsync((IntPtr)buffer, 0, (ulong)offset, Chunk, (e, n, c, _) => done.Release(), null);
            done.Wait();
        }
    }
    finally
    {
        NativeMemory.AlignedFree(buffer);
    }
}

unsafe double RandomReads(IDevice device, int threads, int depth)
{
    const int Size = 4096;
    long completed = 0;
    long deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
    var workers = new Thread[threads];
    long started = Stopwatch.GetTimestamp();
    for (int t = 0; t < threads; t++)
    {
        int seed = t;
        workers[t] = new Thread(() =>
        {
            byte* buffers = (byte*)NativeMemory.AlignedAlloc((nuint)(Size * depth), 4096);
            var random = new Random(seed);
            using var slots = new SemaphoreSlim(depth);
            long mine = 0;
            DeviceIOCompletionCallback callback = (e, n, c, _) =>
            {
                if (e != 0)
                {
                    throw new IOException($"read failed: errno {e}");
                }

                Interlocked.Increment(ref mine);
                slots.Release();
            };
            int next = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                slots.Wait();
                long block = random.NextInt64(DataSize / Size);
                device.ReadAsync(0, (ulong)(block * Size), (IntPtr)(buffers + (next++ % depth) * Size), Size, callback, null);
            }

            for (int i = 0; i < depth; i++)
            {
                slots.Wait(); // drain: every read back before the buffers go
            }

            NativeMemory.AlignedFree(buffers);
            Interlocked.Add(ref completed, Volatile.Read(ref mine));
        });
        workers[t].Start();
    }

    foreach (Thread w in workers)
    {
        w.Join();
    }

    return completed / Stopwatch.GetElapsedTime(started).TotalSeconds;
}

unsafe double Writes(IDevice device, int depth)
{
    const int Size = 1 << 20;
    byte* buffers = (byte*)NativeMemory.AlignedAlloc((nuint)(Size * depth), 4096);
    new Span<byte>(buffers, Size * depth).Fill(0x33);
    try
    {
        long completed = 0;
        using var slots = new SemaphoreSlim(depth);
        DeviceIOCompletionCallback callback = (e, n, c, _) =>
        {
            if (e != 0)
            {
                throw new IOException($"write failed: errno {e}");
            }

            Interlocked.Increment(ref completed);
            slots.Release();
        };
        long started = Stopwatch.GetTimestamp();
        long deadline = started + (long)(seconds * Stopwatch.Frequency);
        long offset = 0;
        int next = 0;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            slots.Wait();
            device.WriteAsync((IntPtr)(buffers + (next++ % depth) * Size), 0, (ulong)offset, Size, callback, null);
            offset = (offset + Size) % DataSize;
        }

        for (int i = 0; i < depth; i++)
        {
            slots.Wait();
        }

        return Volatile.Read(ref completed) / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }
    finally
    {
        NativeMemory.AlignedFree(buffers);
    }
}
