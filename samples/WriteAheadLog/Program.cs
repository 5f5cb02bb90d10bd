// The write-ahead log recipe (docs/wal.md): `dotnet run --project samples/WriteAheadLog [directory]`.
using Kaio.Samples;

string directory = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "kaio-wal-sample");
return await WriteAheadLogSample.RunAsync(directory, records: 4096, Console.Out, CancellationToken.None);
