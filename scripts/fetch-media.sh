#!/usr/bin/env bash
# Fetches real test media from Debian packages into .cache/media/<package>/
# (ignored by git; never commit media). Idempotent: a package already
# extracted is skipped. Needs apt-get (no root needed for 'apt-get download').
#
# Usage: scripts/fetch-media.sh [PACKAGE...]   (default: all below)
#
# Packages and licences (see ../shared/MEDIA.md):
#   opencv-doc               vtest.avi, Megamind.avi, sample images  Apache-2.0/BSD-3; Megamind.avi: third-party clip, use in place, do not redistribute
#   opencv-data              Haar and LBP cascades                  BSD-3
#   pocketsphinx-testdata    16 kHz read speech with transcripts    BSD-2
#   codec2-examples          speech at 8/16 kHz                     see the package's copyright
#   sound-theme-freedesktop  event sounds (bell, shutter, alarm)    CC-BY-SA / GPL per file
#   alsa-utils               speaker-test's spoken channel names    GPL-2
#   ktuberling-data          words spoken in many languages, one     GPL-2+
#                            speaker each (the real-media benchmark's validation split)
#   python3-skimage          face photographs (astronaut: public domain, NASA; camera: CC0, Lav Varshney)
#                            and the LFW subset lfw_subset.npy (BSD-3 package; LFW news photographs
#                            collected for research), for fuse/vision's face recall test
#   python-matplotlib-data   grace_hopper.jpg (public domain, US Navy photograph; package PSF-based licence)
#   synthetic                made here with ffmpeg lavfi, sox and espeak-ng (ours, no third-party content):
#     flash-tone-av200ms.mkv   white flash at 1.0 s of every 2 s, 1 kHz tone during 1-2 s of every 2 s,
#                              audio track 200 ms late (-itsoffset 0.2): true A/V offset +200 ms, 6 s, 30 fps
#     flash-tone-av0.mkv       the same with no offset
#     testsrc-tone.avi         testsrc2 320x240@30 MJPEG + 440 Hz tone, 16 kHz PCM, 3 s
#     speech16k.wav / .raw     espeak-ng speech, 16 kHz mono (the .raw is s16le for the ALSA file device)
#     speech-stereo-delay.wav  that speech, right channel 437.5 us late, independent noise per channel
set -euo pipefail
cd "$(dirname "$0")/.."
cache=.cache/media
all=(opencv-doc opencv-data pocketsphinx-testdata codec2-examples sound-theme-freedesktop alsa-utils ktuberling-data python3-skimage python-matplotlib-data synthetic)
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=("${all[@]}")
mkdir -p "$cache/debs"
# synthetic clips with known ground truth (see the list above).
make_synthetic() {
  local d="$cache/synthetic" q=(-nostdin -hide_banner -loglevel error -y)
  rm -rf "$d" && mkdir -p "$d"
  local flash="color=c=black:s=320x240:r=30,drawbox=w=iw:h=ih:color=white:t=fill:enable='between(mod(t,2),1,1.1)'"
  # aevalsrc switches the tone sample-accurately (volume=enable switches per 1024-sample frame).
  local tone='aevalsrc=0.5*sin(2*PI*1000*t)*gte(mod(t\,2)\,1):s=16000'
  ffmpeg "${q[@]}" -f lavfi -i "$flash" -itsoffset 0.2 -f lavfi -i "$tone" -t 6 -c:v mjpeg -q:v 3 -c:a pcm_s16le "$d/flash-tone-av200ms.mkv"
  ffmpeg "${q[@]}" -f lavfi -i "$flash" -f lavfi -i "$tone" -t 6 -c:v mjpeg -q:v 3 -c:a pcm_s16le "$d/flash-tone-av0.mkv"
  ffmpeg "${q[@]}" -f lavfi -i testsrc2=size=320x240:rate=30 -f lavfi -i sine=frequency=440:sample_rate=16000 -t 3 -c:v mjpeg -c:a pcm_s16le "$d/testsrc-tone.avi"
  espeak-ng -w "$d/speech22k.wav" "The robot heard someone speaking on its left. Please come to the kitchen when you are ready."
  sox "$d/speech22k.wav" -r 16000 "$d/speech16k.wav"
  sox "$d/speech16k.wav" -t raw -r 16000 -e signed -b 16 -c 1 "$d/speech16k.raw"
  local len; len=$(soxi -D "$d/speech16k.wav")
  sox "$d/speech16k.wav" "$d/st.wav" remix 1 1 delay 0 0.0004375
  sox -n -r 16000 -c 1 "$d/nl.wav" synth "$len" whitenoise vol 0.01
  sox -n -r 16000 -c 1 "$d/nr.wav" synth "$len" pinknoise vol 0.01
  sox -M "$d/nl.wav" "$d/nr.wav" "$d/n.wav"
  sox -m "$d/st.wav" "$d/n.wav" "$d/speech-stereo-delay.wav" trim 0 "$len"
  rm -f "$d/speech22k.wav" "$d/st.wav" "$d/nl.wav" "$d/nr.wav" "$d/n.wav"
  touch "$d/.done"
}

for p in "${pkgs[@]}"; do
  if [ -f "$cache/$p/.done" ]; then
    continue
  fi
  if [ "$p" = synthetic ]; then
    echo "fetch-media: synthetic clips"
    make_synthetic
    continue
  fi
  echo "fetch-media: $p"
  (cd "$cache/debs" && ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null)
  rm -rf "$cache/$p" && mkdir -p "$cache/$p"
  dpkg-deb --fsys-tarfile "$cache"/debs/"${p}"_*.deb | tar -x -C "$cache/$p"
  touch "$cache/$p/.done"
done
