#!/usr/bin/env bash
# Runs fio's own example job files (fio's examples/*.fio) through fio and through kaio on this
# machine, made safe first, and prints which ones each tool runs; for the rest, the first line of
# the error (kaio refuses with file, line and option). See src/Kaio.Cli/README.md ("fio's
# example files").
#
# usage: bench/fio-examples.sh [EXAMPLES_DIR]
#   EXAMPLES_DIR  a directory of fio example job files (*.fio). Default: fio's examples/ taken from
#                 a clone of https://github.com/axboe/fio at FIO_REPO (git show, nothing checked out),
#                 or /usr/share/doc/fio/examples when that exists.
#
# Made safe, per example (the rewritten copy is what both tools run; see rewrite() below):
#   - every path outside the example's own scratch directory is moved into it: filename=/dev/sda,
#     filename=/tmp/x and directory=/scratch become files and directories under WORK/<example>/;
#     a device gets a sparse 64 MiB file in its place (a device has a size; a new file has none).
#     /dev/null and /dev/zero stay (reading zeros, writing nothing).
#   - size, filesize, io_size/io_limit and offset are capped at CAP (default 32m); numjobs at 4,
#     nrfiles at 8, loops at 2; runtime/timeout at 2s, ramp_time/startdelay/ss_dur/ss_ramp at 1s;
#     every file gets runtime=3s in its first section (a cap for size-bound jobs under a rate);
#     fill_device=1 becomes size=CAP (filling a file system would fill this machine's disk).
#   - jobs whose ioengine runs a program or needs a network, a GPU or a special device are not
#     run at all (exec, net, rdma, http, ...): fio cannot run them here with a file-based engine.
#   - each tool runs under `timeout` (TIMEOUT, default 60 s) in the example's scratch directory,
#     which is emptied between the tools and removed at the end.
#
# environment:
#   WORK=/var/tmp/kaio-fio-examples   scratch (must be a disk file system; ext4 here)
#   CAP=32m  TIMEOUT=60  FIO=fio  FIO_REPO=/work/.mirror/axboe+fio/repo  FIO_REV=HEAD
#   KAIO="dotnet src/Kaio.Cli/bin/Release/net10.0/Kaio.Cli.dll"   (built when left unset)
#   OUT=bench/results/fio-examples-<UTC timestamp>   rewritten files, outputs and the table
#
# bench/fio-examples-kaio-runs.txt lists the examples kaio runs; the table ends with a
# "regression:" line for each of them that kaio no longer runs.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
WORK="${WORK:-/var/tmp/kaio-fio-examples}"
CAP="${CAP:-32m}"
TIMEOUT="${TIMEOUT:-60}"
FIO="${FIO:-fio}"
FIO_REPO="${FIO_REPO:-/work/.mirror/axboe+fio/repo}"
FIO_REV="${FIO_REV:-HEAD}"
OUT="${OUT:-$here/results/fio-examples-$(date -u +%Y%m%dT%H%M%SZ)}"

die() { echo "fio-examples: $*" >&2; exit 1; }
case "${1:-}" in -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

mkdir -p "$OUT/jobs" "$OUT/fio" "$OUT/kaio" "$WORK" || die "cannot create $OUT or $WORK"
examples="${1:-}"
if [[ -z "$examples" ]]; then
    if [[ -d /usr/share/doc/fio/examples ]]; then
        examples=/usr/share/doc/fio/examples
    elif git -C "$FIO_REPO" rev-parse -q --verify "$FIO_REV" >/dev/null 2>&1; then
        examples="$OUT/examples"
        mkdir -p "$examples"
        for f in $(git -C "$FIO_REPO" ls-tree --name-only "$FIO_REV" examples/ | grep '\.fio$'); do
            git -C "$FIO_REPO" show "$FIO_REV:$f" >"$examples/$(basename "$f")"
        done
    else
        die "no examples: give a directory of fio example files, or FIO_REPO=<a clone of fio>"
    fi
fi
[[ -d "$examples" ]] || die "$examples is not a directory"

