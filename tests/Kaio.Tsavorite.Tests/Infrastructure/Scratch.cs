namespace Kaio.Tsavorite.Tests.Infrastructure;

/// <summary>A scratch folder on the real disk (beside the test binaries, not tmpfs), removed on dispose.</summary>
public sealed class Scratch : IDisposable
{
    public Scratch()
    {
        Path = System.IO.Path.Combine(AppContext.BaseDirectory, "scratch", "tsav-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
