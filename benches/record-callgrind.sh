#!/usr/bin/env bash
# Instructions (callgrind, every thread) per message: sub --json vs record (plain, zstd, gzip)
# on the same flood through mosquitto. Repeatable where wall-clock rates on a shared 2-core VM
# are not. benches/record-callgrind.sh [COUNT] (default 100000; about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin mqscope --example flood
M=$PWD/target/release/mqscope
FLOOD=$PWD/target/release/examples/flood
COUNT=${1:-100000}
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf "user root\npersistence false\nlog_dest none\nlistener $port 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n" > $tmp/m.conf
mosquitto -c $tmp/m.conf & bp=$!
sleep 0.5
one() {
  local name=$1; shift
  valgrind --tool=callgrind --callgrind-out-file=$tmp/cg.out "$@" > /dev/null 2> $tmp/err &
  local pid=$!
  sleep 4
  $FLOOD --port $port --count $COUNT --topics 10000 > /dev/null
  wait $pid || true
  local ir=$(grep -E "^(summary|totals):" $tmp/cg.out | head -1 | awk '{print $2}')
  echo "| $name | $ir | $(python3 -c "print(round($ir/$COUNT))") |"
}
echo "| consumer | instructions | per message |"
echo "|---|---|---|"
one "sub --json" $M sub -b mqtt://127.0.0.1:$port -t 'bench/#' --json -C $COUNT -W 300
one "record -o rec.jsonl" $M record -b mqtt://127.0.0.1:$port -t 'bench/#' -C $COUNT -o $tmp/r.jsonl --quiet
one "record -o rec.jsonl.zst" $M record -b mqtt://127.0.0.1:$port -t 'bench/#' -C $COUNT -o $tmp/r.jsonl.zst --quiet
one "record -o rec.jsonl.gz" $M record -b mqtt://127.0.0.1:$port -t 'bench/#' -C $COUNT -o $tmp/r.jsonl.gz --quiet
kill $bp; rm -rf $tmp
