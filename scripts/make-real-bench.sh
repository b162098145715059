#!/usr/bin/env bash
# The real-media benchmark (docs/DECISIONS.md "Real-media benchmark"): clips
# built from what Debian's packages ship, each in seven variants, with
# Audacity label files, into .cache/realbench/<split>/ and a manifest:
#
#   scripts/make-real-bench.sh      build what is missing (idempotent: a build
#                                   whose recipe is unchanged is kept)
#
# Media is fetched by scripts/fetch-media.sh and never committed. Needs
# ffmpeg (libx264), sox, go and OpenCV (the compositor uses gocv).
#
# Output: .cache/realbench/<split>/<clip>.<variant>.{mkv,wav} and
# <clip>.<variant>.txt (start<TAB>end<TAB>kind, seconds from the first sample)
# and .cache/realbench/manifest.tsv with the columns
#   split clip variant media labels composite sources
# Variants: original (48 kHz stereo), frozen, noaudio, tone, mono (native
# rate), shift500, noise (.mkv, with video), and wav, wav-mono (audio only).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
root=${REALBENCH_DIR:-.cache/realbench}
recipe=$(ls internal/realbench/*.go internal/realbench/compositor/*.go | grep -v '_test\.go$' |
  xargs cat scripts/make-real-bench.sh scripts/speech-labels.sh | sha256sum | cut -c1-16)
if [ -f "$root/.done" ] && [ "$(cat "$root/.done")" = "$recipe" ]; then
  exit 0
fi
scripts/fetch-media.sh opencv-doc opencv-data pocketsphinx-testdata codec2-examples sound-theme-freedesktop alsa-utils ktuberling-data python3-skimage >/dev/null

m=.cache/media
opencv=$m/opencv-doc/usr/share/doc/opencv-doc/examples/data
vtest=$opencv/vtest.avi
librivox=$m/pocketsphinx-testdata/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb
cards=$m/pocketsphinx-testdata/usr/share/pocketsphinx/test/data/cards
codec2=$m/codec2-examples/usr/share/codec2
events=$m/sound-theme-freedesktop/usr/share/sounds/freedesktop/stereo
alsa=$m/alsa-utils/usr/share/sounds/alsa
kt=$m/ktuberling-data/usr/share/ktuberling/sounds # words, one speaker a language
html=$m/opencv-doc/usr/share/doc/opencv-doc/opencv4/html
goatee=$html/230501201_1.jpg  # the face-swap tutorial's two portraits
smiling=$html/227943776_1.jpg
astronaut=$m/python3-skimage/usr/lib/python3/dist-packages/skimage/data/astronaut.png
cascade=/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml
[ -f "$cascade" ] || cascade=$m/opencv-data/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml

# Recipe constants.
fps=25                # composites: 640x480 at 25 fps; vtest clips keep its 768x576 at 10 fps
peak_dbfs=-3          # every utterance and event sound is scaled to this peak
floor_dbfs=-60        # room floor under every clip: pink noise, RMS, independent per channel
noise_dbfs=-30        # the noise variant's added pink noise, RMS
tone_dbfs=-12         # the tone variant's 440 Hz sine, peak (over the same room floor)
shift_s=0.5           # the shift500 variant: audio this much later than the video
event_extent_db=30    # an event sound is cut to its extent within this many dB of its peak

mkdir -p "$(dirname "$root")"
tmp=$(mktemp -d "$(dirname "$root")/.realbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
build=$tmp/out
mkdir -p "$build"
q=(-nostdin -hide_banner -loglevel error -y)
x264=(-c:v libx264 -preset ultrafast -crf 20 -pix_fmt yuv420p -threads 2)
go build -o "$tmp/compositor" ./internal/realbench/compositor

# extent WAV DB: "start end" (seconds) of the first and last sample within DB of the peak.
extent() {
  sox "$1" -t dat - | awk -v db="$2" '
    /^;/ { next }
    { t[n] = $1; a = $2 < 0 ? -$2 : $2; v[n++] = a; if (a > pk) pk = a }
    END { th = pk * 10 ^ (-db / 20); for (i = 0; i < n; i++) if (v[i] >= th) { if (s == "") s = t[i]; e = t[i] }
          printf "%.6f %.6f\n", s, e }'
}

# rms_gain WAV DBFS: the gain in dB that brings WAV's RMS level to DBFS.
rms_gain() {
  sox "$1" -n stats 2>&1 | awk -v want="$2" '/^RMS lev dB/ { printf "%.3f\n", want - $4; exit }'
}

# labels_out SEGS D [shift_s] [kinds...]: Audacity labels from "kind start end"
# lines: the kinds listed (all when none), shifted, clipped to [0, D],
# overlaps of one kind merged, sorted by start then kind.
labels_out() {
  local segs=$1 dur=$2 shift=$3
  shift 3
  awk -v dur="$dur" -v sh="$shift" -v keep="$*" '
    BEGIN { n = split(keep, k, " "); for (i = 1; i <= n; i++) want[k[i]] = 1 }
    n == 0 || ($1 in want) { s = $2 + sh; e = $3 + sh; if (s < 0) s = 0; if (e > dur) e = dur; if (e - s > 0.0005) printf "%s %.6f %.6f\n", $1, s, e }' "$segs" |
    sort -k1,1 -k2,2g |
    awk '{ if ($1 == k && $2 <= e) { if ($3 > e) e = $3; next }
           if (k != "") printf "%.3f\t%.3f\t%s\n", s, e, k; k = $1; s = $2; e = $3 }
         END { if (k != "") printf "%.3f\t%.3f\t%s\n", s, e, k }' |
    sort -t "$(printf '\t')" -k1,1g -k3,3
}

# clip SPLIT NAME KIND PICTURE BG_START NATIVE_HZ ITEM...
#   KIND: av (a composite: PICTURE's face, mouth moving with the voice, over
#   vtest from BG_START s) or walk (vtest itself from BG_START s, the voice
#   off screen; PICTURE is -). ITEMs, laid out one after the other:
#   g:SECONDS (a gap), s:FILE (an utterance, kept whole), e:FILE (an event
#   sound, cut to its extent within event_extent_db of its peak).
clip() {
  local split=$1 name=$2 kind=$3 picture=$4 bg=$5 native=$6
  shift 6
  local w=$tmp/$split-$name out=$build/$split
  mkdir -p "$w" "$out"
  local segs=$w/segs cursor=0 i=0 sources=() voices=() sounds=()
  : >"$segs"
  for item in "$@"; do
    local what=${item%%:*} path=${item#*:} f len
    i=$((i + 1))
    case $what in
    g) cursor=$(awk -v a="$cursor" -v b="$path" 'BEGIN{printf "%.6f", a+b}'); continue ;;
    s)
      f=$w/s$i.wav
      ffmpeg "${q[@]}" -i "$path" -ac 1 -ar 48000 -c:a pcm_s16le "$w/raw$i.wav"
      sox -D "$w/raw$i.wav" "$f" gain -n "$peak_dbfs"
      scripts/speech-labels.sh "$path" | awk -v o="$cursor" '{ printf "speech %.6f %.6f\n", $1 + o, $2 + o }' >>"$segs"
      voices+=(-v 1 "|sox $f -p pad $cursor") ;;
    e)
      f=$w/e$i.wav
      ffmpeg "${q[@]}" -i "$path" -ac 1 -ar 48000 -c:a pcm_s16le "$w/raw$i.wav"
      read -r s e < <(extent "$w/raw$i.wav" "$event_extent_db")
      sox -D "$w/raw$i.wav" "$f" trim "$s" "=$e" gain -n "$peak_dbfs"
      awk -v o="$cursor" -v l="$(soxi -D "$f")" 'BEGIN { printf "sound_event %.6f %.6f\n", o, o + l }' >>"$segs"
      sounds+=(-v 1 "|sox $f -p pad $cursor") ;;
    *) echo "make-real-bench: $split/$name: bad item $item" >&2; exit 1 ;;
    esac
    sources+=("$(source_name "$path")")
    len=$(soxi -D "$f")
    cursor=$(awk -v a="$cursor" -v b="$len" 'BEGIN{printf "%.6f", a+b}')
  done
  # The length: whole 0.2 s (whole frames at 25 and at 10 fps).
  local dur
  dur=$(awk -v c="$cursor" 'BEGIN { n = int(c / 0.2 + 0.999999); printf "%.1f", n * 0.2 }')

  # Audio: the voice alone (drives the mouth), then voice + events + room
  # floor in stereo (the same sound in both channels, the floor independent).
  local one=(-n -r 48000 -c 1)
  sox -D -m -v 0 "|sox ${one[*]} -p trim 0 $dur" "${voices[@]}" "$w/voice.wav" trim 0 "$dur"
  sox -R -D -n -r 48000 -c 2 -b 16 "$w/floor0.wav" synth "$dur" pinknoise pinknoise
  sox -D "$w/floor0.wav" "$w/floor.wav" gain "$(rms_gain "$w/floor0.wav" "$floor_dbfs")"
  if [ ${#sounds[@]} -gt 0 ]; then
    sox -D -m -v 1 "$w/voice.wav" "${sounds[@]}" "$w/sound.wav" trim 0 "$dur"
  else
    cp "$w/voice.wav" "$w/sound.wav"
  fi
  sox -D "$w/sound.wav" "$w/sound2.wav" remix 1 1
  sox -D -m -v 1 "$w/sound2.wav" -v 1 "$w/floor.wav" "$w/a-original.wav" trim 0 "$dur"
  sox -D "$w/a-original.wav" -c 1 -r "$native" "$w/a-mono.wav"
  sox -D -n -r 48000 -c 2 -b 16 "$w/tone.wav" synth "$dur" sine 440 gain -n "$tone_dbfs"
  sox -D -m -v 1 "$w/tone.wav" -v 1 "$w/floor.wav" "$w/a-tone.wav" trim 0 "$dur"
  sox -D "$w/a-original.wav" "$w/a-shift500.wav" pad "$shift_s" trim 0 "$dur"
  sox -R -D -n -r 48000 -c 2 -b 16 "$w/noise0.wav" synth "$dur" pinknoise pinknoise
  sox -D "$w/noise0.wav" "$w/noise.wav" gain "$(rms_gain "$w/noise0.wav" "$noise_dbfs")"
  sox -D -m -v 1 "$w/a-original.wav" -v 1 "$w/noise.wav" "$w/a-noise.wav" trim 0 "$dur"

  # Video: the picture once, then each variant muxes it (or its first frame held).
  local composite vfps
  if [ "$kind" = av ]; then
    composite=yes vfps=$fps
    sources+=("$(source_name "$picture")" "$(source_name "$vtest")")
    sox "$w/voice.wav" -t raw -e signed -b 16 -c 1 -r 16000 "$w/voice.s16"
    "$tmp/compositor" -photo "$picture" -cascade "$cascade" -background "$vtest" -background-start "$bg" \
      -voice "$w/voice.s16" -voice-rate 16000 -duration "$dur" -fps "$fps" -width 640 -height 480 2> >(grep -v 'iCCP: known incorrect sRGB' >&2) |
      ffmpeg "${q[@]}" -f rawvideo -pix_fmt bgr24 -s 640x480 -r "$fps" -i - "${x264[@]}" -g "$fps" "$w/video.mkv"
  else
    composite=no vfps=10
    sources+=("$(source_name "$vtest")")
    ffmpeg "${q[@]}" -ss "$bg" -i "$vtest" -t "$dur" -an "${x264[@]}" -g 10 "$w/video.mkv"
  fi
  ffmpeg "${q[@]}" -i "$w/video.mkv" -vf "trim=end_frame=1,loop=loop=-1:size=1,trim=end_frame=$(awk -v d="$dur" -v f="$vfps" 'BEGIN{printf "%d", d*f+0.5}')" \
    "${x264[@]}" -g "$vfps" "$w/frozen.mkv"

  local base=$out/$name
  mux() { # VIDEO AUDIO|- OUT
    if [ "$2" = - ]; then
      ffmpeg "${q[@]}" -i "$1" -map 0:v -c:v copy "$3"
    else
      ffmpeg "${q[@]}" -i "$1" -i "$2" -map 0:v -map 1:a -c:v copy -c:a pcm_s16le -t "$dur" "$3"
    fi
  }
  mux "$w/video.mkv" "$w/a-original.wav" "$base.original.mkv"
  mux "$w/frozen.mkv" "$w/a-original.wav" "$base.frozen.mkv"
  mux "$w/video.mkv" - "$base.noaudio.mkv"
  mux "$w/video.mkv" "$w/a-tone.wav" "$base.tone.mkv"
  mux "$w/video.mkv" "$w/a-mono.wav" "$base.mono.mkv"
  mux "$w/video.mkv" "$w/a-shift500.wav" "$base.shift500.mkv"
  mux "$w/video.mkv" "$w/a-noise.wav" "$base.noise.mkv"
  cp "$w/a-original.wav" "$base.wav.wav"
  cp "$w/a-mono.wav" "$base.wav-mono.wav"

  # Labels. Seen: motion (vtest's people walk all through; a composite's
  # mouth moves) and presence (people or the face in view all through);
  # speaker: the composite's face is always in view, so it is the speech.
  printf 'motion 0 %s\npresence 0 %s\n' "$dur" "$dur" >>"$segs"
  if [ "$kind" = av ]; then
    awk '$1 == "speech" { print "speaker", $2, $3 }' "$segs" >"$w/said"
    cat "$w/said" >>"$segs"
  fi
  awk '$1 == "speech" { print "presence", $2, $3 }' "$segs" >"$w/heard"
  labels_out "$segs" "$dur" 0 >"$base.original.txt"
  labels_out "$segs" "$dur" 0 speech sound_event presence >"$base.frozen.txt"
  labels_out "$segs" "$dur" 0 >"$base.noaudio.txt"
  labels_out "$segs" "$dur" 0 motion presence >"$base.tone.txt"
  labels_out "$segs" "$dur" 0 >"$base.mono.txt"
  { labels_out "$segs" "$dur" "$shift_s" speech sound_event; labels_out "$segs" "$dur" 0 motion presence; } |
    sort -t "$(printf '\t')" -k1,1g -k3,3 >"$base.shift500.txt"
  labels_out "$segs" "$dur" 0 >"$base.noise.txt"
  { awk '$1 != "presence"' "$segs"; cat "$w/heard"; } >"$w/segs-heard"
  labels_out "$w/segs-heard" "$dur" 0 speech sound_event presence >"$base.wav.txt"
  cp "$base.wav.txt" "$base.wav-mono.txt"

  local src v ext comp
  src=$(printf '%s,' "${sources[@]}")
  src=${src%,}
  for v in original frozen noaudio tone mono shift500 noise wav wav-mono; do
    ext=mkv comp=$composite
    case $v in wav | wav-mono) ext=wav comp=no ;; esac
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$split" "$name" "$v" "$split/$name.$v.$ext" "$split/$name.$v.txt" "$comp" "$src"
  done >"$w.tsv"
  rm -rf "$w"
}

# source_name PATH: package:file of a file extracted by fetch-media.sh.
source_name() {
  local rel=${1#"$m"/}
  echo "${rel%%/*}:$(basename "$1")"
}

# spawn ARGS...: clip ARGS... in the background, at most $jobs at a time.
# Each clip's manifest lines go to $tmp/<split>-<name>.tsv, joined in order below.
jobs=${REALBENCH_JOBS:-2}
order=()
spawn() {
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  order+=("$tmp/$1-$2.tsv")
  clip "$@" &
}


# train: librivox 0870 0880 0890, cards 001 002, codec2 hts1a hts2a mmt1;
# bell, trash-empty, device-added; the portrait 230501201_1.jpg; vtest 0-35 s.
spawn train av-0870 av "$goatee" 2 16000 g:1.0 "s:$librivox-0870.wav" g:1.2 "s:$cards/001.wav" g:1.0 "e:$events/bell.oga" g:1.3 "s:$librivox-0880.wav" g:1.0
spawn train av-hts av "$goatee" 14 8000 g:0.8 "s:$codec2/wav/hts1a.wav" g:1.5 "s:$codec2/wav/hts2a.wav" g:1.0 "e:$events/trash-empty.oga" g:1.2 "s:$codec2/wav/mmt1.wav" g:1.0
spawn train walk-0890 walk - 8 16000 g:1.5 "s:$librivox-0890.wav" g:2.5 "e:$events/device-added.oga" g:2.0 "s:$cards/002.wav" g:2.0

# validation: librivox 0920, cards 003, codec2 morig; ktuberling's words in English,
# German and French (short words alone and in runs of two or three, as a robot hears
# commands; not its Danish ones, whose rumble lies within 35 dB of the speech, see
# speech-labels.sh); dialog-warning; the portrait 227943776_1.jpg; vtest 35-50 s.
spawn validation av-0920 av "$smiling" 35 16000 g:1.0 "s:$librivox-0920.wav" g:1.5 "e:$events/dialog-warning.oga" g:1.2 "s:$cards/003.wav" g:1.0
spawn validation walk-morig walk - 36 8000 g:1.5 "s:$codec2/wav/morig.wav" g:3.0 "s:$cards/003.wav" g:2.0 "e:$events/dialog-warning.oga" g:2.5
spawn validation walk-kt-en walk - 37 44100 g:1.0 "s:$kt/en/ball.ogg" g:0.2 "s:$kt/en/bow.ogg" g:0.2 "s:$kt/en/coat.ogg" g:1.6 \
  "s:$kt/en/ear.ogg" g:0.2 "s:$kt/en/earring.ogg" g:0.2 "s:$kt/en/egypt_arch.ogg" g:1.6 "s:$kt/en/egypt_birds.ogg" g:0.2 "s:$kt/en/egypt_boy.ogg" g:1.6 \
  "s:$kt/en/egypt_bridge.ogg" g:0.2 "s:$kt/en/egypt_camel.ogg" g:0.2 "s:$kt/en/egypt_cart.ogg" g:1.6 "e:$events/dialog-warning.oga" g:1.0
spawn validation av-kt-de av "$smiling" 38 44100 g:1.0 "s:$kt/de/egypt_cart.ogg" g:1.2 "s:$kt/de/egypt_column.ogg" g:1.2 "s:$kt/de/egypt_donkey.ogg" g:1.2 \
  "s:$kt/de/egypt_girl.ogg" g:1.2 "s:$kt/de/egypt_grass.ogg" g:1.2 "s:$kt/de/egypt_man.ogg" g:1.2 "s:$kt/de/egypt_oasis.ogg" g:1.2 "s:$kt/de/egypt_palmtree.ogg" g:1.2
spawn validation walk-kt-fr walk - 39 44100 g:1.0 "s:$kt/fr/egypte_pyramide.wav" g:0.3 "s:$kt/fr/egypte_route.wav" g:1.5 "s:$kt/fr/egypte_sphinx.wav" g:0.3 \
  "s:$kt/fr/lune_astronaute.wav" g:1.5 "s:$kt/fr/lune_etoile-filante.wav" g:1.5 "s:$kt/fr/lune_etoile.wav" g:0.3 "s:$kt/fr/lune_extraterrestre.wav" g:1.5 \
  "e:$events/dialog-warning.oga" g:1.0

# test: librivox 0930, cards 004 005, codec2 forig wia_16kHz speech_orig_16k vk5qi,
# alsa-utils' spoken channel names; window-attention, service-login,
# power-unplug; astronaut.png; vtest 50-79.5 s.
spawn test av-0930 av "$astronaut" 50 16000 g:1.0 "s:$librivox-0930.wav" g:1.5 "s:$cards/004.wav" g:1.2 "e:$events/window-attention.oga" g:1.3 "s:$cards/005.wav" g:1.0
spawn test av-vk5qi av "$astronaut" 57 8000 g:1.0 "s:$codec2/wav/forig.wav" g:1.5 "s:$codec2/wav/vk5qi.wav" g:1.0 "e:$events/power-unplug.oga" g:1.2
spawn test av-orig16k av "$astronaut" 60 16000 g:1.0 "s:$codec2/raw/speech_orig_16k.wav" g:1.5 "s:$codec2/wav/wia_16kHz.wav" g:1.0 "e:$events/service-login.oga" g:1.0
spawn test av-alsa-rear av "$astronaut" 52 48000 g:1.0 "s:$alsa/Rear_Center.wav" g:1.4 "s:$alsa/Rear_Left.wav" g:1.0 "e:$events/window-attention.oga" g:1.2 "s:$alsa/Rear_Right.wav" g:1.6 "s:$alsa/Side_Left.wav" g:1.0 "s:$alsa/Side_Right.wav" g:1.0
spawn test walk-alsa-front walk - 55 48000 g:1.5 "s:$alsa/Front_Left.wav" g:2.5 "s:$alsa/Front_Center.wav" g:2.0 "e:$events/power-unplug.oga" g:2.0 "s:$alsa/Front_Right.wav" g:2.0
spawn test walk-cards walk - 64 16000 g:1.0 "s:$cards/005.wav" g:1.4 "e:$events/service-login.oga" g:1.2 "s:$cards/004.wav" g:1.6 "s:$codec2/wav/wia_16kHz.wav" g:1.0

wait
{
  printf 'split\tclip\tvariant\tmedia\tlabels\tcomposite\tsources\n'
  for f in "${order[@]}"; do
    [ -s "$f" ] || { echo "make-real-bench: ${f##*/}: failed (see above)" >&2; exit 1; }
    cat "$f"
  done
} >"$build/manifest.tsv"
echo "$recipe" >"$build/.done"
rm -rf "$root"
mv "$build" "$root"
echo "make-real-bench: $(($(wc -l <"$root/manifest.tsv") - 1)) clip variants in $root"
