using Kaio.Engines;

namespace Kaio.Tests.Engines;

public sealed class ReaperThreadTests
{
    [Fact]
    public void RunsTheLoopOnItsOwnNamedThread_UntilStopped_ThenJoins()
    {
        using var wake = new SemaphoreSlim(0);
        using var running = new ManualResetEventSlim();
        ReaperThread? reaper = null;
        bool wasCurrentInside = false, wasBackground = false;
        string? name = null;
        int rounds = 0;
        reaper = new ReaperThread("Kaio test reaper", () =>
        {
            wasCurrentInside = reaper!.IsCurrent;
            wasBackground = Thread.CurrentThread.IsBackground;
            name = Thread.CurrentThread.Name;
            while (!reaper.IsStopping)
            {
                rounds++;
                running.Set();
                wake.Wait();
            }
        });
        reaper.Start();
        Assert.True(running.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.False(reaper.IsCurrent);
        Assert.False(reaper.IsStopping);
        reaper.Stop();
        wake.Release(); // the engine's own wake-up
        reaper.Join();
        Assert.True(reaper.IsStopping);
        Assert.True(wasCurrentInside);
        Assert.True(wasBackground);
        Assert.Equal("Kaio test reaper", name);
        Assert.Equal(1, rounds); // one round, then the wake-up found the stop
    }
}
