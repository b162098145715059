#!/usr/bin/env bash
# The fusion benchmark (docs/DECISIONS.md):
#   scripts/make-eval-clips.sh          fetch Debian's media, convert the sources, mix the
#                                       real-audio clips into .cache/eval (labels are committed)
#   scripts/make-eval-clips.sh --regen  also rewrite every clip config, label and mix recipe
#                                       under testdata/eval and retrain the shipped head
# Needs ffmpeg and sox. Media is never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-media.sh pocketsphinx-testdata codec2-examples sound-theme-freedesktop >/dev/null
src=.cache/eval/src
mkdir -p "$src"
m=.cache/media
conv() { # name input
  [ -s "$src/$1.wav" ] || ffmpeg -nostdin -hide_banner -loglevel error -y -i "$2" -ac 1 -ar 48000 -c:a pcm_s16le "$src/$1.wav"
}
for n in 0870 0880 0890 0920 0930; do
  conv "librivox-$n" "$m/pocketsphinx-testdata/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-$n.wav"
done
conv codec2-wia "$m/codec2-examples/usr/share/codec2/wav/wia_16kHz.wav"
for n in hts1a forig morig; do conv "codec2-$n" "$m/codec2-examples/usr/share/codec2/wav/$n.wav"; done
for n in bell trash-empty device-added window-attention service-login power-unplug; do
  conv "$n" "$m/sound-theme-freedesktop/usr/share/sounds/freedesktop/stereo/$n.oga"
done
# Music without speech: plucked chord sequences.
[ -s "$src/chords-a.wav" ] || sox -R -D -n -r 48000 -c 1 -b 16 "$src/chords-a.wav" synth 1.5 pluck C3 pluck E3 pluck G3 pluck C4 : synth 1.5 pluck A2 pluck C3 pluck E3 pluck A3 : synth 1.5 pluck F2 pluck A2 pluck C3 pluck F3 : synth 1.5 pluck G2 pluck B2 pluck D3 pluck G3 : synth 1.5 pluck C3 pluck E3 pluck G3 pluck C4 : synth 1.5 pluck G2 pluck B2 pluck D3 pluck G3 gain -3
[ -s "$src/chords-b.wav" ] || sox -R -D -n -r 48000 -c 1 -b 16 "$src/chords-b.wav" synth 1.2 pluck D3 pluck F#3 pluck A3 : synth 1.2 pluck B2 pluck D3 pluck F#3 : synth 1.2 pluck G2 pluck B2 pluck D3 : synth 1.2 pluck A2 pluck C#3 pluck E3 : synth 1.2 pluck D3 pluck F#3 pluck A3 : synth 1.2 pluck E3 pluck G3 pluck B3 : synth 1.2 pluck A2 pluck C#3 pluck E3 gain -3
go build -o .cache/eval/fusiond ./cmd/fusiond
if [ "${1:-}" = --regen ]; then
  .cache/eval/fusiond eval --make-clips testdata/eval
  .cache/eval/fusiond eval --mix
  .cache/eval/fusiond train --out configs/models/fusion-head.txt
else
  .cache/eval/fusiond eval --mix
fi
