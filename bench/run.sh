#!/usr/bin/env bash
# bench/run.sh: the hookgate load benchmark, in one bounded run on loopback (see BENCHMARKS.md).
#
# Measures with one generator (examples/loadgen.rs) against one shared upstream:
#   direct to the upstream; nginx proxy_pass with 1 and 2 workers; hookgate (stripe preset:
#   verify, dedup on the memory store, forward) with its default runtime (one worker per core)
#   and with one worker; at 1 KiB and 64 KiB. Then p99 at a fixed rate (direct vs hookgate),
#   hookgate's RSS idle and after N remembered ids, and its cold start to ready.
# Prints one table. Leaves no file and no process behind.
#
# Environment (all optional):
#   BENCH_SECONDS=10           measured seconds per target
#   BENCH_WARMUP=1             unmeasured warm-up seconds before each
#   BENCH_CONNECTIONS=16       keep-alive connections for the full-speed runs
#   BENCH_RATE=2000            the fixed rate (requests/s) of the latency runs
#   BENCH_RATE_CONNECTIONS=8   connections for the fixed-rate runs
#   BENCH_MEMORY_IDS=1000000   distinct ids sent for the memory figure ...
#   BENCH_MEMORY_SECONDS=60    ... within at most this long
#   BENCH_LOADGEN_THREADS=1    generator runtime threads
#   BENCH_BUDGET_SECONDS=300   hard cap on the measurements (after the install and build)
#   BENCH_PORT_BASE=18080      ports BASE+1 (upstream) .. BASE+4 (hookgate admin), 127.0.0.1
#   BENCH_SKIP_BUILD=1         use the existing binaries, do not build
#   BENCH_TARGET_DIR=target    where the binaries are built and found (DIR/release/hookgate,
#                              DIR/release/examples/loadgen); default $CARGO_TARGET_DIR, else target
#   BENCH_EXTRA=""             then run these sibling benchmarks, each with its own table and
#                              budget: "redis" (bench/redis.sh), "tls" (bench/tls.sh),
#                              "queue" (bench/queue.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNECTIONS:-16}
RATE=${BENCH_RATE:-2000}
RATE_CONNS=${BENCH_RATE_CONNECTIONS:-8}
MEM_IDS=${BENCH_MEMORY_IDS:-1000000}
MEM_SECS=${BENCH_MEMORY_SECONDS:-60}
LG_THREADS=${BENCH_LOADGEN_THREADS:-1}
BUDGET=${BENCH_BUDGET_SECONDS:-300}
PORT_BASE=${BENCH_PORT_BASE:-18080}
EXTRA=${BENCH_EXTRA:-}
for extra in $EXTRA; do
    [[ $extra == redis || $extra == tls || $extra == queue ]] || {
        echo "bench/run.sh: BENCH_EXTRA takes redis, tls and queue (got '$extra')" >&2
        exit 2
    }
done
for v in SECS WARMUP CONNS RATE RATE_CONNS MEM_IDS MEM_SECS LG_THREADS BUDGET PORT_BASE; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} == 0 && v != "WARMUP")); then
        echo "bench/run.sh: $v must be a positive integer (got '${!v}')" >&2
        exit 2
    fi
done
UP_PORT=$((PORT_BASE + 1))
NGINX_PORT=$((PORT_BASE + 2))
HG_PORT=$((PORT_BASE + 3))
ADMIN_PORT=$((PORT_BASE + 4))
SECRET=whsec_bench_secret
PATH_=/webhooks/stripe
# The binaries: BENCH_TARGET_DIR, else CARGO_TARGET_DIR, else target (the build goes there too).
TARGET_DIR=${BENCH_TARGET_DIR:-${CARGO_TARGET_DIR:-target}}
LG=$TARGET_DIR/release/examples/loadgen
HG=$TARGET_DIR/release/hookgate
CORES=$(nproc)
MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
# Pre-signed events per run: enough for the highest rate we expect, so hookgate never sees a
# repeated id (loadgen stops and says so if they run out; raise these then).
EVENTS_1K=${BENCH_EVENTS_1K:-$(((SECS + WARMUP) * 60000))}
EVENTS_64K=${BENCH_EVENTS_64K:-$(((SECS + WARMUP) * 15000))}
EVENTS_RATE=$(((SECS + WARMUP) * RATE + RATE))

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookgate-bench.XXXXXX")
chmod 755 "$TMP"
UP_PID="" NGINX_PID="" HG_PID="" CURRENT="" WATCHDOG=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in $WATCHDOG $CURRENT $HG_PID $NGINX_PID $UP_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $WATCHDOG $CURRENT $HG_PID $NGINX_PID $UP_PID; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench/run.sh: stopped" >&2; exit 130' INT TERM

