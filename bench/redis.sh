#!/usr/bin/env bash
# bench/redis.sh: hookgate on the Redis store against hookgate on the memory store, in one
# bounded run on loopback (see BENCHMARKS.md, "Redis store"). bench/run.sh calls it when
# BENCH_EXTRA contains "redis".
#
# Starts one upstream (loadgen upstream), one redis-server (127.0.0.1, no RDB, no AOF) and two
# hookgates side by side with the same route (stripe preset: verify, dedup, forward), one on
# the memory store and one on the Redis store, then measures:
#   1. rps at 1 KiB, BENCH_ROUNDS rounds alternating memory and Redis (so load from outside
#      the benchmark hits both alike; medians and each round's ratio); for the Redis runs also
#      the Redis commands per request (INFO commandstats deltas / hookgate_requests_total
#      delta) and the CPU per request of hookgate and of redis-server (/proc/PID/stat
#      utime+stime, all threads);
#   2. p99 at a fixed rate, rounds alternating the same way (added p99 = redis - memory);
#   3. Redis memory per remembered id: FLUSHALL, INFO memory used_memory, up to
#      BENCH_MEMORY_IDS distinct 64-byte events through hookgate, used_memory again (after
#      hookgate has closed its connections), DBSIZE.
# Prints one table. Leaves no file and no process behind.
#
# Environment (all optional): BENCH_SECONDS=10, BENCH_WARMUP=1, BENCH_CONNECTIONS=16,
# BENCH_RATE=2000, BENCH_RATE_CONNECTIONS=8, BENCH_MEMORY_IDS=1000000,
# BENCH_MEMORY_SECONDS=90, BENCH_LOADGEN_THREADS=1, BENCH_BUDGET_SECONDS=300,
# BENCH_ROUNDS=3, BENCH_PORT_BASE=18080 (ports BASE+1 upstream, +3/+4 memory-store hookgate
# and its admin, +5 redis, +6/+7 Redis-store hookgate and its admin),
# BENCH_TARGET_DIR, BENCH_SKIP_BUILD=1, BENCH_PERF=1 (perf record -e cpu-clock of hookgate
# during the Redis rps run; prints its top symbols).
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=redis

SECS=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNECTIONS:-16}
RATE=${BENCH_RATE:-2000}
RATE_CONNS=${BENCH_RATE_CONNECTIONS:-8}
MEM_IDS=${BENCH_MEMORY_IDS:-1000000}
MEM_SECS=${BENCH_MEMORY_SECONDS:-90}
LG_THREADS=${BENCH_LOADGEN_THREADS:-1}
BUDGET=${BENCH_BUDGET_SECONDS:-300}
PORT_BASE=${BENCH_PORT_BASE:-18080}
source bench/lib.sh
check_knobs SECS WARMUP CONNS RATE RATE_CONNS MEM_IDS MEM_SECS LG_THREADS BUDGET PORT_BASE
UP_PORT=$((PORT_BASE + 1))
ROUNDS=${BENCH_ROUNDS:-3}
check_knobs ROUNDS
declare -A LISTEN=([memory]=$((PORT_BASE + 3)) [redis]=$((PORT_BASE + 6)))
declare -A ADMIN=([memory]=$((PORT_BASE + 4)) [redis]=$((PORT_BASE + 7)))
REDIS_PORT=$((PORT_BASE + 5))
SECRET=whsec_bench_secret
PATH_=/webhooks/stripe
PREFIX="hgbench:"
EVENTS_1K=${BENCH_EVENTS_1K:-$(((SECS + WARMUP) * 60000))}
EVENTS_RATE=$(((SECS + WARMUP) * RATE + RATE))

apt_install redis-server redis-server || {
    say "redis-server is not installed and could not be installed: nothing to measure"
    exit 1
}
build
start_watchdog
ports_free $UP_PORT $REDIS_PORT ${LISTEN[memory]} ${ADMIN[memory]} ${LISTEN[redis]} ${ADMIN[redis]}

# ---------------------------------------------------------------------------------------------
# processes

