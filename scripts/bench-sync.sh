#!/usr/bin/env bash
# Side-by-side benchmark of fusiond's approximate synchroniser and the C++ ROS
# message_filters ApproximateTime peer (../shared/peers/message_filters).
#
# For every scenario the generator makes, it writes one trace, runs the peer
# and fusiond on it with --sets, checks that the two sets files are
# identical, then times both without --sets (best of REPEAT runs each, in
# alternation, in this one run) and prints the rate ratio.
#
# Usage: scripts/bench-sync.sh [MESSAGES] [REPEAT]     (defaults 800000 3)
# Env:   PEER=path/to/approx (skip building the peer), FUSIOND=path/to/fusiond
#        (skip building fusiond), KEEP=dir (keep files),
#        SCENARIOS="basic jitter" (a subset).
# Exits 1 if any sets differ.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-800000}
repeat=${2:-3}

peer=${PEER:-}
if [ -z "$peer" ]; then
  peer=$(../shared/peers/message_filters/build.sh | tail -n1)
fi
fusiond=${FUSIOND:-}
if [ -z "$fusiond" ]; then
  go build -o bin/fusiond ./cmd/fusiond
  fusiond=bin/fusiond
fi

work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
scenarios=${SCENARIOS:-$($fusiond bench trace --list | awk '{print $1}')}

rate() { sed -n 's/.*rate=\([0-9]*\).*/\1/p'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $(go env GOVERSION); $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-12s %9s %6s %9s %12s %12s %7s\n' scenario messages sets identical peer_rate ours_rate ratio
fail=0
for s in $scenarios; do
  trace=$work/$s.trace
  $fusiond bench trace --scenario "$s" --messages "$messages" --out "$trace"
  "$peer" "$trace" --sets "$work/$s.peer.sets" >/dev/null
  $fusiond bench sync --trace "$trace" --policy approximate --sets "$work/$s.ours.sets" >/dev/null
  if cmp -s "$work/$s.peer.sets" "$work/$s.ours.sets"; then same=yes; else same=NO; fail=1; fi
  sets=$(wc -l <"$work/$s.peer.sets")
  n=$(grep -vc '^#' "$trace")
  best_peer=0 best_ours=0
  for _ in $(seq "$repeat"); do
    r=$("$peer" "$trace" | rate); [ "$r" -gt "$best_peer" ] && best_peer=$r
    r=$($fusiond bench sync --trace "$trace" --policy approximate | rate); [ "$r" -gt "$best_ours" ] && best_ours=$r
  done
  ratio=$(awk -v a="$best_ours" -v b="$best_peer" 'BEGIN{printf "%.1f", a/b}')
  printf '%-12s %9d %6d %9s %12d %12d %6sx\n' "$s" "$n" "$sets" "$same" "$best_peer" "$best_ours" "$ratio"
done
exit $fail
