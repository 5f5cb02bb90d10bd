// Design: fio's ctx / majf / minf for kaio's JSON: the process's context switches (voluntary and
// involuntary) and major and minor page faults, from getrusage(RUSAGE_SELF) before and after a
// group; the difference is the group's. RUSAGE_SELF counts every thread, those that have exited
// too (the job threads are joined before the second reading): /proc/self/status would count the
// main thread only. The tool's one P/Invoke, kept here; the library's interop is its own.
using System.Runtime.InteropServices;

namespace Kaio.Cli.Reporting;

/// <summary>Context switches and page faults of this process.</summary>
internal sealed record ProcessCounters(long ContextSwitches, long MajorFaults, long MinorFaults)
{
    /// <summary>The counters now, or null when getrusage fails.</summary>
    public static ProcessCounters? Read()
        => NativeMethods.getrusage(NativeMethods.RUSAGE_SELF, out NativeMethods.Rusage usage) == 0
            ? new ProcessCounters(usage.ru_nvcsw + usage.ru_nivcsw, usage.ru_majflt, usage.ru_minflt)
            : null;

    /// <summary>What happened between <paramref name="before"/> and <paramref name="after"/>; null if either is unknown.</summary>
    public static ProcessCounters? operator -(ProcessCounters? after, ProcessCounters? before)
        => after is null || before is null
            ? null
            : new ProcessCounters(after.ContextSwitches - before.ContextSwitches, after.MajorFaults - before.MajorFaults, after.MinorFaults - before.MinorFaults);

    private static class NativeMethods
    {
        public const int RUSAGE_SELF = 0;

        /// <summary>struct rusage on 64-bit Linux: two struct timeval, then fourteen longs.</summary>
        [StructLayout(LayoutKind.Sequential)]
        public struct Rusage
        {
            public long ru_utime_sec, ru_utime_usec, ru_stime_sec, ru_stime_usec;
            public long ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, ru_minflt, ru_majflt, ru_nswap;
            public long ru_inblock, ru_oublock, ru_msgsnd, ru_msgrcv, ru_nsignals, ru_nvcsw, ru_nivcsw;
        }

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int getrusage(int who, out Rusage usage);
    }
}
