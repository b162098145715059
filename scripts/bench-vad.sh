#!/usr/bin/env bash
# The VAD benchmark: fusiond's VAD beside Silero VAD and WebRTC VAD on the
# Debian speech recordings (scripts/fetch-media.sh), frame by frame.
#
# Usage: scripts/bench-vad.sh train|validation|test [--json]
#
# Each recording is padded with 1 s of silence before and after (so that
# onsets and non-speech are measured) and played twice: as it is plus a
# -60 dBFS pink-noise floor ("clean"), and with pink room noise at -30 dBFS
# ("noise"). Labels come from the clean padded recording by
# scripts/speech-labels.sh (never from fusiond). A 440 Hz tone (3 s, no
# speech labelled) checks that a tone is never speech. Work files go to
# $VAD_BENCH_DIR/<split>/ (default .cache/vad). Nothing is tuned on test.
#
# codec2's david4.wav and vk2tpm_004.wav are in no split: they are 30 and
# 35 s of HF modem signal (a steady 700-2300 or 1000-2000 Hz band, RMS
# level flat within 2.5 dB, no pitch harmonics in the spectrogram), not
# speech, yet the energy rule of scripts/speech-labels.sh labels all of them
# speech (a label-rule failure). kristoff.raw (a man's voice, 5 s, a
# speaker in no other split) took david4's place in test, big_dog.wav and
# cross.wav took vk2tpm_004's in train.
set -euo pipefail
cd "$(dirname "$0")/.."
split=${1:?usage: bench-vad.sh train|validation|test [--json]}
shift
P=.cache/media/pocketsphinx-testdata/usr/share/pocketsphinx/test/data
C=.cache/media/codec2-examples/usr/share/codec2
A=.cache/media/alsa-utils/usr/share/sounds/alsa
L=$P/librivox/sense_and_sensibility_01_austen_64kb
case $split in
train) src=("$L-0870.wav" "$L-0880.wav" "$L-0890.wav" "$P/cards/001.wav" "$P/cards/002.wav" "$C/wav/hts1a.wav" "$C/wav/hts2a.wav" "$C/wav/mmt1.wav" "$C/wav/big_dog.wav" "$C/wav/cross.wav") ;;
validation) src=("$L-0920.wav" "$P/cards/003.wav" "$C/wav/morig.wav" "$C/wav/ve9qrp.wav") ;;
test) src=("$L-0930.wav" "$P/cards/004.wav" "$P/cards/005.wav" "$C/wav/forig.wav" "$C/wav/wia_16kHz.wav" "$C/raw/speech_orig_16k.wav" "$C/wav/vk5qi.wav" "$C/raw/kristoff.raw" "$A/Front_Center.wav") ;;
*) echo "bench-vad: unknown split $split" >&2; exit 2 ;;
esac
out=${VAD_BENCH_DIR:-.cache/vad}/$split
mkdir -p "$out"
peers=../shared/peers/vad/vad.cjs
[ -f "$peers" ] || peers=/work/shared/peers/vad/vad.cjs
list=$out/list.tsv
: >"$list"
row() { # WAV LABELS
  local pj="${1%.wav}.peers.json"
  [ -s "$pj" ] || node "$peers" "$1" --labels "$2" --json >"$pj"
  printf '%s\t%s\t%s\n' "$1" "$2" "$pj" >>"$list"
}
for f in "${src[@]}"; do
  if [ ! -r "$f" ]; then echo "bench-vad: skipping $f (absent; scripts/fetch-media.sh)" >&2; continue; fi
  n=$(basename "${f%.*}")
  fmt=() # codec2's .raw files: 8 kHz signed 16-bit mono
  [ "${f##*.}" = raw ] && fmt=(-t raw -r 8000 -e signed -b 16 -c 1)
  [ -s "$out/$n.pad.wav" ] || sox "${fmt[@]}" "$f" -b 16 "$out/$n.pad.wav" pad 1 1
  rate=$(soxi -r "$out/$n.pad.wav")
  d=$(soxi -D "$out/$n.pad.wav")
  [ -s "$out/$n.labels.txt" ] || scripts/speech-labels.sh "$out/$n.pad.wav" >"$out/$n.labels.txt"
  for v in clean:-60 noise:-30; do
    name=${v%%:*} lvl=${v##*:}
    w=$out/$n.$name.wav
    if [ ! -s "$w" ]; then
      sox -n -r "$rate" -c 1 -b 16 "$out/$n.$name.floor.wav" synth "$d" pinknoise gain -n "$lvl" 2>/dev/null
      sox -m "$out/$n.pad.wav" "$out/$n.$name.floor.wav" -b 16 "$w"
      rm -f "$out/$n.$name.floor.wav"
    fi
    row "$w" "$out/$n.labels.txt"
  done
done
tone=$out/tone440.wav
[ -s "$tone" ] || sox -n -r 16000 -c 1 -b 16 "$tone" synth 3 sine 440 gain -n -12
: >"$out/none.labels.txt"
row "$tone" "$out/none.labels.txt"
go build -tags nosensors -o "$out/fusiond" ./cmd/fusiond
"$out/fusiond" bench vad --list "$list" "$@"
