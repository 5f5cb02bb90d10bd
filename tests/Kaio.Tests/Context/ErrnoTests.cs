using System.Runtime.InteropServices;

namespace Kaio.Tests.Context;

/// <summary>Every errno in a message is named, never a bare number.</summary>
public sealed class ErrnoTests
{
    [Theory]
    [InlineData(Errno.ESPIPE, "ESPIPE")]
    [InlineData(32, "EPIPE")]
    [InlineData(110, "ETIMEDOUT")]
    [InlineData(133, "EHWPOISON")]
    public void Name_KnownErrno_IsItsSymbol(int errno, string name) => Assert.Equal(name, Errno.Name(errno));

    [Fact]
    public void Name_EveryErrnoLinuxDefines_IsNamed()
    {
        for (int errno = 1; errno <= 133; errno++)
        {
            if (errno is 41 or 58)
            {
                continue; // numbers Linux leaves unused (EWOULDBLOCK and EDEADLOCK are aliases)
            }

            string name = Errno.Name(errno);
            Assert.True(name.StartsWith('E') && !name.Contains(' '), $"errno {errno} is named '{name}'");
        }

        Assert.Equal("errno 41", Errno.Name(41));
        Assert.Equal("errno 4095", Errno.Name(4095));
    }

    [Fact]
    public void AioException_Message_NamesTheErrno()
    {
        var e = new AioException(Errno.ESPIPE, "read refused");
        Assert.Contains("ESPIPE", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("errno", e.Message, StringComparison.Ordinal);
        Assert.Equal("ESPIPE (" + Marshal.GetPInvokeErrorMessage(Errno.ESPIPE) + ")", Errno.Describe(Errno.ESPIPE));
    }
}
