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

/// <summary>What <see cref="OffsetSource.TryNext(out long, out int, out bool, out bool)"/> produced.</summary>
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
    private bool _heldIsTrim;
    private bool _pairWrite; // trimwrite: the write of the block just trimmed is next
    private long _pairOffset;
    private int _pairLength;
    private readonly BlockSizeChoice _trimSizes;
    private readonly int _trimAlign;
    private readonly ulong _lfsrSeed;
    private readonly bool _lfsrWanted;
    private FullCycle? _lfsr;
    private readonly bool _zoned;
    private readonly long _zoneSize;
    private readonly long _zoneRange;
    private readonly long _zoneSkip;
    private long _zoneStart; // relative to the region
    private long _zoneBytes;
    private readonly long[]? _fileStarts; // several files: file i holds positions [this[i], this[i + 1])
    private readonly int _files;
    private readonly FileService _fileService;
    private readonly int _fileServiceIos;
    private readonly long[]? _fileCursors; // per file: read cursor, write cursor
    private int _file = -1;
    private int _fileTurnLeft;
    private long _fileBytes;
    private readonly BlockPicker? _filePicker; // file_service_type=zipf, pareto, normal

    /// <param name="regionStart">First byte of the region (a multiple of bs).</param>
    /// <param name="regionLength">Length of the region.</param>
    /// <param name="job">The job: rw and its modifier, rwmixread, the block sizes, blockalign, random_distribution.</param>
    /// <param name="totalBytes">Bytes to issue before <see cref="NextIo.Done"/>; negative: unbounded (time based).</param>
    /// <param name="seed">The job's seed.</param>
    /// <param name="thread">The thread's number within the job.</param>
    /// <param name="trackBusy">Refuse blocks with a request in flight (verify; the block size is then fixed).</param>
    /// <param name="fail">Told why the job fails its ratemin / rate_iops_min; the source then reports <see cref="NextIo.Done"/>.</param>
    /// <param name="flow">The thread's place in its flow group (fio's flow), or null.</param>
    /// <param name="fileStarts">Several files: the region holds the files one after another, file i from position [i] to [i + 1] (the last element: the region's length); null: one file.</param>
    public OffsetSource(long regionStart, long regionLength, JobSpec job, long totalBytes, ulong seed, int thread, bool trackBusy, Action<string>? fail = null, FlowMember? flow = null, long[]? fileStarts = null)
    {
        _fileStarts = fileStarts;
        _files = fileStarts is null ? 1 : fileStarts.Length - 1;
        _fileService = job.FileService;
        _fileServiceIos = Math.Max(1, job.FileServiceIos);
        _fileCursors = fileStarts is not null ? new long[_files * 2] : null;
        _filePicker = job.FileService == FileService.Distribution ? new BlockPicker(job.FileDistribution, NextRandom, 0x2545F4914F6CDD1DUL, 1) : null;
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
        _trimSizes = job.Sizes(Direction.Trim);
        _readAlign = job.Alignment(Direction.Read);
        _writeAlign = job.Alignment(Direction.Write);
        _trimAlign = job.Alignment(Direction.Trim);
        _skip = job.RwSkip;
        _randomRun = job.RandomRun;
        _busy = trackBusy ? new bool[_blocks] : null;
        ulong state = seed ^ (0xA0761D6478BD642FUL * (ulong)(thread + 1));
        for (int i = 0; i < _rng.Length; i++)
        {
            _rng[i] = SplitMix64(ref state);
        }

        _lfsrWanted = job.Lfsr;
        _lfsrSeed = SplitMix64(ref state);
        _zoned = job.ZoneStrided;
        _zoneSize = job.ZoneSize;
        _zoneRange = job.ZoneRange > 0 ? job.ZoneRange : job.ZoneSize;
        _zoneSkip = job.ZoneSkip;
        ulong scatterState = seed;
        _picker = new BlockPicker(job.Distribution, NextRandom, SplitMix64(ref scatterState), Math.Min(_readAlign, job.ReadWrite.HasTrims() && !job.ReadWrite.HasDataWrites() ? _trimAlign : _writeAlign));
    }

    /// <summary>Blocks of the fixed block size in the region.</summary>
    public long Blocks => _blocks;

    /// <summary>The block index of a file offset inside this region.</summary>
    public long BlockOf(long offset) => (offset - _regionStart) / _blockSize;

    /// <summary>The next request's offset, length and direction (a trim counts as a write).</summary>
    public NextIo TryNext(out long offset, out int length, out bool isWrite) => TryNext(out offset, out length, out isWrite, out _);

    /// <summary>The next request's offset, length and direction; <paramref name="isTrim"/>: a trim (with <paramref name="isWrite"/> set too).</summary>
    public NextIo TryNext(out long offset, out int length, out bool isWrite, out bool isTrim)
    {
        isTrim = false;
        if (_flow is not null && !_held && !_pairWrite && _totalBytes >= 0 && _issuedBytes >= _totalBytes)
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
            return Draw(out offset, out length, out isWrite, out isTrim);
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

            NextIo drawn = Draw(out _heldOffset, out _heldLength, out _heldIsWrite, out _heldIsTrim, force);
            if (drawn != NextIo.Ready)
            {
                (offset, length, isWrite) = (0, 0, false);
                return drawn;
            }

            _held = true;
            _heldDue = _pacer.Due(_heldIsWrite, _heldLength, now);
        }

        (offset, length, isWrite, isTrim) = (_heldOffset, _heldLength, _heldIsWrite, _heldIsTrim);
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

    private NextIo Draw(out long offset, out int length, out bool isWrite, out bool isTrim, bool? forceWrite = null)
    {
        offset = 0;
        length = 0;
        isWrite = false;
        isTrim = false;
        if (_pairWrite)
        {
            // trimwrite (fio's set_rw_ddir()): the write of the block just trimmed; it is the one of the pair that counts.
            _pairWrite = false;
            (offset, length, isWrite) = (_pairOffset, _pairLength, true);
            _issuedBytes += length;
            _issuedIos++;
            return NextIo.Ready;
        }

        if ((_totalBytes >= 0 && _issuedBytes >= _totalBytes) || (_numberIos > 0 && _issuedIos >= _numberIos))
        {
            return NextIo.Done;
        }

        isWrite = _mode switch
        {
            ReadWriteMode.ReadWrite or ReadWriteMode.RandReadWrite => (long)NextBelow(100) >= _rwMixRead,
            _ => _mode.HasWrites(),
        };
        isWrite = forceWrite ?? isWrite;
        isTrim = _mode.HasTrims();

        // The part of the region this request stays in: one file of several, or a strided zone.
        long zoneBase = 0;
        long zoneEnd = _regionLength;
        if (_fileCursors is not null)
        {
            // Several files (nrfiles, filename=a:b): the file of this request, fio's get_next_file().
            int previous = _file;
            _file = NextFile();
            if (_file != previous)
            {
                if (previous >= 0)
                {
                    (_fileCursors[previous * 2], _fileCursors[(previous * 2) + 1]) = (_readCursor, _writeCursor);
                }

                (_readCursor, _writeCursor) = (_fileCursors[_file * 2], _fileCursors[(_file * 2) + 1]);
                _readRun = _writeRun = 0;
            }

            zoneBase = _fileStarts![_file];
            zoneEnd = _fileStarts[_file + 1];
        }
        else if (_zoned)
        {
            // zonemode=strided (fio's setup_strided_zone_mode()): requests stay in the zone
            // [zoneStart, zoneStart + zonerange) until zonesize bytes went there, then the zone
            // moves zonerange + zoneskip on, back to the start past the region's end.
            if (_zoneBytes >= _zoneSize)
            {
                _zoneBytes = 0;
                _zoneStart += _zoneRange + _zoneSkip;
                if (_zoneStart >= _regionLength)
                {
                    _zoneStart = 0;
                }

                _readCursor = _writeCursor = _zoneStart;
                _readRun = _writeRun = 0;
            }

            zoneBase = _zoneStart;
            zoneEnd = Math.Min(_regionLength, _zoneStart + _zoneRange);
        }

        BlockSizeChoice sizes = isTrim ? _trimSizes : isWrite ? _writeSizes : _readSizes;
        length = sizes.IsFixed ? sizes.Min : sizes.Next(NextRandom());
        length = (int)Math.Min(length, zoneEnd - zoneBase);
        int align = isTrim ? _trimAlign : isWrite ? _writeAlign : _readAlign;
        ref long cursor = ref isWrite ? ref _writeCursor : ref _readCursor;
        ref int run = ref isWrite ? ref _writeRun : ref _readRun;

        long position; // relative to the region
        if (_mode.IsRandom() && (run <= 0 || cursor + length > zoneEnd || cursor < zoneBase))
        {
            long positions = ((zoneEnd - zoneBase - length) / align) + 1;
            if (_lfsrWanted && !_zoned)
            {
                // random_generator=lfsr: each position once per cycle (the block size is fixed, so positions are too).
                _lfsr ??= new FullCycle((ulong)positions, _lfsrSeed);
                position = (long)_lfsr.Next() * align;
            }
            else
            {
                position = zoneBase + (_picker.Next(positions) * align);
                for (int attempt = 0; _busy is not null && _busy[position / _blockSize] && attempt < 8; attempt++)
                {
                    position = zoneBase + (_picker.Next(positions) * align);
                }
            }

            run = _randomRun;
        }
        else
        {
            position = Math.Max(cursor, zoneBase);
            if (!_mode.IsRandom() && position != zoneBase && _skip != 0)
            {
                // fio's get_next_seq_offset(): the skip applies from the second request; past
                // either end, a hole-y run wraps to the start and a backwards one to the end.
                position += _skip;
                if (position < zoneBase || position >= zoneEnd)
                {
                    position = _skip > 0 ? zoneBase : zoneEnd + _skip;
                }
            }

            if (position < zoneBase || position + length > zoneEnd)
            {
                position = zoneBase;
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

        _zoneBytes += length;
        _fileBytes += length;
        if (_mode is ReadWriteMode.TrimWrite or ReadWriteMode.RandTrimWrite)
        {
            // The trim of a pair: its write (same offset and length) is the next request.
            (_pairWrite, _pairOffset, _pairLength) = (true, _regionStart + position, length);
            cursor = position + length;
            run--;
            offset = _regionStart + position;
            return NextIo.Ready;
        }

        cursor = position + length;

        run--;
        _issuedBytes += length;
        _issuedIos++;
        offset = _regionStart + position;
        return NextIo.Ready;
    }

    /// <summary>fio's file_service_type: the same file for N requests, then the next in turn, the next once this one's region is done, or one at random.</summary>
    private int NextFile()
    {
        if (_file >= 0 && --_fileTurnLeft > 0 && _fileService != FileService.Sequential)
        {
            return _file;
        }

        _fileTurnLeft = _fileServiceIos;
        int next = _fileService switch
        {
            FileService.Random => (int)NextBelow((ulong)_files),
            FileService.Distribution => (int)_filePicker!.Next(_files),
            FileService.Sequential => _file < 0 ? 0 : _fileBytes >= _fileStarts![_file + 1] - _fileStarts[_file] ? (_file + 1) % _files : _file,
            _ => (_file + 1) % _files,
        };
        if (next != _file)
        {
            _fileBytes = 0;
        }

        return next;
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

/// <summary>
/// random_generator=lfsr in kaio's terms: a full-period linear congruential sequence modulo the
/// next power of two (multiplier 5, odd increment: every value once per period, by the Hull–Dobell
/// theorem), scrambled by a bijection of the same bits (xor-shifts and an odd multiplier), with
/// values past n skipped. So each of n positions comes once before any comes again, in an order
/// that looks random, with O(1) state — what fio's LFSR gives.
/// </summary>
internal sealed class FullCycle
{
    private readonly ulong _n;
    private readonly ulong _mask;
    private readonly int _half;
    private readonly ulong _increment;
    private ulong _x;

    public FullCycle(ulong n, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfZero(n);
        _n = n;
        ulong period = System.Numerics.BitOperations.RoundUpToPowerOf2(Math.Max(n, 2));
        _mask = period - 1;
        _half = Math.Max(1, System.Numerics.BitOperations.Log2(period) / 2);
        _increment = (seed | 1) & _mask;
        _x = (seed >> 17) & _mask;
    }

    /// <summary>The next position in [0, n).</summary>
    public ulong Next()
    {
        while (true)
        {
            _x = ((_x * 5) + _increment) & _mask;
            ulong y = _x;
            y ^= y >> _half;
            y = (y * 0x9E3779B97F4A7C15UL) & _mask;
            y ^= y >> _half;
            if (y < _n)
            {
                return y;
            }
        }
    }
}
