#!/usr/bin/env bash
# run.sh: every measurement of docs/BENCHMARKS.md, raw outputs in $OUT.
#
#   cd bench && ./run.sh                # OUT=/tmp/sesame-bench PASSES=5
#
# 1. BenchmarkSessions: PASSES separate runs of the whole table (-count 1
#    each, so that every contender sees the same mix of machine noise),
#    summarised with benchstat.
# 2. TestRoundTrips: store calls and network round trips per scenario;
#    TestServerCPU: PostgreSQL server CPU per request (sesame, scs pgxstore).
# 3. TestLostUpdates: the lost-update probe.
# 4. load.sh: wrk against two server processes per library on one Redis.
# 5. BenchmarkSeal (bench/README.md).
set -euo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/sesame-bench}
PASSES=${PASSES:-5}
mkdir -p "$OUT"

{
  echo "date: $(date -u +%FT%TZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "go: $(go version)"
  echo "redis: $(redis-server --version 2>/dev/null || echo none)"
  echo "uptime before: $(uptime)"
} | tee "$OUT/machine.txt"

go test -c -o "$OUT/bench.test" .
: >"$OUT/sessions.txt"
for i in $(seq 1 "$PASSES"); do
  echo "pass $i/$PASSES: $(uptime)" | tee -a "$OUT/machine.txt"
  "$OUT/bench.test" -test.run '^$' -test.bench 'Sessions' -test.benchmem -test.count 1 | tee -a "$OUT/sessions.txt"
done
go run golang.org/x/perf/cmd/benchstat@latest "$OUT/sessions.txt" >"$OUT/sessions-benchstat.txt" || true

"$OUT/bench.test" -test.run 'RoundTrips' -test.v | tee "$OUT/roundtrips.txt"
"$OUT/bench.test" -test.run 'ServerCPU' -test.v | tee "$OUT/servercpu.txt" || true
"$OUT/bench.test" -test.run 'LostUpdates' -test.v -test.timeout 30m | tee "$OUT/lostupdates.txt" || true
./load.sh | tee "$OUT/load.txt"
"$OUT/bench.test" -test.run '^$' -test.bench 'Seal' -test.benchmem -test.count 5 | tee "$OUT/seal.txt"

echo "uptime after: $(uptime)" | tee -a "$OUT/machine.txt"
