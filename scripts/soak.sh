#!/bin/sh
# Soak: run the daemon live (paced) with one 640x480@30 synthetic camera and
# one 48 kHz stereo microphone for DURATION (default 10m), scrape its
# metrics every INTERVAL seconds (default 30) and print RSS, CPU and the
# processing latency over time. Usage: scripts/soak.sh [DURATION] [INTERVAL]
# [--set k=v]... (more daemon flags). Logs go to soak.log (LOG=...).
# RSS is split into anonymous memory (heaps: Go's, OpenCV's) and file-backed
# pages (the binary and its shared libraries, touched as code runs).
set -eu
DURATION=${1:-10m}
INTERVAL=${2:-30}
shift 2 2>/dev/null || shift $#
LOG=${LOG:-soak.log}
PORT=${PORT:-19464}
BIN=${BIN:-bin/fusiond}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/fusiond
"$BIN" run --for "$DURATION" \
  --set cameras.0.width=640 --set cameras.0.height=480 --set cameras.0.fps=30 \
  --set microphones.0.rate_hz=48000 --set microphones.0.channels=2 \
  --set nats.embedded.listen= --set metrics.listen=127.0.0.1:$PORT --set log.format=json "$@" 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT INT TERM
echo "elapsed_s rss_mb rss_anon_mb rss_file_mb go_heap_inuse_mb cpu_s decisions bundles processing_p99_le_s"
START=$(date +%s)
while kill -0 $PID 2>/dev/null; do
  sleep "$INTERVAL"
  M=$(curl -sf "http://127.0.0.1:$PORT/metrics" || true)
  [ -n "$M" ] || continue
  ANON=$(awk '/^RssAnon:/ {print $2/1024}' /proc/$PID/status 2>/dev/null || echo 0)
  FILE=$(awk '/^RssFile:/ {print $2/1024}' /proc/$PID/status 2>/dev/null || echo 0)
  echo "$M" | awk -v t=$(( $(date +%s) - START )) -v anon="$ANON" -v file="$FILE" '
    /^process_resident_memory_bytes / {rss=$2/1048576}
    /^process_cpu_seconds_total / {cpu=$2}
    /^go_memstats_heap_inuse_bytes / {heap=$2/1048576}
    /^fusiond_decisions_total/ {dec=$2}
    /^fusiond_bundles_total / {b=$2}
    /^fusiond_stage_latency_seconds_bucket\{le="[^"]*",span="processing"\}/ ||
    /^fusiond_stage_latency_seconds_bucket\{span="processing",le="[^"]*"\}/ {
      match($0, /le="[^"]*"/); le=substr($0, RSTART+4, RLENGTH-5); n[++k]=$2; l[k]=le }
    END {
      tot=n[k]; p="?"; for (i=1;i<=k;i++) if (n[i] >= 0.99*tot) { p=l[i]; break }
      printf "%d %.1f %.1f %.1f %.1f %.2f %d %d %s\n", t, rss, anon, file, heap, cpu, dec, b, p }'
done
wait $PID 2>/dev/null || true
