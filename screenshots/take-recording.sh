#!/usr/bin/env bash
# Takes the recording screenshots: `mqscope record` of the demo's broker for 40 s (its
# progress line captured in tmux), then `mqscope open` on the file at 160x45: the end state,
# then back to 20 s after the start (the demo's fault schedule drops the link at 15 s).
#
#   screenshots/take-recording.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin mqscope
M=$PWD/target/release/mqscope
tmp=$(mktemp -d)
trap 'tmux kill-session -t rec-shots 2>/dev/null || true; kill $demo 2>/dev/null || true; rm -rf "$tmp"' EXIT
export MQSCOPE_CONFIG=$tmp/none.toml MQSCOPE_LOG_DIR=$tmp
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$M" demo --no-tui --port "$port" > "$tmp/demo.out" 2>&1 & demo=$!
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
tmux kill-session -t rec-shots 2>/dev/null || true
tmux new -d -s rec-shots -x 160 -y 12 "$M record -b mqtt://127.0.0.1:$port -o $tmp/demo.jsonl.zst --packets --duration 40; sleep 30"
sleep 30
tmux capture-pane -p -t rec-shots | grep -v '^$' > screenshots/record-progress.txt
sleep 12
tmux kill-session -t rec-shots
tmux new -d -s rec-shots -x 160 -y 45 "$M open --max $tmp/demo.jsonl.zst"
keys() { for k in "$@"; do tmux send-keys -t rec-shots "$k"; sleep 0.3; done; }
shot() {
    sleep 1
    tmux capture-pane -p -t rec-shots > "screenshots/$1.txt"
    tmux capture-pane -p -e -t rec-shots > "screenshots/$1.ansi"
}
sleep 2
keys / f l o o r 1 / r o o m 1 / t e m p Enter
shot recording-open-end
keys Escape p : C-u + 2 0 s Enter / f l o o r 1 / r o o m 1 / t e m p Enter
shot recording-open-20s
keys q
python3 screenshots/render_png.py screenshots/recording-open-*.ansi
