// A random-read server loop: clients send requests (a block number) through a channel; a few
// server tasks take each one and read the block with a deadline — a CancellationTokenSource per
// request, linked to the server's own stop token, whose CancelAfter cancels the read in flight
// (io_cancel by key: the request completes once, as OperationCanceledException). Clients await
// their answer with a TaskCompletionSource. Everything shares one AioContext in WhenFull=Wait
// mode, so the number of clients is not bounded by its Capacity. The stop token ends it early:
// it cancels the reads in flight (each still completes once) and the loops end.
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;

namespace Kaio.Samples;

/// <summary>Serves random 4 KiB block reads of one file to many clients, each read with a timeout.</summary>
public static class ReadServerSample
{
    private const int BlockSize = 4096;
    private const int Blocks = 4096; // a 16 MiB file

    private sealed record Request(long Block, TaskCompletionSource<byte[]> Reply);

    /// <summary>Runs <paramref name="clients"/> clients of <paramref name="requestsPerClient"/> requests against the server; 0 when every answer was right.</summary>
    public static async Task<int> RunAsync(string directory, int clients, int requestsPerClient, TextWriter output, CancellationToken stop)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "blocks.bin");
        await using (FileStream file = File.Create(path))
        {
            // Block b holds the byte (b % 251) throughout: an answer can be checked without the file.
            byte[] block = new byte[BlockSize];
            for (int b = 0; b < Blocks; b++)
            {
                block.AsSpan().Fill((byte)(b % 251));
                await file.WriteAsync(block, stop);
            }
        }

        try
        {
            return await ServeAsync(path, clients, requestsPerClient, output, stop);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<int> ServeAsync(string path, int clients, int requestsPerClient, TextWriter output, CancellationToken stop)
    {
        using SafeFileHandle data = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        await using AioContext ctx = AioContext.Setup(32, new AioContextOptions { WhenFull = AioFullBehavior.Wait });
        Channel<Request> requests = Channel.CreateBounded<Request>(256);
        int timeouts = 0, wrong = 0;
        var clock = Stopwatch.StartNew();

        // The server: a few loops, each answering one request at a time.
        async Task ServerLoop()
        {
            await foreach (Request request in requests.Reader.ReadAllAsync(stop))
            {
                byte[] buffer = new byte[BlockSize];
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
                deadline.CancelAfter(TimeSpan.FromMilliseconds(500));
                try
                {
                    int n = await ctx.ReadAsync(data, buffer, request.Block * BlockSize, deadline.Token);
                    request.Reply.SetResult(n == BlockSize ? buffer : []);
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    // The deadline passed: the read was cancelled in flight; the client hears so.
                    Interlocked.Increment(ref timeouts);
                    request.Reply.SetCanceled(deadline.Token);
                }
                catch (Exception e)
                {
                    request.Reply.SetException(e);
                }
            }
        }

        Task[] servers = [.. Enumerable.Range(0, 8).Select(_ => Task.Run(ServerLoop, stop))];

        // The clients: each sends its requests one at a time and checks the answers.
        async Task Client(int id)
        {
            var random = new Random(id);
            for (int i = 0; i < requestsPerClient && !stop.IsCancellationRequested; i++)
            {
                var request = new Request(random.Next(Blocks), new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously));
                await requests.Writer.WriteAsync(request, stop);
                try
                {
                    byte[] answer = await request.Reply.Task;
                    if (answer.Length != BlockSize || answer.AsSpan().IndexOfAnyExcept((byte)(request.Block % 251)) >= 0)
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }
                catch (OperationCanceledException)
                {
                    // Timed out: counted by the server.
                }
            }
        }

        try
        {
            await Task.WhenAll(Enumerable.Range(0, clients).Select(id => Task.Run(() => Client(id), stop)));
            requests.Writer.Complete();
            await Task.WhenAll(servers);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            output.WriteLine("stopped early");
            return 2;
        }

        long answered = (long)clients * requestsPerClient;
        output.WriteLine($"{answered:N0} requests from {clients} clients in {clock.Elapsed.TotalMilliseconds:F0} ms ({answered / clock.Elapsed.TotalSeconds:F0}/s) on {ctx.Engine}: {timeouts} timed out, {wrong} wrong");
        return wrong == 0 ? 0 : 1;
    }
}
