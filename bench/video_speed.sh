#!/usr/bin/env bash
# fer video's speed against OpenCV's own decode + detect loop (bench/video_opencv_reference.py),
# on a 640x480 and a 1280x720 clip made here from the shared photos (2 s at 10 fps: panning over
# bbt4.jpg, then bbt1.jpg), run alternately, ROUNDS times (default 3), on THREADS (default 2).
#   bash bench/video_speed.sh [path/to/fer] [path/to/shared]
# Each fer line gives the whole pipeline (decode, detect, classify, track, draw, encode H.264)
# and, separately, the decoder thread's time and the analysis threads' time.
set -euo pipefail
cd "$(dirname "$0")/.."
fer=${1:-build/examples/fer/fer}
shared=${2:-../shared}
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$fer" train --model small --epochs 1 --batch 64 --train-rows 700 --val-rows 140 --out "$work/m.mdnn" >/dev/null
for size in 640x480 1280x720; do
  w=${size%x*} h=${size#*x}
  ffmpeg -nostdin -v error -y -loop 1 -framerate 10 -t 1.5 -i "$shared/data/faces/bbt4.jpg" \
    -loop 1 -framerate 10 -t 0.5 -i "$shared/data/faces/bbt1.jpg" -filter_complex \
    "[0:v]scale=$((w * 5 / 4)):-2,zoompan=z='1.1-0.002*on':x='on*3':y='on*2':d=1:s=$size:fps=10,setsar=1[a];\
[1:v]scale=-2:$h,crop=$w:$h,setsar=1,fps=10[b];[a][b]concat=n=2:v=1[v]" \
    -map '[v]' -c:v libx264 -preset veryfast -pix_fmt yuv420p "$work/clip_$size.mp4"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for round in $(seq "$rounds"); do
  for size in 640x480 1280x720; do
    clip="$work/clip_$size.mp4"
    echo "round $round $size fer:    $("$fer" video --model "$work/m.mdnn" --threads "$threads" --out "$work/a.mp4" \
      --csv "$work/e.csv" --chart none "$clip" 2>&1 >/dev/null | grep ' fps; ')"
    echo "round $round $size opencv: $(/usr/bin/python3 bench/video_opencv_reference.py "$clip" "$threads")"
  done
done
