// Consumes the Kaio package: real writes and reads through the public API on every engine that
// does real I/O here, both the io_submit/io_getevents way and the await way. Prints OK or fails.
using Kaio;
using Microsoft.Win32.SafeHandles;

const int BlockSize = 4096;
const int Blocks = 8;

string path = Path.Combine(Path.GetTempPath(), $"kaio-package-consumer-{Environment.ProcessId}.bin");
try
{
    var engines = new List<AioEngineKind> { AioEngineKind.Auto };
    foreach (AioEngineStatus status in AioContext.ProbeEngines())
    {
        Console.WriteLine($"{status.Kind}: {(status.Available ? "available" : "unavailable")} ({status.Reason})");
        if (status.Available && status.Kind is not AioEngineKind.Null)
            engines.Add(status.Kind);
    }

    foreach (AioEngineKind kind in engines)
    {
        await RoundTripAsync(kind, path);
    }

    Console.WriteLine("OK");
    return 0;
}
catch (Exception ex)
{
    Console.Error.WriteLine($"FAILED: {ex}");
    return 1;
}
finally
{
    File.Delete(path);
}

static async Task RoundTripAsync(AioEngineKind kind, string path)
{
    await using AioContext ctx = AioContext.Setup(32, new AioContextOptions { Engine = kind });
    using SafeFileHandle file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);

    // The libaio way: one batch of writes, then GetEvents for all of them.
    byte[][] written = new byte[Blocks][];
    Iocb[] writes = new Iocb[Blocks];
    for (int i = 0; i < Blocks; i++)
    {
        written[i] = new byte[BlockSize];
        new Random(i + (int)kind * 100).NextBytes(written[i]);
        writes[i] = Iocb.PrepPwrite(file, written[i], (long)i * BlockSize, data: (ulong)i);
    }
    Check(ctx.Submit(writes) == Blocks, "Submit accepted every write");
    IoEvent[] events = new IoEvent[Blocks];
    int reaped = 0;
    while (reaped < Blocks)
    {
        reaped += ctx.GetEvents(1, events.AsSpan(reaped), TimeSpan.FromSeconds(10));
    }
    foreach (IoEvent ev in events)
    {
        Check(ev.Result == BlockSize, $"write {ev.Data} wrote a block (res={ev.Result})");
    }

    // The await way: read every block back, then a durable rewrite of one and a flush.
    byte[] buffer = new byte[BlockSize];
    for (int i = 0; i < Blocks; i++)
    {
        int read = await ctx.ReadAsync(file, buffer, (long)i * BlockSize);
        Check(read == BlockSize && buffer.AsSpan().SequenceEqual(written[i]), $"block {i} reads back as written");
    }
    Array.Fill(buffer, (byte)0x5a);
    Check(await ctx.WriteAsync(file, buffer, 0, AioRwFlags.Dsync) == BlockSize, "Dsync write");
    await ctx.FlushAsync(file, dataOnly: true);
    Check(await ctx.ReadAsync(file, written[0], 0) == BlockSize && written[0].AsSpan().SequenceEqual(buffer), "rewritten block reads back");

    Console.WriteLine($"{kind} -> {ctx.Engine}: {Blocks} writes, {Blocks + 1} reads, a Dsync write and a flush round-tripped");
}

static void Check(bool condition, string what)
{
    if (!condition)
        throw new InvalidOperationException($"check failed: {what}");
}
