// Design: Kaio's events, on an EventSource named "Kaio" (dotnet-trace, PerfView, an in-process
// EventListener; no logging framework needed). One event so far: which engine a new context got
// and why — with Auto, why the better engines were passed over (the fallback), the reason the
// context also keeps in AioContext.EngineReason. Written once per io_setup, after the engine is
// built, and only when a listener enabled the source at Informational or above; the setup path is
// not hot, so the event's few bytes of encoding cost nothing that matters.
// Threading: EventSource is thread-safe; written by whichever thread calls AioContext.Setup.
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Tracing;

namespace Kaio.Diagnostics;

[EventSource(Name = SourceName)]
internal sealed class KaioEventSource : EventSource
{
    /// <summary>The source's name: a public contract (dotnet-trace --providers Kaio).</summary>
    internal const string SourceName = "Kaio";

    internal const int EngineSelectedId = 1;

    private KaioEventSource()
    {
    }

    internal static KaioEventSource Log { get; } = new();

    /// <summary>A context was set up: the engine asked for, the one it got, and why.</summary>
    /// <param name="contextId">The context's <see cref="AioContext.Id"/>.</param>
    /// <param name="requested">The <see cref="AioEngineKind"/> asked for (Auto, or a name).</param>
    /// <param name="engine">The engine it got (its kaio.io.engine name: io_uring, linux_aio, thread_pool, null).</param>
    /// <param name="fallback">Auto took an engine other than io_uring, the one it prefers.</param>
    /// <param name="reason">Why: <see cref="AioContext.EngineReason"/>.</param>
    [UnconditionalSuppressMessage("ReflectionAnalysis", "IL2026:RequiresUnreferencedCode", Justification = "Every argument is a primitive or a string, which the trimmer keeps (the runtime's own event sources say the same).")]
    [Event(EngineSelectedId, Level = EventLevel.Informational, Message = "context {0}: engine {2} (asked: {1}): {4}")]
    internal unsafe void EngineSelected(long contextId, string requested, string engine, bool fallback, string reason)
    {
        if (!IsEnabled())
        {
            return;
        }

        int fallbackValue = fallback ? 1 : 0; // a bool is encoded as 4 bytes (win:Boolean)
        fixed (char* requestedChars = requested)
        fixed (char* engineChars = engine)
        fixed (char* reasonChars = reason)
        {
            EventData* data = stackalloc EventData[5];
            data[0] = new EventData { DataPointer = (nint)(&contextId), Size = sizeof(long) };
            data[1] = new EventData { DataPointer = (nint)requestedChars, Size = (requested.Length + 1) * sizeof(char) };
            data[2] = new EventData { DataPointer = (nint)engineChars, Size = (engine.Length + 1) * sizeof(char) };
            data[3] = new EventData { DataPointer = (nint)(&fallbackValue), Size = sizeof(int) };
            data[4] = new EventData { DataPointer = (nint)reasonChars, Size = (reason.Length + 1) * sizeof(char) };
            WriteEventCore(EngineSelectedId, 5, data);
        }
    }
}
