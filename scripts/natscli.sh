#!/usr/bin/env bash
# Installs the NATS CLI (natscli) into .cache/bin when it is missing; the
# NATS tests run `nats micro ls` and `nats stream ls` with it, and the
# benchmark runs `nats bench` side by side with fusiond's decision path.
# v0.5.0: v0.5.1 does not build here.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.cache/bin/nats
if [ -x "$bin" ]; then
  echo "natscli: ok"
  exit 0
fi
mkdir -p .cache/bin
echo "natscli: installing github.com/nats-io/natscli/nats@v0.5.0 into .cache/bin"
# Outside the module, so fusiond's go.mod is not touched.
(cd /tmp && GOBIN="$OLDPWD/.cache/bin" GOFLAGS=-mod=mod go install github.com/nats-io/natscli/nats@v0.5.0)
