// Design: io_setup. Checks the argument, charges the process-wide budget, builds the context
// and its engine, and publishes it in the table. Resources are acquired in order and unwound in
// reverse when a later step fails. fs/aio.c: SYSCALL_DEFINE2(io_setup), ioctx_alloc().
using Kaio.Core;
using Kaio.Diagnostics;

namespace Kaio;

public sealed partial class AioContext
{
    /// <summary>The largest maxEvents accepted, as the kernel bounds nr_events (0x10000000 / sizeof(io_event)).</summary>
    public const int MaxEventsLimit = 0x10000000 / 32;

    /// <summary>
    /// io_setup(2): creates a context able to hold at least <paramref name="maxEvents"/>
    /// outstanding requests.
    /// </summary>
    /// <param name="maxEvents">The events asked for; <see cref="Capacity"/> is at least this.</param>
    /// <param name="options">The engine and budget to use; null for the defaults.</param>
    /// <returns>The new context.</returns>
    /// <exception cref="AioException">
    /// EINVAL: <paramref name="maxEvents"/> is 0, negative, or above <see cref="MaxEventsLimit"/>.
    /// EAGAIN: the events would exceed the budget's <see cref="AioLimits.MaxEvents"/> (<c>aio-max-nr</c>).
    /// ENOSYS/EPERM/ENOMEM and others: the engine asked for by name cannot work here (the message says why).
    /// </exception>
    /// <remarks>
    /// Sizing: <see cref="Capacity"/> bounds the requests outstanding at once (submitted and not yet
    /// reaped or awaited). Size it to the depth the device is useful at — 32 to 128 for an SSD, a few
    /// for a disk — not to the number of callers: with <see cref="AioFullBehavior.Wait"/> any number
    /// of awaiting tasks share a small context (they wait, FIFO, for a slot); with the default
    /// <see cref="AioFullBehavior.Refuse"/> a submit past it fails with EAGAIN, as io_submit does.
    /// </remarks>
    /// <example>
    /// <code>
    /// await using AioContext ctx = AioContext.Setup(64, new AioContextOptions { WhenFull = AioFullBehavior.Wait });
    /// Console.WriteLine($"{ctx.Engine}: {ctx.EngineReason}");
    /// </code>
    /// </example>
    public static AioContext Setup(int maxEvents, AioContextOptions? options = null)
    {
        options ??= new AioContextOptions();
        // fs/aio.c: io_setup(): "if (unlikely(ctx || nr_events == 0))" → EINVAL; ioctx_alloc()
        // refuses nr_events > 0x10000000 / sizeof(struct io_event) with EINVAL.
        if (maxEvents <= 0 || maxEvents > MaxEventsLimit)
        {
            ThrowHelper.ThrowAio(Errno.EINVAL, $"io_setup: maxEvents must be between 1 and {MaxEventsLimit}, not {maxEvents}");
        }

        if (!Enum.IsDefined(options.Engine))
        {
            ThrowHelper.ThrowAio(Errno.EINVAL, $"io_setup: unknown engine {options.Engine}");
        }

        AioLimits limits = options.Limits ?? AioLimits.Default;
        if (!limits.TryCharge(maxEvents))
        {
            ThrowHelper.ThrowAio(Errno.EAGAIN, $"io_setup: {maxEvents} events would exceed aio-max-nr ({limits.MaxEvents}; {limits.CurrentEvents} in use)");
        }

        AioContext ctx;
        try
        {
            ctx = new AioContext(maxEvents, limits, options.Engine, options);
        }
        catch
        {
            limits.Release(maxEvents);
            throw;
        }

        // Publish last: Lookup can only find a complete context.
        if (!s_table.TryAdd(ctx.Id, ctx))
        {
            ctx.Dispose();
            ThrowHelper.ThrowAio(Errno.EAGAIN, "io_setup: context id collision");
        }

        if (KaioEventSource.Log.IsEnabled())
        {
            // Auto prefers io_uring; anything else it took is a fallback, and the reason says why.
            bool fallback = options.Engine == AioEngineKind.Auto && options.EngineOverride is null && ctx.Engine != AioEngineKind.IoUring;
            KaioEventSource.Log.EngineSelected((long)ctx.Id, options.EngineOverride is null ? options.Engine.ToString() : "override", KaioMetrics.EngineName(ctx.Engine), fallback, ctx.EngineReason);
        }

        return ctx;
    }
}
