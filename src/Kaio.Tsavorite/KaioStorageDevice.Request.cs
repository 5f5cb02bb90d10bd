// Design: one Tsavorite read or write on its way through Kaio. A request is pooled by its device
// and used by one I/O at a time: Start fills it, Issue hands its buffer (Tsavorite's pointer and
// length, as they are: the context's native-buffer ReadAsync/WriteAsync) and registers a cached
// continuation on the ValueTask's awaiter (no allocation: the awaiter passes the cached Action to the
// context's pooled IValueTaskSource), OnAwaited takes the result, continues a short write, and
// Deliver returns the request to the pool and invokes Tsavorite's callback exactly once.
// With KaioDeviceOptions.InlineCompletions (the default), Issue submits an Iocb whose callback is the request
// itself, run inline (Iocb.CallbackRunsInline): OnCompleted takes the event on the thread that
// delivers it — io_uring's or Linux AIO's reaper, a thread-pool engine worker, or the submitter
// when the request completes inside Submit — and Tsavorite's callback runs there, with no pool hop.
// Threading: Start runs on the submitter; OnCompleted where Kaio delivers (inline); OnAwaited on the
// thread pool (the context's continuation) or, when the ValueTask completed inside the call, on a
// thread-pool work item (Execute); a submit to retry (EAGAIN) or a failure before submit goes to a
// thread-pool work item too, so without InlineCompletions Tsavorite's callback never runs on the
// submitting thread. Only one of these runs at a time for a request, each handing over to the
// next through the context or the thread-pool queue (both publish with a full barrier), so its
// fields need no further synchronisation.
using System.Runtime.CompilerServices;
using Tsavorite.core;

namespace Kaio.Tsavorite;

public sealed partial class KaioStorageDevice
{
    private sealed class IoRequest : IThreadPoolWorkItem, IIoCompletionCallback
    {
        private readonly KaioStorageDevice _device;
        private readonly Action _onAwaited;
        private IntPtr _buffer;

        private DeviceIOCompletionCallback? _callback;
        private object? _callbackContext;
        private SafeFileHandle? _handle;
        private int _segment;
        private bool _isWrite;
        private ulong _offset;
        private uint _length;
        private uint _done;

        private ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter _awaiter;
        private WorkItem _next;
        private int _eagainRetries;
        private int _errno;
        private Exception? _exception;

        public IoRequest(KaioStorageDevice device)
        {
            _device = device;
            _onAwaited = OnAwaited;
        }

        /// <summary>What Execute does when this request runs as a thread-pool work item.</summary>
        private enum WorkItem
        {
            Awaited,
            Issue,
            Deliver,
        }

        public void Start(int segment, bool isWrite, IntPtr buffer, ulong offset, uint length, DeviceIOCompletionCallback callback, object? callbackContext)
        {
            _callback = callback;
            _callbackContext = callbackContext;
            _segment = segment;
            _isWrite = isWrite;
            _offset = offset;
            _length = length;
            _done = 0;
            _eagainRetries = 0;
            _errno = 0;
            _exception = null;

            if (callback is null)
            {
                Fail(Errno.EINVAL, new ArgumentNullException(nameof(callback)));
                return;
            }

            if (length > int.MaxValue || offset > (ulong)long.MaxValue - length || (buffer == IntPtr.Zero && length != 0))
            {
                Fail(Errno.EINVAL, null);
                return;
            }

            _buffer = buffer;
            try
            {
                _handle = _device.GetOrOpenSegment(segment);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                Fail(ErrnoOf(e), e);
                return;
            }

            Issue();
        }

