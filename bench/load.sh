#!/usr/bin/env bash
# load.sh: the Redis load test of docs/BENCHMARKS.md, end to end.
#
# For each library (bare: no session; sesame and scs on Redis), it starts two
# server processes (cmd/loadserver) on loopback that share one Redis, creates
# one session, and hits both processes at once with wrk, every request
# carrying that session's cookie: first /read, then /write (increment a
# counter). It reports requests/s and p50/p99 latency per process, and after
# the WRITE run the share of acknowledged increments the counter kept.
#
#   cd bench && ./load.sh                 # ROUNDS=3 DURATION=10s by default
#   ROUNDS=1 DURATION=5s ./load.sh
#
# Needs wrk (Debian package wrk), curl, redis-cli and a Redis at
# SESAME_REDIS_ADDR (default 127.0.0.1:6379). Keys are written under a fresh
# prefix and deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
LIBS=${LIBS:-"bare sesame scs"}
REDIS=${SESAME_REDIS_ADDR:-127.0.0.1:6379}
PORT_A=${PORT_A:-18081}
PORT_B=${PORT_B:-18082}

for tool in wrk curl redis-cli go; do
  command -v "$tool" >/dev/null || { echo "load.sh: $tool not found (wrk: apt-get install -y wrk)" >&2; exit 1; }
done
redis_host=${REDIS%:*}
redis_port=${REDIS##*:}
if ! redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null 2>&1; then
  echo "load.sh: no Redis at $REDIS: set SESAME_REDIS_ADDR" >&2
  exit 1
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/loadserver" ./cmd/loadserver

# wrk_stats FILE: "req/s p50ms p99ms requests non2xx"
wrk_stats() {
  awk '
    function ms(v) {
      if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
      if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
      if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
      return v
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /requests in/ { reqs = $1 }
    /Non-2xx/ { bad = $NF }
    /^Requests\/sec:/ { rps = $2 }
    END { printf "%.0f %.2f %.2f %d %d\n", rps, p50, p99, reqs, bad + 0 }
  ' "$1"
}

wait_up() {
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$1/ping" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "load.sh: server on port $1 did not start" >&2
  return 1
}

results="$work/results.txt"
: >"$results"
echo "machine: $(nproc) cores; $(uptime)"
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, on each of two server processes at once; Redis $REDIS"

for round in $(seq 1 "$ROUNDS"); do
  for lib in $LIBS; do
    prefix="loadtest:$lib:$RANDOM$RANDOM:"
    "$work/loadserver" -lib "$lib" -store redis -redis "$REDIS" -prefix "$prefix" -addr "127.0.0.1:$PORT_A" 2>"$work/$lib-a.log" &
    pids+=($!)
    pid_a=$!
    "$work/loadserver" -lib "$lib" -store redis -redis "$REDIS" -prefix "$prefix" -addr "127.0.0.1:$PORT_B" 2>"$work/$lib-b.log" &
    pids+=($!)
    pid_b=$!
    wait_up "$PORT_A"
    wait_up "$PORT_B"

    # One session, created on A; B must see it (shared Redis).
    cookie=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$PORT_A/seed" |
      awk -F': ' 'tolower($1) == "set-cookie" { split($2, a, ";"); printf "%s%s", sep, a[1]; sep = "; " }')
    if [ "$lib" != bare ]; then
      got=$(curl -fsS -H "Cookie: $cookie" "http://127.0.0.1:$PORT_B/read")
      [ "$got" = "41 gopher" ] || { echo "load.sh: $lib: process B read \"$got\", want \"41 gopher\"" >&2; exit 1; }
    fi

    for ep in read write; do
      echo "round $round: $lib $ep ($(uptime | sed 's/.*load average: //'))" >&2
      wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Cookie: $cookie" "http://127.0.0.1:$PORT_A/$ep" >"$work/$lib-$ep-a.txt" &
      w1=$!
      wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Cookie: $cookie" "http://127.0.0.1:$PORT_B/$ep" >"$work/$lib-$ep-b.txt" &
      w2=$!
      wait "$w1" "$w2"
      read -r rps_a p50_a p99_a n_a bad_a < <(wrk_stats "$work/$lib-$ep-a.txt")
      read -r rps_b p50_b p99_b n_b bad_b < <(wrk_stats "$work/$lib-$ep-b.txt")
      kept="-"
      if [ "$ep" = write ] && [ "$lib" != bare ]; then
        final=$(curl -fsS -H "Cookie: $cookie" "http://127.0.0.1:$PORT_A/count")
        acked=$(( $(curl -fsS "http://127.0.0.1:$PORT_A/stats") + $(curl -fsS "http://127.0.0.1:$PORT_B/stats") ))
        kept=$(awk -v f="$final" -v a="$acked" 'BEGIN { printf "%.1f%% (%d of %d)", 100 * (f - 41) / a, f - 41, a }')
      fi
      echo "$round $lib $ep $rps_a $p50_a $p99_a $bad_a $rps_b $p50_b $p99_b $bad_b $kept" >>"$results"
    done

    kill "$pid_a" "$pid_b"
    wait "$pid_a" "$pid_b" 2>/dev/null || true
    redis-cli -h "$redis_host" -p "$redis_port" --scan --pattern "$prefix*" | xargs -r redis-cli -h "$redis_host" -p "$redis_port" del >/dev/null
  done
done

echo
echo "| round | contender | endpoint | process A req/s (p50 / p99 ms) | process B req/s (p50 / p99 ms) | total req/s | non-2xx | counter kept |"
echo "|---|---|---|---|---|--:|--:|---|"
while read -r round lib ep rps_a p50_a p99_a bad_a rps_b p50_b p99_b bad_b kept; do
  printf '| %s | %s | %s | %s (%s / %s) | %s (%s / %s) | %s | %s | %s |\n' \
    "$round" "$lib" "$ep" "$rps_a" "$p50_a" "$p99_a" "$rps_b" "$p50_b" "$p99_b" "$((rps_a + rps_b))" "$((bad_a + bad_b))" "$kept"
done <"$results"
echo
echo "finished: $(uptime)"
