namespace Kaio.Tests.Context;

public sealed class SetupTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(AioContext.MaxEventsLimit + 1)]
    public void Setup_BadMaxEvents_Einval(int maxEvents)
    {
        Assert.Equal(Errno.EINVAL, Assert.Throws<AioException>(() => AioContext.Setup(maxEvents, new AioContextOptions { Engine = AioEngineKind.Null })).Errno);
    }

    [Fact]
    public void Setup_OverBudget_Eagain_AndDisposeGivesItBack()
    {
        var limits = new AioLimits(100);
        var options = new AioContextOptions { Engine = AioEngineKind.Null, Limits = limits };
        AioContext a = AioContext.Setup(60, options);
        Assert.Equal(60, limits.CurrentEvents);
        Assert.Equal(Errno.EAGAIN, Assert.Throws<AioException>(() => AioContext.Setup(41, options)).Errno);
        using (AioContext b = AioContext.Setup(40, options))
        {
            Assert.Equal(100, limits.CurrentEvents);
        }

        a.Dispose();
        Assert.Equal(0, limits.CurrentEvents);
        using AioContext c = AioContext.Setup(100, options); // never EAGAIN right after dispose
    }

    [Fact]
    public void Setup_DefaultBudget_IsTheKernelDefault()
    {
        Assert.Equal(65536, AioLimits.DefaultMaxEvents);
        Assert.Equal(Errno.EAGAIN, Assert.Throws<AioException>(() => AioContext.Setup(65537, new AioContextOptions { Engine = AioEngineKind.Null, Limits = new AioLimits() })).Errno);
    }

    [Fact]
    public void Lookup_UnknownId_Null_LiveContextFound_DisposedGone()
    {
        Assert.Null(AioContext.Lookup(12345));
        AioContext ctx = AioContext.Setup(4, new AioContextOptions { Engine = AioEngineKind.Null });
        Assert.Same(ctx, AioContext.Lookup(ctx.Id));
        ctx.Dispose();
        Assert.Null(AioContext.Lookup(ctx.Id));
    }

    [Fact]
    public void Setup_UnknownEngine_Einval()
    {
        Assert.Equal(Errno.EINVAL, Assert.Throws<AioException>(() => AioContext.Setup(4, new AioContextOptions { Engine = (AioEngineKind)77 })).Errno);
    }

    [Fact]
    public void Auto_SaysWhichEngineAndWhy()
    {
        using AioContext ctx = AioContext.Setup(4);
        Assert.NotEqual(AioEngineKind.Auto, ctx.Engine);
        Assert.False(string.IsNullOrWhiteSpace(ctx.EngineReason));
        TestContext.Current.SendDiagnosticMessage($"Auto chose {ctx.Engine}: {ctx.EngineReason}");
    }
}
