// A random-read server loop with per-request timeouts and cancellation:
// `dotnet run --project samples/ReadServer [directory]`.
using Kaio.Samples;

string directory = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "kaio-server-sample");
using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
return await ReadServerSample.RunAsync(directory, clients: 64, requestsPerClient: 2000, Console.Out, stop.Token);