        /// <summary>Submits the part not yet done.</summary>
        private void Issue()
        {
            try
            {
                nint buffer = _buffer + (nint)_done;
                int length = (int)(_length - _done);
                long offset = (long)_offset + _done;
                if (_device._options.InlineCompletions)
                {
                    // The completion comes to OnCompleted on the delivering thread (Kaio's
                    // CallbackRunsInline): no thread-pool hop between the kernel and Tsavorite.
                    Span<Iocb> one = [_isWrite ? Iocb.PrepPwrite(_handle!, buffer, length, offset) : Iocb.PrepPread(_handle!, buffer, length, offset)];
                    one[0].Callback = this;
                    one[0].CallbackRunsInline = true;
                    _device._context.Submit(one);
                    return;
                }

                ValueTask<int> pending = _isWrite
                    ? _device._context.WriteAsync(_handle!, buffer, length, offset)
                    : _device._context.ReadAsync(_handle!, buffer, length, offset);
                _awaiter = pending.ConfigureAwait(false).GetAwaiter();
                if (_awaiter.IsCompleted)
                {
                    Schedule(WorkItem.Awaited);
                }
                else
                {
                    _awaiter.UnsafeOnCompleted(_onAwaited);
                }
            }
            catch (AioException e) when (e.Errno == Errno.EAGAIN)
            {
                // A context that refuses when full (AioFullBehavior.Refuse): try again from the
                // pool, yielding first and backing off past a few refusals. Never dropped.
                _eagainRetries++;
                Schedule(WorkItem.Issue);
            }
            catch (Exception e)
            {
                // Refused at submit (EBADF for a handle removed underneath, ObjectDisposedException
                // for a disposed context, ...): reported through the callback, not thrown at Tsavorite.
                Fail(ErrnoOf(e), e);
            }
        }

        private void OnAwaited()
        {
            int res;
            try
            {
                res = _awaiter.GetResult();
            }
            catch (Exception e)
            {
                _awaiter = default;
                _errno = ErrnoOf(e);
                _exception = e;
                Deliver();
                return;
            }

            _awaiter = default;
            OnResult(res);
        }

        void IIoCompletionCallback.OnCompleted(in IoEvent ioEvent)
        {
            if (ioEvent.Result < 0)
            {
                _errno = (int)-ioEvent.Result;
                Deliver();
                return;
            }

            OnResult((int)ioEvent.Result);
        }

        /// <summary>A successful result: continues a short write, else delivers.</summary>
        private void OnResult(int res)
        {
            _done += (uint)res;
            if (_isWrite && _done < _length)
            {
                if (res > 0)
                {
                    Issue(); // a short write: the rest, from where it stopped
                    return;
                }

                _errno = Errno.EIO; // a write that writes nothing would loop forever
            }

            Deliver();
        }

        void IThreadPoolWorkItem.Execute()
        {
            switch (_next)
            {
                case WorkItem.Awaited:
                    OnAwaited();
                    break;
                case WorkItem.Issue:
                    if (_eagainRetries > 16)
                    {
                        Thread.Sleep(1);
                    }
                    else
                    {
                        Thread.Yield();
                    }

                    Issue();
                    break;
                default:
                    Deliver();
                    break;
            }
        }

        private void Schedule(WorkItem next)
        {
            _next = next;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        private void Fail(int errno, Exception? exception)
        {
            _errno = errno;
            _exception = exception;
            Schedule(WorkItem.Deliver);
        }

        /// <summary>Returns the request to the pool and invokes Tsavorite's callback, once.</summary>
        private void Deliver()
        {
            KaioStorageDevice device = _device;
            DeviceIOCompletionCallback? callback = _callback;
            object? callbackContext = _callbackContext;
            uint errorCode = (uint)_errno;
            uint bytes = _errno == 0 ? _done : 0;
            bool isWrite = _isWrite;
            Exception? exception = _errno == 0 ? null : AsIOException(_exception);

            _callback = null;
            _callbackContext = null;
            _handle = null;
            _exception = null;
            _buffer = IntPtr.Zero;
            device.Return(this);

            Interlocked.Increment(ref isWrite ? ref device._completedWrites : ref device._completedReads);
            try
            {
                callback?.Invoke(errorCode, bytes, callbackContext!, exception!);
            }
            finally
            {
                device.EndRequest();
            }

            IOException AsIOException(Exception? e)
            {
                string what = $"{(isWrite ? "write" : "read")} of {_length} bytes at offset {_offset} of segment {_segment} of '{device.FileName}' failed: {Errno.Name(_errno)} ({Errno.Describe(_errno)})";
                return e switch
                {
                    IOException io => io,
                    null => new AioException(_errno, what),
                    _ => new IOException(what, e),
                };
            }
        }

        /// <summary>The errno behind an exception of the open or submit path.</summary>
        private static int ErrnoOf(Exception e) => e switch
        {
            AioException aio => aio.Errno,
            { InnerException: AioException aio } => aio.Errno,
            OperationCanceledException => Errno.ECANCELED,
            ObjectDisposedException => Errno.EBADF,
            FileNotFoundException or DirectoryNotFoundException => Errno.ENOENT,
            UnauthorizedAccessException => Errno.EACCES,
            _ => Errno.EIO,
        };
    }
}
