// Design: can the kernel's native AIO work here, and if not, why. io_setup on a one-event
// context answers it: ENOSYS (CONFIG_AIO off, or a seccomp filter that fakes ENOSYS), EPERM
// (seccomp), EAGAIN (fs.aio-max-nr already used up by other processes). Probed once per process.
using System.Runtime.InteropServices;

namespace Kaio.Engines.LinuxAio;

internal sealed unsafe partial class LinuxAioEngine
{
    private static readonly Lazy<(bool Ok, int Errno, string Reason)> s_probe = new(Probe);

    /// <summary>
    /// Whether Linux native AIO works on this kernel. <paramref name="reason"/> says why not, or
    /// describes what was found.
    /// </summary>
    internal static bool TryProbe(out string reason)
    {
        (bool ok, _, reason) = s_probe.Value;
        return ok;
    }

    private static (bool Ok, int Errno, string Reason) Probe()
    {
        if (Interop.SYS_io_setup < 0)
        {
            return (false, Errno.ENOSYS, "Linux AIO: unsupported architecture " + RuntimeInformation.ProcessArchitecture);
        }

        ulong ctx = 0;
        int setup = Interop.io_setup(1, &ctx);
        if (setup < 0)
        {
            int errno = -setup;
            string why = errno switch
            {
                Errno.ENOSYS => "io_setup: ENOSYS (kernel built without CONFIG_AIO, or the call is filtered by seccomp)",
                Errno.EPERM => "io_setup: EPERM (blocked by a seccomp profile)",
                Errno.EAGAIN => "io_setup: EAGAIN (the system-wide limit fs.aio-max-nr = " + ReadSysctl("/proc/sys/fs/aio-max-nr")
                    + " is used up: fs.aio-nr = " + ReadSysctl("/proc/sys/fs/aio-nr") + ")",
                _ => "io_setup: " + Errno.Name(errno),
            };
            return (false, errno, "Linux AIO: " + why);
        }

        var ring = (Interop.aio_ring*)ctx;
        bool userRing = ring->magic == Interop.AIO_RING_MAGIC && ring->incompat_features == Interop.AIO_RING_INCOMPAT_FEATURES;
        _ = Interop.io_destroy(ctx);
        return (true, 0, userRing
            ? "Linux AIO: available (asynchronous with O_DIRECT only; completions read from the mapped ring)"
            : "Linux AIO: available (asynchronous with O_DIRECT only; completions through io_getevents)");
    }

    private static string ReadSysctl(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return "?";
        }
        catch (UnauthorizedAccessException)
        {
            return "?";
        }
    }
}
