# trtcd — the two commands a newcomer needs are `make run` and `make test`.
GO ?= go
# Debian packages the build and tests need beyond Go, gcc and make: Chromium
# for the browser tests, iproute2 and util-linux to run them in a private
# network namespace, ffmpeg as the RTMP/FLV peer, and the C audio codecs the
# codec package links (Opus, AAC decode and encode, MP3, resampling).
DEBIAN_PACKAGES ?= chromium iproute2 util-linux ffmpeg libopus-dev libfaad-dev libvo-aacenc-dev libmp3lame-dev libspeexdsp-dev redis-server
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 5m

.PHONY: run build test vet fmt-check deps examples fuzz bench bench-compare bench-cluster bench-scaling clean cluster-demo soak

## run: build trtcd and serve with the embedded default config (loopback, development app)
run: build
	./bin/trtcd serve

## build: compile bin/trtcd
build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/trtcd ./cmd/trtcd

## test: install what is missing, then vet, format check and every test with the race detector (the SFU's also with one media worker and with four)
test: deps fmt-check vet examples
	TRTCD_REQUIRE_FFMPEG=1 TRTCD_REQUIRE_NPM=1 TRTCD_REQUIRE_REDIS=1 $(GO) test -race -count=1 ./...
	$(GO) test -race -count=1 ./sfu -args -media-workers=1
	$(GO) test -race -count=1 ./sfu -args -media-workers=4

vet:
	$(GO) vet ./...

## examples: compile the runnable examples (examples/*/README.md says how to run each against trtcd serve)
examples:
	$(GO) build ./examples/...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

deps:
	@scripts/install-deps $(DEBIAN_PACKAGES)

# The whole-path fuzz targets: client bytes through every parser they reach.
# Each runs FUZZTIME (5m by default) on one worker; the session-level ones
# skip minimisation, which their background goroutines make slow.
FUZZ_TARGETS ?= \
	./live:FuzzRTMPIngest \
	./live:FuzzWebRTCPublisherRTP \
	./sfu:FuzzAuthenticatedMedia \
	./ws:FuzzWebSocketSession \
	./websdk:FuzzWebSDKDispatch \
	./trtc/tlssig:FuzzDecode \
	./trtc/tlssig:FuzzParseUserBuf

## fuzz: run the whole-path fuzz targets (RTMP ingest with a recorder, WebRTC RTP into rtpframe and the recorder, a connected client's SRTP and SRTCP through the SFU, /ws and /websdk dispatch) and the token decoders, FUZZTIME each
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s -parallel 1 $$pkg || exit 1; \
	done

## bench: trtcd on loopback under load (40 rooms, a capacity search), the fan-out, compare and cluster benchmarks and the chaos soak; rewrites BENCHMARKS.md (about 20 minutes)
bench: deps
	GO=$(GO) bench/run-benchmarks.sh

## bench-compare: the same load through trtcd and through stock pion forwarding; CPU per forwarded packet, the ratio and latency, side by side
bench-compare:
	BENCH_ROOMS=$${BENCH_ROOMS:-12} $(GO) test -run '^$$' -bench ForwardingCPU -benchtime 1x -v ./bench

## bench-cluster: the same load forwarded on one node and relayed from node a to node b (Redis, two trtcd serve); CPU per packet, the relay's added cost and latency
bench-cluster:
	@command -v redis-server >/dev/null || scripts/install-deps redis-server
	BENCH_ROOMS=$${BENCH_ROOMS:-12} $(GO) test -run '^$$' -bench RelayCPU -benchtime 1x -v ./bench

## bench-scaling: capacity with trtcd pinned to one core, then two (taskset, --media-workers 1 and 2), each searched by the raw engine (p99 ≤ 50 ms, loss ≤ 1 %); both knees and the ratio (10 to 20 minutes)
bench-scaling:
	$(GO) test -run '^$$' -bench '^BenchmarkScaling$$' -benchtime 1x -timeout 40m -v ./bench

## soak: chaos soak (issue 16): 20 good rooms for 2 minutes while hostile clients hit every listener; delivery, panics, RSS and goroutines before, during and 10 s after; fails when a target is missed (about 3 minutes)
soak: deps
	SOAK_SECONDS=$${SOAK_SECONDS:-120} SOAK_ROOMS=$${SOAK_ROOMS:-20} $(GO) test -run '^$$' -bench '^BenchmarkSoak$$' -benchtime 1x -timeout 20m ./bench

clean:
	rm -rf bin

# cluster-demo: Redis and two trtcd nodes on loopback (docs/cluster.md).
cluster-demo: build
	@command -v redis-server >/dev/null || scripts/install-deps redis-server
	@mkdir -p /tmp/trtcd-cluster-demo && cd /tmp/trtcd-cluster-demo && \
	trap 'kill 0' INT TERM EXIT; \
	redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no >redis.log & \
	sleep 0.5; \
	[ -f certs/ca.pem ] || $(CURDIR)/bin/trtcd cluster init --dir certs --nodes a,b; \
	mkdir -p a/cluster b/cluster && cp certs/ca.pem certs/a.pem certs/a-key.pem a/cluster && cp certs/ca.pem certs/b.pem certs/b-key.pem b/cluster; \
	$(CURDIR)/bin/trtcd serve --http 127.0.0.1:8080 --udp 8000 --rtmp 1935 --data ./a \
		--redis redis://127.0.0.1:6390/0 --node-id a --relay 127.0.0.1:7900 & \
	while [ ! -f a/dev-app.json ]; do sleep 0.1; done; cp a/dev-app.json b/; \
	$(CURDIR)/bin/trtcd serve --http 127.0.0.1:8081 --udp 8001 --rtmp 1936 --data ./b \
		--redis redis://127.0.0.1:6390/0 --node-id b --relay 127.0.0.1:7901 & \
	wait
