#!/usr/bin/env python3
"""Peak RSS of mqscope under a hostile broker that sends 100 MB of MQTT 5 properties.

A fake broker on 127.0.0.1 accepts mqscope's CONNECT and SUBSCRIBE, then sends PUBLISH
packets with a one-byte payload and ~64 KB of user properties each (100 MB in all, over 1,600
distinct topics), then a PUBLISH with a topic alias mqscope never allowed (a protocol error:
mqscope reconnects), and the same again on the next connection. The explorer runs in tmux with
`--max-memory 64M`; `sub --json` runs into /dev/null. Prints each one's peak RSS (VmHWM).

    python3 benches/hostile_rss.py [path/to/mqscope]
"""

import os
import socket
import struct
import subprocess
import sys
import threading
import time

MQSCOPE = sys.argv[1] if len(sys.argv) > 1 else "target/release/mqscope"
TOTAL = 100 << 20
PROPS = 64 << 10


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def read_packet(conn):
    first = conn.recv(1)
    if not first:
        return None
    n, shift = 0, 0
    while True:
        b = conn.recv(1)[0]
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    body = b""
    while len(body) < n:
        chunk = conn.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return first[0], body


def hostile_publish(i):
    topic = f"flood/温度/{i}".encode()
    key = b"k" * 16
    value = b"v" * (PROPS - 40)
    prop = b"\x26" + struct.pack(">H", len(key)) + key + struct.pack(">H", len(value)) + value
    body = struct.pack(">H", len(topic)) + topic + varint(len(prop)) + prop + b"1"
    return packet(0x30, body)


sent = {"bytes": 0, "connections": 0}


def serve(conn):
    sent["connections"] += 1
    try:
        if read_packet(conn) is None:
            return
        conn.sendall(b"\x20\x03\x00\x00\x00")
        sub = read_packet(conn)
        if sub and sub[0] >> 4 == 8:
            conn.sendall(packet(0x90, sub[1][:2] + b"\x00\x00"))
        i = 0
        while sent["bytes"] < TOTAL * sent["connections"]:
            p = hostile_publish(i % 1600)
            conn.sendall(p)
            sent["bytes"] += len(p)
            i += 1
        # An alias we never allowed: a protocol error.
        conn.sendall(packet(0x30, b"\x00\x00\x03\x23\x00\x07" + b"1"))
        time.sleep(1)
    except OSError:
        pass
    finally:
        conn.close()


def broker():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    threading.Thread(target=lambda: [threading.Thread(target=serve, args=(srv.accept()[0],),
                                                      daemon=True).start() for _ in iter(int, 1)],
                     daemon=True).start()
    return srv.getsockname()[1]


def hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def wait_sent(target, limit=120):
    deadline = time.time() + limit
    while sent["bytes"] < target and time.time() < deadline:
        time.sleep(0.2)


def run_sub(port):
    sent["bytes"] = 0
    sent["connections"] = 0
    p = subprocess.Popen([MQSCOPE, "sub", "-b", f"mqtt://127.0.0.1:{port}", "-V", "5", "-t", "#",
                          "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_sent(2 * TOTAL)
    time.sleep(2)
    peak = hwm(p.pid)
    p.terminate()
    p.wait()
    return peak


def run_explorer(port):
    sent["bytes"] = 0
    sent["connections"] = 0
    sock = f"hostile-rss-{os.getpid()}"
    cmd = f"exec {MQSCOPE} -b mqtt://127.0.0.1:{port} -V 5 -t '#' --max-memory 64M"
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "160", "-y", "45", cmd],
                   check=True)
    pid = subprocess.run(["tmux", "-L", sock, "display", "-p", "#{pane_pid}"],
                         capture_output=True, text=True).stdout.strip()
    wait_sent(2 * TOTAL)
    time.sleep(2)
    peak = hwm(pid)
    subprocess.run(["tmux", "-L", sock, "kill-server"])
    return peak


if __name__ == "__main__":
    port = broker()
    print(f"sub --json:            peak RSS {run_sub(port)} MB after {sent['bytes'] >> 20} MB "
          f"of properties over {sent['connections']} connections")
    print(f"explorer --max-memory 64M: peak RSS {run_explorer(port)} MB after "
          f"{sent['bytes'] >> 20} MB over {sent['connections']} connections")
