#!/usr/bin/env bash
# Re-takes the explorer screenshots: a throwaway mosquitto, a little plant's traffic, the real
# program in tmux at 160x45, keys sent as a person would, text captures saved here.
#
#   screenshots/take.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin mqscope
B=$PWD/target/release/mqscope
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'user root\nlog_dest none\nlistener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$tmp/m.conf"
mosquitto -c "$tmp/m.conf" & broker=$!
trap 'tmux kill-session -t shots 2>/dev/null; kill $broker $traffic 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 0.5
U=mqtt://127.0.0.1:$port
export MQSCOPE_LOG_DIR=$tmp
# Never the user's own config file: its keys and theme would change the captures.
export MQSCOPE_CONFIG=$tmp/none.toml

# Retained metadata, a binary blob, an MQTT 5 command.
for line in 1 2 3 10; do
    $B pub -b $U -t "plant/line$line/meta" -r -m "{\"model\":\"XR-$line\",\"fw\":\"2.4.$line\",\"site\":\"hall B\"}"
done
printf '\x01\x02\xca\xfe\x00\x10hello\xff' | $B pub -b $U -t plant/line1/blob -s -r

# Live telemetry in the background.
(
    i=0
    while true; do
        for line in 1 2 3 10; do
            t=$(( 200 + (i * 7 + line * 13) % 60 ))
            $B pub -b $U -t "plant/line$line/temp" -m "{\"t\":${t:0:2}.${t:2:1},\"unit\":\"C\",\"ok\":true,\"seq\":$i}" &
            $B pub -b $U -t "plant/line$line/state" -m "running" -r &
        done
        if (( i % 5 == 0 )); then
            $B pub -b $U -t plant/cmd/start -q 1 -m "{\"op\":\"start\",\"line\":2,\"n\":$i}" \
                --content-type application/json --response-topic plant/cmd/reply \
                --correlation-data "req-$i" --user-property operator=anna --message-expiry 300 &
        fi
        wait
        i=$((i + 1))
        sleep 0.3
    done
) & traffic=$!
sleep 2

tmux kill-session -t shots 2>/dev/null || true
tmux new -d -s shots -x 160 -y 45 "MQSCOPE_LOG_DIR=$tmp $B -b $U"
sleep 1.5
keys() { for k in "$@"; do tmux send-keys -t shots "$k"; sleep 0.25; done; }
shot() { sleep 0.8; tmux capture-pane -p -t shots > "screenshots/$1.txt"; tmux capture-pane -p -e -t shots > "screenshots/$1.ansi"; }

keys e j j
shot mqtt5-properties
keys j j j j j
shot tree-json
keys d
shot diff
keys d / b l o b Enter
shot filter-hex
keys Escape '?'
shot help
keys Escape

# A live reconnect: the broker dies, mqscope backs off and retries, the broker comes back.
tmux send-keys -t shots Tab; sleep 0.2; tmux send-keys -t shots Tab; sleep 0.2; tmux send-keys -t shots Tab
sleep 0.3; tmux send-keys -t shots t
kill $broker; wait $broker 2>/dev/null || true
sleep 4.5
shot reconnect-retrying
mosquitto -c "$tmp/m.conf" & broker=$!
sleep 5
shot reconnect-recovered
tmux send-keys -t shots Tab; sleep 0.2; tmux send-keys -t shots Tab; sleep 0.2; tmux send-keys -t shots Tab; sleep 0.2
keys j Enter z
shot timeline-details
tmux send-keys -t shots q
