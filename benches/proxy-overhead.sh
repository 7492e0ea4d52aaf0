#!/usr/bin/env bash
# What `mqscope proxy` costs a client, side by side with the direct path in one run:
#
#   benches/proxy-overhead.sh [COUNT] [SAMPLES]       (defaults: 500000 2000)
#
# Starts its own mosquitto (max_queued_messages 0) and `mqscope proxy --json` in front of it
# (no faults, no packet lines), then:
#   1. latency: a raw MQTT client publishes QoS 0 to a topic it subscribes to and waits for the
#      message, SAMPLES times, once direct and once through the proxy (median and p99);
#   2. throughput: `mosquitto_sub -C COUNT` subscribed direct or through the proxy while the
#      in-repo generator floods COUNT QoS 0 messages straight into the broker (messages/s from
#      flood start until the subscriber has them all), alternating, ROUNDS times.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-500000}
SAMPLES=${2:-2000}
ROUNDS=${ROUNDS:-2}

cargo build --quiet --release --bin mqscope --example flood
MQSCOPE=target/release/mqscope
FLOOD=target/release/examples/flood
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/broker.pid" "$tmp/proxy.pid" 2>/dev/null) 2>/dev/null; rm -rf "$tmp"' EXIT

free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free)
pport=$(free)
cat > "$tmp/mosquitto.conf" <<CONF
user root
persistence false
log_dest none
listener $port 127.0.0.1
allow_anonymous true
max_queued_messages 0
CONF
mosquitto -c "$tmp/mosquitto.conf" & echo $! > "$tmp/broker.pid"
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
"$MQSCOPE" proxy --json --listen "127.0.0.1:$pport" --to "mqtt://127.0.0.1:$port" > /dev/null 2>&1 &
echo $! > "$tmp/proxy.pid"
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$pport) 2>/dev/null && break; sleep 0.1; done

echo "mosquitto $(mosquitto -h | head -1 | awk '{print $3}'), proxy $("$MQSCOPE" --version)"
echo
echo "## latency: QoS 0 publish to own subscription and back, $SAMPLES samples"
echo
echo "| path | median | p99 |"
echo "|---|---|---|"
python3 - "$port" "$pport" "$SAMPLES" <<'PY'
import socket, statistics, struct, sys, time
port, pport, samples = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def s(x): return struct.pack(">H", len(x)) + x
def pkt(first, body):
    out, n = bytes([first]), len(body)
    while True:
        b, n = n % 128, n // 128
        out += bytes([b | (0x80 if n else 0)])
        if not n: break
    return out + body
def read(sock):
    first = sock.recv(1)
    n, shift = 0, 0
    while True:
        b = sock.recv(1)[0]; n += (b & 0x7F) << shift; shift += 7
        if not b & 0x80: break
    body = b""
    while len(body) < n: body += sock.recv(n - len(body))
    return first[0], body

def measure(p, cid):
    c = socket.create_connection(("127.0.0.1", p)); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.sendall(pkt(0x10, s(b"MQTT") + bytes([4, 2, 0, 60]) + s(cid)))
    read(c)
    topic = b"lat/" + cid
    c.sendall(pkt(0x82, b"\x00\x01" + s(topic) + b"\x00"))
    read(c)
    msg = pkt(0x30, s(topic) + b"x" * 64)
    out = []
    for _ in range(samples):
        t = time.perf_counter(); c.sendall(msg); read(c); out.append(time.perf_counter() - t)
    c.close()
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.99)]

for name, p in (("direct", port), ("through mqscope proxy", pport), ("direct (again)", port)):
    med, p99 = measure(p, b"lat-" + name.split()[0].encode())
    print(f"| {name} | {med*1e3:.3f} ms | {p99*1e3:.3f} ms |")
PY

echo
echo "## throughput: $COUNT QoS 0 messages to one subscriber"
echo
echo "| subscriber | msgs/s | proxy CPU s |"
echo "|---|---|---|"
cpu() { awk '{print ($14+$15)/100}' "/proc/$(cat "$tmp/proxy.pid")/stat"; }
run() {
    local name=$1 p=$2
    mosquitto_sub -h 127.0.0.1 -p "$p" -t 'bench/#' -C "$COUNT" -W 120 > /dev/null &
    local pid=$!
    sleep 1
    local before start end after
    before=$(cpu)
    start=$(date +%s.%N)
    "$FLOOD" --port "$port" --count "$COUNT" --topics 1000 > /dev/null
    wait $pid
    end=$(date +%s.%N)
    after=$(cpu)
    python3 -c "import sys; n,c,s,e,b,a=sys.argv[1:]; print(f'| {n} | {int(c)/(float(e)-float(s)):,.0f} | {float(a)-float(b):.2f} |')" \
        "$name" "$COUNT" "$start" "$end" "$before" "$after"
}
for _ in $(seq "$ROUNDS"); do
    run "direct" "$port"
    run "through mqscope proxy" "$pport"
done
