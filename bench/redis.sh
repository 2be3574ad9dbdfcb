#!/usr/bin/env bash
# bench/redis.sh: hookgate on the Redis store against hookgate on the memory store, in one
# bounded run on loopback (see BENCHMARKS.md, "Redis store"). bench/run.sh calls it when
# BENCH_EXTRA contains "redis".
#
# Starts one upstream (loadgen upstream) and one redis-server (127.0.0.1, no RDB, no AOF),
# then measures, each time with a fresh hookgate (stripe preset: verify, dedup, forward):
#   1. rps at 1 KiB: memory store, then Redis store; for the Redis run also the Redis
#      commands per request (INFO commandstats deltas, / hookgate_requests_total delta) and the
#      CPU per request of hookgate and of redis-server (/proc/PID/stat utime+stime);
#   2. p99 at a fixed rate: memory store, then Redis store (added p99 = redis - memory);
#   3. Redis memory per remembered id: FLUSHALL, INFO memory used_memory, up to
#      BENCH_MEMORY_IDS distinct 64-byte events through hookgate, used_memory again, DBSIZE.
# Prints one table. Leaves no file and no process behind.
#
# Environment (all optional): BENCH_SECONDS=10, BENCH_WARMUP=1, BENCH_CONNECTIONS=16,
# BENCH_RATE=2000, BENCH_RATE_CONNECTIONS=8, BENCH_MEMORY_IDS=1000000,
# BENCH_MEMORY_SECONDS=90, BENCH_LOADGEN_THREADS=1, BENCH_BUDGET_SECONDS=300,
# BENCH_PORT_BASE=18080 (ports BASE+1 upstream, +3 hookgate, +4 admin, +5 redis),
# BENCH_SKIP_BUILD=1, BENCH_PERF=1 (perf record -e cpu-clock of hookgate during the Redis rps
# run; prints its top symbols).
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
HG_PORT=$((PORT_BASE + 3))
ADMIN_PORT=$((PORT_BASE + 4))
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
ports_free $UP_PORT $HG_PORT $ADMIN_PORT $REDIS_PORT

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
listen = "127.0.0.1:$HG_PORT"
admin_listen = "127.0.0.1:$ADMIN_PORT"
max_body = "1MiB"

[store]
EOF
        if [[ $backend == memory ]]; then
            printf 'backend = "memory"\ncapacity = 1000000\n'
        else
            printf 'backend = "redis"\nurl = "redis://127.0.0.1:%s/0"\nkey_prefix = "%s"\n' \
                "$REDIS_PORT" "$PREFIX"
        fi
        cat <<EOF

[[route]]
name = "stripe"
path = "$PATH_"
upstream = "http://127.0.0.1:$UP_PORT$PATH_"
provider = "stripe"
secrets = ["$SECRET"]
EOF
    } >"$TMP/hookgate-$backend.toml"
done

hookgate() { start_hookgate "$TMP/hookgate-$1.toml" "$ADMIN_PORT"; }

# measure LABEL BODY_SIZE EVENTS [loadgen run options]
measure() {
    local label=$1 body=$2 events=$3
    shift 3
    local out="$TMP/$label.out"
    bounded "$out" $((SECS + WARMUP + 90)) "$LG" run --label "$label" \
        --url "http://127.0.0.1:$HG_PORT$PATH_" --preset stripe --secret "$SECRET" \
        --body-size "$body" --events "$events" --duration "${SECS}s" --warmup "${WARMUP}s" \
        --threads "$LG_THREADS" "$@" || say "  ($label: loadgen exited with an error)"
    grep -v -e '^RESULT' -e 'events of .* signed' "$out" | sed 's/^/  /' || true
    RES[$label]=$(grep '^RESULT' "$out" || true)
}

