#!/usr/bin/env bash
# Runs the same workloads through fio and through kaio (Kaio's engines and .NET RandomAccess) on
# this machine, in one invocation, and prints one table of IOPS, CPU per operation and completion
# latency with the ratios kaio/fio and kaio/RandomAccess. See bench/README.md.
#
# usage: bench/compare-fio.sh [quick|full|SET...]
#   quick       page cache, O_DIRECT and null engine at QD32 only (~1.5 min at RUNTIME=5)
#   full        every set below at every depth (~15 min at RUNTIME=5)
#   pagecache   4 KiB randread from the page cache, one submitting thread
#   pagecache2  the same from two submitting threads (numjobs=2)
#   direct      4 KiB randread with O_DIRECT
#   write       4 KiB randwrite with O_DIRECT, plain and DSYNC
#   wal         durable appends: 4 KiB sequential writes to a buffered file, each DSYNC, 64 in
#               flight (a write-ahead log; Kaio group-commits them)
#   null        the null engines: the cost of the machinery per operation
#   await       the awaitable face (issue 9): AWAIT_QDS tasks per run, each awaiting one 4 KiB
#               random read at a time (kaio ENGINE:await, .NET RandomAccess), page cache and
#               O_DIRECT, beside fio io_uring and libaio at the same depth
#
# environment:
#   RUNTIME=5         seconds measured per run (after RAMP)
#   RAMP=1            seconds run before measuring (fio's and kaio's ramp_time)
#   QDS="1 32 128"    queue depths for the sets (quick: 32)
#   WRITE_QDS="1 32"  queue depths for the write set (quick: 32)
#   AWAIT_QDS="1 8 32"  concurrent awaiting tasks for the await set
#   RA_RUNS=3         runs of .NET RandomAccess per workload (it is bimodal here)
#   ROUNDS=1          run the whole selection this many times, interleaved; each row then shows
#                     one run (PICK) and the IOPS range of all (the machine is shared and noisy)
#   PICK=best         best: the run with the highest IOPS (other tenants only slow runs down);
#                     median: the median run
#   DATA_DIR=bench/.data   where the 1 GiB test files live (must be a disk, not tmpfs)
#   SIZE=1g           size of the test files
#   RESULTS=bench/results/<UTC timestamp>   where raw JSON goes
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

RUNTIME="${RUNTIME:-5}"
RAMP="${RAMP:-1}"
RA_RUNS="${RA_RUNS:-3}"
ROUNDS="${ROUNDS:-1}"
PICK="${PICK:-best}"
DATA_DIR="${DATA_DIR:-$here/.data}"
SIZE="${SIZE:-1g}"
RESULTS="${RESULTS:-$here/results/$(date -u +%Y%m%dT%H%M%SZ)}"
# Both tools get milliseconds: kaio refuses fractional seconds (fio would misread some).
runtime_ms="$(awk -v s="$RUNTIME" 'BEGIN { printf "%d", s * 1000 }')"
ramp_ms="$(awk -v s="$RAMP" 'BEGIN { printf "%d", s * 1000 }')"

die() { echo "compare-fio: $*" >&2; exit 1; }

mode="${1:-quick}"
sets=()
case "$mode" in
    quick) sets=(pagecache direct null); QDS="${QDS:-32}"; WRITE_QDS="${WRITE_QDS:-32}"; quick=1 ;;
    full) sets=(pagecache pagecache2 direct write wal null await); quick=0 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) sets=("$@"); quick=0 ;;
esac
QDS="${QDS:-1 32 128}"
WRITE_QDS="${WRITE_QDS:-1 32}"
AWAIT_QDS="${AWAIT_QDS:-1 8 32}"
for s in "${sets[@]}"; do
    case "$s" in pagecache|pagecache2|direct|write|wal|null|await) ;; *) die "unknown set '$s' (quick, full, pagecache, pagecache2, direct, write, wal, null, await)" ;; esac
done

