#!/usr/bin/env bash
# Decode speed of fusiond's file camera (OpenCV's FFmpeg backend through
# gocv, copied out into pooled BGR frames) against `ffmpeg -benchmark -f
# null` on the same file, side by side: the two alternate ROUNDS times and
# each keeps its best (shortest) wall time, so a busy machine penalises
# neither. Prints frames/s of each and the ratio (the target is >= 0.90).
# For context it also times `ffmpeg -pix_fmt bgr24 -f null`, which does
# what the camera must (convert every frame to BGR); plain -f null does not.
#
# Usage: scripts/bench-decode.sh [FILE...]   (default: the opencv-doc clips
#        (run scripts/fetch-media.sh opencv-doc first) and two 20 s 640x480
#        clips made here, MJPEG and H.264)
#        ROUNDS=5 (default)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
files=("$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/camera.test
if [ ${#files[@]} -eq 0 ]; then
  d=.cache/media/opencv-doc/usr/share/doc/opencv-doc/examples/data
  ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=640x480:rate=30 -t 20 -c:v mjpeg -q:v 3 "$tmp/mjpeg640.avi"
  ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=640x480:rate=30 -t 20 -c:v libx264 -pix_fmt yuv420p "$tmp/h264-640.mp4"
  files=("$d/vtest.avi" "$d/Megamind.avi" "$tmp/mjpeg640.avi" "$tmp/h264-640.mp4")
fi
go test -c -o "$bin" ./ingest/camera
export OPENCV_LOG_LEVEL=ERROR
printf '%-22s %7s %11s %11s %11s %7s %9s\n' file frames ffmpeg_fps bgr24_fps fusiond_fps ratio ratio_bgr
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "bench-decode: $f missing (scripts/fetch-media.sh)" >&2; continue; }
  frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$f")
  best_ff=999999 best_bgr=999999 best_us=999999
  for _ in $(seq "$rounds"); do
    t=$(ffmpeg -hide_banner -nostdin -benchmark -i "$f" -an -f null - 2>&1 | sed -n 's/.*rtime=\([0-9.]*\)s.*/\1/p')
    best_ff=$(echo "$t $best_ff" | awk '{print ($1<$2)?$1:$2}')
    t=$(ffmpeg -hide_banner -nostdin -benchmark -i "$f" -an -pix_fmt bgr24 -f null - 2>&1 | sed -n 's/.*rtime=\([0-9.]*\)s.*/\1/p')
    best_bgr=$(echo "$t $best_bgr" | awk '{print ($1<$2)?$1:$2}')
    ns=$(FUSIOND_BENCH_FILE=$(realpath "$f") "$bin" -test.run '^$' -test.bench BenchmarkFileDecode -test.benchtime 1x | awk '/BenchmarkFileDecode/{print $3}')
    t=$(echo "$ns" | awk '{print $1/1e9}')
    best_us=$(echo "$t $best_us" | awk '{print ($1<$2)?$1:$2}')
  done
  awk -v f="$(basename "$f")" -v n="$frames" -v a="$best_ff" -v c="$best_bgr" -v b="$best_us" \
    'BEGIN{printf "%-22s %7d %11.0f %11.0f %11.0f %7.2f %9.2f\n", f, n, n/a, n/c, n/b, a/b, c/b}'
done
