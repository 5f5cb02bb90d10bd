using Kaio.Cli;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C stops the jobs, reports what they did and removes temporary files.
    e.Cancel = !stop.IsCancellationRequested;
    stop.Cancel();
};

return KaioApp.Run(args, Console.Out, Console.Error, stop: stop.Token);
