#!/usr/bin/env python3
"""The explorer under load, measured as a person sees it: in tmux, against its own mosquitto.

    python3 benches/tui_load.py [--count 1000000] [--topics 100000]

1. Floods COUNT QoS 0 messages over TOPICS topics (max_queued_messages 0: nothing dropped by
   the broker) and waits until the TUI's status bar counts every one: rate and completeness.
2. Idle CPU of the TUI with all those topics and no traffic (three 15 s windows of /proc
   accounting, from 6 s after the flood).
3. Key-to-screen latency: opens the big level and presses `j` repeatedly, timing how long until
   the inspector shows the newly selected topic (tmux capture-pane polling), idle and while a
   paced 20k msg/s flood runs.
4. Peak RSS of the TUI.
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MQSCOPE = os.path.join(ROOT, "target/release/mqscope")
FLOOD = os.path.join(ROOT, "target/release/examples/flood")
SESSION = "mqscope-load"
WIDTH, HEIGHT = 200, 50


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def screen():
    return sh("tmux", "capture-pane", "-p", "-t", SESSION).split("\n")


def status_count(lines):
    for line in lines:
        m = re.search(r"([\d,]+) msgs", line)
        if m and "msg/s" in line:
            return int(m.group(1).replace(",", ""))
    return None


def inspector_topic(lines):
    """The topic line at the top of the inspector pane."""
    row = lines[1] if len(lines) > 1 else ""
    parts = row.split("││")
    return parts[1].strip(" │") if len(parts) > 1 else ""


def tui_pid():
    pane = sh("tmux", "list-panes", "-t", SESSION, "-F", "#{pane_pid}").strip()
    kids = sh("pgrep", "-P", pane).split() if subprocess.run(["pgrep", "-P", pane], capture_output=True).returncode == 0 else []
    return int(kids[0]) if kids else int(pane)


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def key_latencies(n):
    out = []
    for _ in range(n):
        before = inspector_topic(screen())
        t0 = time.perf_counter()
        sh("tmux", "send-keys", "-t", SESSION, "j")
        while True:
            now = inspector_topic(screen())
            if now and now != before:
                out.append((time.perf_counter() - t0) * 1000)
                break
            if time.perf_counter() - t0 > 5:
                out.append(5000.0)
                break
        time.sleep(0.05)
    return out


def describe(samples):
    samples = sorted(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    return f"median {statistics.median(samples):.0f} ms, p95 {p95:.0f} ms, max {samples[-1]:.0f} ms (n={len(samples)})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--topics", type=int, default=100_000)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--quiet", "--release", "--bin", "mqscope", "--example", "flood"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="mqscope-load-")
    port = free_port()
    conf = os.path.join(tmp, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"user root\npersistence false\nlog_dest none\nlistener {port} 127.0.0.1\n"
                "allow_anonymous true\nmax_queued_messages 0\n")
    broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        cmd = f"MQSCOPE_LOG_DIR={tmp} {MQSCOPE} -b mqtt://127.0.0.1:{port} -t 'bench/#'"
        sh("tmux", "new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT), cmd)
        time.sleep(1.5)
        pid = tui_pid()

        # 1. Every message counted.
        started = time.perf_counter()
        flood = sh(FLOOD, "--port", str(port), "--count", str(args.count), "--topics", str(args.topics))
        counted = 0
        while time.perf_counter() - started < 120:
            counted = status_count(screen()) or 0
            if counted >= args.count:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        print(f"flood: {flood.strip()}")
        print(f"counted by the TUI: {counted:,} of {args.count:,} in {elapsed:.2f} s "
              f"({counted / elapsed:,.0f} msg/s end to end)")
        dropped = [l for l in screen() if "dropped" in l]
        print(f"dropped by the app: {dropped[0].split('│')[-1].strip() if dropped else 'none'}")

        # 2. Idle CPU.
        time.sleep(6)
        hz = os.sysconf("SC_CLK_TCK")
        windows = []
        for _ in range(3):
            a = cpu_ticks(pid)
            time.sleep(15)
            windows.append((cpu_ticks(pid) - a) / hz / 15 * 100)
        print(f"idle CPU with {args.topics:,} topics (three 15 s windows): "
              + " / ".join(f"{w:.2f} %" for w in windows) + " of one core")

        # 3. Key latency, idle then under a paced flood.
        sh("tmux", "send-keys", "-t", SESSION, "Enter")
        time.sleep(0.5)
        print(f"key-to-screen latency, idle, {args.topics:,} rows open: {describe(key_latencies(30))}")
        paced = subprocess.Popen([FLOOD, "--port", str(port), "--count", "400000", "--topics",
                                  str(args.topics), "--rate", "20000", "--prefix", "bench"],
                                 stdout=subprocess.DEVNULL)
        time.sleep(1)
        lat = key_latencies(40)
        paced.wait()
        print(f"key-to-screen latency during a 20k msg/s flood: {describe(lat)}")
        print(f"peak RSS of the TUI: {peak_rss_mb(pid):.1f} MB")
        sh("tmux", "send-keys", "-t", SESSION, "q")
        time.sleep(0.5)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        broker.terminate()
        broker.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
