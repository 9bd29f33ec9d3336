#!/usr/bin/env bash
# Load figures for docs/serving.md: Debian wrk on loopback against POST /api/v1/analyze, with
# bbt4.jpg (6 faces) and a 640x480 webcam-sized frame with one face, for 1-8 connections on 2
# server threads, then the frame on one core (server --threads 1 pinned with taskset, wrk on
# another core), with the default options and with the min_size the page's webcam mode sends
# once it has found the face (3/4 of its 226 px: 169).
#   bash bench/serve_load.sh build/examples/fer/fer ../shared   (SECS=60 for the 60 s runs)
# ONLY=frame640, ONLY=bbt4 or ONLY=one-core runs only the frame's 2-thread cases, the photo's, or the one-core ones.
set -euo pipefail
fer=${1:?fer binary}; shared=${2:?shared dir}; secs=${SECS:-20}; only=${ONLY:-}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
"$fer" train --model seed --epochs 1 --batch 64 --train-rows 512 --val-rows 64 --out "$w/m.mdnn" >/dev/null 2>&1
ffmpeg -loglevel error -i "$shared/data/faces/bbt1.jpg" -vf crop=330:248:60:60,scale=640:480 -q:v 3 "$w/frame640.jpg"
"$fer" predict --model "$w/m.mdnn" --json --out "$w/p" "$w/frame640.jpg" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("frame640 faces:", [f["box"] for f in d[0]["faces"]])'

# run IMAGE SERVER_THREADS CONNECTIONS QUERY [CPU]: one wrk run against a fresh server.
run() {
  local img=$1 st=$2 c=$3 query=$4 cpu=${5:-}
  cat > "$w/post.lua" <<LUA
local f = io.open("$img", "rb"); wrk.body = f:read("*all"); f:close()
wrk.method = "POST"; wrk.headers["Content-Type"] = "image/jpeg"
LUA
  local pin=() wrk_pin=()
  if [[ -n $cpu ]]; then pin=(taskset -c "$cpu"); wrk_pin=(taskset -c "$(( (cpu + 1) % $(nproc) ))"); fi
  "${pin[@]}" "$fer" serve --model "$w/m.mdnn" --port 0 --threads "$st" --queue 64 > "$w/serve.out" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do grep -q "http://" "$w/serve.out" && break; sleep 0.2; done
  local url; url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$w/serve.out" | head -1) ||
    { echo "fer serve did not start:"; cat "$w/serve.out"; exit 1; }
  echo "== $(basename "$img")${query}, server threads $st${cpu:+ on CPU $cpu only}, connections $c, ${secs} s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  # The server's CPU time per answered request: what a request costs, which the machine's other
  # load disturbs far less than latency does.
  local ticks0; ticks0=$(awk '{print $14 + $15}' /proc/$pid/stat)
  OMP_NUM_THREADS=1 "${wrk_pin[@]}" wrk -t1 -c"$c" --timeout 10s -d"${secs}s" --latency -s "$w/post.lua" "${url}api/v1/analyze${query}" |
    grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors|requests in" | tee "$w/wrk.out"
  local ticks1; ticks1=$(awk '{print $14 + $15}' /proc/$pid/stat)
  local requests; requests=$(awk '/requests in/ {print $1}' "$w/wrk.out")
  awk -v t=$((ticks1 - ticks0)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN { printf "server CPU per request: %.1f ms\n", 1000 * t / hz / n }'
  grep -E "VmHWM" /proc/$pid/status || true
  kill -TERM $pid; wait $pid || true
}

case $only in
  ""|frame640|bbt4)
    images=()
    [[ $only == bbt4 ]] || images+=("$w/frame640.jpg")
    [[ $only == frame640 ]] || images+=("$shared/data/faces/bbt4.jpg")
    for img in "${images[@]}"; do
      for threads_conns in "2 1" "2 2" "2 8"; do
        run "$img" $threads_conns ""
      done
    done ;;&
  ""|one-core)
    run "$w/frame640.jpg" 1 1 "" 1
    run "$w/frame640.jpg" 1 1 "?min_size=169" 1
    run "$w/frame640.jpg" 2 8 "?min_size=169" ;;
esac
