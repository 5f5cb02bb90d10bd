using Kaio.Cli;

namespace Kaio.Cli.Tests.Infrastructure;

/// <summary>Runs kaio in-process and captures what it wrote.</summary>
internal static class KaioCli
{
    public sealed record Result(int Exit, string Out, string Err)
    {
        public override string ToString() => $"exit {Exit}\n--- stdout\n{Out}\n--- stderr\n{Err}";
    }

    public static Result Run(params string[] args) => RunWithEngines(null, args);

    /// <summary>Runs kaio as if <paramref name="probeEngines"/> described this machine's engines.</summary>
    public static Result RunWithEngines(Func<IReadOnlyList<AioEngineStatus>>? probeEngines, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = KaioApp.Run(args, stdout, stderr, probeEngines);
        return new Result(exit, stdout.ToString(), stderr.ToString());
    }
}

/// <summary>A directory for one test's files on a disk-backed file system, removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kaio-cli-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string WriteJobFile(string name, string text)
    {
        string path = File(name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
