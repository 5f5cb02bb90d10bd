#!/usr/bin/env bash
# Reproduces the tables of docs/garnet.md on this machine: Kaio.Tsavorite against the devices
# Garnet ships, A/B alternated, medians and ratios (bench/Kaio.Tsavorite.Bench).
#
# usage: bench/garnet.sh [all|device|kv|server] [rounds]
#   device   4 KiB O_DIRECT random reads (1 and 2 threads) and 1 MiB writes through IDevice,
#            Kaio (each engine) vs Tsavorite's RandomAccessLocalStorageDevice (~2 min at 5 rounds)
#   kv       a Tsavorite store with 16 MiB of log memory and ~200 MiB of 1 KiB values: upserts,
#            then random reads from 2 threads, each device on a fresh store per round (~2 min)
#   server   an embedded GarnetServer per device (32 MiB of log memory, 400,000 1 KiB values,
#            ~12x), random GETs from redis-benchmark (-c 8/32, -P 1/8, -n REQUESTS) against each
#            server in turn; Garnet's native device is tried too and reported if it cannot load
#            (~10 min at 5 rounds)
#   all      the three (default)
#
# environment:
#   DATA_DIR=bench/.data      where the files go (a real disk: O_DIRECT; not tmpfs)
#   SECONDS_PER_RUN=3         device and kv levels: seconds per measured run
#   KEYS=400000 LOG_MIB=32 REQUESTS=100000   server level: values loaded, log memory, GETs per run
#   SERVER_DEVICES=randomaccess,kaio,kaio+pool,native   server level: the first is the baseline
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
what="${1:-all}"
rounds="${2:-5}"
DATA_DIR="${DATA_DIR:-$repo/bench/.data}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-3}"
KEYS="${KEYS:-400000}"
LOG_MIB="${LOG_MIB:-32}"
REQUESTS="${REQUESTS:-100000}"
SERVER_DEVICES="${SERVER_DEVICES:-randomaccess,kaio,kaio+pool,native}"

die() { echo "garnet.sh: $*" >&2; exit 1; }

if [[ "$what" == all || "$what" == server ]] && ! command -v redis-benchmark >/dev/null; then
    echo "installing redis-tools (redis-benchmark) with apt-get"
    sudo_=""; [[ "$(id -u)" == 0 ]] || sudo_="sudo"
    $sudo_ apt-get install -y -qq redis-tools >/dev/null 2>&1 \
        || { $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq redis-tools >/dev/null; } \
        || die "could not install redis-tools"
fi

mkdir -p "$DATA_DIR"
[[ "$(stat -f -c %T "$DATA_DIR")" != tmpfs ]] || die "$DATA_DIR is tmpfs: O_DIRECT needs a real disk"

dotnet build -c Release -v q -nologo "$repo/bench/Kaio.Tsavorite.Bench" >/dev/null || die "build failed"
bin="$repo/bench/Kaio.Tsavorite.Bench/bin/Release/net10.0/Kaio.Tsavorite.Bench"

echo "# $(date -u +%FT%TZ) $(git -C "$repo" rev-parse --short HEAD) on $(nproc) cores, $(uname -r), $(ldd --version | head -1)"
native="$repo/bench/Kaio.Tsavorite.Bench/bin/Release/net10.0/runtimes/linux-x64/native/libnative_device.so"
if [[ -f "$native" ]]; then
    echo "# Garnet's native device: $(objdump -T "$native" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1) needed; ldd says: $(ldd "$native" 2>&1 | grep -E 'not found' | tr '\n' ' ')"
fi

case "$what" in
    device|all) echo; echo "## device level"; "$bin" "$DATA_DIR" "$SECONDS_PER_RUN" "$rounds" ;;&
    kv|all) echo; echo "## KV level"; "$bin" kv "$DATA_DIR" "$SECONDS_PER_RUN" "$rounds" ;;&
    server|all) echo; echo "## server level"; "$bin" server "$DATA_DIR" "$rounds" "$KEYS" "$LOG_MIB" "$REQUESTS" "$SERVER_DEVICES" ;;
    device|kv) ;;
    *) die "unknown selection '$what' (all, device, kv, server)" ;;
esac
