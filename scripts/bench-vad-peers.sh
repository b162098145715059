#!/usr/bin/env bash
# Silero VAD and WebRTC VAD (../shared/peers/vad) on the speech of one split
# of the real-media benchmark (scripts/make-real-bench.sh), scored against its
# labels over 10 ms steps, per clip and pooled over the split's clips (the
# steps of all clips counted together):
#
#   scripts/bench-vad-peers.sh [SPLIT]     (default: test)
#
# Writes .cache/realbench/peers-<split>.json: each detector as vad.cjs gives it, and each
# frame detector again as -causal (a frame's verdict from the frame's end, when a listener
# has it, as fusiond's decisions are scored). Variants scored: wav (48 kHz
# stereo), wav-mono (the native rate), noise (pink room noise at -30 dBFS) and
# tone (a 440 Hz tone and no speech: there only the fraction of the time each
# detector claims speech means anything). FUSIOND_PEERS names the peers folder
# (default ../shared/peers, beside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
split=${1:-test}
root=${REALBENCH_DIR:-.cache/realbench}
peers=${FUSIOND_PEERS:-../shared/peers}
[ -f "$root/manifest.tsv" ] || { echo "bench-vad-peers: no $root/manifest.tsv (run scripts/make-real-bench.sh)" >&2; exit 1; }
[ -f "$peers/vad/vad.cjs" ] || { echo "bench-vad-peers: no $peers/vad/vad.cjs (set FUSIOND_PEERS)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -F'\t' -v s="$split" 'NR > 1 && $1 == s && ($3 == "wav" || $3 == "wav-mono" || $3 == "noise" || $3 == "tone")' "$root/manifest.tsv" |
  while IFS=$'\t' read -r _ clip variant media labels _; do
    node "$peers/vad/vad.cjs" "$root/$media" --labels "$root/$labels" --json |
      node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const r = JSON.parse(s); r.clip = process.argv[1]; r.variant = process.argv[2]; r.labels = process.argv[3];
        console.log(JSON.stringify(r)); });' "$clip" "$variant" "$root/$labels"
  done >"$tmp/rows.jsonl"
[ -s "$tmp/rows.jsonl" ] || { echo "bench-vad-peers: no clips of split $split in $root/manifest.tsv" >&2; exit 1; }

# Pool: the same 10 ms steps and truth (speech and speaker labels) as vad.cjs.
node - "$tmp/rows.jsonl" "$split" >"$root/peers-$split.json" <<'EOF'
const fs = require('fs');
const [file, split] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const truthOf = (labels) => fs.readFileSync(labels, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('\\'))
  .map((l) => l.split('\t')).filter(([, , k]) => k === 'speech' || (k || '').startsWith('speaker')).map(([a, b]) => [+a, +b]);
const inAny = (t, xs) => xs.some(([a, b]) => a <= t && t < b);
const ratio = (a, b) => (b ? +(a / b).toFixed(3) : null);
// Each frame detector's verdicts again as a subscriber would have them (-causal): a frame's
// verdict from the frame's end, not over its own span (WebRTC 30 ms frames, Silero 96 ms).
const frameS = { 'webrtc-mode1': 0.03, 'webrtc-mode3': 0.03, 'silero-frames': 1536 / 16000 };
const clips = [], pooled = {};
for (const r of rows) {
  for (const [det, d] of Object.entries(frameS)) {
    if (r.detectors[det]) r.detectors[`${det}-causal`] = r.detectors[det].map(([a, b]) => [a + d, b + d]);
  }
  const truth = truthOf(r.labels), scores = {};
  for (const [det, segs] of Object.entries(r.detectors)) {
    let tp = 0, fp = 0, fn = 0, n = 0;
    for (let t = 0.005; t < r.seconds; t += 0.01, n++) {
      const y = inAny(t, truth), p = inAny(t, segs);
      if (y && p) tp++; else if (p) fp++; else if (y) fn++;
    }
    scores[det] = { precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn), f1: ratio(2 * tp, 2 * tp + fp + fn), claimed: ratio(tp + fp, n), tp, fp, fn, steps: n };
    const p = ((pooled[r.variant] ??= {})[det] ??= { tp: 0, fp: 0, fn: 0, steps: 0, clips: 0 });
    p.tp += tp; p.fp += fp; p.fn += fn; p.steps += n; p.clips++;
  }
  clips.push({ clip: r.clip, variant: r.variant, file: r.file, labels: r.labels, seconds: r.seconds, scores });
}
for (const v of Object.values(pooled)) for (const p of Object.values(v)) {
  Object.assign(p, { precision: ratio(p.tp, p.tp + p.fp), recall: ratio(p.tp, p.tp + p.fn), f1: ratio(2 * p.tp, 2 * p.tp + p.fp + p.fn), claimed: ratio(p.tp + p.fp, p.steps) });
}
console.log(JSON.stringify({ split, step_s: 0.01, truth: 'speech and speaker labels', pooled, clips }, null, 1));
EOF
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const [v, ds] of Object.entries(r.pooled)) for (const [d, p] of Object.entries(ds))
    console.log([r.split, v, d.padEnd(15), "P", p.precision, "R", p.recall, "F1", p.f1, "claimed", p.claimed, "clips", p.clips].join(" "));' "$root/peers-$split.json"
