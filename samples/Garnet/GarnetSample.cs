// Garnet on Kaio: an embedded GarnetServer with its storage tier on, whose main log, checkpoints
// and AOF go through Kaio (KaioNamedDeviceFactoryCreator: one shared AioContext, io_uring where it
// works, O_DIRECT segment files). Records past the log memory spill to disk and GETs of them are
// Kaio reads, handed to Tsavorite on Kaio's reaping thread (KaioDeviceOptions.InlineCompletions,
// the default), as Garnet's own native device does on its drainer threads, rather than through the
// thread pool that Garnet's sessions block while they wait for their reads (docs/garnet.md).
using System.Net;
using Garnet;
using Garnet.server;
using Kaio.Tsavorite;

namespace Kaio.Samples;

/// <summary>Runs a Garnet server on Kaio until <c>stop</c> is cancelled.</summary>
public static class GarnetSample
{
    /// <summary>Serves RESP on 127.0.0.1:<paramref name="port"/> with its log under <paramref name="directory"/>; 0 once stopped.</summary>
    public static async Task<int> RunAsync(string directory, int port, string logMemory, TextWriter output, CancellationToken stop)
    {
        using var devices = new KaioNamedDeviceFactoryCreator();
        using (var server = new GarnetServer(new GarnetServerOptions
        {
            EndPoints = [new IPEndPoint(IPAddress.Loopback, port)],
            EnableStorageTier = true,                              // records past LogMemorySize go to disk ...
            LogDir = Path.Combine(directory, "log"),
            CheckpointDir = Path.Combine(directory, "checkpoints"),
            LogMemorySize = logMemory,
            PageSize = "1m",
            DeviceFactoryCreator = devices,                        // ... through Kaio
            QuietMode = true,
        }))
        {
            server.Start();
            output.WriteLine($"Garnet on Kaio ({devices.Context.Engine}) on 127.0.0.1:{port}, log in {Path.Combine(directory, "log")}, {logMemory} of log memory");
            try
            {
                await Task.Delay(Timeout.Infinite, stop);
            }
            catch (OperationCanceledException)
            {
                output.WriteLine("stopped");
            }
        }

        return 0;
    }
}
