#!/usr/bin/env bash
# Side by side: `mqscope sub` vs `mosquitto_sub` on the same flood through one mosquitto.
#
#   benches/sub-flood.sh [COUNT] [TOPICS]        (defaults: 1000000 10000)
#   QUEUE=1000 benches/sub-flood.sh              (stock queue: lossy for slow readers)
#
# Starts its own mosquitto on a free loopback port (max_queued_messages 0 unless QUEUE is set),
# subscribes each consumer to bench/#, floods COUNT QoS 0 messages over TOPICS topics with the
# in-repo generator, and prints one markdown table: messages/s from flood start until the
# consumer has received all COUNT messages (-C), CPU seconds and peak RSS (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-1000000}
TOPICS=${2:-10000}
QUEUE=${QUEUE:-0}
ROUNDS=${ROUNDS:-1}

cargo build --quiet --release --bin mqscope --example flood
MQSCOPE=target/release/mqscope
FLOOD=target/release/examples/flood
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/broker.pid" 2>/dev/null) 2>/dev/null; rm -rf "$tmp"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/mosquitto.conf" <<CONF
user root
persistence false
log_dest none
listener $port 127.0.0.1
allow_anonymous true
max_queued_messages $QUEUE
CONF
mosquitto -c "$tmp/mosquitto.conf" & echo $! > "$tmp/broker.pid"
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

run() {
    local name=$1; shift
    /usr/bin/time -f "%U %S %M" -o "$tmp/time" "$@" > /dev/null 2> "$tmp/err" &
    local pid=$!
    sleep 1
    local start end
    start=$(date +%s.%N)
    "$FLOOD" --port "$port" --count "$COUNT" --topics "$TOPICS" > "$tmp/flood"
    local code=0
    wait $pid || code=$?
    end=$(date +%s.%N)
    read -r user sys rss < <(tail -1 "$tmp/time")
    local got="all $COUNT"
    [ "$code" = 0 ] || got="not all (exit $code)"
    python3 - "$name" "$COUNT" "$start" "$end" "$user" "$sys" "$rss" "$got" <<'PY'
import sys
name, count, start, end, user, sys_, rss, got = sys.argv[1:]
secs = float(end) - float(start)
print(f"| {name} | {got} | {int(count)/secs:,.0f} | {float(user)+float(sys_):.2f} | {int(rss)/1024:.1f} MB |")
PY
}

echo "flood: $COUNT QoS 0 messages over $TOPICS topics, mosquitto $(mosquitto -h | head -1 | awk '{print $3}'), max_queued_messages $QUEUE"
echo
echo "| consumer | received | msgs/s | CPU s | peak RSS |"
echo "|---|---|---|---|---|"
for _ in $(seq "$ROUNDS"); do
    run "mosquitto_sub -v" mosquitto_sub -p "$port" -h 127.0.0.1 -t 'bench/#' -v -C "$COUNT" -W 120
    run "mqscope sub" "$MQSCOPE" sub -b "mqtt://127.0.0.1:$port" -t 'bench/#' -C "$COUNT" -W 120
    run "mqscope sub --json" "$MQSCOPE" sub -b "mqtt://127.0.0.1:$port" -t 'bench/#' --json -C "$COUNT" -W 120
done
