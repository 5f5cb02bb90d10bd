// Design: can io_uring work here, and if not, why — the reasons `Auto` and `kaio info` print.
// Checked in the order a user can act on: architecture, the io_uring_disabled sysctl,
// io_uring_setup's errno (ENOSYS: no io_uring; EPERM: seccomp or the sysctl; ENOMEM: the
// memlock limit that kernels before 5.12 charge rings to), then IORING_REGISTER_PROBE for every
// opcode the engine issues. Probed once per process; the answer does not change while it runs.
using System.Globalization;

namespace Kaio.Engines.IoUring;

internal sealed unsafe partial class IoUringEngine
{
    private static readonly (byte Op, string Name)[] s_requiredOps =
    [
        (Interop.IORING_OP_NOP, "IORING_OP_NOP"),
        (Interop.IORING_OP_READV, "IORING_OP_READV"),
        (Interop.IORING_OP_WRITEV, "IORING_OP_WRITEV"),
        (Interop.IORING_OP_FSYNC, "IORING_OP_FSYNC"),
        (Interop.IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD"),
        (Interop.IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"),
        (Interop.IORING_OP_FALLOCATE, "IORING_OP_FALLOCATE"),
        (Interop.IORING_OP_READ, "IORING_OP_READ"),
        (Interop.IORING_OP_WRITE, "IORING_OP_WRITE"),
    ];

    private static readonly Lazy<(bool Ok, int Errno, string Reason)> s_probe = new(Probe);

    /// <summary>The errno behind a failed probe (ENOSYS, EPERM, ENOMEM, EOPNOTSUPP...).</summary>
    private static int ProbeErrno => s_probe.Value.Errno;

    /// <summary>
    /// Whether io_uring can run Kaio's requests on this kernel. <paramref name="reason"/> says why
    /// not, or describes what was found.
    /// </summary>
    internal static bool TryProbe(out string reason)
    {
        (bool ok, _, reason) = s_probe.Value;
        return ok;
    }

    private static (bool Ok, int Errno, string Reason) Probe()
    {
        if (Interop.SYS_io_uring_setup < 0)
        {
            return (false, Errno.ENOSYS, "io_uring: unsupported architecture " + System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture);
        }

        string? sysctl = ReadSysctl("/proc/sys/kernel/io_uring_disabled");
        if (sysctl == "2")
        {
            return (false, Errno.EPERM, "io_uring: disabled by sysctl kernel.io_uring_disabled=2");
        }

        IoUringRing? ring = IoUringRing.TryCreate(4, 8, 0, out int res, out string step);
        if (ring is null)
        {
            int errno = -res;
            string why = errno switch
            {
                Errno.ENOSYS => "io_uring_setup: ENOSYS (kernel older than 5.1, built without io_uring, or the call is filtered by seccomp)",
                Errno.EPERM => sysctl == "1"
                    ? "io_uring_setup: EPERM (kernel.io_uring_disabled=1 and this process is not in kernel.io_uring_group)"
                    : "io_uring_setup: EPERM (blocked by a seccomp profile, as container runtimes do by default)",
                Errno.ENOMEM => "io_uring_setup: ENOMEM (the locked-memory limit, ulimit -l = " + MemlockLimit()
                    + ", is too small: kernels before 5.12 charge rings to RLIMIT_MEMLOCK)",
                _ => step + ": " + Describe(errno),
            };
            return (false, errno, "io_uring: " + why);
        }

        using (ring)
        {
            Span<bool> supported = stackalloc bool[256];
            int probed = ring.Probe(supported);
            if (probed < 0)
            {
                return (false, -probed, "io_uring: IORING_REGISTER_PROBE failed: " + Describe(-probed) + " (kernel older than 5.6)");
            }

            foreach ((byte op, string name) in s_requiredOps)
            {
                if (!supported[op])
                {
                    return (false, Errno.EOPNOTSUPP, "io_uring: the kernel lacks " + name);
                }
            }

            return (true, 0, string.Create(CultureInfo.InvariantCulture, $"io_uring: available (features 0x{ring.Features:x})"));
        }
    }

    private static string? ReadSysctl(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string MemlockLimit()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max locked memory", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length >= 6 ? parts[3] + " " + parts[5] : line;
                }
            }
        }
        catch (IOException)
        {
        }

        return "unknown";
    }

    private static string Describe(int errno) => Errno.Name(errno);
}
