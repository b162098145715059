#!/usr/bin/env bash
# The demo: runs fusiond on its built-in config (synthetic camera and
# microphone, embedded NATS) for DEMO_FOR, and shows the decisions arriving
# over NATS with 'fusiond tail', as any subscriber would see them.
#
# Usage: scripts/demo.sh   (DEMO_LISTEN=127.0.0.1:4222 DEMO_FOR=20s by default)
set -euo pipefail
cd "$(dirname "$0")/.."

listen=${DEMO_LISTEN:-127.0.0.1:4222}
duration=${DEMO_FOR:-20s}
bin=bin/fusiond

echo "demo: fusiond run --for $duration (embedded NATS on $listen); decisions below arrive over NATS"
"$bin" tail --server "nats://$listen" --robot demo --for "$duration" &
tail_pid=$!
trap 'kill $tail_pid 2>/dev/null || true' EXIT
status=0
"$bin" run --for "$duration" --set "nats.embedded.listen=$listen" || status=$?
kill "$tail_pid" 2>/dev/null || true
wait "$tail_pid" 2>/dev/null || true
if [ "$status" -ne 0 ]; then
  echo "demo: fusiond run failed (exit $status); if the port is taken, try: make demo DEMO_LISTEN=127.0.0.1:4333" >&2
fi
exit "$status"
