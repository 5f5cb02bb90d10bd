// Design: the signals that stop a run early — SIGINT (Ctrl+C), SIGTERM (kill, timeout, a
// service manager) and SIGHUP (the terminal went away) — turned into one CancellationToken, the
// way fio's sig_int() serves SIGINT and SIGTERM: the jobs stop issuing and drain, the report
// covers what they measured, the temporary files are removed, and kaio exits with 128 + the
// signal's number (130, 143, 129), the status a shell shows for a process the signal killed.
//
// Threading: the runtime calls OnSignal on its signal-handling thread. The first signal is
// recorded with one CompareExchange before the token is cancelled; the main thread reads it once
// the run has stopped. The workers poll the token, so cancelling runs no callback that could block.
//
// A second signal while stopping: a second Ctrl+C is not cancelled, so the runtime's default
// action ends kaio at once (leaving its temporary files), as before. A second SIGTERM or SIGHUP
// is absorbed: a hang-up can arrive twice (from the kernel and from the shell that owned the
// terminal), and a supervisor that will not wait escalates to SIGKILL. A signal ignored when
// kaio starts (nohup, `cmd &` in a script) stays ignored: the runtime installs no handler over an
// inherited SIG_IGN (SignalTests pins it for SIGHUP).
using System.Runtime.InteropServices;

namespace Kaio.Cli;

/// <summary>SIGINT, SIGTERM and SIGHUP as a stop request for a run.</summary>
internal sealed class StopSignals : IDisposable
{
    private static readonly PosixSignal[] s_handled = [PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP];

    // Never disposed: a signal can still be delivered to OnSignal after the registrations are
    // disposed, and it has no timer or wait handle to release.
    private readonly CancellationTokenSource _stop = new();

    private readonly List<PosixSignalRegistration> _registrations = [];

    // The first stop's PosixSignal, 0 until then. Written once by the CompareExchange in Request
    // (the signal thread, or a test); read by the main thread after the run (Volatile.Read: pairs
    // with that CompareExchange, which happens before the token's cancellation the run observed).
    private int _signal;

    /// <summary>Handles SIGINT, SIGTERM and SIGHUP until disposed.</summary>
    public static StopSignals Register()
    {
        var signals = new StopSignals();
        foreach (PosixSignal signal in s_handled)
        {
            signals._registrations.Add(PosixSignalRegistration.Create(signal, signals.OnSignal));
        }

        return signals;
    }

    /// <summary>Cancelled by the first stop request.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>The signal that stopped the run; null when none did.</summary>
    public PosixSignal? Signal => Volatile.Read(ref _signal) is int signal and not 0 ? (PosixSignal)signal : null;

    /// <summary>Stops the run as <paramref name="signal"/> does; true for the first request.</summary>
    public bool Request(PosixSignal signal)
    {
        bool first = Interlocked.CompareExchange(ref _signal, (int)signal, 0) == 0;
        _stop.Cancel();
        return first;
    }

    /// <summary>128 + the signal's number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.</summary>
    public static int ExitCode(PosixSignal signal) => 128 + signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGTERM => 15,
        _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "not a signal kaio handles"),
    };

    /// <summary>The signal's name: SIGINT, SIGTERM, SIGHUP.</summary>
    public static string Name(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => "SIGHUP",
        PosixSignal.SIGINT => "SIGINT",
        PosixSignal.SIGTERM => "SIGTERM",
        _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "not a signal kaio handles"),
    };

    private void OnSignal(PosixSignalContext context)
    {
        bool first = Request(context.Signal);

        // Cancel = true: the runtime skips the signal's default action (terminating kaio).
        context.Cancel = first || context.Signal != PosixSignal.SIGINT;
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }

        _registrations.Clear();
    }
}
