#!/usr/bin/env bash
# Load figures for docs/serving.md: Debian wrk on loopback against POST /api/v1/analyze, with
# bbt4.jpg (6 faces) and a 640x480 webcam-sized frame with one face, for 1-8 connections.
#   bash bench/serve_load.sh build/examples/fer/fer ../shared   (SECS=60 for the 60 s runs)
set -euo pipefail
fer=${1:?fer binary}; shared=${2:?shared dir}; secs=${SECS:-20}
w=$(mktemp -d)
"$fer" train --model seed --epochs 1 --batch 64 --train-rows 512 --val-rows 64 --out "$w/m.mdnn" >/dev/null 2>&1
ffmpeg -loglevel error -i "$shared/data/faces/bbt1.jpg" -vf crop=330:248:60:60,scale=640:480 -q:v 3 "$w/frame640.jpg"
"$fer" predict --model "$w/m.mdnn" --json --out "$w/p" "$w/frame640.jpg" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("frame640 faces:", len(d[0]["faces"]))'
for img in "$shared/data/faces/bbt4.jpg" "$w/frame640.jpg"; do
  cat > "$w/post.lua" <<LUA
local f = io.open("$img", "rb"); wrk.body = f:read("*all"); f:close()
wrk.method = "POST"; wrk.headers["Content-Type"] = "image/jpeg"
LUA
  for threads_conns in "1 1" "2 1" "2 2" "2 8"; do
    set -- $threads_conns; st=$1; c=$2
    "$fer" serve --model "$w/m.mdnn" --port 0 --threads "$st" --queue 64 > "$w/serve.out" 2>&1 &
    pid=$!
    for i in $(seq 50); do grep -q "http://" "$w/serve.out" && break; sleep 0.2; done
    url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$w/serve.out" | head -1)
    echo "== $(basename "$img"), server threads $st, connections $c, ${secs} s"
    OMP_NUM_THREADS=1 wrk -t1 -c"$c" --timeout 10s -d"${secs}s" --latency -s "$w/post.lua" "${url}api/v1/analyze" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors|requests in"
    grep -E "VmHWM" /proc/$pid/status || true
    kill -TERM $pid; wait $pid || true
  done
done
rm -rf "$w"
