// Design: a Tsavorite storage device whose reads and writes go through a Kaio AioContext. Each
// segment is one file, "<FileName>.<segment>" (or FileName alone when Initialize omits the id),
// opened lazily on its first I/O with O_DIRECT where the file system allows it, and kept open
// until the segment is removed, the device is reset or disposed. SectorSize is the file system's
// direct-I/O alignment (statx STATX_DIOALIGN, else the block device's logical block size), at
// least 512.
// A request is a pooled IoRequest (KaioStorageDevice.Request.cs): it submits Tsavorite's pointer and
// length as they are and delivers one completion to Tsavorite's callback — on the thread that
// delivers it (KaioDeviceOptions.InlineCompletions, the default: an Iocb whose callback runs inline)
// or on the thread pool (an awaited ReadAsync/WriteAsync). Nothing is allocated per I/O once the
// pool has grown to the peak number in flight.
// Threading: ReadAsync/WriteAsync from any thread; completions on Kaio's delivering thread or the
// thread pool (see above). _inFlight counts
// requests accepted and not yet delivered (Interlocked); Throttle reads it. Dispose marks the
// device dead (new I/O throws ObjectDisposedException), waits for _inFlight to reach 0 (every
// callback has returned), then closes the segment files — so after Dispose no callback runs and no
// kernel write lands in a Tsavorite buffer. _segments is a ConcurrentDictionary read lock-free;
// opening a segment happens under _openLock so a file is opened once.
using System.Collections.Concurrent;
using Tsavorite.core;

namespace Kaio.Tsavorite;

/// <summary>
/// A Tsavorite <see cref="IDevice"/> on Kaio: segment files opened with O_DIRECT through
/// <see cref="AioFile"/>, reads and writes submitted to an <see cref="AioContext"/> (io_uring,
/// Linux AIO or the thread-pool engine), completions to Tsavorite's
/// <see cref="DeviceIOCompletionCallback"/> on the thread that delivers them (or on the thread pool,
/// see <see cref="KaioDeviceOptions.InlineCompletions"/>), with the errno and an
/// <see cref="IOException"/> when a request fails.
/// </summary>
/// <remarks>
/// Give it a context set up with <see cref="AioFullBehavior.Wait"/> (the context the device or
/// <see cref="KaioNamedDeviceFactoryCreator"/> makes for itself is): a full context then queues
/// requests in the core. On a context that refuses when full (EAGAIN), a refused request is retried
/// from the thread pool, never dropped. Do not dispose the device from inside one of its callbacks:
/// Dispose waits for every callback to return.
/// </remarks>
public sealed partial class KaioStorageDevice : StorageDeviceBase
{
    private readonly AioContext _context;
    private readonly bool _ownsContext;
    private readonly KaioDeviceOptions _options;

    // Segment files. Readers: any I/O thread, lock-free. Writers: the open path under _openLock,
    // RemoveSegment, Reset and Dispose.
    private readonly ConcurrentDictionary<int, SafeFileHandle> _segments = new();
    private readonly Lock _openLock = new();

    // Set once O_DIRECT has been refused by the file system (EINVAL); written under _openLock.
    private volatile bool _directRefused;

    // Requests between acceptance and the return of their callback. Interlocked; its pairing with
    // _disposed and _drainWaiters is described at BeginRequest and EndRequest.
    private int _inFlight;
    private int _disposed;
    private int _drainWaiters;
    private readonly object _drainLock = new();

    private readonly ConcurrentQueue<IoRequest> _pool = new();
    private long _completedReads;
    private long _completedWrites;

    /// <summary>
    /// Creates a device over files named from <paramref name="filename"/> that submits to
    /// <paramref name="context"/>, which it does not own (dispose the device first, then the context).
    /// </summary>
    /// <param name="filename">The path of the files, without the segment suffix; its directory is created if missing.</param>
    /// <param name="context">The context to submit to; set up with <see cref="AioFullBehavior.Wait"/> for back-pressure without retries.</param>
    /// <param name="options">How files are opened and throttled; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="filename"/> or <paramref name="context"/> is null.</exception>
    /// <exception cref="AioException">The directory's direct-I/O alignment cannot be read (the errno of statx).</exception>
    public KaioStorageDevice(string filename, AioContext context, KaioDeviceOptions? options = null)
        : this(filename, context ?? throw new ArgumentNullException(nameof(context)), ownsContext: false, options ?? KaioDeviceOptions.Default)
    {
    }

    /// <summary>
    /// Creates a device with a context of its own (waiting when full, room for twice the throttle
    /// limit and at least 256), disposed with the device.
    /// </summary>
    /// <param name="filename">The path of the files, without the segment suffix; its directory is created if missing.</param>
    /// <param name="engine">The context's engine; <see cref="AioEngineKind.Auto"/> picks the best that works here.</param>
    /// <param name="options">How files are opened and throttled; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="filename"/> is null.</exception>
    /// <exception cref="AioException">The context cannot be set up (an engine asked for by name that cannot work here), or the directory's alignment cannot be read.</exception>
    public static KaioStorageDevice Create(string filename, AioEngineKind engine = AioEngineKind.Auto, KaioDeviceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(filename);
        options ??= KaioDeviceOptions.Default;
        AioContext context = AioContext.Setup(
            Math.Max(256, 2 * Math.Max(1, options.ThrottleLimit)),
            new AioContextOptions { Engine = engine, WhenFull = AioFullBehavior.Wait });
        return new KaioStorageDevice(filename, context, ownsContext: true, options);
    }

