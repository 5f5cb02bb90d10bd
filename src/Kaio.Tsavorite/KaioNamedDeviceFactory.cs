// Design: Tsavorite's named-device factory on Kaio. Every device it hands out submits to one
// shared AioContext (the creator's). Files are laid out as Tsavorite's local factory lays them
// out: "<baseName>/<directoryName>/<fileName>.<segment>", so a store written by either can be
// recovered by the other. Threading: stateless past construction; any thread.
using Tsavorite.core;

namespace Kaio.Tsavorite;

/// <summary>
/// An <see cref="INamedDeviceFactory"/> whose devices are <see cref="KaioStorageDevice"/>s sharing
/// one <see cref="AioContext"/>; made by <see cref="KaioNamedDeviceFactoryCreator"/>.
/// </summary>
public sealed class KaioNamedDeviceFactory : INamedDeviceFactory
{
    private readonly string _baseName;
    private readonly AioContext _context;
    private readonly KaioDeviceOptions _options;

    /// <summary>Creates a factory for files under <paramref name="baseName"/>.</summary>
    /// <param name="baseName">The folder every file descriptor is relative to.</param>
    /// <param name="context">The context every device submits to; not owned.</param>
    /// <param name="options">How devices open and throttle their files; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="baseName"/> or <paramref name="context"/> is null.</exception>
    public KaioNamedDeviceFactory(string baseName, AioContext context, KaioDeviceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(baseName);
        ArgumentNullException.ThrowIfNull(context);
        _baseName = baseName;
        _context = context;
        _options = options ?? KaioDeviceOptions.Default;
    }

    /// <summary>The folder every file descriptor is relative to.</summary>
    public string BaseName => _baseName;

    /// <summary>A new device over <c>&lt;BaseName&gt;/&lt;directoryName&gt;/&lt;fileName&gt;</c>, in unbounded single-segment mode until Tsavorite initializes it.</summary>
    public IDevice Get(FileDescriptor fileInfo) => new KaioStorageDevice(PathOf(fileInfo), _context, _options);

    /// <summary>Opens segment 0 of a named file for reading metadata, creating nothing.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DirectoryNotFoundException">Its folder does not exist.</exception>
    public Stream OpenRead(FileDescriptor fileInfo) =>
        new FileStream(PathOf(fileInfo) + ".0", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>The sector size a device for <paramref name="fileInfo"/> would have, read off the nearest existing folder; creates nothing.</summary>
    public uint GetSectorSize(FileDescriptor fileInfo)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(PathOf(fileInfo)));
        while (directory is not null && !Directory.Exists(directory))
        {
            directory = Path.GetDirectoryName(directory);
        }

        return directory is null
            ? (uint)IDevice.MinDeviceSectorSize
            : KaioStorageDevice.SectorSizeOf(AioFile.GetDirectIoAlignment(directory));
    }

    /// <summary>The folders, then the files, directly under <paramref name="path"/>, newest first.</summary>
    public IEnumerable<FileDescriptor> ListContents(string path)
    {
        var folder = new DirectoryInfo(Path.Combine(_baseName, path));
        if (!folder.Exists)
        {
            yield break;
        }

        foreach (DirectoryInfo child in folder.GetDirectories().OrderByDescending(d => d.LastWriteTimeUtc))
        {
            yield return new FileDescriptor(child.Name, "");
        }

        foreach (FileInfo file in folder.GetFiles().OrderByDescending(f => f.LastWriteTimeUtc))
        {
            yield return new FileDescriptor("", file.Name);
        }
    }

    /// <summary>Deletes segment 0 of a named file, or a whole folder when the descriptor has no file name.</summary>
    public void Delete(FileDescriptor fileInfo)
    {
        if (fileInfo.fileName is not null)
        {
            string path = PathOf(fileInfo) + ".0";
            if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        else
        {
            string path = Path.Combine(_baseName, fileInfo.directoryName ?? "");
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
    }

    private string PathOf(FileDescriptor fileInfo) =>
        Path.Combine(_baseName, fileInfo.directoryName ?? "", fileInfo.fileName ?? "");
}
