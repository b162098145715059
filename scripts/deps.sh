#!/usr/bin/env bash
# Installs the Debian packages fusiond needs to build and test, when they are
# missing. Idempotent: prints "deps: ok" and does nothing when all are there.
# As root it runs apt-get; otherwise it prints the exact command to run.
#
# Usage: scripts/deps.sh [build|test|demo]
set -euo pipefail

need_go="1.26"
# gcc and libc6-dev: cgo, which the race detector in 'make test' needs.
# Real sensors (ingest/camera, ingest/mic, hardware; not needed for a
# `-tags nosensors` build): OpenCV 4.6 for gocv, PortAudio and ALSA, the
# GStreamer elements the fake camera uses (videotestsrc, videoconvert,
# appsink), ffmpeg for audio tracks and test clips, sox and espeak-ng for
# test media, opencv-data for the face cascades; g++ compiles gocv's C++.
packages=(gcc g++ libc6-dev pkg-config libopencv-dev opencv-data portaudio19-dev libasound2-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good ffmpeg sox espeak-ng)
# Node.js and npm run the independent MCAP reader in the recording tests;
# a machine that has them from elsewhere keeps its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

if ! command -v go >/dev/null 2>&1; then
  echo "deps: Go $need_go or newer is required and 'go' is not on PATH." >&2
  echo "      Install it from the Go distribution for linux/amd64 and add /usr/local/go/bin to PATH." >&2
  exit 1
fi
have_go=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need_go" "$have_go" | sort -V | head -n1)" != "$need_go" ]; then
  echo "deps: Go $need_go or newer is required; found $have_go." >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: ok"
  exit 0
fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "      run: sudo apt-get update && sudo $cmd" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd
