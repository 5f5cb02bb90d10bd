using Kaio.Tsavorite.Tests.Infrastructure;
using Tsavorite.core;

namespace Kaio.Tsavorite.Tests;

/// <summary>The factory lays files out as Tsavorite's local factory does, and its metadata calls create nothing.</summary>
public sealed class NamedDeviceFactoryTests
{
    [Fact]
    public void Get_WritesSegmentZeroUnderBaseDirectoryFile_OpenReadListDeleteSeeIt()
    {
        using var dir = new Scratch();
        using var creator = new KaioNamedDeviceFactoryCreator(64, AioEngineKind.ThreadPool);
        INamedDeviceFactory factory = creator.Create(dir.Path);
        var descriptor = new FileDescriptor("Store", "hlog");

        using (IDevice device = factory.Get(descriptor))
        {
            Assert.Same(creator.Context, Assert.IsType<KaioStorageDevice>(device).Context);
            using var done = new Completions();
            using var w = new NativeBuffer(4096, i => (byte)(255 - (i & 0xFF)));
            device.WriteAsync(w.Pointer, 0, 4096, done.Callback, null);
            done.WaitOk();
        }

        string file = Path.Combine(dir.Path, "Store", "hlog.0");
        Assert.True(File.Exists(file));
        using (Stream stream = factory.OpenRead(descriptor))
        {
            byte[] back = new byte[4096];
            stream.ReadExactly(back);
            Assert.Equal(Enumerable.Range(0, 4096).Select(i => (byte)(255 - (i & 0xFF))), back);
        }

        Assert.Contains(factory.ListContents(""), d => d.directoryName == "Store");
        Assert.Contains(factory.ListContents("Store"), d => d.fileName == "hlog.0");
        factory.Delete(descriptor);
        Assert.False(File.Exists(file));
        factory.Delete(new FileDescriptor("Store", null));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "Store")));
    }

    [Fact]
    public void GetSectorSize_MissingFolders_CreatesNothing()
    {
        using var dir = new Scratch();
        using var creator = new KaioNamedDeviceFactoryCreator(64, AioEngineKind.ThreadPool);
        INamedDeviceFactory factory = creator.Create(Path.Combine(dir.Path, "not", "yet"));

        uint sector = factory.GetSectorSize(new FileDescriptor("cpr-checkpoints", "log.dat"));

        DirectIoAlignment alignment = AioFile.GetDirectIoAlignment(dir.Path);
        Assert.Equal((uint)Math.Max(512, Math.Max(alignment.MemoryAlignment, alignment.OffsetAlignment)), sector);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "not")));
        Assert.Throws<DirectoryNotFoundException>(() => factory.OpenRead(new FileDescriptor("cpr-checkpoints", "log.dat")));
        Assert.Empty(factory.ListContents("cpr-checkpoints"));
    }

    [Fact]
    public void Creator_OwnsItsContext_DisposeDisposesIt_ABorrowedOneIsLeftAlone()
    {
        var owning = new KaioNamedDeviceFactoryCreator(32, AioEngineKind.ThreadPool);
        owning.Dispose();
        Assert.True(owning.Context.IsDisposed);

        using AioContext ctx = TestEngines.Setup(AioEngineKind.ThreadPool, 32);
        var borrowing = new KaioNamedDeviceFactoryCreator(ctx);
        borrowing.Dispose();
        Assert.False(ctx.IsDisposed);
    }
}
