using System.Runtime.InteropServices;

namespace Kaio;

/// <summary>
/// One completion (<c>struct io_event</c>): the caller's <see cref="Data"/>, the request's
/// <see cref="Key"/>, and the kernel-style <see cref="Result"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct IoEvent
{
    /// <summary>Creates an event.</summary>
    public IoEvent(ulong data, ulong key, long result, long result2)
    {
        Data = data;
        Key = key;
        Result = result;
        Result2 = result2;
    }

    /// <summary>The caller's <see cref="Iocb.Data"/> (<c>io_event.data</c>).</summary>
    public ulong Data { get; }

    /// <summary>The key submit wrote into <see cref="Iocb.Key"/> (in place of <c>io_event.obj</c>).</summary>
    public ulong Key { get; }

    /// <summary>Bytes transferred, poll revents, or 0; a negative value is <c>-errno</c> (<c>io_event.res</c>).</summary>
    public long Result { get; }

    /// <summary>Secondary result (<c>io_event.res2</c>); 0 unless documented otherwise.</summary>
    public long Result2 { get; }

    /// <summary>True when <see cref="Result"/> is an error.</summary>
    public bool IsError => Result < 0;

    /// <inheritdoc/>
    public override string ToString() => $"IoEvent(data={Data}, key=0x{Key:x}, res={Result}, res2={Result2})";
}
