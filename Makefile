# fusiond: `make demo` runs the demo, `make test` runs every test. Both
# install what is missing first (scripts/deps.sh).

GO      ?= go
BIN     := bin/fusiond
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/seed-4c364652/fusiond.version=$(VERSION)

.PHONY: all deps media build demo test vet fuzz bench bench-sync peers node-deps natscli bench-nats clean

all: build

deps:
	@scripts/deps.sh

# Real test media from Debian packages (opencv-doc is a 96 MB download, once)
# and synthetic clips, into .cache/media; tests that use them skip without.
media:
	@scripts/fetch-media.sh

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/fusiond

demo: build
	@scripts/demo.sh

# Formatting, vet, then every test with the race detector.
test: deps media peers node-deps natscli realbench
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	@# The daemon's end-to-end tests (cmd/fusiond) run on their own, after the
	@# rest: they run whole daemons for seconds each, which another
	@# package's tests beside them on a 2-core machine would starve.
	NATSCLI=$(CURDIR)/.cache/bin/nats FUSIOND_REQUIRE_NODE=1 $(GO) test -race -count=1 $$($(GO) list ./... | grep -v '/cmd/fusiond$$')
	NATSCLI=$(CURDIR)/.cache/bin/nats FUSIOND_REQUIRE_NODE=1 $(GO) test -race -count=1 ./cmd/fusiond
	@# Real capture through OpenCV again, with gocv's Mat profiler: a leaked
	@# Mat fails the test.
	$(GO) test -tags matprofile -count=1 ./ingest/camera
	@# The pure-Go build (-tags nosensors: no OpenCV, no PortAudio, no cgo).
	CGO_ENABLED=0 $(GO) vet -tags nosensors ./ingest/... ./hardware ./sinks/foxglove . ./cmd/fusiond
	CGO_ENABLED=0 $(GO) build -tags nosensors -o /dev/null ./cmd/fusiond
	@# The real-media benchmark (docs/DECISIONS.md), without the race
	@# detector: the shipped head on the test split, its claims checked.
	FUSIOND_REALBENCH=1 $(GO) test -count=1 -v -run '^TestRealMediaBenchmark$$' ./cmd/fusiond

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./configs -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./fuse -run '^$$' -fuzz FuzzAudioFeatures -fuzztime $(FUZZTIME)
	$(GO) test ./fuse/vision -run '^$$' -fuzz FuzzVisionFrame -fuzztime $(FUZZTIME)
	$(GO) test ./ingest/media -run '^$$' -fuzz FuzzParseWAVHeader -fuzztime $(FUZZTIME)
	$(GO) test ./sync -run '^$$' -fuzz FuzzParseTrace -fuzztime $(FUZZTIME)
	$(GO) test ./sync -run '^$$' -fuzz 'FuzzApprox$$' -fuzztime $(FUZZTIME)
	$(GO) test ./sync -run '^$$' -fuzz FuzzApproxSync -fuzztime $(FUZZTIME)
	$(GO) test ./sync -run '^$$' -fuzz FuzzFrameSync -fuzztime $(FUZZTIME)
	$(GO) test ./sinks/client -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)
	$(GO) test ./sinks -run '^$$' -fuzz FuzzEncodeDecision -fuzztime $(FUZZTIME)
	$(GO) test ./internal/evaluate -run '^$$' -fuzz FuzzParseLabels -fuzztime $(FUZZTIME)
	$(GO) test ./internal/wavfile -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./sinks -run '^$$' -fuzz FuzzReadSegment -fuzztime $(FUZZTIME)
	$(GO) test ./sinks/fleet -run '^$$' -fuzz FuzzParseRobot -fuzztime $(FUZZTIME)
	$(GO) test ./sinks/fleet -run '^$$' -fuzz FuzzAnnouncement -fuzztime $(FUZZTIME)
	$(GO) test ./sinks/foxglove -run '^$$' -fuzz FuzzParseClientMessage -fuzztime $(FUZZTIME)
	$(GO) test -tags nosensors . -run '^$$' -fuzz FuzzControlPlane -fuzztime $(FUZZTIME)

# The C++ ROS message_filters peer (../shared/peers), which the sync tests
# compare sets against; it installs its Debian packages as root. Where it
# cannot be built those tests skip and say why.
peers:
	@if [ -x ../shared/peers/message_filters/build.sh ] || [ -f ../shared/peers/message_filters/build.sh ]; then \
	  command -v g++ >/dev/null 2>&1 || { [ "$$(id -u)" -eq 0 ] && apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null; } || true; \
	  sh ../shared/peers/message_filters/build.sh >/dev/null 2>&1 && echo "peers: message_filters ok" || echo "peers: message_filters peer not built; set-identity tests against it will skip"; \
	else echo "peers: ../shared/peers not found; set-identity tests against the peer will skip"; fi

# natscli (the `nats` tool) for the NATS tests and benchmarks.
natscli:
	@scripts/natscli.sh

# fusiond's decision path and `nats bench js pub async` side by side against
# one server (BENCHMARKS.md). FUSIOND_BENCH_MSGS sets the count (200000).
bench-nats: natscli
	NATSCLI=$(CURDIR)/.cache/bin/nats FUSIOND_BENCH_NATS=1 $(GO) test -count=1 -run TestBenchSideBySide -v ./sinks

# The independent MCAP reader the recording tests read our files with
# (@mcap/core and protobufjs, checked against @foxglove/schemas), and
# Foxglove's own WebSocket client the live-view tests connect with
# (@foxglove/ws-protocol over ws; its package-lock.json pins it).
node-deps:
	@test -d scripts/mcap-check/node_modules/@mcap/core || \
	  npm install --prefix scripts/mcap-check --no-package-lock --no-audit --no-fund --silent
	@test -d scripts/js-subscriber/node_modules/nats || \
	  npm install --prefix scripts/js-subscriber --no-package-lock --no-audit --no-fund --silent
	@test -d scripts/foxglove-check/node_modules/@foxglove/ws-protocol || \
	  npm ci --prefix scripts/foxglove-check --no-audit --no-fund --silent
	@echo "node-deps: ok"

# Side by side with the peer on every trace scenario (see BENCHMARKS.md).
bench-sync:
	@scripts/bench-sync.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The whole daemon paced and at maximum speed beside the machine's limits:
# 1, 2 and 4 cameras with a 4-channel array in one daemon, then 1, 2, 4 and
# 8 with every feature on and with visual features off, plots into
# docs/plots (BENCHMARKS.md, "A whole robot").
.PHONY: bench-e2e soak
bench-e2e: build
	$(BIN) bench e2e --cameras 1,2,4 --for 10s --media 5s
	$(BIN) bench e2e --scaling --for 10s --media 5s --svg docs/plots/video
	$(BIN) bench e2e --scaling --for 10s --media 5s --set fuse.features.video=false --svg docs/plots/no-video

# Ten minutes live with the metrics scraped every 30 s: RSS must stay flat.
soak: build
	BIN=$(BIN) scripts/soak.sh 10m 30

clean:
	rm -rf bin

# Decision kinds: score the shipped fusion head on the held-out eval split;
# refit it on the train split (docs/DECISIONS.md). Both first fetch Debian's
# media and mix the real-audio clips (scripts/make-eval-clips.sh).
# The real-media benchmark (docs/DECISIONS.md): clips, variants, labels into
# .cache/realbench; rebuilt only when its recipe changes.
.PHONY: eval train realbench bench-vad-peers
realbench: media
	@scripts/make-real-bench.sh

# Silero and WebRTC VAD on the test split's speech (.cache/realbench/peers-test.json).
bench-vad-peers: realbench node-deps
	@scripts/bench-vad-peers.sh test

# The shipped head scored on the real-media test split (per kind, audio-only,
# video-only and fused; the variants), beside the synthetic scenes.
eval: realbench
	scripts/make-eval-clips.sh
	$(GO) run ./cmd/fusiond eval --real .cache/realbench --split test
	$(GO) run ./cmd/fusiond eval

# Refit the shipped head on the synthetic train scenes and the real-media
# train split (check it on the validation split before looking at test).
train: realbench
	scripts/make-eval-clips.sh
	$(GO) run ./cmd/fusiond train --real .cache/realbench --out configs/models/fusion-head.txt
