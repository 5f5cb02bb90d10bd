namespace Kaio.Cli.Jobs;

/// <summary>
/// fio's <c>ioengine</c>: one of Kaio's engines, or .NET's own <see cref="RandomAccess"/> (the baseline
/// users have today). fio's names map onto Kaio's: <c>io_uring</c>, <c>libaio</c> (Linux AIO),
/// <c>psync</c>/<c>sync</c>/<c>pvsync</c>/<c>pvsync2</c> (blocking calls: the thread pool), <c>null</c>.
/// A Kaio engine's name may end in <c>:await</c> (<c>io_uring:await</c>): the job then drives the
/// awaitable face — iodepth tasks each awaiting AioContext.ReadAsync /
/// AioContext.WriteAsync in a loop, as the RandomAccess baseline does — instead of
/// Submit/GetEvents.
/// </summary>
/// <param name="Name">The name as given (fio's spelling kept, for the report).</param>
/// <param name="Kind">The Kaio engine; null for the RandomAccess baseline.</param>
/// <param name="Awaited">Drive the awaitable face (ReadAsync/WriteAsync from iodepth tasks) rather than Submit/GetEvents.</param>
internal sealed record IoEngineChoice(string Name, AioEngineKind? Kind, bool Awaited = false)
{
    /// <summary>The suffix that selects the awaitable face.</summary>
    public const string AwaitSuffix = ":await";

    /// <summary>The best engine that works here.</summary>
    public static IoEngineChoice Auto { get; } = new("auto", AioEngineKind.Auto);

    /// <summary>.NET's RandomAccess.ReadAsync/WriteAsync.</summary>
    public static IoEngineChoice RandomAccessBaseline { get; } = new("randomaccess", null, Awaited: true);

    /// <summary>The names accepted, for errors and help.</summary>
    public const string AcceptedNames = "auto, io_uring, libaio, threadpool (psync, sync, pvsync, pvsync2), null, each optionally ending in :await (the awaitable face); randomaccess (dotnet)";

    /// <summary>True for the RandomAccess baseline.</summary>
    public bool IsBaseline => Kind is null;

    public static bool TryParse(string text, out IoEngineChoice choice)
    {
        string name = text.Trim().ToLowerInvariant();
        string engine = name;
        bool awaited = name.EndsWith(AwaitSuffix, StringComparison.Ordinal);
        if (awaited)
        {
            engine = name[..^AwaitSuffix.Length];
        }

        AioEngineKind? kind = engine switch
        {
            "auto" or "kaio" => AioEngineKind.Auto,
            "io_uring" or "iouring" or "uring" => AioEngineKind.IoUring,
            "libaio" or "linuxaio" or "aio" => AioEngineKind.LinuxAio,
            "threadpool" or "thread_pool" or "psync" or "sync" or "pvsync" or "pvsync2" => AioEngineKind.ThreadPool,
            "null" => AioEngineKind.Null,
            "dotnet" or "randomaccess" when !awaited => null,
            _ => (AioEngineKind)(-1),
        };
        choice = new IoEngineChoice(name, kind, awaited || kind is null);
        return kind is null || (int)kind.Value >= 0;
    }

    /// <summary>Kaio's name of an engine kind, as the report prints it.</summary>
    public static string DisplayName(AioEngineKind kind) => kind switch
    {
        AioEngineKind.IoUring => "io_uring",
        AioEngineKind.LinuxAio => "libaio",
        AioEngineKind.ThreadPool => "threadpool",
        AioEngineKind.Null => "null",
        _ => "auto",
    };

    /// <summary>Kaio's name of an engine kind driven through <paramref name="awaited"/> or not.</summary>
    public static string DisplayName(AioEngineKind kind, bool awaited) => awaited ? DisplayName(kind) + AwaitSuffix : DisplayName(kind);

    /// <summary>The choice for one engine kind, named as Kaio names it.</summary>
    public static IoEngineChoice For(AioEngineKind kind, bool awaited = false) => new(DisplayName(kind, awaited), kind, awaited);
}
