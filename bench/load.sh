#!/usr/bin/env bash
# load.sh: the wrk load test of docs/BENCHMARKS.md, end to end.
#
# STORE=redis (the default): for each contender (bare: no session; sesame
# with its Redis store sending commands one by one over a connection pool,
# sesame with the store's auto-pipelining, and scs on Redis), it starts two
# server processes (cmd/loadserver) on loopback that share one Redis,
# creates one session, and hits both processes at once with wrk.
# STORE=memory: one process per contender (bare, sesame on memstore, scs on
# its memstore), sessions in that process.
#
# Endpoints: /read and /write carry the seeded session's cookie (WRITE
# increments a counter); /new carries no cookie, so every request creates a
# session. It reports requests/s and p50/p99 latency per process, and after
# the WRITE run the share of acknowledged increments the counter kept.
#
#   cd bench && ./load.sh                 # ROUNDS=3 DURATION=10s by default
#   ROUNDS=1 DURATION=5s ENDPOINTS="read write" ./load.sh
#   STORE=memory ./load.sh
#   CONTENDERS="sesame sesame-autopipeline scs" ./load.sh
#
# The table's columns are fixed (cmd/charts parses them): | round |
# contender | endpoint | process A | process B | total req/s | non-2xx |
# counter kept |; with one process, B is "-" and the total is A's.
#
# Needs wrk (Debian package wrk), curl, and for STORE=redis redis-cli and a
# Redis at SESAME_REDIS_ADDR (default 127.0.0.1:6379). Keys are written
# under a fresh prefix and deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
STORE=${STORE:-redis}
ENDPOINTS=${ENDPOINTS:-"read write new"}
case "$STORE" in
  redis) CONTENDERS=${CONTENDERS:-"bare sesame sesame-autopipeline scs"} ;;
  memory) CONTENDERS=${CONTENDERS:-"bare-1proc sesame-memstore scs-memstore"} ;;
  *) echo "load.sh: STORE=$STORE: want redis or memory" >&2; exit 1 ;;
esac
REDIS=${SESAME_REDIS_ADDR:-127.0.0.1:6379}
PORT_A=${PORT_A:-18081}
PORT_B=${PORT_B:-18082}

tools="wrk curl go"
[ "$STORE" = redis ] && tools="$tools redis-cli"
for tool in $tools; do
  command -v "$tool" >/dev/null || { echo "load.sh: $tool not found (wrk: apt-get install -y wrk)" >&2; exit 1; }
done
redis_host=${REDIS%:*}
redis_port=${REDIS##*:}
if [ "$STORE" = redis ] && ! redis-cli -h "$redis_host" -p "$redis_port" ping >/dev/null 2>&1; then
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

# contender NAME: sets lib and client for loadserver.
contender() {
  case "$1" in
    bare | bare-1proc) lib=bare client=pool ;;
    sesame | sesame-memstore) lib=sesame client=pool ;;
    sesame-autopipeline) lib=sesame client=autopipeline ;;
    scs | scs-memstore) lib=scs client=pool ;;
    *) echo "load.sh: unknown contender $1" >&2; exit 1 ;;
  esac
}

results="$work/results.txt"
: >"$results"
echo "machine: $(nproc) cores; $(uptime)"
if [ "$STORE" = redis ]; then
  echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, on each of two server processes at once; Redis $REDIS"
  ports="$PORT_A $PORT_B"
else
  echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, on one server process; sessions in memory"
  ports="$PORT_A"
fi

for round in $(seq 1 "$ROUNDS"); do
  for name in $CONTENDERS; do
    contender "$name"
    prefix="loadtest:$name:$RANDOM$RANDOM:"
    procs=()
    for port in $ports; do
      "$work/loadserver" -lib "$lib" -store "$STORE" -client "$client" -redis "$REDIS" -prefix "$prefix" -addr "127.0.0.1:$port" 2>"$work/$name-$port.log" &
      pids+=($!)
      procs+=($!)
    done
    for port in $ports; do wait_up "$port"; done

    # One session, created on A; B must see it (shared Redis).
    cookie=$(curl -fsS -D - -o /dev/null "http://127.0.0.1:$PORT_A/seed" |
      awk -F': ' 'tolower($1) == "set-cookie" { split($2, a, ";"); printf "%s%s", sep, a[1]; sep = "; " }')
    if [ "$lib" != bare ]; then
      for port in $ports; do
        got=$(curl -fsS -H "Cookie: $cookie" "http://127.0.0.1:$port/read")
        [ "$got" = "41 gopher" ] || { echo "load.sh: $name: port $port read \"$got\", want \"41 gopher\"" >&2; exit 1; }
      done
    fi

    for ep in $ENDPOINTS; do
      echo "round $round: $name $ep ($(uptime | sed 's/.*load average: //'))" >&2
      header=(-H "Cookie: $cookie")
      [ "$ep" = new ] && header=()
      wrks=()
      for port in $ports; do
        wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${header[@]}" "http://127.0.0.1:$port/$ep" >"$work/$name-$ep-$port.txt" &
        wrks+=($!)
      done
      wait "${wrks[@]}"
      read -r rps_a p50_a p99_a n_a bad_a < <(wrk_stats "$work/$name-$ep-$PORT_A.txt")
      if [ "$STORE" = redis ]; then
        read -r rps_b p50_b p99_b n_b bad_b < <(wrk_stats "$work/$name-$ep-$PORT_B.txt")
      else
        rps_b=- p50_b=- p99_b=- bad_b=0
      fi
      kept="-"
      if [ "$ep" = write ] && [ "$lib" != bare ]; then
        final=$(curl -fsS -H "Cookie: $cookie" "http://127.0.0.1:$PORT_A/count")
        acked=0
        for port in $ports; do acked=$((acked + $(curl -fsS "http://127.0.0.1:$port/stats"))); done
        kept=$(awk -v f="$final" -v a="$acked" 'BEGIN { printf "%.1f%% (%d of %d)", 100 * (f - 41) / a, f - 41, a }')
      fi
      echo "$round $name $ep $rps_a $p50_a $p99_a $bad_a $rps_b $p50_b $p99_b $bad_b $kept" >>"$results"
    done

    kill "${procs[@]}"
    wait "${procs[@]}" 2>/dev/null || true
    if [ "$STORE" = redis ]; then
      redis-cli -h "$redis_host" -p "$redis_port" --scan --pattern "$prefix*" | xargs -r redis-cli -h "$redis_host" -p "$redis_port" del >/dev/null
      redis-cli -h "$redis_host" -p "$redis_port" --scan --pattern "{$prefix*" | xargs -r redis-cli -h "$redis_host" -p "$redis_port" del >/dev/null
    fi
  done
done

echo
echo "| round | contender | endpoint | process A req/s (p50 / p99 ms) | process B req/s (p50 / p99 ms) | total req/s | non-2xx | counter kept |"
echo "|---|---|---|---|---|--:|--:|---|"
while read -r round name ep rps_a p50_a p99_a bad_a rps_b p50_b p99_b bad_b kept; do
  if [ "$rps_b" = - ]; then
    b="-" total=$rps_a
  else
    b="$rps_b ($p50_b / $p99_b)" total=$((rps_a + rps_b))
  fi
  printf '| %s | %s | %s | %s (%s / %s) | %s | %s | %s | %s |\n' \
    "$round" "$name" "$ep" "$rps_a" "$p50_a" "$p99_a" "$b" "$total" "$((bad_a + bad_b))" "$kept"
done <"$results"
echo
echo "finished: $(uptime)"
