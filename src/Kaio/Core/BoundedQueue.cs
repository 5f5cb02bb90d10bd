// Design: a bounded multi-producer queue (Vyukov's array queue with a sequence number per cell).
// It backs the completion ring. A cell is reusable only once its consumer has released it, so
// a consumer stalled between taking a cell and releasing it blocks that cell: the ring stays
// overflow-free only because its readers take turns (AioContext's ring_lock) and return the
// budget after releasing, so every unreleased cell is still covered by the budget — the
// kernel's aio_ring gets the same guarantee from reqs_available. No allocation after construction.
using System.Diagnostics;

namespace Kaio.Core;

internal sealed class BoundedQueue<T>
{
    private readonly Cell[] _cells;
    private readonly int _mask;
    private PaddedCounter _enqueuePos; // producers' CAS
    private PaddedCounter _dequeuePos; // consumers' CAS

    internal BoundedQueue(int minCapacity)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, minCapacity));
        _cells = new Cell[size];
        for (int i = 0; i < size; i++)
        {
            _cells[i].Sequence = i;
        }

        _mask = size - 1;
    }

    internal int Capacity => _cells.Length;

    /// <summary>Items in the queue; approximate while producers or consumers run.</summary>
    internal int Count => (int)Math.Max(0, Volatile.Read(ref _enqueuePos.Value) - Volatile.Read(ref _dequeuePos.Value));

    internal bool TryEnqueue(T item)
    {
        long pos = Volatile.Read(ref _enqueuePos.Value);
        while (true)
        {
            ref Cell cell = ref _cells[pos & _mask];
            // Acquire: pairs with the consumer's release store of Sequence in TryDequeue.
            long seq = Volatile.Read(ref cell.Sequence);
            long diff = seq - pos;
            if (diff == 0)
            {
                long seen = Interlocked.CompareExchange(ref _enqueuePos.Value, pos + 1, pos);
                if (seen == pos)
                {
                    cell.Item = item;
                    // Release: publishes Item to the consumer's acquire read of Sequence.
                    Volatile.Write(ref cell.Sequence, pos + 1);
                    return true;
                }

                pos = seen;
            }
            else if (diff < 0)
            {
                return false; // full
            }
            else
            {
                pos = Volatile.Read(ref _enqueuePos.Value);
            }
        }
    }

    internal bool TryDequeue(out T item)
    {
        long pos = Volatile.Read(ref _dequeuePos.Value);
        while (true)
        {
            ref Cell cell = ref _cells[pos & _mask];
            // Acquire: pairs with the producer's release store of Sequence in TryEnqueue.
            long seq = Volatile.Read(ref cell.Sequence);
            long diff = seq - (pos + 1);
            if (diff == 0)
            {
                long seen = Interlocked.CompareExchange(ref _dequeuePos.Value, pos + 1, pos);
                if (seen == pos)
                {
                    item = cell.Item;
                    cell.Item = default!;
                    // Release: hands the cell back to producers one lap later.
                    Volatile.Write(ref cell.Sequence, pos + _mask + 1);
                    return true;
                }

                pos = seen;
            }
            else if (diff < 0)
            {
                item = default!;
                return false; // empty
            }
            else
            {
                pos = Volatile.Read(ref _dequeuePos.Value);
            }
        }
    }

    /// <summary>Enqueues where the caller guarantees room (a bounded producer count).</summary>
    internal void Enqueue(T item)
    {
        bool ok = TryEnqueue(item);
        if (!ok)
        {
            // An overflow means the budget invariant broke: fail fast rather than lose an event.
            Debug.Fail("bounded queue overflow");
            Environment.FailFast("Kaio: completion ring overflow (in-flight exceeded capacity)");
        }
    }

    private struct Cell
    {
        public long Sequence;
        public T Item;
    }
}
