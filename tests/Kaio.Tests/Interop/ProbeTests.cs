using Kaio.Engines.IoUring;
using Kaio.Engines.LinuxAio;

namespace Kaio.Tests.Interop;

/// <summary>Probing always answers with a reason a person can act on.</summary>
public sealed class ProbeTests
{
    [Fact]
    public void IoUringTryProbe_Always_GivesAReason()
    {
        bool ok = IoUringEngine.TryProbe(out string reason);
        Assert.False(string.IsNullOrWhiteSpace(reason));
        Assert.StartsWith("io_uring", reason, StringComparison.Ordinal);
        Assert.Equal(ok, reason.Contains("available", StringComparison.Ordinal));
    }

    [Fact]
    public void LinuxAioTryProbe_Always_GivesAReason()
    {
        bool ok = LinuxAioEngine.TryProbe(out string reason);
        Assert.False(string.IsNullOrWhiteSpace(reason));
        Assert.StartsWith("Linux AIO", reason, StringComparison.Ordinal);
        Assert.Equal(ok, reason.Contains("available", StringComparison.Ordinal));
    }

    [Fact]
    public void IoUringTryProbe_TwiceInAProcess_SameAnswer()
    {
        bool first = IoUringEngine.TryProbe(out string a);
        bool second = IoUringEngine.TryProbe(out string b);
        Assert.Equal(first, second);
        Assert.Equal(a, b);
    }
}