say() { printf '%s\n' "$*"; }

# ---------------------------------------------------------------------------------------------
# nginx and the binaries

NGINX=$(command -v nginx || true)
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
if [[ -z $NGINX ]]; then
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo -n"
    if command -v apt-get >/dev/null; then
        say "installing nginx with apt-get ..."
        if timeout 300 bash -c "$SUDO apt-get update -qq && \
            { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light || \
              DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx; }" \
            >"$TMP/apt.log" 2>&1; then
            NGINX=$(command -v nginx || echo /usr/sbin/nginx)
        else
            tail -n 5 "$TMP/apt.log" >&2
        fi
    fi
    if [[ -z $NGINX || ! -x $NGINX ]]; then
        NGINX=""
        say "nginx is not installed and could not be installed: the nginx rows are skipped"
    fi
fi

if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
    say "building (release) ..."
    CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --quiet --bin hookgate --example loadgen
fi
[[ -x $LG && -x $HG ]] || {
    echo "bench/run.sh: $LG or $HG missing" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------------
# helpers

STARTED=$(date +%s)
watchdog() {
    local sleeper
    trap 'kill $sleeper 2>/dev/null; exit 0' TERM
    sleep "$1" &
    sleeper=$!
    wait "$sleeper"
    echo "bench/run.sh: the ${1}s budget is exhausted, stopping" >&2
    kill -TERM "$2"
}
watchdog "$BUDGET" $$ &
WATCHDOG=$!

# Seconds of budget left.
left() { echo $((BUDGET - ($(date +%s) - STARTED))); }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for port in $UP_PORT $NGINX_PORT $HG_PORT $ADMIN_PORT; do
    port_free "$port" || {
        echo "bench/run.sh: 127.0.0.1:$port is in use; set BENCH_PORT_BASE" >&2
        exit 1
    }
done

# Runs a command in the background and waits for it (so the watchdog's signal is handled at
# once), stdout+stderr to $1, killed after $2 seconds.
bounded() {
    local out=$1 limit=$2
    shift 2
    timeout "$limit" "$@" >"$out" 2>&1 &
    CURRENT=$!
    local rc=0
    wait "$CURRENT" || rc=$?
    CURRENT=""
    return "$rc"
}

declare -A RES
# measure LABEL URL BODY_SIZE EVENTS [loadgen run options]
measure() {
    local label=$1 url=$2 body=$3 events=$4
    shift 4
    local out="$TMP/$label.out"
    bounded "$out" $((SECS + WARMUP + 90)) "$LG" run --label "$label" --url "$url" \
        --preset stripe --secret "$SECRET" --body-size "$body" --events "$events" \
        --duration "${SECS}s" --warmup "${WARMUP}s" --threads "$LG_THREADS" "$@" ||
        say "  ($label: loadgen exited with an error)"
    grep -v -e '^RESULT' -e 'events of .* signed' "$out" | sed 's/^/  /' || true
    RES[$label]=$(grep '^RESULT' "$out" || true)
}

# field LABEL KEY: one value of a RESULT line ("" when absent).
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"${RES[$1]:-}"; }

ready() { "$LG" get --url "$1" --wait "${2:-5s}" >/dev/null; }

start_upstream() {
    "$LG" upstream --listen "127.0.0.1:$UP_PORT" --workers 1 --max-time "$((BUDGET + 120))s" \
        2>"$TMP/upstream.log" &
    UP_PID=$!
    ready "http://127.0.0.1:$UP_PORT/" || {
        cat "$TMP/upstream.log" >&2
        exit 1
    }
}