UP_PID="" HG_PID="" REDIS_PID=""
rcli() { timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

start_redis() {
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --dir "$TMP" --logfile "$TMP/redis.log" --daemonize no --maxmemory 0 &
    REDIS_PID=$!
    PIDS="$PIDS $REDIS_PID"
    local i
    for i in $(seq 100); do
        [[ $(rcli ping 2>/dev/null) == PONG ]] && return 0
        sleep 0.05
    done
    cat "$TMP/redis.log" >&2
    exit 1
}

for backend in memory redis; do
    {
        cat <<EOF
[server]
listen = "127.0.0.1:${LISTEN[$backend]}"
admin_listen = "127.0.0.1:${ADMIN[$backend]}"
max_body = "1MiB"

[store]
EOF
        if [[ $backend == memory ]]; then
            printf 'backend = "memory"\ncapacity = 1000000\n'
        else
            printf 'backend = "redis"\nurl = "redis://127.0.0.1:%s/0"\nkey_prefix = "%s"\n' \
                "$REDIS_PORT" "$PREFIX"
        fi
        route_toml stripe
    } >"$TMP/hookgate-$backend.toml"
done

declare -A HGPID
hookgate() {
    start_hookgate "$TMP/hookgate-$1.toml" "${ADMIN[$1]}"
    HGPID[$1]=$HG_PID
}

# measure LABEL BACKEND BODY_SIZE EVENTS [loadgen run options]
measure() {
    local label=$1 backend=$2 body=$3 events=$4
    shift 4
    local out="$TMP/$label.out"
    bounded "$out" $((SECS + WARMUP + 90)) "$LG" run --label "$label" \
        --url "http://127.0.0.1:${LISTEN[$backend]}$PATH_" --preset stripe --secret "$SECRET" \
        --body-size "$body" --events "$events" --duration "${SECS}s" --warmup "${WARMUP}s" \
        --threads "$LG_THREADS" "$@" || say "  ($label: loadgen exited with an error)"
    grep -v -e '^RESULT' -e 'events of .* signed' "$out" | sed 's/^/  /' || true
    RES[$label]=$(grep '^RESULT' "$out" || true)
}

# Requests hookgate has answered so far (every series of hookgate_requests_total).
hg_requests() { # hg_requests BACKEND
    "$LG" get --url "http://127.0.0.1:${ADMIN[$1]}/metrics" |
        awk '/^hookgate_requests_total[{ ]/ { n += $NF } END { printf "%.0f", n }'
}
# Client-sent Redis commands so far, as "name=calls ..." from INFO commandstats.
redis_calls() {
    rcli info commandstats | tr -d '\r' |
        sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*/\1=\2/p' | sort
}
redis_mem() { rcli info memory | tr -d '\r' | sed -n 's/^used_memory:\([0-9]*\)$/\1/p'; }

# ---------------------------------------------------------------------------------------------
# measurements

STEP=$((SECS + WARMUP + 20))
say "== hookgate Redis store vs memory store, $(date -u '+%Y-%m-%d %H:%M UTC'): $CORES cores ($MODEL), ${SECS}s per target after ${WARMUP}s warm-up, loopback, $(redis-server --version | sed 's/ sha=.*//')"
start_upstream "$UP_PORT"
start_redis

hookgate memory
hookgate redis
DONE_ROUNDS=0 requests=0 hg_ticks=0 redis_ticks=0 mem_requests=0 mem_ticks=0
: >"$TMP/calls-before" >"$TMP/calls-after"
PERF_PID=""
for round in $(seq "$ROUNDS"); do
    fits $((2 * STEP)) "rps round $round" || break
    say "-- round $round: hookgate stripe, 1 KiB bodies, memory store then Redis store"
    before_req=$(hg_requests memory) before_hg=$(cpu_ticks "${HGPID[memory]}")
    measure "memory_1024_$round" memory 1024 "$EVENTS_1K" --connections "$CONNS"
    mem_ticks=$((mem_ticks + $(cpu_ticks "${HGPID[memory]}") - before_hg))
    mem_requests=$((mem_requests + $(hg_requests memory) - before_req))
    ((round == 1)) && redis_calls >"$TMP/calls-before"
    before_req=$(hg_requests redis)
    before_hg=$(cpu_ticks "${HGPID[redis]}") before_redis=$(cpu_ticks "$REDIS_PID")
    if ((round == ROUNDS)) && [[ ${BENCH_PERF:-0} == 1 ]] && command -v perf >/dev/null; then
        timeout $((SECS + WARMUP + 30)) perf record -q -e cpu-clock -F 999 -g -p "${HGPID[redis]}" \
            -o "$TMP/perf.data" -- sleep $((SECS + WARMUP)) >"$TMP/perf.log" 2>&1 &
        PERF_PID=$!
    fi
    measure "redis_1024_$round" redis 1024 "$EVENTS_1K" --connections "$CONNS"
    [[ -n $PERF_PID ]] && { wait "$PERF_PID" || true; }
    hg_ticks=$((hg_ticks + $(cpu_ticks "${HGPID[redis]}") - before_hg))
    redis_ticks=$((redis_ticks + $(cpu_ticks "$REDIS_PID") - before_redis))
    requests=$((requests + $(hg_requests redis) - before_req))
    redis_calls >"$TMP/calls-after"
    DONE_ROUNDS=$round
done
if ((DONE_ROUNDS > 0)); then
    # Every command Redis counted, minus what we sent ourselves (INFO): SET and GET run inside
    # the scripts (they count in commandstats too, but are no round trips); the client
    # commands are EVALSHA (EVAL when a node lacks a script), and PING, HELLO, CLIENT, SELECT
    # if any.
    join -a 2 -t= -o 0,1.2,2.2 -e 0 <(sort "$TMP/calls-before") <(sort "$TMP/calls-after") |
        awk -F= -v n="$requests" '{ d = $3 - $2; if (d > 0) printf "    %-10s %9d calls  %.3f per request\n", $1, d, d / n }' \
            >"$TMP/calls.txt"
    say "  Redis commands during the Redis runs ($requests requests answered by hookgate):"
    cat "$TMP/calls.txt"
    trips=$(awk '$1 ~ /^(eval|evalsha|eval_ro|evalsha_ro|fcall|ping|select|hello|client\|.*)$/ { n += $2 } END { printf "%d", n }' "$TMP/calls.txt")
    evals=$(awk '$1 ~ /^eval/ { n += $2 } END { printf "%d", n }' "$TMP/calls.txt")
    RES[redis_calls]="RESULT requests=$requests trips=$trips evals=$evals"
    add_field redis_calls hg_us_per_req "$(awk -v t="$hg_ticks" -v c="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", t / c * 1e6 / n }')"
    add_field redis_calls redis_us_per_req "$(awk -v t="$redis_ticks" -v c="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", t / c * 1e6 / n }')"
    add_field redis_calls mem_us_per_req "$(awk -v t="$mem_ticks" -v c="$CLK_TCK" -v n="$mem_requests" 'BEGIN { printf "%.1f", t / c * 1e6 / n }')"
    say "  ${RES[redis_calls]}"
    if [[ -n $PERF_PID && -s $TMP/perf.data ]]; then
        say "  perf (cpu-clock, Redis-store hookgate, last round, self time, top 15):"
        timeout 60 perf report -i "$TMP/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
            grep -E '^ +[0-9]' | head -n 15 | sed 's/^/   /' || true
    fi
fi

DONE_RATE=0
for round in $(seq "$ROUNDS"); do
    fits $((2 * STEP)) "fixed rate round $round" || break
    say "-- round $round: fixed $RATE requests/s, 1 KiB: memory store, then Redis store"
    measure "rate_memory_$round" memory 1024 "$EVENTS_RATE" --connections "$RATE_CONNS" --rate "$RATE"
    measure "rate_redis_$round" redis 1024 "$EVENTS_RATE" --connections "$RATE_CONNS" --rate "$RATE"
    DONE_RATE=$round
done
HG_PID=${HGPID[memory]}
stop_pid HG_PID

MEM_BEFORE="" MEM_AFTER="" KEYS=""
if fits 40 "Redis memory"; then
    mem_secs=$MEM_SECS
    (($(left) - 20 < mem_secs)) && mem_secs=$(($(left) - 20))
    say "-- Redis memory: up to $MEM_IDS distinct 64-byte events through hookgate (at most ${mem_secs}s)"
    rcli flushall sync >/dev/null
    sleep 0.5
    MEM_BEFORE=$(redis_mem)
    keys_before=$(rcli dbsize)
    SECS_SAVED=$SECS WARMUP_SAVED=$WARMUP
    SECS=$mem_secs WARMUP=0
    measure mem_redis redis 64 "$MEM_IDS" --connections "$CONNS" --max-requests "$MEM_IDS"
    SECS=$SECS_SAVED WARMUP=$WARMUP_SAVED
    HG_PID=${HGPID[redis]}
    stop_pid HG_PID # its connections' buffers are not ids
    sleep 1
    MEM_AFTER=$(redis_mem)
    KEYS=$(($(rcli dbsize) - keys_before))
    say "  used_memory $MEM_BEFORE -> $MEM_AFTER bytes, $KEYS keys added ($(rcli info memory | tr -d '\r' | sed -n 's/^mem_allocator:/allocator /p'))"
fi

# ---------------------------------------------------------------------------------------------
# the table

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) printf ""; else if (NR % 2) printf "%s", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# over LABEL KEY ROUNDS: that key's value in every round, space-separated.
over() { local r; for r in $(seq "$3"); do printf '%s ' "$(field "${1}_$r" "$2")"; done; }