# --- tools -----------------------------------------------------------------------------------
need_apt=()
command -v fio >/dev/null || need_apt+=(fio)
command -v python3 >/dev/null || need_apt+=(python3)
if ((${#need_apt[@]})); then
    echo "compare-fio: installing ${need_apt[*]} (Debian packages)" >&2
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null || die "could not install ${need_apt[*]}"
fi

echo "compare-fio: building kaio (Release)" >&2
dotnet build -c Release "$repo/src/Kaio.Cli" -nologo -v q >"${TMPDIR:-/tmp}/compare-fio-build.log" 2>&1 \
    || { tail -20 "${TMPDIR:-/tmp}/compare-fio-build.log" >&2; die "kaio did not build"; }
kaio_dll="$(ls "$repo"/src/Kaio.Cli/bin/Release/net*/Kaio.Cli.dll 2>/dev/null | head -1)"
[[ -n "$kaio_dll" ]] || die "no Kaio.Cli.dll under src/Kaio.Cli/bin/Release"
# Run a private copy: others may rebuild src/ while this runs, and every row must use one build.
mkdir -p "$RESULTS" || die "cannot create $RESULTS"
cp -r "$(dirname "$kaio_dll")" "$RESULTS/kaio-bin" && rm -rf "$RESULTS/kaio-bin/publish" || die "cannot copy kaio to $RESULTS"
kaio_dll="$RESULTS/kaio-bin/Kaio.Cli.dll"

# --- test files ------------------------------------------------------------------------------
mkdir -p "$DATA_DIR" "$RESULTS" || die "cannot create $DATA_DIR or $RESULTS"
fstype="$(stat -f -c %T "$DATA_DIR")"
[[ "$fstype" == tmpfs || "$fstype" == ramfs ]] && die "$DATA_DIR is on $fstype: O_DIRECT and page-cache numbers would mean nothing; set DATA_DIR to a disk"
read_file="$DATA_DIR/read.dat"
write_file="$DATA_DIR/write.dat"
size_bytes="$(python3 -c "import sys; s=sys.argv[1].lower(); m={'k':1<<10,'m':1<<20,'g':1<<30}; print(int(s[:-1])*m[s[-1]] if s[-1] in m else int(s))" "$SIZE")"

lay_out() {
    local file="$1"
    if [[ -f "$file" && "$(stat -c %s "$file")" -eq "$size_bytes" ]]; then return; fi
    echo "compare-fio: laying out $file ($SIZE)" >&2
    rm -f "$file"
    fio --name=layout --filename="$file" --size="$SIZE" --rw=write --bs=1m --ioengine=psync \
        --end_fsync=1 --output=/dev/null || die "could not lay out $file"
}
lay_out "$read_file"
needs_write=0
for s in "${sets[@]}"; do [[ "$s" == write || "$s" == wal ]] && needs_write=1; done
((needs_write)) && lay_out "$write_file"

# fio and kaio invalidate a file's cache before each job unless invalidate=0 (their default is 1);
# both get --invalidate=0, and page-cache sets warm the file first.
warm() {
    cat "$read_file" >/dev/null
}

# --- runs ------------------------------------------------------------------------------------
manifest="$RESULTS/manifest.tsv"
: >"$manifest"
run_no=0
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "command: $0 $*"
    echo "RUNTIME=$RUNTIME RAMP=$RAMP QDS=\"$QDS\" WRITE_QDS=\"$WRITE_QDS\" RA_RUNS=$RA_RUNS ROUNDS=$ROUNDS PICK=$PICK SIZE=$SIZE DATA_DIR=$DATA_DIR ($fstype)"
    echo "kernel: $(uname -r); cpus: $(nproc); $(fio --version); dotnet $(dotnet --version)"
    echo "kaio: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null)$(git -C "$repo" diff --quiet -- src 2>/dev/null || echo ' (src modified)'); Kaio.dll sha256 $(sha256sum "$RESULTS/kaio-bin/Kaio.dll" | cut -c1-16)"
} >"$RESULTS/run-info.txt"

# run GROUP LABEL KIND CLASS -- command...
run() {
    local group="$1" label="$2" kind="$3" cls="$4"
    shift 5
    run_no=$((run_no + 1))
    local id
    id="$(printf '%03d' "$run_no")-$(echo "$group $label" | tr -c 'A-Za-z0-9' '-' | tr -s '-' | sed 's/-$//')"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$group" "$label" "$kind" "$cls" "$round" >>"$manifest"
    printf '%s\n' "$*" >"$RESULTS/$id.cmd"
    printf 'compare-fio: %s %-44s %-40s' "$round/$ROUNDS" "$group" "$label" >&2
    if python3 "$here/lib/cpurun.py" "$RESULTS/$id.json" "$RESULTS/$id.err" "$RESULTS/$id.meta.json" "$RUNTIME" -- "$@"; then
        echo " ok" >&2
    else
        echo " FAILED: $(grep -m1 . "$RESULTS/$id.err" 2>/dev/null | cut -c1-100)" >&2
    fi
}

# fio_job GROUP LABEL CLASS RW QD NUMJOBS extra-args...
fio_job() {
    local group="$1" label="$2" cls="$3" rw="$4" qd="$5" nj="$6" file="$read_file"
    shift 6
    [[ "$rw" == randwrite || "$rw" == write ]] && file="$write_file"
    run "$group" "$label" fio "$cls" -- fio --name=bench --filename="$file" --size="$SIZE" \
        --rw="$rw" --bs=4k --iodepth="$qd" --numjobs="$nj" --runtime="${runtime_ms}ms" --ramp_time="${ramp_ms}ms" \
        --time_based --norandommap --randrepeat=0 --invalidate=0 --thread --group_reporting --output-format=json "$@"
}

# kaio_job GROUP LABEL KIND CLASS RW QD NUMJOBS extra-args...
kaio_job() {
    local group="$1" label="$2" kind="$3" cls="$4" rw="$5" qd="$6" nj="$7" file="$read_file"
    shift 7
    [[ "$rw" == randwrite || "$rw" == write ]] && file="$write_file"
    run "$group" "$label" "$kind" "$cls" -- dotnet "$kaio_dll" bench --name=bench --filename="$file" \
        --size="$SIZE" --rw="$rw" --bs=4k --iodepth="$qd" --numjobs="$nj" --runtime="${runtime_ms}ms" \
        --ramp_time="${ramp_ms}ms" --time_based --randrepeat=0 --invalidate=0 --output-format=json "$@"
}

# peers GROUP RW QD JOBS [fio/kaio extra args...]: every runner on one workload.
peers() {
    local group="$1" rw="$2" qd="$3" nj="$4"
    shift 4
    local extra=("$@") i
    kaio_job "$group" "kaio io_uring" kaio io_uring "$rw" "$qd" "$nj" --ioengine=io_uring "${extra[@]}"
    # Both tools submit one request per call and reap one completion per call by default
    # (iodepth_batch_submit=1, iodepth_batch_complete_max = its min, 1); kaio's best setting on the
    # page cache is every free slot in one call and every completion in one reap, shown beside
    # fio's best.
    ((qd > 1)) && kaio_job "$group" "kaio io_uring batch all" kaio io_uring "$rw" "$qd" "$nj" --ioengine=io_uring \
        --iodepth_batch_submit=0 --iodepth_batch_complete_max="$qd" "${extra[@]}"
    kaio_job "$group" "kaio io_uring:await ($qd tasks)" kaio io_uring "$rw" "$qd" "$nj" --ioengine=io_uring:await "${extra[@]}"
    fio_job "$group" "fio io_uring" io_uring "$rw" "$qd" "$nj" --ioengine=io_uring "${extra[@]}"
    fio_job "$group" "fio io_uring batch8+regfiles+fixedbufs" io_uring-best "$rw" "$qd" "$nj" --ioengine=io_uring \
        --iodepth_batch_submit=8 --registerfiles --fixedbufs "${extra[@]}"
    kaio_job "$group" "kaio libaio" kaio libaio "$rw" "$qd" "$nj" --ioengine=libaio "${extra[@]}"
    fio_job "$group" "fio libaio" libaio "$rw" "$qd" "$nj" --ioengine=libaio "${extra[@]}"
    if ((quick == 0)); then
        kaio_job "$group" "kaio threadpool" kaio sync "$rw" "$qd" "$nj" --ioengine=threadpool "${extra[@]}"
        # psync is synchronous: QD outstanding requests need QD threads of iodepth 1.
        fio_job "$group" "fio psync ×$((qd * nj)) threads" sync "$rw" 1 $((qd * nj)) --ioengine=psync "${extra[@]}"
    fi
    for ((i = 1; i <= RA_RUNS; i++)); do
        kaio_job "$group" ".NET RandomAccess #$i" ra ra "$rw" "$qd" "$nj" --ioengine=randomaccess "${extra[@]}"
    done
}

for ((round = 1; round <= ROUNDS; round++)); do
for s in "${sets[@]}"; do
    case "$s" in
    pagecache)
        for qd in $QDS; do warm; peers "page cache randread QD$qd, 1 job" randread "$qd" 1; done ;;
    pagecache2)
        for qd in $QDS; do warm; peers "page cache randread QD$qd, 2 jobs" randread "$qd" 2; done ;;
    direct)
        for qd in $QDS; do
            if ((quick)); then
                g="O_DIRECT randread QD$qd"
                kaio_job "$g" "kaio io_uring" kaio io_uring randread "$qd" 1 --ioengine=io_uring --direct=1
                fio_job "$g" "fio io_uring" io_uring randread "$qd" 1 --ioengine=io_uring --direct=1
                kaio_job "$g" ".NET RandomAccess #1" ra ra randread "$qd" 1 --ioengine=randomaccess --direct=1
            else
                peers "O_DIRECT randread QD$qd" randread "$qd" 1 --direct=1
            fi
        done ;;
    write)
        for qd in $WRITE_QDS; do
            peers "O_DIRECT randwrite QD$qd" randwrite "$qd" 1 --direct=1
            # fio's sync=dsync opens with O_DSYNC; kaio's dsync sets RWF_DSYNC on every write
            # (RandomAccess: O_DSYNC). Both make every write durable before it completes.
            g="O_DIRECT randwrite dsync QD$qd"
            kaio_job "$g" "kaio io_uring (RWF_DSYNC)" kaio io_uring randwrite "$qd" 1 --ioengine=io_uring --direct=1 --dsync
            fio_job "$g" "fio io_uring (O_DSYNC)" io_uring randwrite "$qd" 1 --ioengine=io_uring --direct=1 --sync=dsync
            kaio_job "$g" "kaio libaio (RWF_DSYNC)" kaio libaio randwrite "$qd" 1 --ioengine=libaio --direct=1 --dsync
            fio_job "$g" "fio libaio (O_DSYNC)" libaio randwrite "$qd" 1 --ioengine=libaio --direct=1 --sync=dsync
            kaio_job "$g" "kaio threadpool (RWF_DSYNC)" kaio sync randwrite "$qd" 1 --ioengine=threadpool --direct=1 --dsync
            fio_job "$g" "fio psync ×$qd threads (O_DSYNC)" sync randwrite 1 "$qd" --ioengine=psync --direct=1 --sync=dsync
            for ((i = 1; i <= RA_RUNS; i++)); do
                kaio_job "$g" ".NET RandomAccess #$i (O_DSYNC)" ra ra randwrite "$qd" 1 --ioengine=randomaccess --direct=1 --dsync
            done
        done ;;
    wal)
        # A write-ahead log's appends: every write durable before its event (fio: O_DSYNC;
        # kaio: RWF_DSYNC, group-committed; RandomAccess: O_DSYNC), 64 in flight.
        g="durable 4 KiB writes (DSYNC), sequential, buffered, 64 in flight"
        kaio_job "$g" "kaio io_uring (RWF_DSYNC)" kaio io_uring write 64 1 --ioengine=io_uring --dsync
        fio_job "$g" "fio io_uring (O_DSYNC)" io_uring write 64 1 --ioengine=io_uring --sync=dsync
        kaio_job "$g" "kaio libaio (RWF_DSYNC)" kaio libaio write 64 1 --ioengine=libaio --dsync
        fio_job "$g" "fio libaio (O_DSYNC)" libaio write 64 1 --ioengine=libaio --sync=dsync
        kaio_job "$g" "kaio threadpool (RWF_DSYNC)" kaio sync write 64 1 --ioengine=threadpool --dsync
        fio_job "$g" "fio psync ×64 threads (O_DSYNC)" sync write 1 64 --ioengine=psync --sync=dsync
        for ((i = 1; i <= RA_RUNS; i++)); do
            kaio_job "$g" ".NET RandomAccess #$i (O_DSYNC)" ra ra write 64 1 --ioengine=randomaccess --dsync
        done ;;
    await)
        # The .NET way: QD tasks each awaiting one read at a time (ReadAsync in a loop), Kaio's
        # awaitable face against RandomAccess doing the same; fio io_uring at that depth as the peer.
        for qd in $AWAIT_QDS; do
            for direct in 0 1; do
                g="awaited randread, $qd tasks, $([[ $direct == 1 ]] && echo O_DIRECT || echo page cache)"
                ((direct == 0)) && warm
                kaio_job "$g" "kaio io_uring:await" kaio io_uring randread "$qd" 1 --ioengine=io_uring:await --direct=$direct
                kaio_job "$g" "kaio libaio:await" kaio libaio randread "$qd" 1 --ioengine=libaio:await --direct=$direct
                kaio_job "$g" "kaio threadpool:await" kaio sync randread "$qd" 1 --ioengine=threadpool:await --direct=$direct
                fio_job "$g" "fio io_uring" io_uring randread "$qd" 1 --ioengine=io_uring --direct=$direct
                fio_job "$g" "fio libaio" libaio randread "$qd" 1 --ioengine=libaio --direct=$direct
                for ((i = 1; i <= RA_RUNS; i++)); do
                    kaio_job "$g" ".NET RandomAccess #$i" ra ra randread "$qd" 1 --ioengine=randomaccess --direct=$direct
                done
            done
        done ;;
    null)
        for qd in $QDS; do
            g="null engine QD$qd (per-op cost)"
            kaio_job "$g" "kaio null" kaio null randread "$qd" 1 --ioengine=null
            ((qd > 1)) && kaio_job "$g" "kaio null batch all" kaio null randread "$qd" 1 --ioengine=null --iodepth_batch_submit=0 --iodepth_batch_complete_max="$qd"
            fio_job "$g" "fio null" null randread "$qd" 1 --ioengine=null
        done ;;
    esac
done
done

echo >&2
python3 "$here/lib/summarize.py" "$RESULTS" --pick="$PICK" | tee "$RESULTS/table.txt"
python3 "$here/lib/summarize.py" "$RESULTS" --pick="$PICK" --markdown >"$RESULTS/table.md"
echo
cat "$RESULTS/run-info.txt"
echo "raw JSON: $RESULTS"
