namespace Kaio;

/// <summary>
/// A process-wide budget of events, like the kernel's <c>/proc/sys/fs/aio-max-nr</c> and
/// <c>aio-nr</c>: <see cref="AioContext.Setup"/> charges its events here and is refused with
/// EAGAIN past <see cref="MaxEvents"/>; dispose returns them.
/// </summary>
/// <remarks>Thread-safe: the charge is one compare-and-swap loop on <see cref="CurrentEvents"/>.</remarks>
public sealed class AioLimits
{
    /// <summary>The kernel's default <c>aio-max-nr</c>.</summary>
    public const long DefaultMaxEvents = 0x10000;

    private long _maxEvents;
    // Written by TryCharge/Release with Interlocked; read anywhere.
    private long _currentEvents;

    /// <summary>Creates a budget of <paramref name="maxEvents"/> events.</summary>
    public AioLimits(long maxEvents = DefaultMaxEvents)
    {
        MaxEvents = maxEvents;
    }

    /// <summary>The budget every context charges unless its options name another.</summary>
    public static AioLimits Default { get; } = new();

    /// <summary><c>aio-max-nr</c>: the most events all contexts together may hold. Settable.</summary>
    public long MaxEvents
    {
        get => Volatile.Read(ref _maxEvents);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Volatile.Write(ref _maxEvents, value);
        }
    }

    /// <summary><c>aio-nr</c>: the events currently charged by live contexts.</summary>
    public long CurrentEvents => Volatile.Read(ref _currentEvents);

    internal bool TryCharge(long events)
    {
        long current = Volatile.Read(ref _currentEvents);
        while (true)
        {
            // fs/aio.c: ioctx_alloc(): aio_nr + nr_events > aio_max_nr || aio_nr + nr_events < aio_nr
            if (events > MaxEvents - current)
            {
                return false;
            }

            long seen = Interlocked.CompareExchange(ref _currentEvents, current + events, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }
    }

    internal void Release(long events)
    {
        long after = Interlocked.Add(ref _currentEvents, -events);
        System.Diagnostics.Debug.Assert(after >= 0);
    }
}
