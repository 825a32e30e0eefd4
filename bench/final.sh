#!/usr/bin/env bash
# final.sh: the run behind docs/BENCHMARKS.md (a shorter run.sh: the figures
# published there, not the lost-update probe or the seal benchmark).
#
#   cd bench && OUT=/tmp/sesame-final PASSES=3 ./final.sh
#   go run ./cmd/charts -sessions $OUT/sessions.txt -load $OUT/load-redis.txt -out ../docs/bench
set -euo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-/tmp/sesame-final}
PASSES=${PASSES:-3}
mkdir -p "$OUT"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "go: $(go version)"
  echo "redis: $(redis-server --version)"
  echo "uptime before: $(uptime)"
} | tee "$OUT/machine.txt"
go test -c -o "$OUT/bench.test" .
: >"$OUT/sessions.txt"
for i in $(seq 1 "$PASSES"); do
  echo "sessions pass $i/$PASSES: $(uptime)" | tee -a "$OUT/machine.txt"
  "$OUT/bench.test" -test.run '^$' -test.bench 'Sessions/(READ|WRITE|NEW|UNTOUCHED)/' -test.benchmem -test.count 1 | tee -a "$OUT/sessions.txt"
done
"$OUT/bench.test" -test.run 'RoundTrips' -test.v | tee "$OUT/roundtrips.txt"
"$OUT/bench.test" -test.run 'MemoryPerSession' -test.v -mem.sessions 200000 | tee "$OUT/memory.txt"
echo "load redis: $(uptime)" | tee -a "$OUT/machine.txt"
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-5s} ./load.sh | tee "$OUT/load-redis.txt"
echo "load memory: $(uptime)" | tee -a "$OUT/machine.txt"
STORE=memory ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-5s} ./load.sh | tee "$OUT/load-memory.txt"
echo "rediscpu: $(uptime)" | tee -a "$OUT/machine.txt"
go run ./cmd/rediscpu -n 20000 -c 32 | tee "$OUT/rediscpu.txt"
echo "uptime after: $(uptime)" | tee -a "$OUT/machine.txt"
