namespace Kaio.Tests.Infrastructure;

/// <summary>
/// Lines two racers up with a spin gate (a blocking barrier would let one side win every time)
/// and adds seeded random jitter, so both orders happen over many iterations.
/// </summary>
public sealed class RaceGate
{
    private int _arrived;
    private int _go;

    public void Arrive(Random jitter)
    {
        Interlocked.Increment(ref _arrived);
        while (Volatile.Read(ref _go) == 0)
        {
            Thread.SpinWait(1);
        }

        Thread.SpinWait(jitter.Next(0, 200));
    }

    /// <summary>Waits until <paramref name="racers"/> arrived, then opens the gate.</summary>
    public void Open(int racers)
    {
        while (Volatile.Read(ref _arrived) < racers)
        {
            Thread.SpinWait(1);
        }

        Volatile.Write(ref _go, 1);
    }

    /// <summary>Runs <paramref name="a"/> and <paramref name="b"/> against each other once.</summary>
    public static void Race(Random rng, Action a, Action b)
    {
        var gate = new RaceGate();
        int seedA = rng.Next();
        int seedB = rng.Next();
        Exception? errorB = null;
        var tb = new Thread(() =>
        {
            try
            {
                gate.Arrive(new Random(seedB));
                b();
            }
            catch (Exception e)
            {
                errorB = e;
            }
        });
        tb.Start();
        Exception? errorA = null;
        var ta = new Thread(() =>
        {
            try
            {
                gate.Arrive(new Random(seedA));
                a();
            }
            catch (Exception e)
            {
                errorA = e;
            }
        });
        ta.Start();
        gate.Open(2);
        ta.Join();
        tb.Join();
        if (errorA is not null)
        {
            throw new AggregateException("racer A failed", errorA);
        }

        if (errorB is not null)
        {
            throw new AggregateException("racer B failed", errorB);
        }
    }
}
