#!/usr/bin/env bash
# bench/queue.sh: queued delivery (delivery = "queued": 202 once the event is synced to the
# embedded SQLite queue, delivered by the workers) against direct delivery, in one bounded run
# on loopback (see BENCHMARKS.md, "Queued delivery"). bench/run.sh calls it when BENCH_EXTRA
# contains "queue".
#
# Starts one upstream (loadgen upstream) and two hookgates side by side with the same `github`
# preset route (verify, dedup on the memory store), one delivering directly and one with
# `delivery = "queued"` ([queue] path in the temp dir), then measures:
#   1. ingest at full speed, 1 KiB bodies, every id distinct, BENCH_ROUNDS rounds alternating
#      direct and queued (so load from outside the benchmark hits both alike): the direct
#      route's rps (upstream 200s relayed) and the queued route's 202s per second, and each
#      round's ratio; the delivery workers run during the queued ingest, as they would;
#   2. after every queued run, the drain: hookgate_queue_delivered_total (upstream 2xx) polled
#      every BENCH_POLL_MS until it reaches hookgate_queue_enqueued_total (at most
#      BENCH_DRAIN_SECONDS): the backlog left at the end of the ingest, the time to deliver it
#      and the delivery rate with no ingest, and the deliveries per second during the ingest;
#      also each hookgate's CPU per event (/proc/PID/stat utime+stime, all threads; the queued
#      one from the start of its ingest to the end of the drain, so ingest plus delivery);
#   3. the ack latency at a fixed rate (each of BENCH_RATES), rounds alternating the same way
#      (the queued route's p99 is the figure; the direct route's is beside it);
#   4. how long one synchronous 4 KiB write takes on the temp dir's disk (dd oflag=dsync), the
#      floor under a group commit.
# Prints one table. Leaves no file and no process behind (the queue file is in the temp dir).
#
# Environment (all optional): BENCH_SECONDS=10, BENCH_WARMUP=1, BENCH_CONNECTIONS=16,
# BENCH_RATE=2000, BENCH_RATES="$BENCH_RATE" (one or more fixed rates, each its rounds),
# BENCH_RATE_CONNECTIONS=8, BENCH_LOADGEN_THREADS=1, BENCH_BUDGET_SECONDS=300,
# BENCH_ROUNDS=3, BENCH_DRAIN_SECONDS=60, BENCH_POLL_MS=200, BENCH_QUEUE_CONCURRENCY=8 (the
# route's `concurrency`: deliveries in flight), BENCH_PORT_BASE=18080 (ports BASE+1 upstream,
# +3/+4 direct hookgate and its admin, +6/+7 queued hookgate and its admin),
# BENCH_TARGET_DIR, BENCH_SKIP_BUILD=1, BENCH_PERF=1 (perf record -e cpu-clock of the queued
# hookgate during the last round's ingest and the start of its drain; prints its top symbols).
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=queue

SECS=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNECTIONS:-16}
RATE=${BENCH_RATE:-2000}
RATES=${BENCH_RATES:-$RATE}
RATE_CONNS=${BENCH_RATE_CONNECTIONS:-8}
LG_THREADS=${BENCH_LOADGEN_THREADS:-1}
BUDGET=${BENCH_BUDGET_SECONDS:-300}
PORT_BASE=${BENCH_PORT_BASE:-18080}
source bench/lib.sh
ROUNDS=${BENCH_ROUNDS:-3}
DRAIN_SECS=${BENCH_DRAIN_SECONDS:-60}
POLL_MS=${BENCH_POLL_MS:-200}
CONCURRENCY=${BENCH_QUEUE_CONCURRENCY:-8}
for r in $RATES; do
    [[ $r =~ ^[1-9][0-9]*$ ]] || { echo "bench/queue.sh: BENCH_RATES takes positive integers (got '$r')" >&2; exit 2; }
done
check_knobs SECS WARMUP CONNS RATE RATE_CONNS LG_THREADS BUDGET PORT_BASE ROUNDS DRAIN_SECS \
    POLL_MS CONCURRENCY
UP_PORT=$((PORT_BASE + 1))
declare -A LISTEN=([direct]=$((PORT_BASE + 3)) [queued]=$((PORT_BASE + 6)))
declare -A ADMIN=([direct]=$((PORT_BASE + 4)) [queued]=$((PORT_BASE + 7)))
SECRET=bench_github_secret
PATH_=/webhooks/github
EVENTS_1K=${BENCH_EVENTS_1K:-$(((SECS + WARMUP) * 60000))}

build
start_watchdog
ports_free $UP_PORT ${LISTEN[direct]} ${ADMIN[direct]} ${LISTEN[queued]} ${ADMIN[queued]}

# ---------------------------------------------------------------------------------------------
# configurations

for mode in direct queued; do
    {
        cat <<EOF
[server]
listen = "127.0.0.1:${LISTEN[$mode]}"
admin_listen = "127.0.0.1:${ADMIN[$mode]}"
max_body = "1MiB"

[store]
backend = "memory"
capacity = 1000000
EOF
        [[ $mode == queued ]] && printf '\n[queue]\npath = "%s"\n' "$TMP/queue.db"
        route_toml github
        [[ $mode == queued ]] && printf 'delivery = "queued"\nconcurrency = %s\n' "$CONCURRENCY"
    } >"$TMP/hookgate-$mode.toml"
done

# ---------------------------------------------------------------------------------------------
# helpers

UP_PID="" HG_PID=""
declare -A HGPID
hookgate() {
    start_hookgate "$TMP/hookgate-$1.toml" "${ADMIN[$1]}"
    HGPID[$1]=$HG_PID
}

# measure LABEL MODE EVENTS [loadgen run options]
measure() {
    local label=$1 mode=$2 events=$3
    shift 3
    local out="$TMP/$label.out"
    bounded "$out" $((SECS + WARMUP + 90)) "$LG" run --label "$label" \
        --url "http://127.0.0.1:${LISTEN[$mode]}$PATH_" --preset github --secret "$SECRET" \
        --body-size 1024 --events "$events" --duration "${SECS}s" --warmup "${WARMUP}s" \
        --threads "$LG_THREADS" "$@" || say "  ($label: loadgen exited with an error)"
    grep -v -e '^RESULT' -e 'events of .* signed' "$out" | sed 's/^/  /' || true
    RES[$label]=$(grep '^RESULT' "$out" || true)
}

