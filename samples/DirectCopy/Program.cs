// An O_DIRECT file copy: `dotnet run --project samples/DirectCopy <source> <destination>`, or with
// no arguments a 64 MiB demonstration file copied in the temporary directory.
using Kaio.Samples;

if (args.Length == 2)
{
    return await DirectCopySample.CopyAsync(args[0], args[1], Console.Out, CancellationToken.None);
}

return await DirectCopySample.RunAsync(Path.Combine(Path.GetTempPath(), "kaio-copy-sample"), 64 << 20, Console.Out, CancellationToken.None);
