// A minimal RESP2 client over one TCP connection, pipelined by hand: append commands, Flush, then
// read one reply per command. Enough for SET and GET against an embedded Garnet server; linked
// into bench/Kaio.Tsavorite.Bench to preload its server.
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Kaio.Tsavorite.Tests.Infrastructure;

/// <summary>Sends RESP arrays of bulk strings and parses the replies (simple string, error, integer, bulk, nil).</summary>
public sealed class RespClient : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly BufferedStream _in;
    private readonly MemoryStream _out = new();

    public RespClient(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        _stream = new NetworkStream(_socket, ownsSocket: true);
        _in = new BufferedStream(_stream, 1 << 16);
    }

    /// <summary>The key redis-benchmark's <c>key:__rand_int__</c> becomes for <paramref name="i"/> (12 digits).</summary>
    public static byte[] Key(long i) => Encoding.ASCII.GetBytes($"key:{i:D12}");

    /// <summary>Appends one command (not sent until <see cref="Flush"/>).</summary>
    public void Append(params ReadOnlySpan<byte[]> parts)
    {
        WriteHeader((byte)'*', parts.Length);
        foreach (byte[] part in parts)
        {
            WriteHeader((byte)'$', part.Length);
            _out.Write(part);
            _out.Write("\r\n"u8);
        }
    }

    /// <summary>Sends every appended command.</summary>
    public void Flush()
    {
        _stream.Write(_out.GetBuffer(), 0, (int)_out.Length);
        _out.SetLength(0);
    }

    /// <summary>One reply: a string (simple), a long (integer), a byte[] (bulk), or null (nil). An error reply throws.</summary>
    public object? Read()
    {
        int kind = _in.ReadByte();
        string line = ReadLine();
        switch (kind)
        {
            case '+':
                return line;
            case '-':
                throw new InvalidOperationException("server error: " + line);
            case ':':
                return long.Parse(line, System.Globalization.CultureInfo.InvariantCulture);
            case '$':
                int length = int.Parse(line, System.Globalization.CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }

                byte[] bulk = new byte[length];
                _in.ReadExactly(bulk);
                if (_in.ReadByte() != '\r' || _in.ReadByte() != '\n')
                {
                    throw new InvalidDataException("bulk string not ended by CRLF");
                }

                return bulk;
            case -1:
                throw new EndOfStreamException("the server closed the connection");
            default:
                throw new InvalidDataException($"unexpected reply type '{(char)kind}'");
        }
    }

    public void Dispose()
    {
        _in.Dispose();
        _stream.Dispose();
        _out.Dispose();
    }

    private void WriteHeader(byte kind, int count)
    {
        Span<byte> header = stackalloc byte[16];
        header[0] = kind;
        Utf8Formatter.TryFormat(count, header[1..], out int written);
        header[1 + written] = (byte)'\r';
        header[2 + written] = (byte)'\n';
        _out.Write(header[..(3 + written)]);
    }

    private string ReadLine()
    {
        var line = new StringBuilder();
        while (true)
        {
            int b = _in.ReadByte();
            if (b < 0)
            {
                throw new EndOfStreamException("the server closed the connection");
            }

            if (b == '\r')
            {
                _ = _in.ReadByte(); // '\n'
                return line.ToString();
            }

            line.Append((char)b);
        }
    }
}
