using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Kaio.Cli.Tests.Infrastructure;

/// <summary>
/// kaio as a real process, for what only a process shows: signals and exit statuses. The test
/// output holds Kaio.Cli.dll (a project reference); it runs on the dotnet host of the runtime
/// running the tests. The process is killed on Dispose if it is still running.
/// </summary>
internal sealed class KaioProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    private KaioProcess(Process process)
    {
        _process = process;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public int Id => _process.Id;

    public static KaioProcess Start(params string[] args) => Start(ignoring: null, args);

    /// <summary>Starts kaio with <paramref name="ignoring"/> (HUP, INT) ignored from the start, as nohup does, through sh's <c>trap ''</c>.</summary>
    public static KaioProcess Start(string? ignoring, params string[] args)
    {
        var start = new ProcessStartInfo(ignoring is null ? DotnetHost() : "/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (ignoring is not null)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"trap '' {ignoring}; exec \"$@\"");
            start.ArgumentList.Add("sh");
            start.ArgumentList.Add(DotnetHost());
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Kaio.Cli.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new KaioProcess(Process.Start(start) ?? throw new InvalidOperationException("kaio did not start"));
    }

    /// <summary>
    /// Waits until the job thread <c>kaio {job}.0</c> runs (the runner names its threads, and
    /// starts them after laying out the file), then <paramref name="settle"/> more so it has done I/O.
    /// </summary>
    public void WaitForJobThread(string job, TimeSpan settle)
    {
        string name = ("kaio " + job + ".0")[..Math.Min(15, job.Length + 7)];
        var waited = Stopwatch.StartNew();
        while (!HasThread(name))
        {
            if (_process.HasExited)
            {
                Assert.Fail($"kaio exited before running thread '{name}': {WaitForExit(TimeSpan.Zero)}");
            }

            if (waited.Elapsed > TimeSpan.FromSeconds(5))
            {
                Assert.Fail($"kaio did not run thread '{name}' within 5 s");
            }

            Thread.Sleep(10);
        }

        Thread.Sleep(settle);
    }

    private bool HasThread(string name)
    {
        try
        {
            foreach (string task in Directory.EnumerateDirectories($"/proc/{_process.Id}/task"))
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == name)
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
            // The process or one of its threads ended while being read.
        }

        return false;
    }

    /// <summary>Sends <paramref name="signal"/> (TERM, HUP, INT) with kill(1).</summary>
    public void Signal(string signal)
    {
        using Process kill = Process.Start("kill", ["-s", signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The exit code and everything written, once kaio exits within <paramref name="timeout"/>.</summary>
    public KaioCli.Result WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill();
            _process.WaitForExit();
            Assert.Fail($"kaio did not exit within {timeout.TotalSeconds} s\n--- stdout\n{_stdout.Result}\n--- stderr\n{_stderr.Result}");
        }

        return new KaioCli.Result(_process.ExitCode, _stdout.Result, _stderr.Result);
    }

    /// <summary>Whether a process started the way this one starts kaio begins with <paramref name="signal"/> ignored (inherited SIG_IGN, as for a job a script runs in the background).</summary>
    public static bool StartsIgnoring(PosixSignal signal)
    {
        int number = signal switch
        {
            PosixSignal.SIGHUP => 1,
            PosixSignal.SIGINT => 2,
            PosixSignal.SIGTERM => 15,
            _ => throw new ArgumentOutOfRangeException(nameof(signal)),
        };
        string mask = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal))["SigIgn:".Length..].Trim();
        return (ulong.Parse(mask, NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << (number - 1))) != 0;
    }

    private static string DotnetHost()
    {
        // .../dotnet/shared/Microsoft.NETCore.App/<version>/ -> .../dotnet/dotnet
        string host = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        return File.Exists(host) ? host : "dotnet";
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
