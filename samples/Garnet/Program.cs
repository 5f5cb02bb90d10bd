// A Garnet server (Redis protocol) whose on-disk log goes through Kaio:
// `dotnet run -c Release --project samples/Garnet [directory] [port]`, then e.g. `redis-cli -p 6379 set a b`.
// Ctrl+C stops it.
using Kaio.Samples;

string directory = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "kaio-garnet-sample");
int port = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 6379;
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
return await GarnetSample.RunAsync(directory, port, logMemory: "64m", Console.Out, stop.Token);
