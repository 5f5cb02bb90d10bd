// Design: where a job thread's next request goes (fio's io_u.c: get_next_offset() and
// get_rw_ddir()). Offsets are multiples of bs inside the thread's region; random offsets are
// uniform (fio's norandommap behaviour) from a xoshiro256** generator seeded by the job's seed
// and the thread's number, so a run is repeatable; sequential reads and writes keep separate
// cursors and wrap at the end of the region. When verifying, no two requests in flight may touch
// the same block (the final content would depend on completion order), so busy blocks are skipped.
// Thread-safety: one owner at a time (the baseline runner calls it under its lock).
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Workloads;

/// <summary>What <see cref="OffsetSource.TryNext"/> produced.</summary>
internal enum NextIo
{
    /// <summary>An offset and a direction.</summary>
    Ready,
    /// <summary>The candidate block is in flight; try again after a completion.</summary>
    Busy,
    /// <summary>The job's I/O is all issued.</summary>
    Done,
}

/// <summary>Offsets and directions for one job thread.</summary>
internal sealed class OffsetSource
{
    private readonly long _regionStart;
    private readonly long _blocks;
    private readonly int _blockSize;
    private readonly ReadWriteMode _mode;
    private readonly int _rwMixRead;
    private readonly long _totalIos;
    private readonly bool[]? _busy;
    private readonly ulong[] _rng = new ulong[4];
    private long _readCursor;
    private long _writeCursor;
    private long _issued;

    /// <param name="regionStart">First byte of the region (a multiple of bs).</param>
    /// <param name="regionLength">Length of the region.</param>
    /// <param name="blockSize">bs.</param>
    /// <param name="mode">rw.</param>
    /// <param name="rwMixRead">Percentage of reads for mixed modes.</param>
    /// <param name="totalIos">Requests to issue before <see cref="NextIo.Done"/>; negative: unbounded (time based).</param>
    /// <param name="seed">The job's seed.</param>
    /// <param name="thread">The thread's number within the job.</param>
    /// <param name="trackBusy">Refuse blocks with a request in flight (verify).</param>
    public OffsetSource(long regionStart, long regionLength, int blockSize, ReadWriteMode mode, int rwMixRead, long totalIos, ulong seed, int thread, bool trackBusy)
    {
        _regionStart = regionStart;
        _blockSize = blockSize;
        _blocks = Math.Max(1, regionLength / blockSize);
        _mode = mode;
        _rwMixRead = rwMixRead;
        _totalIos = totalIos;
        _busy = trackBusy ? new bool[_blocks] : null;
        ulong state = seed ^ (0xA0761D6478BD642FUL * (ulong)(thread + 1));
        for (int i = 0; i < _rng.Length; i++)
        {
            _rng[i] = SplitMix64(ref state);
        }
    }

    /// <summary>Blocks in the region.</summary>
    public long Blocks => _blocks;

    /// <summary>The block index of a file offset inside this region.</summary>
    public long BlockOf(long offset) => (offset - _regionStart) / _blockSize;

    /// <summary>The next request's offset and direction.</summary>
    public NextIo TryNext(out long offset, out bool isWrite)
    {
        offset = 0;
        isWrite = false;
        if (_totalIos >= 0 && _issued >= _totalIos)
        {
            return NextIo.Done;
        }

        isWrite = _mode switch
        {
            ReadWriteMode.Write or ReadWriteMode.RandWrite => true,
            ReadWriteMode.ReadWrite or ReadWriteMode.RandReadWrite => (long)NextBelow(100) >= _rwMixRead,
            _ => false,
        };

        long block;
        if (_mode.IsRandom())
        {
            block = (long)NextBelow((ulong)_blocks);
            for (int attempt = 0; _busy is not null && _busy[block] && attempt < 8; attempt++)
            {
                block = (long)NextBelow((ulong)_blocks);
            }
        }
        else
        {
            block = isWrite ? _writeCursor : _readCursor;
        }

        if (_busy is not null)
        {
            if (_busy[block])
            {
                return NextIo.Busy;
            }

            _busy[block] = true;
        }

        if (!_mode.IsRandom())
        {
            long next = block + 1 == _blocks ? 0 : block + 1;
            if (isWrite)
            {
                _writeCursor = next;
            }
            else
            {
                _readCursor = next;
            }
        }

        _issued++;
        offset = _regionStart + (block * _blockSize);
        return NextIo.Ready;
    }

    /// <summary>Marks the block at <paramref name="offset"/> free again (its request completed).</summary>
    public void Release(long offset)
    {
        if (_busy is not null)
        {
            _busy[BlockOf(offset)] = false;
        }
    }

    /// <summary>Uniform in [0, bound) by multiply-shift (Lemire), bias below 2^-64 · bound.</summary>
    private ulong NextBelow(ulong bound) => (ulong)(((UInt128)NextRandom() * bound) >> 64);

    // xoshiro256** (Blackman and Vigna).
    private ulong NextRandom()
    {
        ulong result = ulong.RotateLeft(_rng[1] * 5, 7) * 9;
        ulong t = _rng[1] << 17;
        _rng[2] ^= _rng[0];
        _rng[3] ^= _rng[1];
        _rng[1] ^= _rng[2];
        _rng[0] ^= _rng[3];
        _rng[2] ^= t;
        _rng[3] = ulong.RotateLeft(_rng[3], 45);
        return result;
    }

    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
