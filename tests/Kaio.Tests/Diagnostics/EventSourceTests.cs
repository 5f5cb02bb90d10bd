using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Kaio.Tests.Diagnostics;

/// <summary>
/// The "Kaio" EventSource says which engine each new context got, and why. In the collection that
/// runs alone: an EventListener is process-wide, and setting up an Auto (io_uring) context beside
/// the vectored allocation test made that test count 216 bytes on its own thread now and then —
/// with no listener too (a probe that set up io_uring contexts on another thread in a loop), so
/// not the event's doing; running alone keeps both tests honest.
/// </summary>
[Collection(nameof(MetricsCollection))]
public sealed class EventSourceTests
{
    [Fact]
    public void Setup_ByName_WritesEngineSelected()
    {
        using var listener = new KaioListener();
        using AioContext ctx = AioContext.Setup(4, new AioContextOptions { Engine = AioEngineKind.Null });

        Dictionary<string, object?> payload = listener.EngineSelectedFor(ctx.Id);
        Assert.Equal("Null", payload["requested"]);
        Assert.Equal("null", payload["engine"]);
        Assert.Equal(false, payload["fallback"]);
        Assert.Equal("asked for by name", payload["reason"]);
    }

    [Fact]
    public void Setup_Auto_WritesTheChoiceAndWhetherItFellBack()
    {
        using var listener = new KaioListener();
        using AioContext ctx = AioContext.Setup(4);

        Dictionary<string, object?> payload = listener.EngineSelectedFor(ctx.Id);
        Assert.Equal("Auto", payload["requested"]);
        string expected = ctx.Engine switch
        {
            AioEngineKind.IoUring => "io_uring",
            AioEngineKind.LinuxAio => "linux_aio",
            _ => "thread_pool",
        };
        Assert.Equal(expected, payload["engine"]);
        Assert.Equal(ctx.Engine != AioEngineKind.IoUring, payload["fallback"]);
        Assert.Equal(ctx.EngineReason, payload["reason"]);
        TestContext.Current.SendDiagnosticMessage($"EngineSelected: {expected}, fallback={payload["fallback"]}: {payload["reason"]}");
    }

    /// <summary>Collects the Kaio source's events (from every thread: tests match their own context id).</summary>
    private sealed class KaioListener : EventListener
    {
        // Initialised before EventListener's constructor, which calls OnEventSourceCreated for existing sources.
        private readonly ConcurrentQueue<EventWrittenEventArgs> _events = new();

        public Dictionary<string, object?> EngineSelectedFor(ulong contextId)
        {
            EventWrittenEventArgs e = Assert.Single(_events, e => e.EventName == "EngineSelected" && Equals(e.Payload![0], (long)contextId));
            Assert.Equal(EventLevel.Informational, e.Level);
            var payload = new Dictionary<string, object?>();
            for (int i = 0; i < e.PayloadNames!.Count; i++)
            {
                payload[e.PayloadNames[i]] = e.Payload![i];
            }

            Assert.Equal((long)contextId, payload["contextId"]);
            return payload;
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Kaio")
            {
                EnableEvents(eventSource, EventLevel.Informational);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData) => _events.Enqueue(eventData);
    }
}
