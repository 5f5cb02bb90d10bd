// Design: where a job thread's next request goes and how long it is (fio's io_u.c:
// get_next_offset(), get_next_buflen() and get_rw_ddir()). Lengths come from the direction's block
// size choice (bs, bsrange, bssplit); random offsets are multiples of blockalign (default: the
// direction's smallest size) drawn by the job's random_distribution (uniform: fio's norandommap
// behaviour) from a xoshiro256** generator seeded by the job's seed and the thread's number, so a
// run is repeatable; sequential reads and writes keep separate cursors, move by each request's
// length plus rw's skip (`rw=write:4k` leaves 4k holes, `rw=read:-8k` reads backwards, as fio
// does) and wrap at the end of the region; `rw=randread:8` takes a new random offset every 8
// requests and goes on sequentially in between. When verifying (a fixed bs), no two requests in
// flight may touch the same block (the final content would depend on completion order), so busy
// blocks are skipped. Thread-safety: one owner at a time (the awaited runners call it under their lock).
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Workloads;

/// <summary>What <see cref="OffsetSource.TryNext"/> produced.</summary>
internal enum NextIo
{
    /// <summary>An offset, a length and a direction.</summary>
    Ready,
    /// <summary>The candidate block is in flight; try again after a completion.</summary>
    Busy,
    /// <summary>The job's I/O is all issued.</summary>
    Done,
    /// <summary>Paced (rate, rate_iops, thinktime): the next request is due later; try again after a short sleep.</summary>
    Later,
}

/// <summary>Offsets, lengths and directions for one job thread.</summary>
internal sealed class OffsetSource
{
    private readonly long _regionStart;
    private readonly long _regionLength;
    private readonly long _blocks;
    private readonly int _blockSize;
    private readonly ReadWriteMode _mode;
    private readonly int _rwMixRead;
    private readonly long _totalBytes;
    private readonly BlockSizeChoice _readSizes;
    private readonly BlockSizeChoice _writeSizes;
    private readonly int _readAlign;
    private readonly int _writeAlign;
    private readonly long _skip;
    private readonly int _randomRun;
    private readonly BlockPicker _picker;
    private readonly bool[]? _busy;
    private readonly ulong[] _rng = new ulong[4];
    private long _readCursor;
    private long _writeCursor;
    private int _readRun;
    private int _writeRun;
    private long _issuedBytes;
    private long _issuedIos;
    private readonly long _numberIos;
    private readonly Pacer? _pacer;
    private readonly Action<string>? _fail;
    private readonly FlowMember? _flow;
    private bool _held;
    private long _heldDue;
    private long _heldOffset;
    private int _heldLength;
    private bool _heldIsWrite;

    /// <param name="regionStart">First byte of the region (a multiple of bs).</param>
    /// <param name="regionLength">Length of the region.</param>
    /// <param name="job">The job: rw and its modifier, rwmixread, the block sizes, blockalign, random_distribution.</param>
    /// <param name="totalBytes">Bytes to issue before <see cref="NextIo.Done"/>; negative: unbounded (time based).</param>
    /// <param name="seed">The job's seed.</param>
    /// <param name="thread">The thread's number within the job.</param>
    /// <param name="trackBusy">Refuse blocks with a request in flight (verify; the block size is then fixed).</param>
    /// <param name="fail">Told why the job fails its ratemin / rate_iops_min; the source then reports <see cref="NextIo.Done"/>.</param>
    /// <param name="flow">The thread's place in its flow group (fio's flow), or null.</param>
    public OffsetSource(long regionStart, long regionLength, JobSpec job, long totalBytes, ulong seed, int thread, bool trackBusy, Action<string>? fail = null, FlowMember? flow = null)
    {
        _flow = flow;
        _numberIos = job.NumberIos;
        _fail = fail;
        _pacer = Pacer.Applies(job.Rate) ? new Pacer(job.Rate, () => (NextRandom() >> 11) * (1.0 / (1UL << 53))) : null;
        _regionStart = regionStart;
        _regionLength = regionLength;
        _blockSize = job.BlockSize;
        _blocks = Math.Max(1, regionLength / _blockSize);
        _mode = job.ReadWrite;
        _rwMixRead = job.RwMixRead;
        _totalBytes = totalBytes;
        _readSizes = job.Sizes(Direction.Read);
        _writeSizes = job.Sizes(Direction.Write);
        _readAlign = job.Alignment(Direction.Read);
        _writeAlign = job.Alignment(Direction.Write);
        _skip = job.RwSkip;
        _randomRun = job.RandomRun;
        _busy = trackBusy ? new bool[_blocks] : null;
        ulong state = seed ^ (0xA0761D6478BD642FUL * (ulong)(thread + 1));
        for (int i = 0; i < _rng.Length; i++)
        {
            _rng[i] = SplitMix64(ref state);
        }

        ulong scatterState = seed;
        _picker = new BlockPicker(job.Distribution, NextRandom, SplitMix64(ref scatterState), Math.Min(_readAlign, _writeAlign));
    }

