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
set -euo pipefail
cd "$(dirname "$0")/.."
cache=.cache/media
all=(opencv-doc opencv-data pocketsphinx-testdata codec2-examples sound-theme-freedesktop)
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=("${all[@]}")
mkdir -p "$cache/debs"
for p in "${pkgs[@]}"; do
  if [ -f "$cache/$p/.done" ]; then
    continue
  fi
  echo "fetch-media: $p"
  (cd "$cache/debs" && ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null)
  rm -rf "$cache/$p" && mkdir -p "$cache/$p"
  dpkg-deb --fsys-tarfile "$cache"/debs/"${p}"_*.deb | tar -x -C "$cache/$p"
  touch "$cache/$p/.done"
done