# metric MODE NAME: the sum of every series of one metric from that hookgate's /metrics.
metric() {
    "$LG" get --url "http://127.0.0.1:${ADMIN[$1]}/metrics" |
        awk -v m="$2" '$1 == m || index($1, m "{") == 1 { n += $NF } END { printf "%.0f", n }'
}
now() { date +%s.%N; }
secs_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
us_per() { awk -v t="$1" -v c="$CLK_TCK" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", t / c * 1e6 / n }'; }

# drain LABEL: wait (at most DRAIN_SECS) until the queued hookgate has delivered everything it
# has enqueued; records backlog, drain_s, drain_rate, all_delivered on RES[LABEL].
drain() {
    local label=$1 t0 enq del0 del backlog elapsed
    t0=$(now)
    enq=$(metric queued hookgate_queue_enqueued_total)
    del0=$(metric queued hookgate_queue_delivered_total)
    del=$del0
    backlog=$((enq - del0))
    local deadline=$(($(date +%s) + DRAIN_SECS))
    while ((del < enq && $(date +%s) < deadline)); do
        sleep "$(awk -v m="$POLL_MS" 'BEGIN { printf "%.3f", m / 1000 }')"
        del=$(metric queued hookgate_queue_delivered_total)
    done
    elapsed=$(secs_since "$t0")
    add_field "$label" backlog "$backlog"
    add_field "$label" drained "$((del - del0))"
    add_field "$label" drain_s "$elapsed"
    add_field "$label" all_delivered "$((del >= enq ? 1 : 0))"
    add_field "$label" drain_rate "$(awk -v n=$((del - del0)) -v s="$elapsed" 'BEGIN { if (n >= 1000 && s > 0) printf "%.0f", n / s }')"
    local left=""
    ((del >= enq)) || left=" (NOT drained: $((enq - del)) left after ${DRAIN_SECS}s)"
    say "  drain: backlog $backlog at the end of the ingest; $((del - del0)) delivered in ${elapsed}s$left"
}

# ---------------------------------------------------------------------------------------------
# measurements

STEP=$((SECS + WARMUP + 20))
say "== hookgate queued delivery vs direct delivery, $(date -u '+%Y-%m-%d %H:%M UTC'): $CORES cores ($MODEL), ${SECS}s per target after ${WARMUP}s warm-up, loopback, route concurrency $CONCURRENCY, load average $(cut -d' ' -f1-3 /proc/loadavg)"
start_upstream "$UP_PORT"
hookgate direct
hookgate queued

DONE_ROUNDS=0
for round in $(seq "$ROUNDS"); do
    fits $((2 * STEP + 15)) "rps round $round" || break
    say "-- round $round: github route, 1 KiB bodies, direct delivery then queued (202)"
    before_req=$(metric direct hookgate_requests_total) before=$(cpu_ticks "${HGPID[direct]}")
    measure "direct_1024_$round" direct "$EVENTS_1K" --connections "$CONNS"
    add_field "direct_1024_$round" cpu_us "$(us_per $(($(cpu_ticks "${HGPID[direct]}") - before)) \
        $(($(metric direct hookgate_requests_total) - before_req)))"

    before_enq=$(metric queued hookgate_queue_enqueued_total)
    before_del=$(metric queued hookgate_queue_delivered_total)
    before=$(cpu_ticks "${HGPID[queued]}")
    PERF_PID=""
    if ((round == ROUNDS)) && [[ ${BENCH_PERF:-0} == 1 ]] && command -v perf >/dev/null; then
        # The ingest and the first seconds of the drain.
        timeout $((SECS + WARMUP + 40)) perf record -q -e cpu-clock -F 999 -g -p "${HGPID[queued]}" \
            -o "$TMP/perf.data" -- sleep $((SECS + WARMUP + 10)) >"$TMP/perf.log" 2>&1 &
        PERF_PID=$!
    fi
    measure "queued_1024_$round" queued "$EVENTS_1K" --connections "$CONNS"
    enq=$(($(metric queued hookgate_queue_enqueued_total) - before_enq))
    del=$(($(metric queued hookgate_queue_delivered_total) - before_del))
    # Deliveries per second while the ingest ran (warm-up included, as the enqueues are).
    add_field "queued_1024_$round" during_rate "$(awk -v d="$del" -v s="$(field "queued_1024_$round" secs)" -v w="$WARMUP" 'BEGIN { printf "%.0f", d / (s + w) }')"
    drain "queued_1024_$round"
    add_field "queued_1024_$round" enqueued "$enq"
    add_field "queued_1024_$round" cpu_us "$(us_per $(($(cpu_ticks "${HGPID[queued]}") - before)) "$enq")"
    DONE_ROUNDS=$round
    if [[ -n $PERF_PID ]]; then
        wait "$PERF_PID" || true
        say "  perf (cpu-clock, queued hookgate, ingest and drain, self time, top 20):"
        timeout 60 perf report -i "$TMP/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
            grep -E '^ +[0-9]' | head -n 20 | sed 's/^/   /' || true
        rm -f "$TMP/perf.data"
    fi
done

declare -A DONE_RATE
for rate in $RATES; do
    DONE_RATE[$rate]=0
    events=$(((SECS + WARMUP) * rate + rate))
    for round in $(seq "$ROUNDS"); do
        fits $((2 * STEP + 10)) "fixed rate $rate round $round" || break
        say "-- round $round: fixed $rate requests/s, 1 KiB: direct, then queued"
        measure "rate${rate}_direct_$round" direct "$events" --connections "$RATE_CONNS" --rate "$rate"
        measure "rate${rate}_queued_$round" queued "$events" --connections "$RATE_CONNS" --rate "$rate"
        drain "rate${rate}_queued_$round"
        DONE_RATE[$rate]=$round
    done
done

# How long one synchronous 4 KiB overwrite takes on the queue's disk (what a group commit
# waits for at least): dd oflag=dsync into a preallocated file in the temp dir.
SYNC_MS=""
if fits 20 "sync latency"; then
    dd if=/dev/zero of="$TMP/sync.probe" bs=4k count=256 conv=fsync status=none
    t0=$(now)
    timeout 15 dd if=/dev/zero of="$TMP/sync.probe" bs=4k count=200 oflag=dsync conv=notrunc status=none &&
        SYNC_MS=$(awk -v s="$(secs_since "$t0")" 'BEGIN { printf "%.2f", s * 1000 / 200 }')
    rm -f "$TMP/sync.probe"
fi

ENQ_TOTAL=$(metric queued hookgate_queue_enqueued_total)
DEL_TOTAL=$(metric queued hookgate_queue_delivered_total)
DEAD_TOTAL=$(metric queued hookgate_queue_dead_letters_total)
QUEUE_DISK=$(du -sk "$TMP" | cut -f1)
# The queue file and its WAL, before the temp dir goes.
ls -l "$TMP"/queue.db* 2>/dev/null | awk '{ printf "  %s %d bytes\n", $NF, $5 }' | sed "s|$TMP/||" >"$TMP/files.txt" || true

# ---------------------------------------------------------------------------------------------
# the table

median() { tr ' ' '\n' | { grep -v '^$' || true; } | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) printf ""; else if (NR % 2) printf "%s", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# over LABEL KEY ROUNDS: that key's value in every round, space-separated.
over() { local r; for r in $(seq "$3"); do printf '%s ' "$(field "${1}_$r" "$2")"; done; }

echo
say "== results (one run; medians of $DONE_ROUNDS alternating rounds, ratios within each round): ${SECS}s per target after ${WARMUP}s warm-up, $CONNS connections, $CORES cores ($MODEL) shared by generator, both hookgates (the queued one delivering) and upstream"
printf '%-36s %10s %9s %9s %9s %8s %7s %9s\n' target rps p50_ms p99_ms p99.9_ms non2xx errors cpu_us/ev
rows=("direct_1024|$DONE_ROUNDS|github, direct delivery, 1 KiB" "queued_1024|$DONE_ROUNDS|github, queued (202), 1 KiB")
for rate in $RATES; do
    rows+=("rate${rate}_direct|${DONE_RATE[$rate]}|direct at $rate req/s" "rate${rate}_queued|${DONE_RATE[$rate]}|queued at $rate req/s")
done
for row in "${rows[@]}"; do
    IFS='|' read -r label n name <<<"$row"
    [[ -n ${RES[${label}_1]:-} ]] || {
        printf '%-36s %10s\n' "$name" "not run"
        continue
    }
    note=""
    [[ $(over "$label" exhausted "$n") == *1* ]] && note="  (events ran out in a round)"
    cpu=$(over "$label" cpu_us "$n" | median)
    printf '%-36s %10.0f %9s %9s %9s %8s %7s %9s%s\n' "$name" "$(over "$label" rps "$n" | median)" \
        "$(ms "$(over "$label" p50_us "$n" | median)")" "$(ms "$(over "$label" p99_us "$n" | median)")" \
        "$(ms "$(over "$label" p999_us "$n" | median)")" \
        "$(over "$label" non2xx "$n" | tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }')" \
        "$(over "$label" errors "$n" | tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }')" "${cpu:--}" "$note"
done
echo
if ((DONE_ROUNDS > 0)); then
    each=$(for r in $(seq "$DONE_ROUNDS"); do printf '%s ' "$(ratio "$(field "queued_1024_$r" rps)" "$(field "direct_1024_$r" rps)")"; done)
    r=$(median <<<"$each")
    say "ingest ratio queued 202/s / direct rps, 1 KiB: $r, median of the rounds ($each) (goal >= 0.5: $(verdict "$r" '>=' 0.5 ''))"
    say "delivery (queued hookgate -> upstream 2xx), per round:"
    for r in $(seq "$DONE_ROUNDS"); do
        l="queued_1024_$r"
        printf '  round %s: %s enqueued; %s delivered/s during the ingest; backlog %s at its end, drained in %s s (%s events/s with no ingest)%s\n' \
            "$r" "$(field "$l" enqueued)" "$(field "$l" during_rate)" "$(field "$l" backlog)" \
            "$(field "$l" drain_s)" "$(field "$l" drain_rate | sed 's/^$/n\/a: backlog < 1000/')" \
            "$(if [[ $(field "$l" all_delivered) != 1 ]]; then printf ' NOT DRAINED within %ss' "$DRAIN_SECS"; fi)"
    done
    say "delivery rate with no ingest: $(over queued_1024 drain_rate "$DONE_ROUNDS" | median) events/s, median of the rounds ($(over queued_1024 drain_rate "$DONE_ROUNDS"))"
    say "hookgate CPU per event (utime+stime / events, warm-ups included): direct $(over direct_1024 cpu_us "$DONE_ROUNDS" | median) us, queued $(over queued_1024 cpu_us "$DONE_ROUNDS" | median) us (ingest + delivery, through the drain; ratio $(ratio "$(over queued_1024 cpu_us "$DONE_ROUNDS" | median)" "$(over direct_1024 cpu_us "$DONE_ROUNDS" | median)"))"
fi
for rate in $RATES; do
    n=${DONE_RATE[$rate]}
    if ((n > 0)); then
        each=$(for v in $(over "rate${rate}_queued" p99_us "$n"); do ms "$v"; printf ' '; done)
        q99=$(ms "$(over "rate${rate}_queued" p99_us "$n" | median)")
        say "p99 ack latency of the queued route at $rate req/s: $q99 ms, median of the rounds ($each ms) (goal <= 5 ms: $(verdict "$q99" '<=' 5 ' ms')); direct route's p99 $(ms "$(over "rate${rate}_direct" p99_us "$n" | median)") ms; backlogs at the end: $(over "rate${rate}_queued" backlog "$n")"
    else
        say "p99 ack latency at $rate req/s: not measured"
    fi
done
say "one synchronous 4 KiB write (dd oflag=dsync) on the queue's disk: ${SYNC_MS:-not measured} ms"
say "queue totals: $ENQ_TOTAL enqueued, $DEL_TOTAL delivered, $DEAD_TOTAL dead letters; temp dir $((QUEUE_DISK / 1024)) MiB on disk at the end:"
cat "$TMP/files.txt"
say "measurements took $(($(date +%s) - STARTED))s"