    /// <summary>Blocks of the fixed block size in the region.</summary>
    public long Blocks => _blocks;

    /// <summary>The block index of a file offset inside this region.</summary>
    public long BlockOf(long offset) => (offset - _regionStart) / _blockSize;

    /// <summary>The next request's offset, length and direction.</summary>
    public NextIo TryNext(out long offset, out int length, out bool isWrite)
    {
        if (_flow is not null && !_held && _totalBytes >= 0 && _issuedBytes >= _totalBytes)
        {
            (offset, length, isWrite) = (0, 0, false);
            return NextIo.Done;
        }

        if (_flow is not null && !_flow.TryIssue())
        {
            (offset, length, isWrite) = (0, 0, false);
            return NextIo.Later;
        }

        if (_pacer is null)
        {
            return Draw(out offset, out length, out isWrite);
        }

        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (!_held)
        {
            bool? force = null;
            if (_mode is ReadWriteMode.ReadWrite or ReadWriteMode.RandReadWrite)
            {
                bool readWaits = _pacer.Peek(false, now) > now;
                bool writeWaits = _pacer.Peek(true, now) > now;
                force = readWaits == writeWaits ? null : readWaits;
            }

            NextIo drawn = Draw(out _heldOffset, out _heldLength, out _heldIsWrite, force);
            if (drawn != NextIo.Ready)
            {
                (offset, length, isWrite) = (0, 0, false);
                return drawn;
            }

            _held = true;
            _heldDue = _pacer.Due(_heldIsWrite, _heldLength, now);
        }

        (offset, length, isWrite) = (_heldOffset, _heldLength, _heldIsWrite);
        if (now < _heldDue)
        {
            return NextIo.Later;
        }

        _held = false;
        if (_pacer.Issued(isWrite, length, now) is { } failure)
        {
            _fail?.Invoke(failure);
            Release(offset);
            return NextIo.Done;
        }

        return NextIo.Ready;
    }

    private NextIo Draw(out long offset, out int length, out bool isWrite, bool? forceWrite = null)
    {
        offset = 0;
        length = 0;
        isWrite = false;
        if ((_totalBytes >= 0 && _issuedBytes >= _totalBytes) || (_numberIos > 0 && _issuedIos >= _numberIos))
        {
            return NextIo.Done;
        }

        isWrite = _mode switch
        {
            ReadWriteMode.Write or ReadWriteMode.RandWrite => true,
            ReadWriteMode.ReadWrite or ReadWriteMode.RandReadWrite => (long)NextBelow(100) >= _rwMixRead,
            _ => false,
        };
        isWrite = forceWrite ?? isWrite;

        BlockSizeChoice sizes = isWrite ? _writeSizes : _readSizes;
        length = sizes.IsFixed ? sizes.Min : sizes.Next(NextRandom());
        length = (int)Math.Min(length, _regionLength);
        int align = isWrite ? _writeAlign : _readAlign;
        ref long cursor = ref isWrite ? ref _writeCursor : ref _readCursor;
        ref int run = ref isWrite ? ref _writeRun : ref _readRun;

        long position; // relative to the region
        if (_mode.IsRandom() && (run <= 0 || cursor + length > _regionLength))
        {
            long positions = ((_regionLength - length) / align) + 1;
            position = _picker.Next(positions) * align;
            for (int attempt = 0; _busy is not null && _busy[position / _blockSize] && attempt < 8; attempt++)
            {
                position = _picker.Next(positions) * align;
            }

            run = _randomRun;
        }
        else
        {
            position = cursor;
            if (!_mode.IsRandom() && position != 0 && _skip != 0)
            {
                // fio's get_next_seq_offset(): the skip applies from the second request; past
                // either end, a hole-y run wraps to the start and a backwards one to the end.
                position += _skip;
                if (position < 0 || position >= _regionLength)
                {
                    position = _skip > 0 ? 0 : _regionLength + _skip;
                }
            }

            if (position < 0 || position + length > _regionLength)
            {
                position = 0;
            }
        }

        if (_busy is not null)
        {
            long block = position / _blockSize;
            if (_busy[block])
            {
                return NextIo.Busy;
            }

            _busy[block] = true;
        }

        cursor = position + length;

        run--;
        _issuedBytes += length;
        _issuedIos++;
        offset = _regionStart + position;
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