# Requests hookgate has answered so far (every series of hookgate_requests_total).
hg_requests() {
    "$LG" get --url "http://127.0.0.1:$ADMIN_PORT/metrics" |
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

if fits $((2 * STEP)) "rps"; then
    say "-- hookgate stripe, memory store, 1 KiB bodies"
    hookgate memory
    measure memory_1024 1024 "$EVENTS_1K" --connections "$CONNS"
    stop_pid HG_PID

    say "-- hookgate stripe, Redis store, 1 KiB bodies"
    hookgate redis
    before_calls=$(redis_calls) before_req=$(hg_requests)
    before_hg=$(cpu_ticks "$HG_PID") before_redis=$(cpu_ticks "$REDIS_PID")
    PERF_PID=""
    if [[ ${BENCH_PERF:-0} == 1 ]] && command -v perf >/dev/null; then
        timeout $((SECS + WARMUP + 30)) perf record -q -e cpu-clock -F 999 -g -p "$HG_PID" \
            -o "$TMP/perf.data" -- sleep $((SECS + WARMUP)) >"$TMP/perf.log" 2>&1 &
        PERF_PID=$!
    fi
    measure redis_1024 1024 "$EVENTS_1K" --connections "$CONNS"
    [[ -n $PERF_PID ]] && { wait "$PERF_PID" || true; }
    after_hg=$(cpu_ticks "$HG_PID") after_redis=$(cpu_ticks "$REDIS_PID")
    after_req=$(hg_requests) after_calls=$(redis_calls)
    requests=$((after_req - before_req))
    # Every command Redis counted, minus what we sent ourselves (INFO) and what the scripts
    # ran inside (SET/GET/PTTL... called by EVAL count in commandstats too, but are no round
    # trips): the client commands are EVAL, EVALSHA, PING, HELLO, CLIENT, SELECT.
    join -a 2 -t= -o 0,1.2,2.2 -e 0 <(sort <<<"$before_calls") <(sort <<<"$after_calls") |
        awk -F= -v n="$requests" '{ d = $3 - $2; if (d > 0) printf "    %-10s %9d calls  %.3f per request\n", $1, d, d / n }' \
            >"$TMP/calls.txt"
    say "  Redis commands during the run ($requests requests answered by hookgate):"
    cat "$TMP/calls.txt"
    trips=$(awk '$1 ~ /^(eval|evalsha|eval_ro|evalsha_ro|fcall|ping|select|hello|client\|.*)$/ { n += $2 } END { printf "%d", n }' "$TMP/calls.txt")
    evals=$(awk '$1 ~ /^eval/ { n += $2 } END { printf "%d", n }' "$TMP/calls.txt")
    add_field redis_1024 requests "$requests"
    add_field redis_1024 trips "$trips"
    add_field redis_1024 evals "$evals"
    add_field redis_1024 hg_us_per_req "$(awk -v t=$((after_hg - before_hg)) -v c="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", t / c * 1e6 / n }')"
    add_field redis_1024 redis_us_per_req "$(awk -v t=$((after_redis - before_redis)) -v c="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", t / c * 1e6 / n }')"
    say "  RESULT-extra requests=$requests round_trips=$trips evals=$evals hookgate_cpu_us_per_req=$(field redis_1024 hg_us_per_req) redis_cpu_us_per_req=$(field redis_1024 redis_us_per_req)"
    if [[ -n $PERF_PID && -s $TMP/perf.data ]]; then
        say "  perf (cpu-clock, hookgate, self time, top 15):"
        timeout 60 perf report -i "$TMP/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
            grep -E '^ +[0-9]' | head -n 15 | sed 's/^/   /' || true
    fi
    stop_pid HG_PID
fi

if fits $((2 * STEP)) "fixed rate"; then
    say "-- fixed $RATE requests/s, 1 KiB: memory store, then Redis store"
    hookgate memory
    measure rate_memory 1024 "$EVENTS_RATE" --connections "$RATE_CONNS" --rate "$RATE"
    stop_pid HG_PID
    hookgate redis
    measure rate_redis 1024 "$EVENTS_RATE" --connections "$RATE_CONNS" --rate "$RATE"
    stop_pid HG_PID
fi

MEM_BEFORE="" MEM_AFTER="" KEYS=""
if fits 40 "Redis memory"; then
    mem_secs=$MEM_SECS
    (($(left) - 20 < mem_secs)) && mem_secs=$(($(left) - 20))
    say "-- Redis memory: up to $MEM_IDS distinct 64-byte events through hookgate (at most ${mem_secs}s)"
    rcli flushall sync >/dev/null
    hookgate redis
    sleep 0.5
    MEM_BEFORE=$(redis_mem)
    keys_before=$(rcli dbsize)
    SECS_SAVED=$SECS WARMUP_SAVED=$WARMUP
    SECS=$mem_secs WARMUP=0
    measure mem_redis 64 "$MEM_IDS" --connections "$CONNS" --max-requests "$MEM_IDS"
    SECS=$SECS_SAVED WARMUP=$WARMUP_SAVED
    stop_pid HG_PID # its connections' buffers are not ids
    sleep 1
    MEM_AFTER=$(redis_mem)
    KEYS=$(($(rcli dbsize) - keys_before))
    say "  used_memory $MEM_BEFORE -> $MEM_AFTER bytes, $KEYS keys added ($(rcli info memory | tr -d '\r' | sed -n 's/^mem_allocator:/allocator /p'))"
fi

# ---------------------------------------------------------------------------------------------
# the table

echo
say "== results (one run; ratios within it): ${SECS}s per target, $CONNS connections, $CORES cores ($MODEL) shared by generator, hookgate, upstream and redis-server"
printf '%-34s %10s %9s %9s %9s %8s %7s\n' target rps p50_ms p99_ms p99.9_ms non2xx errors
for row in "memory_1024|hookgate, memory store, 1 KiB" "redis_1024|hookgate, Redis store, 1 KiB" \
    "rate_memory|memory store at $RATE req/s" "rate_redis|Redis store at $RATE req/s"; do
    IFS='|' read -r label name <<<"$row"
    [[ -n ${RES[$label]:-} ]] || {
        printf '%-34s %10s\n' "$name" "not run"
        continue
    }
    note=""
    [[ $(field "$label" exhausted) == 1 ]] && note="  (events ran out after $(field "$label" secs)s)"
    printf '%-34s %10.0f %9s %9s %9s %8s %7s%s\n' "$name" "$(field "$label" rps)" \
        "$(ms "$(field "$label" p50_us)")" "$(ms "$(field "$label" p99_us)")" \
        "$(ms "$(field "$label" p999_us)")" "$(field "$label" non2xx)" "$(field "$label" errors)" "$note"
done
echo
r=$(ratio "$(field redis_1024 rps)" "$(field memory_1024 rps)")
say "rps ratio Redis / memory store, 1 KiB: $r (goal >= 0.7: $(verdict "$r" '>=' 0.7 ''))"
if [[ -n ${RES[rate_memory]:-} && -n ${RES[rate_redis]:-} ]]; then
    added=$(awk -v a="$(field rate_redis p99_us)" -v b="$(field rate_memory p99_us)" 'BEGIN { printf "%.3f", (a - b) / 1000 }')
    say "added p99 of the Redis store at $RATE req/s: $added ms ($(ms "$(field rate_memory p99_us)") -> $(ms "$(field rate_redis p99_us)") ms; p50 $(ms "$(field rate_memory p50_us)") -> $(ms "$(field rate_redis p50_us)") ms)"
else
    say "added p99 of the Redis store: not measured"
fi
if [[ -n $(field redis_1024 requests) ]]; then
    say "Redis round trips per request: $(ratio "$(field redis_1024 trips)" "$(field redis_1024 requests)") (EVAL: $(ratio "$(field redis_1024 evals)" "$(field redis_1024 requests)"); $(field redis_1024 trips) client commands / $(field redis_1024 requests) requests)"
    say "CPU per request in the Redis run: hookgate $(field redis_1024 hg_us_per_req) us, redis-server $(field redis_1024 redis_us_per_req) us"
fi
if [[ -n $MEM_AFTER && -n $KEYS && $KEYS -gt 0 ]]; then
    per_id=$(awk -v a="$MEM_AFTER" -v b="$MEM_BEFORE" -v n="$KEYS" 'BEGIN { printf "%.1f", (a - b) / n }')
    say "Redis memory per remembered id: $per_id bytes (used_memory +$((MEM_AFTER - MEM_BEFORE)) over $KEYS ids, key prefix \"$PREFIX\"; goal <= 120: $(verdict "$per_id" '<=' 120 ' bytes'))"
    ((KEYS < MEM_IDS)) && say "  (only $KEYS of $MEM_IDS ids fit in the time limit)"
else
    say "Redis memory per remembered id: not measured"
fi
say "measurements took $(($(date +%s) - STARTED))s"
