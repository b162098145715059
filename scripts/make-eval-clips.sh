#!/bin/sh
# Writes the synthetic eval scenes (fusiond configs) and their exact labels
# under testdata/eval/{train,test}, retrains the shipped fusion head and
# scores it on the held-out split.
set -e
cd "$(dirname "$0")/.."
go run ./cmd/fusiond eval --make-clips testdata/eval
go run ./cmd/fusiond train --out configs/models/fusion-head.txt
go run ./cmd/fusiond eval
