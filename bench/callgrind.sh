#!/usr/bin/env bash
# callgrind.sh: instructions Redis executes per request, for each contender
# and endpoint of cmd/rediscpu: a count that does not depend on the
# machine's load, unlike the times rediscpu reports.
#
#   cd bench && ./callgrind.sh                       # N=2000 C=1
#   N=1000 C=32 CONTENDERS="sesame scs" ./callgrind.sh
#
# It starts redis-server under valgrind --tool=callgrind (port $PORT), runs
# cmd/rediscpu against it, zeroes the counters before each measured run and
# dumps them after, and prints the instructions the server ran per request,
# in user space: its commands and scripts, and its event loop and protocol
# parsing (the kernel's share of its system calls is not counted, so a
# client that saves system calls, like auto-pipelining, gains more than
# this shows: see rediscpu's "Redis CPU"). Needs valgrind (Debian package
# valgrind) and redis-server.
set -euo pipefail
cd "$(dirname "$0")"
N=${N:-2000}
C=${C:-1}
PORT=${PORT:-6399}
CONTENDERS=${CONTENDERS:-"sesame sesame-autopipeline scs"}
ENDPOINTS=${ENDPOINTS:-"read write new"}
for tool in valgrind callgrind_control redis-cli redis-server go bc; do
  command -v "$tool" >/dev/null || { echo "callgrind.sh: $tool not found" >&2; exit 1; }
done
work=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
  redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
vg=$!
trap 'kill $vg 2>/dev/null; wait $vg 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
  sleep 0.2
done
go build -o "$work/rediscpu" ./cmd/rediscpu
"$work/rediscpu" -redis "127.0.0.1:$PORT" -n "$N" -c "$C" -contenders "$CONTENDERS" -endpoints "$ENDPOINTS" \
  -before "callgrind_control -z $vg >/dev/null 2>&1" \
  -after "rm -f $work/cg.out.*; callgrind_control -d $vg >/dev/null 2>&1; sleep 1; cp \$(ls -t $work/cg.out.* | head -1) $work/dump-\$CONTENDER-\$ENDPOINT" \
  >"$work/rediscpu.txt"
echo "Redis instructions per request (callgrind), $N requests on $C goroutines; $(redis-server --version | cut -d' ' -f3)"
echo
echo "| contender | endpoint | Ir/req |"
echo "|---|---|--:|"
for name in $CONTENDERS; do
  for ep in $ENDPOINTS; do
    f="$work/dump-$name-$ep"
    total=$(awk '/^(summary|totals):/ { print $2; exit }' "$f")
    printf '| %s | %s | %.0f |\n' "$name" "$ep" "$(echo "$total / $N" | bc -l)"
  done
done
echo
cat "$work/rediscpu.txt"
