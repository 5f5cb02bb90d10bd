namespace Kaio.Engines;

/// <summary>
/// The awaiters' poller of a native engine (io_uring, Linux AIO): which thread-pool work item waits
/// in the kernel for the awaiters' completions and runs their continuations inline, and how many
/// rounds it has made, so that the engine's reaper — resting meanwhile — can tell a poller stuck in
/// a continuation (it may block) from one that is working. One poller at a time: the managed thread
/// id of its work item, taken with a CAS from 0 and given back with a CAS to 0 (both full fences,
/// the poller's side of each engine's Dekker pair with its parked reaper).
/// </summary>
internal sealed class PollerRole
{
    /// <summary>
    /// How long a reaper trusts a poller that makes no round: after that it takes the role away and
    /// reaps itself, so that one blocking continuation cannot hold every other awaiter's completion.
    /// </summary>
    public const int StallMs = 10;

    private int _owner;   // the poller's managed thread id, or 0
    private long _rounds; // written by the owner only

    /// <summary>The poller's managed thread id, or 0 (acquire).</summary>
    public int Owner => Volatile.Read(ref _owner);

    /// <summary>The calling thread is the poller.</summary>
    public bool IsMine => Volatile.Read(ref _owner) == Environment.CurrentManagedThreadId;

    /// <summary>Takes the role if nobody has it (a full fence either way).</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _owner, Environment.CurrentManagedThreadId, 0) == 0;

    /// <summary>Gives the role back if the calling thread has it; true if it had (a full fence either way).</summary>
    public bool Release()
    {
        int self = Environment.CurrentManagedThreadId;
        return Interlocked.CompareExchange(ref _owner, 0, self) == self;
    }

    /// <summary>The owner starts a round (release: the watcher's stall check reads it).</summary>
    public void Round() => Volatile.Write(ref _rounds, _rounds + 1);

    /// <summary>The rounds so far (acquire).</summary>
    public long Rounds => Volatile.Read(ref _rounds);

    /// <summary>
    /// The watcher's check after a wait of <see cref="StallMs"/> that nothing cut short
    /// (<paramref name="pulsed"/> false): the poller it saw before the wait, if it made no round
    /// since <paramref name="roundsSeen"/>, loses the role (it takes it again, if free, when it comes
    /// back). Updates <paramref name="roundsSeen"/> for the next wait.
    /// </summary>
    public void RevokeIfStalled(int ownerSeen, bool pulsed, ref long roundsSeen)
    {
        long now = Rounds;
        if (!pulsed && ownerSeen != 0 && now == roundsSeen)
        {
            Interlocked.CompareExchange(ref _owner, 0, ownerSeen);
        }

        roundsSeen = now;
    }
}
