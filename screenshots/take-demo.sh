#!/usr/bin/env bash
# Takes the demo's screenshots: `mqscope demo` in tmux at 160x45, keys as a person presses
# them, text and colour captures, then PNG renders (screenshots/render_png.py).
#
#   screenshots/take-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin mqscope
tmp=$(mktemp -d)
trap 'tmux kill-session -t demo-shots 2>/dev/null || true; rm -rf "$tmp"' EXIT
tmux kill-session -t demo-shots 2>/dev/null || true
tmux new -d -s demo-shots -x 160 -y 45 "MQSCOPE_CONFIG=$tmp/none.toml MQSCOPE_LOG_DIR=$tmp target/release/mqscope demo"
start=$(date +%s)
keys() { for k in "$@"; do tmux send-keys -t demo-shots "$k"; sleep 0.3; done; }
shot() {
    sleep 0.8
    tmux capture-pane -p -t demo-shots > "screenshots/$1.txt"
    tmux capture-pane -p -e -t demo-shots > "screenshots/$1.ansi"
}
until_second() { while (( $(date +%s) - start < $1 )); do sleep 0.2; done; }

until_second 5
keys / f l o o r 1 / r o o m 1 / t e m p Enter
shot demo-tree-json
keys d
shot demo-diff
keys d Escape / s n a p s h o t Enter
shot demo-binary
# The factory floor: Protobuf decoded with the demo's schema, Sparkplug B device data named by alias.
keys Escape / p r e s s - 4 / t e l e m e t r y Enter
shot demo-protobuf
keys Escape / D D A T A / e d g e - 1 / p r e s s - 4 Enter
shot demo-sparkplug
keys Escape
# The fault schedule drops every connection at 15 s for 5 s.
until_second 19
shot demo-reconnect
keys Tab Tab Tab t
shot demo-packets
keys t Tab D
sleep 3
shot demo-doctor
keys x
# By a minute in, the anomaly watch has the silent room, the schema change, the counter's
# gaps and its repeat.
until_second 62
keys A
shot demo-anomalies
# The third newest is the status's schema change: Enter shows its message, diffed.
keys Down Down Enter
shot demo-anomaly-diff
keys q
python3 screenshots/render_png.py screenshots/demo-*.ansi
