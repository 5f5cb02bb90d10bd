using Kaio.Cli;

// SIGINT, SIGTERM and SIGHUP stop the jobs; kaio reports what they did, removes its temporary
// files and exits with 128 + the signal (StopSignals says what a second signal does).
using var stop = StopSignals.Register();
return KaioApp.Run(args, Console.Out, Console.Error, stop: stop);
