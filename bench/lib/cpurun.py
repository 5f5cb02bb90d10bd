#!/usr/bin/env python3
"""Run one benchmark process and measure the CPU time it burns while it is measuring.

usage: cpurun.py STDOUT STDERR META RUNTIME_S -- command args...

The process's utime+stime (all threads, io_uring's iou-wrk workers included: they belong to the
thread group) is sampled from /proc/<pid>/stat every 20 ms. Start-up (the .NET host, JIT, opening
the file) and teardown are left out by taking the CPU rate over a window inside the measured
phase: from (last sample alive - RUNTIME_S + 0.3 s) to (last sample alive - 0.1 s). The same method
is used for fio and kaio, so their CPU per operation is measured the same way. META receives JSON:
exit code, wall time, whole-process CPU (rusage), and the window's CPU seconds, wall seconds and
rate in cores. A process still running at 3 x RUNTIME_S + 60 s is killed.
"""
import json
import os
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def read_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / TICK


def main():
    out_path, err_path, meta_path, runtime = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    samples = []
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
    rusage = None
    status = 0
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid != 0:
            break
        cpu = read_cpu(proc.pid)
        if cpu is not None:
            samples.append((time.monotonic(), cpu))
        if time.monotonic() - started > runtime * 3 + 60:
            proc.kill()
        time.sleep(0.02)
    ended = time.monotonic()
    exit_code = os.waitstatus_to_exitcode(status)

    meta = {
        "exit_code": exit_code,
        "wall_s": ended - started,
        "process_cpu_s": rusage.ru_utime + rusage.ru_stime,
        "samples": len(samples),
    }
    if samples:
        last = samples[-1][0]
        lo, hi = last - runtime + 0.3, last - 0.1
        window = [s for s in samples if lo <= s[0] <= hi]
        if len(window) >= 2 and window[-1][0] > window[0][0]:
            wall = window[-1][0] - window[0][0]
            cpu = window[-1][1] - window[0][1]
            meta.update(window_wall_s=wall, window_cpu_s=cpu, window_cores=cpu / wall)
    with open(meta_path, "w", encoding="utf-8") as f:
        json.dump(meta, f)
    sys.exit(exit_code if exit_code >= 0 else 128 - exit_code)


if __name__ == "__main__":
    main()
