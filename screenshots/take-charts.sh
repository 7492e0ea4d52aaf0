#!/usr/bin/env bash
# Takes the chart screenshots on the demo at 160x45: a room's temperature charted in the
# inspector (with its humidity's topic pinned too), then the charts pane with four pinned
# series from different topics (two rooms, a humidity, the 1 kHz vibration).
#
#   screenshots/take-charts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin mqscope
M=$PWD/target/release/mqscope
tmp=$(mktemp -d)
trap 'tmux kill-session -t chart-shots 2>/dev/null || true; rm -rf "$tmp"' EXIT
export MQSCOPE_CONFIG=$tmp/none.toml MQSCOPE_LOG_DIR=$tmp MQSCOPE_STATE_DIR=$tmp
tmux kill-session -t chart-shots 2>/dev/null || true
tmux new -d -s chart-shots -x 160 -y 45 "$M demo"
keys() { for k in "$@"; do tmux send-keys -t chart-shots "$k"; sleep 0.3; done; }
find() { keys / C-u; for c in $(echo "$1" | grep -o .); do tmux send-keys -t chart-shots -l "$c"; done; keys Enter; }
shot() {
    sleep 1
    tmux capture-pane -p -t chart-shots > "screenshots/$1.txt"
    tmux capture-pane -p -e -t chart-shots > "screenshots/$1.ansi"
}
sleep 45
find floor1/room1/humidity
keys g +
find floor2/room2/temp
keys +
find telemetry/press-2/vibration
keys +
find floor1/room1/temp
keys +
sleep 8
shot chart-inspector
keys Tab Tab Tab
shot chart-pane
keys q
python3 screenshots/render_png.py screenshots/chart-*.ansi
