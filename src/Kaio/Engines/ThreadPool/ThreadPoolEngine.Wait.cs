// The thread-pool engine's GetEvents callers: they wait on the engine's futex (CallerWaitGate).
// See the Design comment in ThreadPoolEngine.cs.

namespace Kaio.Engines.ThreadPool;

internal sealed unsafe partial class ThreadPoolEngine
{
    public override int BeginCallerWait() => _callerWait.Begin();

    public override void WaitForCompletions(int timeoutMs, int token) => _callerWait.Wait(token, timeoutMs);

    public override void EndCallerWait() => _callerWait.End();

    public override void WakeWaiters() => _callerWait.Wake();
}