if [[ -z "${KAIO:-}" ]]; then
    echo "fio-examples: building kaio (Release)" >&2
    dotnet build -c Release "$repo/src/Kaio.Cli" -nologo -v q >"$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log" >&2; die "kaio did not build"; }
    KAIO="dotnet $(ls "$repo"/src/Kaio.Cli/bin/Release/net*/Kaio.Cli.dll | head -1)"
fi

# Engines that do file I/O (fio's "file-based engine" here); any other engine in an example means
# fio cannot run it on this machine as a file workload. Engines in SKIP are not even tried.
FILE_ENGINES=" sync psync vsync pvsync pvsync2 libaio io_uring posixaio mmap null "
SKIP_ENGINES=" exec net netsplice rdma http nbd nfs rbd rados gfapi libhdfs dfs ime_psync ime_psyncv ime_aio libiscsi libcufile libhipfile libblkio xnvme windowsaio "

# rewrite IN OUT DIR: the safe copy (see the header); prints the engines the file names.
rewrite() {
    python3 - "$1" "$2" "$3" "$CAP" <<'PY'
import re, sys, os
src, dst, work, cap = sys.argv[1:5]
def size(text):
    m = re.fullmatch(r'\s*(\d+)\s*([kmgtp]?)(i?b?)\s*', text, re.I)
    if not m: return None
    return int(m.group(1)) * 1024 ** ' kmgtp'.index((m.group(2) or ' ').lower())
def secs(text):
    m = re.fullmatch(r'\s*(\d+)\s*(us|usec|ms|msec|s|m|h|d)?\s*', text, re.I)
    if not m: return None
    unit = {'us':1e-6,'usec':1e-6,'ms':1e-3,'msec':1e-3,'s':1,None:1,'m':60,'h':3600,'d':86400}[(m.group(2) or 's').lower() if m.group(2) else None]
    return int(m.group(1)) * unit
capb = size(cap)
def capsize(v):
    parts = re.split(r'([-,:])', v)
    out = []
    for p in parts:
        b = size(p)
        out.append(cap if b is not None and b > capb else p)
    return ''.join(out)
def captime(v, limit, text):
    parts = re.split(r'(-)', v)
    return ''.join(text if (s := secs(p)) is not None and s > limit else p for p in parts)
def moved(path):
    path = path.strip()
    if path in ('/dev/null', '/dev/zero') or not path.startswith('/'):
        return path
    name = path.strip('/').replace('/', '_').replace('\\:', '_')
    if path.startswith('/dev/'):
        full = os.path.join(work, name)
        if not os.path.exists(full):
            with open(full, 'wb') as f: f.truncate(64 << 20)
    return os.path.join(work, name)
engines, lines, first = set(), [], True
for line in open(src, encoding='utf-8', errors='replace').read().splitlines():
    body = re.split(r'[;#]', line, 1)[0]
    m = re.match(r'\s*([A-Za-z0-9_]+)\s*(=\s*(.*?))?\s*$', body)
    if body.strip().startswith('['):
        lines.append(line)
        if first: lines.append('runtime=3s'); first = False
        continue
    if not m:
        lines.append(line); continue
    key, val = m.group(1), m.group(3)
    if val is not None:
        if key == 'ioengine': engines.add(val.strip())
        elif key == 'filename':
            val = ':'.join(moved(p) for p in re.split(r'(?<!\\):', val))
        elif key == 'directory':
            dirs = []
            for p in val.split(':'):
                d = os.path.join(work, p.strip('/').replace('/', '_') or 'dir') if p.startswith('/') or '$' in p else p
                if '$' in d: d = os.path.join(work, 'dir')
                os.makedirs(os.path.join(work, d) if not d.startswith('/') else d, exist_ok=True)
                dirs.append(d)
            val = ':'.join(dirs)
        elif key in ('size', 'filesize', 'io_size', 'io_limit', 'offset'):
            val = capsize(val)
        elif key in ('runtime', 'timeout'):
            val = captime(val, 2, '2s')
        elif key in ('ramp_time', 'startdelay', 'ss_dur', 'ss_ramp', 'steadystate_duration', 'steadystate_ramp_time'):
            val = captime(val, 1, '1s')
        elif key == 'numjobs' and val.isdigit() and int(val) > 4: val = '4'
        elif key in ('nrfiles', 'nr_files') and val.isdigit() and int(val) > 8: val = '8'
        elif key == 'loops' and val.isdigit() and int(val) > 2: val = '2'
        elif key == 'fill_device' and val.strip() != '0': key, val = 'size', cap
        lines.append(f'{key}={val}')
    else:
        lines.append('size=' + cap if key == 'fill_device' else key)
open(dst, 'w').write('\n'.join(lines) + '\n')
print(' '.join(sorted(engines)) or 'psync')
PY
}

