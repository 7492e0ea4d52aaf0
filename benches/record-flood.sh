#!/usr/bin/env bash
# Recording side by side with `sub --json > /dev/null`, then replay and open, in one run.
#
#   benches/record-flood.sh [COUNT] [TOPICS]        (defaults: 1000000 10000)
#
# Starts its own mosquitto on a free loopback port (max_queued_messages 0: every consumer
# drains at its own pace), floods COUNT QoS 0 messages over TOPICS topics with the in-repo
# generator for each consumer in turn (ROUNDS rounds, default 3, alternating the order), and prints one markdown table (messages/s from flood
# start until the consumer has all COUNT, CPU seconds, peak RSS, file size). Then it replays
# the uncompressed recording into the broker with --max, and opens the zstd recording in the
# explorer under tmux, timing the first frame and the end of loading.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-1000000}
TOPICS=${2:-10000}

cargo build --quiet --release --bin mqscope --example flood
MQSCOPE=$PWD/target/release/mqscope
FLOOD=target/release/examples/flood
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/broker.pid" 2>/dev/null) 2>/dev/null; tmux kill-session -t recbench 2>/dev/null; rm -rf "$tmp"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
URL="mqtt://127.0.0.1:$port"

run() {
    local name=$1 file=$2; shift 2
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
    local size="-"
    [ -n "$file" ] && size=$(du -m "$file" | cut -f1)" MB"
    python3 - "$name" "$COUNT" "$start" "$end" "$user" "$sys" "$rss" "$got" "$size" <<'PY'
import sys
name, count, start, end, user, sys_, rss, got, size = sys.argv[1:]
secs = float(end) - float(start)
print(f"| {name} | {got} | {int(count)/secs:,.0f} | {float(user)+float(sys_):.2f} | {int(rss)/1024:.1f} MB | {size} |")
PY
}

echo "flood: $COUNT QoS 0 messages over $TOPICS topics, mosquitto $(mosquitto -h | head -1 | awk '{print $3}')"
echo
echo "| consumer | received | msgs/s | CPU s | peak RSS | file |"
echo "|---|---|---|---|---|---|"
ROUNDS=${ROUNDS:-3}
for round in $(seq "$ROUNDS"); do
    # Alternate the order, so neither side always runs first.
    if (( round % 2 )); then
        run "sub --json > /dev/null (round $round)" "" "$MQSCOPE" sub -b "$URL" -t 'bench/#' --json -C "$COUNT" -W 120
    fi
    run "record -o rec.jsonl (round $round)" "$tmp/rec.jsonl" "$MQSCOPE" record -b "$URL" -t 'bench/#' -C "$COUNT" -o "$tmp/rec.jsonl" --quiet
    run "record -o rec.jsonl.zst (round $round)" "$tmp/rec.jsonl.zst" "$MQSCOPE" record -b "$URL" -t 'bench/#' -C "$COUNT" -o "$tmp/rec.jsonl.zst" --quiet
    run "record -o rec.jsonl.gz (round $round)" "$tmp/rec.jsonl.gz" "$MQSCOPE" record -b "$URL" -t 'bench/#' -C "$COUNT" -o "$tmp/rec.jsonl.gz" --quiet
    if (( round % 2 == 0 )); then
        run "sub --json > /dev/null (round $round)" "" "$MQSCOPE" sub -b "$URL" -t 'bench/#' --json -C "$COUNT" -W 120
    fi
done
echo
echo "replay --max of the $COUNT-message recording into the same mosquitto (no subscriber):"
/usr/bin/time -f "%U %S %M" -o "$tmp/time" "$MQSCOPE" replay "$tmp/rec.jsonl" -b "$URL" --max 2>&1 | grep replayed
read -r user sys rss < <(tail -1 "$tmp/time")
echo "(CPU $(python3 -c "print(f'{$user+$sys:.2f}')") s, peak RSS $((rss / 1024)) MB)"

echo
echo "open of the zstd recording (tmux 160x45):"
start=$(date +%s.%N)
tmux new-session -d -s recbench -x 160 -y 45 "$MQSCOPE open --max $tmp/rec.jsonl.zst"
first=""
while :; do
    screen=$(tmux capture-pane -p -t recbench 2>/dev/null || true)
    now=$(date +%s.%N)
    if [ -z "$first" ] && grep -q "topics" <<<"$screen"; then first=$now; fi
    if grep -q "100% of" <<<"$screen" && ! grep -q "loading" <<<"$screen"; then break; fi
    sleep 0.05
done
pid=$(pgrep -f "^$MQSCOPE open" | head -1)
hwm=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status)
python3 -c "print(f'first frame after {$first-$start:.2f} s; all $COUNT messages loaded and played after {$now-$start:.2f} s; peak RSS $hwm MB')"
tmux capture-pane -p -t recbench | tail -2 | head -1
tmux send-keys -t recbench q
