using Kaio.Core;
using Kaio.Engines.IoUring;

namespace Kaio.Tests.Core;

public sealed class RequestKeyTests
{
    [Theory]
    [InlineData(1u, 0)]
    [InlineData(7u, 5)]
    [InlineData(uint.MaxValue, AioContext.MaxEventsLimit - 1)]
    public void Make_RoundTripsTagAndGeneration_AndIsNeverReserved(uint generation, int tag)
    {
        ulong key = RequestKey.Make(generation, tag);
        Assert.Equal(tag, RequestKey.TagOf(key));
        Assert.Equal(generation, RequestKey.GenerationOf(key));
        Assert.False(RequestKey.IsReserved(key)); // even the last generation of the last tag
        Assert.NotEqual(0UL, key);
    }

    [Fact]
    public void EngineUserData_IsReserved_AndDistinct()
    {
        ulong[] own = [IoUringEngine.CancelUserData, IoUringEngine.StopUserData, IoUringEngine.WakeUserData];
        Assert.All(own, u => Assert.True(RequestKey.IsReserved(u)));
        Assert.Equal(own.Length, own.Distinct().Count());
        Assert.True(RequestKey.IsReserved(RequestKey.ReservedTop - 255));
        Assert.False(RequestKey.IsReserved(RequestKey.ReservedTop - 256));
    }
}