echo
say "== results (one run; medians of $DONE_ROUNDS alternating rounds, ratios within each round): ${SECS}s per target after ${WARMUP}s warm-up, $CONNS connections, $CORES cores ($MODEL) shared by generator, hookgate, upstream and redis-server"
printf '%-34s %10s %9s %9s %9s %8s %7s\n' target rps p50_ms p99_ms p99.9_ms non2xx errors
for row in "memory_1024|$DONE_ROUNDS|hookgate, memory store, 1 KiB" "redis_1024|$DONE_ROUNDS|hookgate, Redis store, 1 KiB" \
    "rate_memory|$DONE_RATE|memory store at $RATE req/s" "rate_redis|$DONE_RATE|Redis store at $RATE req/s"; do
    IFS='|' read -r label n name <<<"$row"
    [[ -n ${RES[${label}_1]:-} ]] || {
        printf '%-34s %10s\n' "$name" "not run"
        continue
    }
    note=""
    [[ $(over "$label" exhausted "$n") == *1* ]] && note="  (events ran out in a round)"
    printf '%-34s %10.0f %9s %9s %9s %8s %7s%s\n' "$name" "$(over "$label" rps "$n" | median)" \
        "$(ms "$(over "$label" p50_us "$n" | median)")" "$(ms "$(over "$label" p99_us "$n" | median)")" \
        "$(ms "$(over "$label" p999_us "$n" | median)")" \
        "$(over "$label" non2xx "$n" | tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }')" \
        "$(over "$label" errors "$n" | tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }')" "$note"
done
echo
each=$(for r in $(seq "$DONE_ROUNDS"); do printf '%s ' "$(ratio "$(field "redis_1024_$r" rps)" "$(field "memory_1024_$r" rps)")"; done)
r=$(median <<<"$each")
say "rps ratio Redis / memory store, 1 KiB: $r, median of the rounds ($each) (goal >= 0.7: $(verdict "$r" '>=' 0.7 ''))"
if ((DONE_RATE > 0)); then
    each=$(for r in $(seq "$DONE_RATE"); do awk -v a="$(field "rate_redis_$r" p99_us)" -v b="$(field "rate_memory_$r" p99_us)" 'BEGIN { printf "%.3f ", (a - b) / 1000 }'; done)
    say "added p99 of the Redis store at $RATE req/s: $(median <<<"$each") ms, median of the rounds ($each ms)"
else
    say "added p99 of the Redis store: not measured"
fi
if [[ -n ${RES[redis_calls]:-} ]]; then
    say "Redis round trips per request: $(ratio "$(field redis_calls trips)" "$(field redis_calls requests)") (EVAL + EVALSHA: $(ratio "$(field redis_calls evals)" "$(field redis_calls requests)"); $(field redis_calls trips) client commands / $(field redis_calls requests) requests, warm-ups included)"
    say "hookgate CPU per request (utime+stime / requests, warm-ups included): memory store $(field redis_calls mem_us_per_req) us, Redis store $(field redis_calls hg_us_per_req) us (ratio $(ratio "$(field redis_calls hg_us_per_req)" "$(field redis_calls mem_us_per_req)")), plus redis-server $(field redis_calls redis_us_per_req) us"
fi
if [[ -n $MEM_AFTER && -n $KEYS && $KEYS -gt 0 ]]; then
    per_id=$(awk -v a="$MEM_AFTER" -v b="$MEM_BEFORE" -v n="$KEYS" 'BEGIN { printf "%.1f", (a - b) / n }')
    say "Redis memory per remembered id: $per_id bytes (used_memory +$((MEM_AFTER - MEM_BEFORE)) over $KEYS ids, key prefix \"$PREFIX\"; goal <= 120: $(verdict "$per_id" '<=' 120 ' bytes'))"
    ((KEYS < MEM_IDS)) && say "  (only $KEYS of $MEM_IDS ids fit in the time limit)"
else
    say "Redis memory per remembered id: not measured"
fi
say "measurements took $(($(date +%s) - STARTED))s"