write_nginx_conf() {
    mkdir -p "$TMP/nginx"
    cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
worker_processes $1;
error_log stderr warn;
pid $TMP/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    client_body_buffer_size 128k;
    client_max_body_size 1m;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    upstream up {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

start_nginx() {
    write_nginx_conf "$1"
    "$NGINX" -e stderr -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx.log" &
    NGINX_PID=$!
    ready "http://127.0.0.1:$NGINX_PORT/" || {
        cat "$TMP/nginx.log" >&2
        return 1
    }
}

stop() { # stop VAR: TERM the pid held in $VAR and reap it
    local pid=${!1}
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    printf -v "$1" '%s' ""
}

cat >"$TMP/hookgate.toml" <<EOF
[server]
listen = "127.0.0.1:$HG_PORT"
admin_listen = "127.0.0.1:$ADMIN_PORT"
max_body = "1MiB"

[store]
backend = "memory"
capacity = 1000000

[[route]]
name = "stripe"
path = "$PATH_"
upstream = "http://127.0.0.1:$UP_PORT$PATH_"
provider = "stripe"
secrets = ["$SECRET"]
EOF

# start_hookgate [WORKERS]: a fresh process, so its store starts empty. WORKERS sets
# [server] workers (default: one per core).
start_hookgate() {
    local config="$TMP/hookgate.toml"
    if [[ -n ${1:-} ]]; then
        config="$TMP/hookgate-$1.toml"
        sed "s/^\[server\]$/[server]\nworkers = $1/" "$TMP/hookgate.toml" >"$config"
    fi
    RUST_LOG=warn "$HG" run --config "$config" 2>>"$TMP/hookgate.log" &
    HG_PID=$!
    ready "http://127.0.0.1:$ADMIN_PORT/healthz" || {
        cat "$TMP/hookgate.log" >&2
        exit 1
    }
}

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

# Skips a step when the budget cannot hold it.
fits() {
    if (($(left) < $1)); then
        say "-- skipped ($2): $(left)s of budget left, it needs about $1s"
        return 1
    fi
}

DIRECT="http://127.0.0.1:$UP_PORT$PATH_"
VIA_NGINX="http://127.0.0.1:$NGINX_PORT$PATH_"
VIA_HG="http://127.0.0.1:$HG_PORT$PATH_"
STEP=$((SECS + WARMUP + 15))

say "== hookgate benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'): $CORES cores ($MODEL), ${SECS}s per target after ${WARMUP}s warm-up, loopback"
start_upstream

for size in 1024 65536; do
    fits $STEP "direct $size" || continue
    say "-- direct to the upstream, $size-byte bodies"
    measure "direct_$size" "$DIRECT" "$size" 20000 --connections "$CONNS" --wrap
done

if [[ -n $NGINX ]]; then
    for workers in 1 2; do
        fits $((2 * STEP)) "nginx $workers workers" || continue
        if ! start_nginx "$workers"; then
            say "-- nginx did not start: its rows are skipped"
            stop NGINX_PID
            continue
        fi
        for size in 1024 65536; do
            say "-- nginx proxy_pass, $workers worker(s), $size-byte bodies"
            measure "nginx${workers}_$size" "$VIA_NGINX" "$size" 20000 --connections "$CONNS" --wrap
        done
        stop NGINX_PID
    done
fi

# hookgate: default runtime (one worker per core), then one worker.
for threads in default 1; do
    for size in 1024 65536; do
        events=$EVENTS_1K
        ((size == 65536)) && events=$EVENTS_64K
        fits $((STEP + 10)) "hookgate $threads $size" || continue
        say "-- hookgate stripe ($threads workers), $size-byte bodies"
        if [[ $threads == default ]]; then start_hookgate; else start_hookgate "$threads"; fi
        measure "hookgate${threads}_$size" "$VIA_HG" "$size" "$events" --connections "$CONNS"
        stop HG_PID
    done
done

if fits $((2 * STEP)) "fixed rate"; then
    say "-- fixed $RATE requests/s, 1 KiB: direct, then hookgate"
    measure "rate_direct" "$DIRECT" 1024 "$EVENTS_RATE" --connections "$RATE_CONNS" --rate "$RATE"
    start_hookgate
    measure "rate_hookgate" "$VIA_HG" 1024 "$EVENTS_RATE" --connections "$RATE_CONNS" --rate "$RATE"
    stop HG_PID
fi

IDLE_KIB="" AFTER_KIB="" IDS=""
if fits $((MEM_SECS + 20)) "memory"; then
    say "-- memory: idle, then after up to $MEM_IDS distinct 64-byte events (at most ${MEM_SECS}s)"
    start_hookgate
    sleep 0.2
    IDLE_KIB=$(rss_kib "$HG_PID")
    mem_secs=$MEM_SECS
    # Never past the budget.
    (($(left) - 15 < mem_secs)) && mem_secs=$(($(left) - 15))
    SECS_SAVED=$SECS WARMUP_SAVED=$WARMUP
    SECS=$mem_secs WARMUP=0
    measure "memory" "$VIA_HG" 64 "$MEM_IDS" --connections "$CONNS" --max-requests "$MEM_IDS"
    SECS=$SECS_SAVED WARMUP=$WARMUP_SAVED
    sleep 0.2
    IDS=$("$LG" get --url "http://127.0.0.1:$ADMIN_PORT/metrics" |
        sed -n 's/^hookgate_store_entries \([0-9]*\)$/\1/p')
    AFTER_KIB=$(rss_kib "$HG_PID")
    stop HG_PID
fi

if fits 30 "cold start"; then
    say "-- cold start: spawn -> first 200 on /healthz, 5 times"
    out="$TMP/coldstart.out"
    bounded "$out" 60 "$LG" coldstart --bin "$HG" --config "$TMP/hookgate.toml" \
        --health "http://127.0.0.1:$ADMIN_PORT/healthz" --runs 5 ||
        say "  (coldstart failed)"
    grep -v -e '^RESULT' -e '^coldstart run' "$out" | sed 's/^/  /' || true
    RES[coldstart]=$(grep '^RESULT' "$out" || true)
fi

# ---------------------------------------------------------------------------------------------
# the table

ms() { awk -v us="$1" 'BEGIN { if (us == "") printf "-"; else printf "%.3f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) printf "n/a"; else printf "%.2f", a / b }'; }
# verdict VALUE OP LIMIT UNIT: "met" or "MISSED by ..."
verdict() {
    awk -v v="$1" -v op="$2" -v lim="$3" -v unit="$4" 'BEGIN {
        if (v == "" || v == "n/a") { printf "not measured"; exit }
        ok = (op == ">=") ? (v >= lim) : (v <= lim)
        if (ok) printf "met"; else if (op == ">=") printf "MISSED by %.2f%s", lim - v, unit;
        else printf "MISSED by %.2f%s", v - lim, unit }'
}

rows=(
    "direct_1024|direct to the upstream|1 KiB"
    "nginx1_1024|nginx proxy_pass, 1 worker|1 KiB"
    "nginx2_1024|nginx proxy_pass, 2 workers|1 KiB"
    "hookgatedefault_1024|hookgate stripe, $CORES workers|1 KiB"
    "hookgate1_1024|hookgate stripe, 1 worker|1 KiB"
    "direct_65536|direct to the upstream|64 KiB"
    "nginx1_65536|nginx proxy_pass, 1 worker|64 KiB"
    "nginx2_65536|nginx proxy_pass, 2 workers|64 KiB"
    "hookgatedefault_65536|hookgate stripe, $CORES workers|64 KiB"
    "hookgate1_65536|hookgate stripe, 1 worker|64 KiB"
)

echo
say "== results: ${SECS}s per target, $CONNS connections, $LG_THREADS generator thread(s), $CORES cores ($MODEL) shared by generator, proxy and upstream"
printf '%-30s %-7s %10s %9s %9s %9s %8s %7s\n' target body rps p50_ms p99_ms p99.9_ms non2xx errors
for row in "${rows[@]}"; do
    IFS='|' read -r label name body <<<"$row"
    [[ -n ${RES[$label]:-} ]] || {
        printf '%-30s %-7s %10s\n' "$name" "$body" "not run"
        continue
    }
    note=""
    [[ $(field "$label" exhausted) == 1 ]] && note="  (events ran out after $(field "$label" secs)s)"
    printf '%-30s %-7s %10.0f %9s %9s %9s %8s %7s%s\n' "$name" "$body" "$(field "$label" rps)" \
        "$(ms "$(field "$label" p50_us)")" "$(ms "$(field "$label" p99_us)")" \
        "$(ms "$(field "$label" p999_us)")" "$(field "$label" non2xx)" "$(field "$label" errors)" "$note"
done

rps() { field "$1" rps; }
echo
printf '%-40s %7s %7s   %s\n' "rps ratio" "1 KiB" "64 KiB" "target"
r1=$(ratio "$(rps hookgatedefault_1024)" "$(rps nginx1_1024)")
r64=$(ratio "$(rps hookgatedefault_65536)" "$(rps nginx1_65536)")
printf '%-40s %7s %7s   %s\n' "hookgate ($CORES wrk) / nginx (1 worker)" "$r1" "$r64" ""
r1=$(ratio "$(rps hookgatedefault_1024)" "$(rps nginx2_1024)")
r64=$(ratio "$(rps hookgatedefault_65536)" "$(rps nginx2_65536)")
printf '%-40s %7s %7s   %s\n' "hookgate ($CORES wrk) / nginx (2 workers)" "$r1" "$r64" \
    ">= 1.2 / >= 1.0: $(verdict "$r1" '>=' 1.2 '') / $(verdict "$r64" '>=' 1.0 '')"
r1=$(ratio "$(rps hookgate1_1024)" "$(rps nginx1_1024)")
r64=$(ratio "$(rps hookgate1_65536)" "$(rps nginx1_65536)")
printf '%-40s %7s %7s   %s\n' "hookgate (1 wrk) / nginx (1 worker)" "$r1" "$r64" \
    ">= 1.2 / >= 1.0: $(verdict "$r1" '>=' 1.2 '') / $(verdict "$r64" '>=' 1.0 '')"
printf '%-40s %7s %7s\n' "hookgate ($CORES wrk) / direct" \
    "$(ratio "$(rps hookgatedefault_1024)" "$(rps direct_1024)")" \
    "$(ratio "$(rps hookgatedefault_65536)" "$(rps direct_65536)")"
printf '%-40s %7s %7s\n' "nginx (2 workers) / direct" \
    "$(ratio "$(rps nginx2_1024)" "$(rps direct_1024)")" \
    "$(ratio "$(rps nginx2_65536)" "$(rps direct_65536)")"
say "(hookgate runs one event loop per worker, one worker per core by default, $CORES here:"
say " its same-worker peer is nginx with $CORES workers; the 1-worker run ([server] workers = 1)"
say " is the peer of nginx with 1 worker. Per-request logging is off in both: nginx"
say " access_log off, hookgate RUST_LOG=warn.)"

echo
if [[ -n ${RES[rate_direct]:-} && -n ${RES[rate_hookgate]:-} ]]; then
    d99=$(field rate_direct p99_us) h99=$(field rate_hookgate p99_us)
    added=$(awk -v a="$h99" -v b="$d99" 'BEGIN { printf "%.3f", (a - b) / 1000 }')
    say "latency at a fixed $RATE req/s (1 KiB, $RATE_CONNS connections, from the scheduled send time):"
    printf '  %-9s p50 %s ms, p99 %s ms, p99.9 %s ms (%s req/s achieved)\n' direct \
        "$(ms "$(field rate_direct p50_us)")" "$(ms "$d99")" "$(ms "$(field rate_direct p999_us)")" "$(field rate_direct rps)"
    printf '  %-9s p50 %s ms, p99 %s ms, p99.9 %s ms (%s req/s achieved)\n' hookgate \
        "$(ms "$(field rate_hookgate p50_us)")" "$(ms "$h99")" "$(ms "$(field rate_hookgate p999_us)")" "$(field rate_hookgate rps)"
    say "  added p99: $added ms (target <= 1 ms: $(verdict "$added" '<=' 1 ' ms'))"
else
    say "latency at a fixed $RATE req/s: not measured"
fi

if [[ -n $IDLE_KIB ]]; then
    idle_mib=$(awk -v k="$IDLE_KIB" 'BEGIN { printf "%.1f", k / 1024 }')
    say "memory: idle RSS $idle_mib MiB (target <= 15 MiB: $(verdict "$idle_mib" '<=' 15 ' MiB'))"
    if [[ -n $AFTER_KIB && -n $IDS && $IDS -gt 0 ]]; then
        per_id=$(awk -v a="$AFTER_KIB" -v i="$IDLE_KIB" -v n="$IDS" 'BEGIN { printf "%.0f", (a - i) * 1024 / n }')
        say "        RSS after $IDS remembered ids: $(awk -v k="$AFTER_KIB" 'BEGIN { printf "%.1f", k / 1024 }') MiB -> $per_id bytes per id (target <= 200: $(verdict "$per_id" '<=' 200 ' bytes'))"
        ((IDS < MEM_IDS)) && say "        (only $IDS of $MEM_IDS ids fit in the ${MEM_SECS}s limit)"
    else
        say "        after remembered ids: not measured"
    fi
else
    say "memory: not measured"
fi

if [[ -n ${RES[coldstart]:-} ]]; then
    med=$(field coldstart median_ms)
    say "cold start to ready (spawn -> first 200 on /healthz): median $med ms over $(field coldstart runs) runs (min $(field coldstart min_ms), max $(field coldstart max_ms)); target <= 50 ms: $(verdict "$med" '<=' 50 ' ms')"
else
    say "cold start: not measured"
fi
say "measurements took $(($(date +%s) - STARTED))s"

# ---------------------------------------------------------------------------------------------
# sibling benchmarks: their own processes, budget (BENCH_BUDGET_SECONDS each) and table

if [[ -n $EXTRA ]]; then
    stop WATCHDOG
    stop UP_PID
    for extra in $EXTRA; do
        echo
        BENCH_SKIP_BUILD=1 bash "bench/$extra.sh" &
        CURRENT=$!
        wait "$CURRENT" || say "bench/$extra.sh failed"
        CURRENT=""
    done
fi
