namespace Kaio.Tests.Infrastructure;

/// <summary>A scratch file on the real disk (not tmpfs), removed on dispose.</summary>
public sealed class TempFile : IDisposable
{
    public TempFile(int size = 0, int seed = 1)
    {
        string dir = System.IO.Path.Combine(AppContext.BaseDirectory, "scratch");
        Directory.CreateDirectory(dir);
        Path = System.IO.Path.Combine(dir, "kaio-" + Guid.NewGuid().ToString("N") + ".dat");
        if (size > 0)
        {
            Content = new byte[size];
            new Random(seed).NextBytes(Content);
            File.WriteAllBytes(Path, Content);
        }
        else
        {
            Content = [];
            File.WriteAllBytes(Path, Content);
        }
    }

    public string Path { get; }

    /// <summary>What the file held when created.</summary>
    public byte[] Content { get; }

    public SafeFileHandle OpenRead() => File.OpenHandle(Path, FileMode.Open, FileAccess.Read);

    public SafeFileHandle OpenWrite() => File.OpenHandle(Path, FileMode.Open, FileAccess.Write);

    public SafeFileHandle OpenReadWrite() => File.OpenHandle(Path, FileMode.Open, FileAccess.ReadWrite);

    public void Dispose()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
        }
    }
}
