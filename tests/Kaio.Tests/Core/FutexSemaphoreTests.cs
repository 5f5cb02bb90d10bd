using Kaio.Core;

namespace Kaio.Tests.Core;

public sealed class FutexSemaphoreTests
{
    [Fact]
    public void Wait_TakesOnePermitEach_AndSleepsUntilTheNextRelease()
    {
        using var semaphore = new FutexSemaphore();
        semaphore.Release(3);
        semaphore.Wait();
        semaphore.Wait();
        semaphore.Wait();
        Assert.Equal(0, semaphore.CurrentCount);

        using var taken = new ManualResetEventSlim();
        var waiter = new Thread(() =>
        {
            semaphore.Wait();
            taken.Set();
        });
        waiter.Start();
        Assert.False(taken.Wait(100, TestContext.Current.CancellationToken), "a Wait returned with no permit left");
        semaphore.Release();
        Assert.True(taken.Wait(10_000, TestContext.Current.CancellationToken), "the Release did not wake the sleeper");
        waiter.Join();
        Assert.Equal(0, semaphore.CurrentCount);
    }

    [Fact]
    public void ManyReleasersAndWaiters_EveryPermitTakenOnce_NoWakeUpLost()
    {
        // Waiters and releasers race on two cores: a lost wake-up leaves a waiter asleep with a
        // permit available, and the join below times out.
        using var semaphore = new FutexSemaphore();
        const int Releasers = 3, Waiters = 3, PerReleaser = 20_000;
        long taken = 0;
        var threads = new List<Thread>();
        for (int w = 0; w < Waiters; w++)
        {
            threads.Add(new Thread(() =>
            {
                for (int i = 0; i < Releasers * PerReleaser / Waiters; i++)
                {
                    semaphore.Wait();
                    Interlocked.Increment(ref taken);
                }
            }));
        }

        for (int r = 0; r < Releasers; r++)
        {
            threads.Add(new Thread(() =>
            {
                for (int i = 0; i < PerReleaser; i++)
                {
                    semaphore.Release();
                    if (i % 64 == 0)
                    {
                        Thread.Yield(); // let the waiters fall asleep now and then
                    }
                }
            }));
        }

        threads.ForEach(t => t.Start());
        foreach (Thread t in threads)
        {
            Assert.True(t.Join(TimeSpan.FromSeconds(30)), $"a thread did not finish: {Interlocked.Read(ref taken)} of {Releasers * PerReleaser} permits taken");
        }

        Assert.Equal(Releasers * PerReleaser, Interlocked.Read(ref taken));
        Assert.Equal(0, semaphore.CurrentCount);
    }
}