first_error() { grep -v '^\s*$' "$1" | grep -im1 'error\|unsupported\|refus\|invalid\|fail\|not \|cannot\|kaio:\|fio:' | cut -c1-300; }

fio_ok=() kaio_ok=() table="$OUT/table.md"
{
    echo "| example | engines | fio | kaio |"
    echo "| --- | --- | --- | --- |"
} >"$table"
for f in "$examples"/*.fio; do
    name="$(basename "$f" .fio)"
    dir="$WORK/$name"
    rm -rf "$dir" && mkdir -p "$dir"
    job="$OUT/jobs/$name.fio"
    engines="$(rewrite "$f" "$job" "$dir")"
    skip=""
    for e in $engines; do
        [[ "$SKIP_ENGINES" == *" ${e%%:*} "* ]] && skip="ioengine=$e is not run here (program, network or special device)"
    done
    if [[ -n "$skip" ]]; then
        echo "| $name | $engines | not run: $skip | - |" >>"$table"
        rm -rf "$dir"
        continue
    fi

    file_based=1
    for e in $engines; do [[ "$FILE_ENGINES" == *" $e "* ]] || file_based=0; done
    (cd "$dir" && timeout -k 5 "$TIMEOUT" "$FIO" --output-format=json --output="$OUT/fio/$name.json" "$job" >"$OUT/fio/$name.out" 2>&1)
    frc=$?
    if [[ $frc -eq 0 ]] && ! grep -q '"error" : [1-9]' "$OUT/fio/$name.json" 2>/dev/null; then
        fres="runs"
        [[ $file_based -eq 1 ]] && fio_ok+=("$name") || fres="runs (not a file engine)"
    else
        fres="fails (rc $frc): $(first_error "$OUT/fio/$name.out" | tr '|' '/')"
    fi

    # Same scratch directory, emptied (device stand-ins are made again by the rewrite).
    rm -rf "$dir" && mkdir -p "$dir" && rewrite "$f" "$job" "$dir" >/dev/null
    (cd "$dir" && timeout -k 5 "$TIMEOUT" $KAIO bench "$job" --output-format=json >"$OUT/kaio/$name.json" 2>"$OUT/kaio/$name.err")
    krc=$?
    if [[ $krc -eq 0 ]]; then
        kres="runs"
        kaio_ok+=("$name")
    else
        kres="refused/failed (rc $krc): $(head -c 400 "$OUT/kaio/$name.err" | head -1 | tr '|' '/')"
    fi
    echo "| $name | $engines | $fres | $kres |" >>"$table"
    rm -rf "$dir"
    echo "fio-examples: $name: fio $([[ $frc -eq 0 ]] && echo ok || echo rc=$frc), kaio rc=$krc" >&2
done

both=0
for n in "${fio_ok[@]}"; do [[ " ${kaio_ok[*]} " == *" $n "* ]] && both=$((both + 1)); done
{
    echo
    echo "fio runs ${#fio_ok[@]} examples with a file-based engine; kaio runs $both of them (kaio runs ${#kaio_ok[@]} in all)."
    echo "fio: $($FIO --version); kaio: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet -- src 2>/dev/null || echo ' (src modified)'); examples: $examples"
} >>"$table"
expected="$here/fio-examples-kaio-runs.txt"
if [[ -f "$expected" ]]; then
    for n in $(grep -v '^#' "$expected"); do
        [[ -f "$examples/$n.fio" && " ${kaio_ok[*]} " != *" $n "* ]] && echo "regression: kaio no longer runs $n (listed in bench/fio-examples-kaio-runs.txt)" >>"$table"
    done
fi
cat "$table"
rmdir "$WORK" 2>/dev/null || true
