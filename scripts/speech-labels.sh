#!/usr/bin/env bash
# Labels the speech of a CLEAN speech recording by a rule independent of
# fusiond's features, as an Audacity label track on stdout
# (start<TAB>end<TAB>speech, seconds from the first sample).
#
# Usage: scripts/speech-labels.sh FILE > FILE.labels.txt
#
# The rule (shared by the VAD benchmark and the real-media benchmark):
#   1. ffmpeg measures the RMS level of every 10 ms of the first channel
#      (astats over 160 samples at 16 kHz) after a 60 Hz high-pass: a
#      recording's DC offset and rumble are not sound (a DC offset of
#      0.007, -43 dBFS, made the silence of librivox-0920 "speech");
#   2. a frame is loud when it is within SPEECH_LABELS_DB (35) dB of the
#      loudest frame of the recording;
#   3. loud frames separated by pauses shorter than 250 ms are joined into
#      one segment; segments shorter than 50 ms (clicks) are dropped;
#   4. each segment is widened by 50 ms on both sides (clipped to the file)
#      and overlapping segments merged.
# Raw headerless files: pass ffmpeg input options in SPEECH_LABELS_IN, e.g.
#   SPEECH_LABELS_IN="-f s16le -ar 8000 -ac 1" scripts/speech-labels.sh x.raw
# Only for recordings whose non-speech is quiet (studio speech, the Debian
# test recordings); noisy recordings need labels by ear.
set -euo pipefail
f=${1:?usage: speech-labels.sh FILE > labels.txt}
[ -r "$f" ] || { echo "speech-labels: cannot read $f" >&2; exit 1; }
# shellcheck disable=SC2206
in=(${SPEECH_LABELS_IN:-})
db=${SPEECH_LABELS_DB:-35}
dur=$(ffprobe -v error "${in[@]}" -show_entries format=duration -of csv=p=0 "$f")
ffmpeg -nostdin -hide_banner -nostats -loglevel error "${in[@]}" -i "$f" -af \
  "pan=mono|c0=c0,aresample=16000,highpass=f=60,asetnsamples=n=160:p=1,astats=metadata=1:reset=1:measure_overall=RMS_level:measure_perchannel=none,ametadata=print:key=lavfi.astats.Overall.RMS_level:file=-" \
  -f null - |
  awk -v dur="$dur" -v db="$db" '
    /RMS_level=/ { v = substr($0, index($0, "=") + 1); lv[n++] = (v == "-inf" ? -999 : v + 0) }
    END {
      if (n == 0) { print "speech-labels: no audio" > "/dev/stderr"; exit 1 }
      pk = -999; for (i = 0; i < n; i++) if (lv[i] > pk) pk = lv[i]
      thr = pk - db; m = 0; on = 0
      for (i = 0; i < n; i++) {
        if (lv[i] < thr) continue
        t0 = i * 0.01; t1 = (i + 1) * 0.01
        if (m > 0 && t0 - b[m - 1] < 0.25) { b[m - 1] = t1; continue }
        a[m] = t0; b[m] = t1; m++
      }
      k = 0
      for (i = 0; i < m; i++) {
        if (b[i] - a[i] < 0.05) continue
        x = a[i] - 0.05; if (x < 0) x = 0
        y = b[i] + 0.05; if (y > dur) y = dur
        if (k > 0 && x <= oy[k - 1]) { oy[k - 1] = y; continue }
        ox[k] = x; oy[k] = y; k++
      }
      for (i = 0; i < k; i++) printf "%.3f\t%.3f\tspeech\n", ox[i], oy[i]
    }'
