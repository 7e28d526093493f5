#!/usr/bin/env python3
"""An independent check of `cargo xtask bench-pty`'s port -> stdout figure.

One Python process drives the whole transfer through `select`, the way a
simple test harness would: it writes 64 KiB blocks into a pty master (made
non-blocking, so each write takes what the pty accepts) and reads the bridge's
stdout pipe, checking every byte. The bridge under test opens the pty slave and
copies it to its stdout (pipe mode: stdout is not a terminal):

    com SLAVE 4000000                              (stdin: an open pipe, never written)
    socat -u FILE:SLAVE,raw,echo=0 STDOUT

Both tools run in every round, back to back, the first one alternating, and the
report gives each one's throughput per round, the medians, the per-round ratio
com / socat, the bridges' CPU time (user + system from /proc) and the load.

Usage: python3 xtask/scripts/pty_select_bench.py [--com PATH] [--mb N] [--runs R]
(default: $CARGO_TARGET_DIR/release/com or target/release/com, 100 MiB, 5 runs).
`cargo xtask bench-pty --writer select` runs the same writer pattern from Rust.
"""
import argparse
import os
import random
import select
import statistics
import subprocess
import sys
import time
import tty

BLOCK = 64 * 1024


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def wait_open(pid, path, timeout=10.0):
    """Waits until process `pid` has `path` open (the bridge opened the port)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                        return
                except OSError:
                    pass
        except FileNotFoundError:
            raise RuntimeError(f"the bridge (pid {pid}) ended before opening {path}")
        time.sleep(0.005)
    raise RuntimeError(f"the bridge did not open {path} within {timeout} s")


def one(tool, com, data, wrap=None):
    master, slave = os.openpty()
    path = os.ttyname(slave)
    tty.setraw(slave)
    if tool == "com":
        argv = [com, path, "4000000"]
    else:
        argv = ["socat", "-u", f"FILE:{path},raw,echo=0", "STDOUT"]
    if wrap:
        argv = wrap.split() + argv
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        if wrap:
            time.sleep(0.5)
        else:
            wait_open(proc.pid, path)
        # Give socat/com the moment to set the port up after opening it.
        time.sleep(0.05)
        out = proc.stdout.fileno()
        os.set_blocking(master, False)
        os.set_blocking(out, False)
        view = memoryview(data)
        total = len(data)
        sent = received = 0
        reads = writes = 0
        cpu0 = os.times()
        start = time.monotonic()
        while received < total:
            wl = [master] if sent < total else []
            r, w, _ = select.select([out], wl, [])
            if w:
                try:
                    n = os.write(master, view[sent:sent + BLOCK])
                    sent += n
                    writes += 1
                except BlockingIOError:
                    pass
            if r:
                chunk = os.read(out, BLOCK)
                if not chunk:
                    raise RuntimeError(f"{tool} ended after {received} bytes")
                if chunk != view[received:received + len(chunk)]:
                    raise RuntimeError(f"{tool}: wrong bytes near offset {received}")
                received += len(chunk)
                reads += 1
        took = time.monotonic() - start
        cpu1 = os.times()
        bridge_cpu = cpu_seconds(proc.pid)
        driver_cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    finally:
        os.close(master)
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(slave)
    return {"mbs": total / 2**20 / took, "cpu": bridge_cpu, "driver": driver_cpu,
            "reads": reads, "writes": writes}


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--com", default=os.path.join(target, "release", "com"))
    ap.add_argument("--mb", type=int, default=100, help="MiB per transfer")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--wrap", help="a command put before the bridge's (e.g. 'strace -c -f -o FILE'); "
                    "then the bridge is given 0.5 s to open the port instead of being watched")
    ap.add_argument("--only", choices=["com", "socat"], help="run one tool only")
    a = ap.parse_args()
    data = random.Random(12).randbytes(a.mb * 2**20)
    load0 = open("/proc/loadavg").read().split()[:3]
    res = {"com": [], "socat": []}
    for run in range(a.runs):
        order = ["com", "socat"] if run % 2 == 0 else ["socat", "com"]
        for tool in order:
            if a.only and tool != a.only:
                continue
            s = one(tool, a.com, data, a.wrap)
            res[tool].append(s)
            print(f"run {run + 1} {tool:5} {s['mbs']:7.1f} MiB/s  bridge CPU {s['cpu']:.2f} s  "
                  f"driver CPU {s['driver']:.2f} s  driver reads {s['reads']}  writes {s['writes']}",
                  file=sys.stderr)
    load1 = open("/proc/loadavg").read().split()[:3]
    ratios = [c["mbs"] / s["mbs"] for c, s in zip(res["com"], res["socat"])] or [float("nan")]
    print(f"{a.mb} MiB per transfer, {a.runs} runs; load average {' '.join(load0)} before, "
          f"{' '.join(load1)} after")
    print("| tool | MiB/s min | MiB/s median | MiB/s max | median bridge CPU s | median driver reads |")
    print("|---|---|---|---|---|---|")
    for tool in ("com", "socat"):
        if not res[tool]:
            continue
        m = [s["mbs"] for s in res[tool]]
        print(f"| {tool} | {min(m):.1f} | {statistics.median(m):.1f} | {max(m):.1f} | "
              f"{statistics.median(s['cpu'] for s in res[tool]):.2f} | "
              f"{statistics.median(s['reads'] for s in res[tool]):.0f} |")
    print(f"com / socat per run: median {statistics.median(ratios):.2f}x "
          f"({min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