    private KaioStorageDevice(string filename, AioContext context, bool ownsContext, KaioDeviceOptions options)
        : base(filename, ProbeSectorSize(filename, context, ownsContext), options.Capacity, options.ReadOnly)
    {
        _context = context;
        _ownsContext = ownsContext;
        _options = options;
        ThrottleLimit = options.ThrottleLimit;
    }

    /// <summary>The context this device submits to.</summary>
    public AioContext Context => _context;

    /// <summary>False once the file system has refused O_DIRECT and files are opened through the page cache (or when <see cref="KaioDeviceOptions.UseDirectIo"/> is off).</summary>
    public bool IsDirect => _options.UseDirectIo && !_directRefused;

    /// <summary>Reads whose callback has been invoked, failed ones included.</summary>
    public long CompletedReads => Interlocked.Read(ref _completedReads);

    /// <summary>Writes whose callback has been invoked, failed ones included.</summary>
    public long CompletedWrites => Interlocked.Read(ref _completedWrites);

    /// <summary>Requests accepted whose callback has not yet returned.</summary>
    public int InFlight => Math.Max(0, Volatile.Read(ref _inFlight));

    /// <inheritdoc/>
    public override bool Throttle() => Volatile.Read(ref _inFlight) > ThrottleLimit;

    /// <summary>
    /// Reads <paramref name="readLength"/> bytes at <paramref name="sourceAddress"/> of segment
    /// <paramref name="segmentId"/> into <paramref name="destinationAddress"/>; <paramref name="callback"/>
    /// runs once (where <see cref="KaioDeviceOptions.InlineCompletions"/> says) with 0 and the bytes
    /// read (fewer at the end of the file), or with the errno and an <see cref="IOException"/>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The device is disposed.</exception>
    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object? context)
    {
        BeginRequest();
        Rent().Start(segmentId, isWrite: false, destinationAddress, sourceAddress, readLength, callback, context);
    }

    /// <summary>
    /// Writes <paramref name="numBytesToWrite"/> bytes from <paramref name="sourceAddress"/> at
    /// <paramref name="destinationAddress"/> of segment <paramref name="segmentId"/>; a short write is
    /// continued until every byte is written. <paramref name="callback"/> runs once (where
    /// <see cref="KaioDeviceOptions.InlineCompletions"/> says) with 0 and the byte count, or with the
    /// errno and an <see cref="IOException"/>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The device is disposed.</exception>
    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object? context)
    {
        HandleCapacity(segmentId);
        BeginRequest();
        Rent().Start(segmentId, isWrite: true, sourceAddress, destinationAddress, numBytesToWrite, callback, context);
    }

    /// <summary>Closes and deletes segment <paramref name="segment"/>'s file; requests still in flight on it finish first (Kaio holds the descriptor until their completion).</summary>
    public override void RemoveSegment(int segment)
    {
        if (_segments.TryRemove(segment, out SafeFileHandle? handle))
        {
            handle.Dispose();
        }

        DeleteFile(GetSegmentFilename(FileName, segment));
    }

    /// <inheritdoc/>
    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result)
    {
        ArgumentNullException.ThrowIfNull(callback);
        RemoveSegment(segment);
        callback(result);
    }

    /// <summary>The segment size when the device has one; otherwise the length of the segment's file (0 when it does not exist).</summary>
    public override long GetFileSize(int segment)
    {
        if (segmentSize > 0)
        {
            return segmentSize;
        }

        if (_segments.TryGetValue(segment, out SafeFileHandle? handle))
        {
            try
            {
                return RandomAccess.GetLength(handle);
            }
            catch (ObjectDisposedException)
            {
                // Removed by a racing RemoveSegment: the file's length below.
            }
        }

        var info = new FileInfo(GetSegmentFilename(FileName, segment));
        return info.Exists ? info.Length : 0;
    }

    /// <summary>Waits for outstanding requests, then closes every segment file (deleting it when <see cref="KaioDeviceOptions.DeleteOnClose"/>); the next I/O opens files again.</summary>
    public override void Reset()
    {
        Drain();
        CloseSegments();
    }

    /// <summary>
    /// Refuses new I/O, waits for every outstanding request's callback to return, closes the
    /// segment files (deleting them when <see cref="KaioDeviceOptions.DeleteOnClose"/>) and disposes
    /// the context if the device made it. Idempotent.
    /// </summary>
    public override void Dispose()
    {
        // release: pairs with the Volatile.Read of _disposed in BeginRequest after its increment.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Drain();
        CloseSegments();
        if (_ownsContext)
        {
            _context.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"KaioStorageDevice({FileName}, engine {_context.Engine}, sector {SectorSize}, {(IsDirect ? "O_DIRECT" : "buffered")}, in flight {InFlight})";

    /// <summary>The file system's direct-I/O alignment where the files will live, at least 512; creates the directory.</summary>
    private static uint ProbeSectorSize(string filename, AioContext context, bool ownsContext)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(filename);
            string directory = Path.GetDirectoryName(Path.GetFullPath(filename))!;
            Directory.CreateDirectory(directory);
            DirectIoAlignment alignment = AioFile.GetDirectIoAlignment(directory);
            return SectorSizeOf(alignment);
        }
        catch when (ownsContext)
        {
            context.Dispose();
            throw;
        }
    }

    internal static uint SectorSizeOf(DirectIoAlignment alignment) =>
        (uint)Math.Max(IDevice.MinDeviceSectorSize, Math.Max(alignment.MemoryAlignment, alignment.OffsetAlignment));

    /// <summary>Counts a request in; throws if the device is disposed.</summary>
    private void BeginRequest()
    {
        // Full fence, then the read of _disposed: either this sees Dispose's mark, or Dispose's
        // Drain sees this request (a Dekker pair with the exchange in Dispose and the read in Drain).
        Interlocked.Increment(ref _inFlight);
        if (Volatile.Read(ref _disposed) != 0)
        {
            EndRequest();
            throw new ObjectDisposedException(nameof(KaioStorageDevice));
        }
    }

    /// <summary>Counts a request out once its callback has returned; wakes a drain at zero.</summary>
    private void EndRequest()
    {
        // Full fence, then the read of _drainWaiters: pairs with the increment in Drain, which then
        // reads _inFlight under _drainLock; one of the two sees the other.
        if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _drainWaiters) != 0)
        {
            lock (_drainLock)
            {
                Monitor.PulseAll(_drainLock);
            }
        }
    }

    /// <summary>Waits until no request is in flight.</summary>
    private void Drain()
    {
        lock (_drainLock)
        {
            Interlocked.Increment(ref _drainWaiters);
            try
            {
                while (Volatile.Read(ref _inFlight) != 0)
                {
                    Monitor.Wait(_drainLock);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _drainWaiters);
            }
        }
    }

    private void CloseSegments()
    {
        foreach (int segment in _segments.Keys)
        {
            if (_segments.TryRemove(segment, out SafeFileHandle? handle))
            {
                handle.Dispose();
                if (_options.DeleteOnClose)
                {
                    DeleteFile(GetSegmentFilename(FileName, segment));
                }
            }
        }
    }

    private static void DeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing to delete.
        }
    }

    /// <summary>The open file of <paramref name="segment"/>, opening (and creating) it on first use.</summary>
    /// <exception cref="IOException">open(2) failed (the AioFile.Open exceptions).</exception>
    private SafeFileHandle GetOrOpenSegment(int segment)
    {
        if (_segments.TryGetValue(segment, out SafeFileHandle? handle))
        {
            return handle;
        }

        lock (_openLock)
        {
            if (_segments.TryGetValue(segment, out handle))
            {
                return handle;
            }

            handle = OpenSegment(GetSegmentFilename(FileName, segment));
            _segments[segment] = handle;
            return handle;
        }
    }

    /// <summary>Opens a segment file; the caller holds _openLock.</summary>
    private SafeFileHandle OpenSegment(string path)
    {
        FileAccess access = _options.ReadOnly ? FileAccess.Read : FileAccess.ReadWrite;
        const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        SafeFileHandle handle;
        if (_options.UseDirectIo && !_directRefused)
        {
            try
            {
                handle = AioFile.Open(path, FileMode.OpenOrCreate, access, FileShare.ReadWrite, AioOpenOptions.Direct, unixCreateMode: Mode);
            }
            catch (AioException e) when (e.Errno == Errno.EINVAL)
            {
                // The file system refuses O_DIRECT (tmpfs, some FUSE): the page cache, from now on.
                _directRefused = true;
                handle = AioFile.Open(path, FileMode.OpenOrCreate, access, FileShare.ReadWrite, AioOpenOptions.None, unixCreateMode: Mode);
            }
        }
        else
        {
            handle = AioFile.Open(path, FileMode.OpenOrCreate, access, FileShare.ReadWrite, AioOpenOptions.None, unixCreateMode: Mode);
        }

        if (_options.PreallocateFile && !_options.ReadOnly && segmentSize > 0)
        {
            Preallocate(handle, segmentSize);
        }

        return handle;
    }

    /// <summary>Reserves a segment's blocks through the context; a file system that cannot is left as it is.</summary>
    private void Preallocate(SafeFileHandle handle, long size)
    {
        try
        {
            _context.FallocateAsync(handle, 0, size, FallocateMode.KeepSize).AsTask().GetAwaiter().GetResult();
        }
        catch (AioException e) when (e.Errno == Errno.EOPNOTSUPP)
        {
            // Not every file system reserves blocks; the writes allocate them instead.
        }
    }

    private IoRequest Rent()
    {
        if (!_pool.TryDequeue(out IoRequest? request))
        {
            request = new IoRequest(this);
        }

        return request;
    }

    private void Return(IoRequest request) => _pool.Enqueue(request);
}
