#!/bin/sh
# make bench: every benchmark on this machine, then BENCHMARKS.md from the
# results. trtcd serves on loopback with a temporary data dir; the load
# generator runs beside it (see BENCHMARKS.md for what that means).
#
# BENCH_ROOMS (40, the load issue 20 measures the pion engine at), BENCH_DURATION (30s), BENCH_MAX_ROOMS (100),
# BENCH_STEP (10), BENCH_HOLD (10s), BENCH_RAW_ROOMS (40), BENCH_SATURATION_ROOMS (800),
# BENCH_SATURATION_STEP (20), BENCH_COMPARE_ROOMS (12),
# BENCH_RTMP_ROOMS (10), BENCH_CLUSTER_ROOMS (12) and BENCH_CLUSTER_LARGE_ROOMS (50) size the runs;
# SOAK_SECONDS (120) the chaos soak.
set -eu
GO=${GO:-go}
ROOMS=${BENCH_ROOMS:-40}
DURATION=${BENCH_DURATION:-30s}
MAX_ROOMS=${BENCH_MAX_ROOMS:-100}
STEP=${BENCH_STEP:-10}
HOLD=${BENCH_HOLD:-10s}
RAW_ROOMS=${BENCH_RAW_ROOMS:-40}
SAT_ROOMS=${BENCH_SATURATION_ROOMS:-800}
SAT_STEP=${BENCH_SATURATION_STEP:-20}
APP=1400000001
KEY=b5c8a0e43f1d2c6b7a9e8d0f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d # a bench-only key, not a secret

OUT=$(mktemp -d)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT INT TERM

$GO build -o bin/trtcd ./cmd/trtcd

bin/trtcd serve --http 127.0.0.1:0 --udp 0 --rtmp 0 --ice-tcp off --data "$OUT/data" --app "$APP:$KEY" \
	>"$OUT/server.log" 2>&1 &
SERVER_PID=$!
echo "bin/trtcd serve --http 127.0.0.1:0 --udp 0 --rtmp 0 --ice-tcp off --data DATA --app $APP:KEY" >"$OUT/commands.txt"
for _ in $(seq 100); do
	grep -q 'msg="http listening"' "$OUT/server.log" 2>/dev/null && break
	sleep 0.2
done
HTTP=$(sed -n 's/.*msg="http listening" addr=\([^ ]*\).*/\1/p' "$OUT/server.log" | head -1)
RTMP=$(sed -n 's/.*msg="rtmp listening" addr=\([^ ]*\).*/\1/p' "$OUT/server.log" | head -1)
if [ -z "$HTTP" ]; then
	echo "trtcd did not start:" >&2
	cat "$OUT/server.log" >&2
	exit 1
fi

COMMON="--target http://$HTTP --rtmp-url rtmp://$RTMP --sdkappid $APP --key $KEY --server-pid $SERVER_PID"
run() { # note the command for BENCHMARKS.md, with the ports, pid and key as placeholders, then run it
	echo "$*" | sed "s/$KEY/KEY/g; s/--server-pid [0-9]*/--server-pid PID/; s#$HTTP#127.0.0.1:PORT#; s#$RTMP#127.0.0.1:RTMP_PORT#; s#$OUT/##g" >>"$OUT/commands.txt"
	"$@"
}

echo "== $ROOMS rooms for $DURATION"
# shellcheck disable=SC2086 # COMMON is a list of flags
run bin/trtcd bench $COMMON --rooms "$ROOMS" --duration "$DURATION" --json "$OUT/run.json" --html bin/bench-report.html | tee "$OUT/run.txt"

echo "== capacity: up to $MAX_ROOMS rooms, $STEP at a time, $HOLD each"
# shellcheck disable=SC2086
run bin/trtcd bench $COMMON --find-capacity --rooms "$MAX_ROOMS" --step "$STEP" --hold "$HOLD" --json "$OUT/capacity.json" \
	--html bin/bench-capacity.html 2>&1 | tee "$OUT/capacity.txt"

echo "== raw engine: $RAW_ROOMS rooms for 20s"
# shellcheck disable=SC2086
run bin/trtcd bench $COMMON --engine raw --rooms "$RAW_ROOMS" --duration 20s --json "$OUT/raw.json" | tee "$OUT/raw.txt"

echo "== saturation: the raw engine adds one-way rooms, $SAT_STEP at a time, until p99 50 ms or 1 % loss breaks"
# shellcheck disable=SC2086
run bin/trtcd bench $COMMON --engine raw --one-way --find-capacity --rooms "$SAT_ROOMS" --step "$SAT_STEP" --hold 8s --retries 1 \
	--json "$OUT/saturation.json" --html bin/bench-saturation.html 2>&1 | tee "$OUT/saturation.txt"

kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=

echo "== fan-out microbenchmark"
run $GO test -run '^$' -bench FanOut -benchmem ./sfu | tee "$OUT/fanout.txt"

echo "== trtcd against stock pion"
run env BENCH_ROOMS="${BENCH_COMPARE_ROOMS:-12}" $GO test -run '^$' -bench ForwardingCPU -benchtime 1x -v ./bench | tee "$OUT/compare.txt"

echo "== RTMP ingest: AAC → Opus settings, then 10 pushers each played by one WHEP viewer"
run $GO test -run '^$' -bench AACToOpusOptions -benchtime 1x ./codec | tee "$OUT/opus.txt"
run env BENCH_ROOMS="${BENCH_RTMP_ROOMS:-10}" $GO test -run '^$' -bench RTMPIngestCPU -benchtime 1x -v ./bench | tee "$OUT/rtmp.txt"

echo "== relaying between two nodes, at 12 rooms and at 50"
run env BENCH_ROOMS="${BENCH_CLUSTER_ROOMS:-12}" $GO test -run '^$' -bench RelayCPU -benchtime 1x -v ./bench | tee "$OUT/cluster.txt"
run env BENCH_ROOMS="${BENCH_CLUSTER_LARGE_ROOMS:-50}" $GO test -run '^$' -bench RelayCPU -benchtime 1x -v ./bench | tee "$OUT/cluster-large.txt"

echo "== chaos soak"
run $GO test -run '^$' -bench '^BenchmarkSoak$' -benchtime 1x -timeout 20m ./bench | tee "$OUT/soak.txt" || true

$GO run ./bench/benchmd -dir "$OUT" >BENCHMARKS.md
echo "wrote BENCHMARKS.md (HTML reports: the $ROOMS-room run in bin/bench-report.html, the capacity search in bin/bench-capacity.html)"
