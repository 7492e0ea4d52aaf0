#!/usr/bin/env python3
"""Side by side, in one run: mosquitto_sub, `mqscope sub`, `mqscope sub --json` and the mqscope
explorer (in tmux) on the same floods through the same mosquitto, started here.

    python3 benches/compare.py            (about five minutes)

Prints one markdown table: scenario, consumer, messages received, msgs/s, CPU s, peak RSS.
Scenarios: 1M QoS 0 over 10k topics and over 100k topics (max_queued_messages 0: nothing is
dropped by the broker, so the rate is the consumer's); the same 1M over 10k with mosquitto's
stock queue (1000), where a slow reader loses messages; 20 × 10 MB payloads; 60 s of unique
topics at full speed into the explorer with its default 256 MiB budget (RSS must stay bounded).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tui_load  # noqa: E402  (tmux helpers)

ROOT = tui_load.ROOT
MQSCOPE = tui_load.MQSCOPE
FLOOD = tui_load.FLOOD
HZ = os.sysconf("SC_CLK_TCK")


def broker(tmp, queue):
    port = tui_load.free_port()
    conf = os.path.join(tmp, f"m{port}.conf")
    with open(conf, "w") as f:
        f.write(f"user root\npersistence false\nlog_dest none\nlistener {port} 127.0.0.1\n"
                f"allow_anonymous true\nmax_queued_messages {queue}\n")
    proc = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.4)
    return proc, port


def flood(port, count, topics, size=16, extra=()):
    return subprocess.run([FLOOD, "--port", str(port), "--count", str(count), "--topics", str(topics),
                           "--size", str(size), *extra], check=True, capture_output=True, text=True).stdout


def headless(name, cmd, port, count, topics, size=16, count_lines=False):
    """Runs a consumer, floods, and measures it with GNU time."""
    out = tempfile.NamedTemporaryFile(delete=False)
    timef = tempfile.NamedTemporaryFile(delete=False)
    sink = out if count_lines else subprocess.DEVNULL
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%U %S %M", "-o", timef.name, *cmd],
                            stdout=sink, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    start = time.perf_counter()
    flooded = flood(port, count, topics, size)
    code = proc.wait()
    elapsed = time.perf_counter() - start
    if count_lines:
        # Lossy runs end on -W: the window is the flood's own routing time.
        m = re.search(r"routed in ([\d.]+) s", flooded)
        elapsed = float(m.group(1)) if m else elapsed
    user, sys_, rss = open(timef.name).read().split()[-3:]
    received = count if code == 0 else None
    if count_lines:
        with open(out.name, "rb") as f:
            received = sum(1 for _ in f)
    os.unlink(out.name)
    os.unlink(timef.name)
    got = f"{received:,}" if received is not None else "not all (timed out)"
    return [name, got, f"{(received or 0) / elapsed:,.0f}", f"{float(user) + float(sys_):.2f}",
            f"{int(rss) / 1024:.1f} MB"]


def tui(port, count, topics, extra_flood=(), seconds=120, until=None):
    subprocess.run(["tmux", "kill-session", "-t", tui_load.SESSION], capture_output=True)
    tmp = tempfile.mkdtemp()
    cmd = f"MQSCOPE_LOG_DIR={tmp} {MQSCOPE} -b mqtt://127.0.0.1:{port} -t 'bench/#'"
    tui_load.sh("tmux", "new-session", "-d", "-s", tui_load.SESSION, "-x", "200", "-y", "50", cmd)
    time.sleep(1.5)
    pid = tui_load.tui_pid()
    cpu0 = tui_load.cpu_ticks(pid)
    start = time.perf_counter()
    flood(port, count, topics, extra=extra_flood)
    counted = 0
    if until is None:
        # Lossy or open-ended: the flood's own duration is the window; then let the view settle.
        elapsed = time.perf_counter() - start
        time.sleep(3)
        counted = tui_load.status_count(tui_load.screen()) or 0
    else:
        while time.perf_counter() - start < seconds:
            counted = tui_load.status_count(tui_load.screen()) or 0
            if counted >= until:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
    time.sleep(0.5)
    cpu = (tui_load.cpu_ticks(pid) - cpu0) / HZ
    rss = tui_load.peak_rss_mb(pid)
    untracked = [l for l in tui_load.screen() if "untracked" in l]
    note = ""
    if untracked:
        m = re.search(r"([\d,]+) untracked", untracked[0])
        note = f" ({m.group(1)} topics untracked: budget)" if m else ""
    tui_load.sh("tmux", "send-keys", "-t", tui_load.SESSION, "q")
    time.sleep(0.5)
    subprocess.run(["tmux", "kill-session", "-t", tui_load.SESSION], capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return ["mqscope (explorer, tmux)", f"{counted:,}{note}", f"{counted / elapsed:,.0f}", f"{cpu:.2f}", f"{rss:.1f} MB"]


def main():
    subprocess.run(["cargo", "build", "--quiet", "--release", "--bin", "mqscope", "--example", "flood"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="mqscope-compare-")
    rows = []
    only_unique = "--unique-only" in sys.argv
    try:
        for queue, count, topics, label in [] if only_unique else [
            (0, 1_000_000, 10_000, "1M over 10k topics"),
            (0, 1_000_000, 100_000, "1M over 100k topics"),
            (1000, 1_000_000, 10_000, "1M over 10k, stock queue (1000)"),
        ]:
            proc, port = broker(tmp, queue)
            lossy = queue != 0
            w = ["-W", "60"]
            c = [] if lossy else ["-C", str(count)]
            if lossy:
                w = ["-W", "15"]
            for name, cmd in [
                ("mosquitto_sub -v", ["mosquitto_sub", "-p", str(port), "-h", "127.0.0.1", "-t", "bench/#", "-v", *c, *w]),
                ("mqscope sub", [MQSCOPE, "sub", "-b", f"mqtt://127.0.0.1:{port}", "-t", "bench/#", *c, *w]),
                ("mqscope sub --json", [MQSCOPE, "sub", "-b", f"mqtt://127.0.0.1:{port}", "-t", "bench/#", "--json", *c, *w]),
            ]:
                rows.append([label, *headless(name, cmd, port, count, topics, count_lines=lossy)])
            rows.append([label, *tui(port, count, topics, until=None if lossy else count, seconds=20 if lossy else 120)])
            proc.terminate()
            proc.wait()

        # 10 MB payloads.
        proc, port = broker(tmp, 0)
        for name, cmd in [] if only_unique else [
            ("mosquitto_sub -v", ["mosquitto_sub", "-p", str(port), "-h", "127.0.0.1", "-t", "bench/#", "-v", "-C", "20", "-W", "60"]),
            ("mqscope sub", [MQSCOPE, "sub", "-b", f"mqtt://127.0.0.1:{port}", "-t", "bench/#", "-C", "20", "-W", "60"]),
        ]:
            rows.append(["20 × 10 MB payloads", *headless(name, cmd, port, 20, 20, size=10 * 1024 * 1024)])
        proc.terminate()
        proc.wait()

        # Endless unique topics into the explorer with its default budget.
        proc, port = broker(tmp, 0)
        rows.append(["60 s of unique topics (explorer, 256 MiB budget)",
                     *tui(port, 1, 1, extra_flood=("--unique-for", "60"), seconds=1, until=None)])
        proc.terminate()
        proc.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"mosquitto {subprocess.run(['mosquitto', '-h'], capture_output=True, text=True).stdout.split()[2]}, "
          f"{os.cpu_count()} cores, QoS 0, loopback")
    print()
    print("| scenario | consumer | received | msgs/s | CPU s | peak RSS |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    sys.exit(main())
