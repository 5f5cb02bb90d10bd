// Design: `kaio info`: what decides which engines work here, read from the places the kernel
// publishes it: the kernel release, each engine's probe (ENOSYS, EPERM from seccomp,
// io_uring_disabled, memlock), the AIO budget in /proc/sys/fs, and the direct I/O alignment of
// the file system a benchmark's temporary file would land on.
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Kaio.Cli.Jobs;
using Kaio.Cli.Workloads;
using Spectre.Console;

namespace Kaio.Cli.Reporting;

/// <summary>Facts about this machine that matter to Kaio.</summary>
internal sealed record SystemInfo(
    string Kernel,
    string KernelVersion,
    IReadOnlyList<AioEngineStatus> Engines,
    string? AioMaxNr,
    string? AioNr,
    string? IoUringDisabled,
    string? MemlockLimit,
    string? Seccomp,
    string Directory,
    string? FileSystem,
    string DirectIo,
    string AutoChoice,
    long KaioBudget,
    long KaioBudgetUsed)
{
    public static SystemInfo Gather(string? directory)
    {
        string dir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory ?? TargetFile.ChooseTempDirectory()));
        string directIo;
        try
        {
            DirectIoAlignment alignment = AioFile.GetDirectIoAlignment(dir);
            directIo = string.Create(CultureInfo.InvariantCulture, $"memory alignment {alignment.MemoryAlignment}, offset alignment {alignment.OffsetAlignment}");
        }
        catch (AioException e)
        {
            directIo = "O_DIRECT refused: " + e.Message;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            directIo = "unknown: " + e.Message;
        }

        string auto;
        try
        {
            using AioContext context = AioContext.Setup(1);
            auto = IoEngineChoice.DisplayName(context.Engine) + " (" + context.EngineReason + ")";
        }
        catch (AioException e)
        {
            auto = "no engine: " + e.Message;
        }

        return new SystemInfo(
            "Linux " + (ReadProc("/proc/sys/kernel/osrelease") ?? Environment.OSVersion.Version.ToString()),
            ReadProc("/proc/sys/kernel/version") ?? "",
            AioContext.ProbeEngines(),
            ReadProc("/proc/sys/fs/aio-max-nr"),
            ReadProc("/proc/sys/fs/aio-nr"),
            ReadProc("/proc/sys/kernel/io_uring_disabled"),
            ReadField("/proc/self/limits", "Max locked memory"),
            ReadField("/proc/self/status", "Seccomp:"),
            dir,
            TargetFile.FileSystemType(dir),
            directIo,
            auto,
            AioLimits.Default.MaxEvents,
            AioLimits.Default.CurrentEvents);
    }

    private static string? ReadProc(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? ReadField(string path, string prefix)
    {
        try
        {
            string? line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
            return line is null ? null : string.Join(' ', line[prefix.Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string DescribeSeccomp(string? mode) => mode switch
    {
        "0" => "0 (no filter)",
        "1" => "1 (strict)",
        "2" => "2 (filter: some system calls may be refused with EPERM or ENOSYS)",
        null => "unknown",
        _ => mode,
    };

    /// <summary>"8388608 8388608 bytes" (soft, hard) from /proc/self/limits.</summary>
    private static string DescribeMemlock(string? limits)
    {
        string[] parts = limits?.Split(' ') ?? [];
        if (parts.Length < 2)
        {
            return limits ?? "unknown";
        }

        static string Size(string value) => long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long bytes) ? FioValues.FormatSize(bytes) : value;
        return $"{Size(parts[0])} soft, {Size(parts[1])} hard (RLIMIT_MEMLOCK: io_uring rings on kernels before 5.12 count against it)";
    }

    private static string DescribeIoUringDisabled(string? value) => value switch
    {
        "0" => "0 (io_uring allowed)",
        "1" => "1 (io_uring only for the io_uring_group)",
        "2" => "2 (io_uring disabled)",
        null => "not present (kernel before 6.6)",
        _ => value,
    };

    public void Write(IAnsiConsole console)
    {
        var facts = new Table().Border(TableBorder.Rounded).HideHeaders();
        facts.AddColumn("what");
        facts.AddColumn("value");
        facts.AddRow("kernel", Markup.Escape(Kernel + (KernelVersion.Length > 0 ? " (" + KernelVersion + ")" : "")));
        facts.AddRow("auto picks", Markup.Escape(AutoChoice));
        facts.AddRow("aio-max-nr / aio-nr", Markup.Escape((AioMaxNr ?? "?") + " / " + (AioNr ?? "?") + "  (the kernel's, /proc/sys/fs)"));
        facts.AddRow("Kaio event budget", Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{KaioBudget} / {KaioBudgetUsed}  (AioLimits.Default, Kaio's own aio-max-nr / aio-nr)")));
        facts.AddRow("io_uring_disabled", Markup.Escape(DescribeIoUringDisabled(IoUringDisabled)));
        facts.AddRow("memlock limit", Markup.Escape(DescribeMemlock(MemlockLimit)));
        facts.AddRow("seccomp", Markup.Escape(DescribeSeccomp(Seccomp)));
        facts.AddRow("bench directory", Markup.Escape(Directory + " (" + (FileSystem ?? "unknown file system") + ")"));
        facts.AddRow("direct I/O", Markup.Escape(DirectIo));
        console.Write(facts);

        var engines = new Table().Border(TableBorder.Rounded).Title("engines");
        engines.AddColumn("engine");
        engines.AddColumn("works here");
        engines.AddColumn("why");
        foreach (AioEngineStatus engine in Engines)
        {
            engines.AddRow(IoEngineChoice.DisplayName(engine.Kind), engine.Available ? "[green]yes[/]" : "[red]no[/]", Markup.Escape(engine.Reason));
        }

        engines.AddRow("randomaccess", "[green]yes[/]", Markup.Escape(RandomAccessFace.Reason));
        console.Write(engines);
    }

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("kernel", Kernel);
            writer.WriteString("kernel_version", KernelVersion);
            writer.WriteStartArray("engines");
            foreach (AioEngineStatus engine in Engines)
            {
                writer.WriteStartObject();
                writer.WriteString("engine", IoEngineChoice.DisplayName(engine.Kind));
                writer.WriteBoolean("available", engine.Available);
                writer.WriteString("reason", engine.Reason);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteString("auto", AutoChoice);
            writer.WriteNumber("kaio_max_events", KaioBudget);
            writer.WriteNumber("kaio_events", KaioBudgetUsed);
            WriteOptional(writer, "aio_max_nr", AioMaxNr);
            WriteOptional(writer, "aio_nr", AioNr);
            WriteOptional(writer, "io_uring_disabled", IoUringDisabled);
            WriteOptional(writer, "memlock_limit", MemlockLimit);
            WriteOptional(writer, "seccomp", Seccomp);
            writer.WriteString("directory", Directory);
            WriteOptional(writer, "filesystem", FileSystem);
            writer.WriteString("direct_io", DirectIo);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }
}
