#!/usr/bin/env bash
# bench/run.sh: the hookgate load benchmark, in one bounded run on loopback (see BENCHMARKS.md).
#
# Measures with one generator (examples/loadgen.rs) against one shared upstream:
#   direct to the upstream; nginx proxy_pass with 1 and 2 workers; nginx + njs verifying the
#   Stripe signature by hand (js_content, createHmac, internalRedirect to proxy_pass) with 2
#   workers; the bare stack (examples/bare_proxy.rs: hyper's HTTP/1 server and client on one
#   event loop per worker, the body buffered, nothing verified: the floor under hookgate) with
#   2 workers; hookgate (stripe preset: verify, dedup on the memory store, forward) with its
#   default runtime (one worker per core) and with one worker; optionally a baseline hookgate
#   binary (BENCH_BEFORE) the same way; at 1 KiB and 64 KiB. For every proxy, its own CPU time
#   (utime + stime of all its processes over the measured window, /proc/PID/stat) per answered
#   request. Then the time of hookgate's signature check alone at each size (to subtract the
#   HMAC of the body), allocations per request (tests/allocations.rs, counting allocator), p99
#   at a fixed rate (direct vs hookgate), hookgate's RSS idle and after N remembered ids, and
#   its cold start to ready.
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
#   BENCH_BUDGET_SECONDS=600   hard cap on the measurements (after the install and build)
#   BENCH_PORT_BASE=18080      ports BASE+1 (upstream) .. BASE+5 (bare proxy), 127.0.0.1
#   BENCH_SKIP_BUILD=1         use the existing binaries, do not build
#   BENCH_TARGET_DIR=target    where the binaries are built and found (DIR/release/hookgate,
#                              DIR/release/examples/loadgen); default $CARGO_TARGET_DIR, else target
#   BENCH_BEFORE=path          a baseline hookgate binary measured in the same run (rows
#                              "hookgate before"), with the same configuration file
#   BENCH_ALLOCATIONS=1        0: skip the allocation count (it builds a release test binary)
#   BENCH_ROUNDS=0             then this many alternating rounds at 1 KiB of nginx (2 workers),
#                              the bare proxy and hookgate (default workers), all three running
#                              side by side: per-round CPU ratios and their median, which
#                              a shared machine's drift between the table's rows does not skew
#   BENCH_ROUND_SECONDS=5      measured seconds per target in each round
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
ROUNDS=${BENCH_ROUNDS:-0}
ROUND_SECS=${BENCH_ROUND_SECONDS:-5}
LG_THREADS=${BENCH_LOADGEN_THREADS:-1}
BUDGET=${BENCH_BUDGET_SECONDS:-600}
PORT_BASE=${BENCH_PORT_BASE:-18080}
EXTRA=${BENCH_EXTRA:-}
BEFORE=${BENCH_BEFORE:-}
NAME=run
# shellcheck source=bench/lib.sh
source bench/lib.sh
check_knobs SECS WARMUP CONNS RATE RATE_CONNS MEM_IDS MEM_SECS LG_THREADS BUDGET PORT_BASE ROUND_SECS
[[ $ROUNDS =~ ^[0-9]+$ ]] || {
    echo "bench/run.sh: BENCH_ROUNDS must be a number (got '$ROUNDS')" >&2
    exit 2
}
for extra in $EXTRA; do
    [[ $extra == redis || $extra == tls || $extra == queue ]] || {
        echo "bench/run.sh: BENCH_EXTRA takes redis, tls and queue (got '$extra')" >&2
        exit 2
    }
done
[[ -z $BEFORE || -x $BEFORE ]] || {
    echo "bench/run.sh: BENCH_BEFORE=$BEFORE is not an executable" >&2
    exit 2
}
UP_PORT=$((PORT_BASE + 1))
NGINX_PORT=$((PORT_BASE + 2))
HG_PORT=$((PORT_BASE + 3))
ADMIN_PORT=$((PORT_BASE + 4))
BARE_PORT=$((PORT_BASE + 5))
SECRET=whsec_bench_secret
PATH_=/webhooks/stripe
# Pre-signed events per run: enough for the highest rate we expect, so hookgate never sees a
# repeated id (loadgen stops and says so if they run out; raise these then).
EVENTS_1K=${BENCH_EVENTS_1K:-$(((SECS + WARMUP) * 60000))}
EVENTS_64K=${BENCH_EVENTS_64K:-$(((SECS + WARMUP) * 40000))}
EVENTS_RATE=$(((SECS + WARMUP) * RATE + RATE))
UP_PID="" NGINX_PID="" HG_PID="" BARE_PID=""

# ---------------------------------------------------------------------------------------------
# nginx (and its njs module) and the binaries

NGINX=""
apt_install nginx nginx-light && NGINX=$(command -v nginx)
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
[[ -n $NGINX ]] || say "nginx is not installed and could not be installed: the nginx rows are skipped"
NJS_MODULE=/usr/lib/nginx/modules/ngx_http_js_module.so
if [[ -n $NGINX && ! -f $NJS_MODULE ]]; then
    # apt_install looks for a command; the module is a file, so name a command that never is.
    apt_install hookgate-bench-no-such-command libnginx-mod-http-js || true
fi
[[ -f $NJS_MODULE ]] || say "libnginx-mod-http-js is not installed: the nginx + njs rows are skipped"

build
ALLOCS=""
if [[ ${BENCH_ALLOCATIONS:-1} == 1 ]]; then
    say "counting allocations per request (tests/allocations.rs, release) ..."
    if out=$(CARGO_TARGET_DIR=$TARGET_DIR timeout 900 cargo test --release --quiet \
        --test allocations -- --nocapture 2>&1); then
        ALLOCS=$(sed -n 's/^ALLOCATIONS //p' <<<"$out" | paste -sd ' ')
    else
        say "  (the allocation count failed)"
        tail -n 5 <<<"$out"
    fi
fi

start_watchdog
ports_free $UP_PORT $NGINX_PORT $HG_PORT $ADMIN_PORT $BARE_PORT

# measure LABEL URL BODY_SIZE EVENTS [loadgen run options]. The processes in CPU_PIDS
# (comma-separated) are the proxy whose CPU per request is counted.
CPU_PIDS=""
measure() {
    local label=$1 url=$2 body=$3 events=$4
    shift 4
    local out="$TMP/$label.out" cpu=()
    [[ -n $CPU_PIDS ]] && cpu=(--cpu-pids "$CPU_PIDS" --clk-tck "$CLK_TCK")
    bounded "$out" $((SECS + WARMUP + 90)) "$LG" run --label "$label" --url "$url" \
        --preset stripe --secret "$SECRET" --body-size "$body" --events "$events" \
        --duration "${SECS}s" --warmup "${WARMUP}s" --threads "$LG_THREADS" "${cpu[@]}" "$@" ||
        say "  ($label: loadgen exited with an error)"
    grep -v -e '^RESULT' -e 'events of .* signed' "$out" | sed 's/^/  /' || true
    RES[$label]=$(grep '^RESULT' "$out" || true)
}

# The hand-written verifier for the njs rows: what an nginx user would write. The buffered
# body, createHmac over "t.body", the v1 signature compared, a 300 s timestamp window, then
# on to proxy_pass. No dedup.
write_njs() {
    cat >"$TMP/nginx/verify.js" <<EOF
import crypto from 'crypto';

function verify(r) {
    var parts = (r.headersIn['Stripe-Signature'] || '').split(',');
    var t = null, v1 = null;
    for (var i = 0; i < parts.length; i++) {
        var eq = parts[i].indexOf('=');
        var key = parts[i].slice(0, eq);
        if (key === 't') { t = parts[i].slice(eq + 1); }
        else if (key === 'v1' && v1 === null) { v1 = parts[i].slice(eq + 1); }
    }
    var body = r.requestBuffer;
    if (t === null || v1 === null || body === undefined) { r.return(400); return; }
    if (Math.abs(Date.now() / 1000 - Number(t)) > 300) { r.return(401); return; }
    var mac = crypto.createHmac('sha256', '$SECRET').update(t + '.').update(body).digest('hex');
    if (mac !== v1) { r.return(401); return; }
    r.internalRedirect('@upstream');
}

export default { verify };
EOF
}

# write_nginx_conf WORKERS [njs]: plain proxy_pass, or the njs verifier in front of it.
write_nginx_conf() {
    local njs=${2:-} load="" import="" entry="proxy_pass http://up;"
    mkdir -p "$TMP/nginx"
    if [[ $njs == njs ]]; then
        write_njs
        load="load_module $NJS_MODULE;"
        import="js_import verify from $TMP/nginx/verify.js;"
        entry="js_content verify.verify;"
    fi
    cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
worker_processes $1;
error_log stderr warn;
pid $TMP/nginx/nginx.pid;
$load
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    client_body_buffer_size 128k;
    client_body_in_single_buffer on;
    client_max_body_size 1m;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    $import
    upstream up {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / { $entry }
        location @upstream { proxy_pass http://up; }
        location = /bench-ready { return 200 "ready"; }
    }
}
EOF
}

# start_nginx WORKERS [njs]: CPU_PIDS become its master and workers.
start_nginx() {
    write_nginx_conf "$@"
    "$NGINX" -e stderr -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx.log" &
    NGINX_PID=$!
    PIDS="$PIDS $NGINX_PID"
    ready "http://127.0.0.1:$NGINX_PORT/bench-ready" || {
        cat "$TMP/nginx.log" >&2
        return 1
    }
    CPU_PIDS=$NGINX_PID
    local worker
    for worker in $(pgrep -P "$NGINX_PID"); do CPU_PIDS="$CPU_PIDS,$worker"; done
}

{
    cat <<EOF
[server]
listen = "127.0.0.1:$HG_PORT"
admin_listen = "127.0.0.1:$ADMIN_PORT"
max_body = "1MiB"

[store]
backend = "memory"
capacity = 1000000
EOF
    route_toml stripe
} >"$TMP/hookgate.toml"

# start_hg [WORKERS [BINARY]]: a fresh process, so its store starts empty. WORKERS sets
# [server] workers ("default": one per core). CPU_PIDS becomes it.
start_hg() {
    local config="$TMP/hookgate.toml" workers=${1:-default} bin=${2:-$HG}
    if [[ $workers != default ]]; then
        config="$TMP/hookgate-$workers.toml"
        sed "s/^\[server\]$/[server]\nworkers = $workers/" "$TMP/hookgate.toml" >"$config"
    fi
    HG=$bin start_hookgate "$config" "$ADMIN_PORT"
    CPU_PIDS=$HG_PID
}

rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

DIRECT="http://127.0.0.1:$UP_PORT$PATH_"
VIA_NGINX="http://127.0.0.1:$NGINX_PORT$PATH_"
VIA_HG="http://127.0.0.1:$HG_PORT$PATH_"
VIA_BARE="http://127.0.0.1:$BARE_PORT$PATH_"

# start_bare: the bare proxy with as many workers as cores, in BARE_PID; fails when it does
# not answer.
start_bare() {
    "$BARE" "127.0.0.1:$BARE_PORT" "127.0.0.1:$UP_PORT" "$CORES" 2>"$TMP/bare.log" &
    BARE_PID=$!
    PIDS="$PIDS $BARE_PID"
    ready "http://127.0.0.1:$BARE_PORT/"
}
STEP=$((SECS + WARMUP + 15))

say "== hookgate benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'): $CORES cores ($MODEL), ${SECS}s per target after ${WARMUP}s warm-up, loopback"
start_upstream "$UP_PORT"

events_for() { if (($1 == 65536)); then echo "$EVENTS_64K"; else echo "$EVENTS_1K"; fi; }

for size in 1024 65536; do
    fits $STEP "direct $size" || continue
    say "-- direct to the upstream, $size-byte bodies"
    CPU_PIDS=""
    measure "direct_$size" "$DIRECT" "$size" 20000 --connections "$CONNS" --wrap
done

# nginx: proxy_pass with 1 and 2 workers, then the njs verifier with 2.
if [[ -n $NGINX ]]; then
    for kind in 1 2 njs2; do
        workers=${kind#njs} njs=""
        [[ $kind == njs* ]] && njs=njs
        [[ -n $njs && ! -f $NJS_MODULE ]] && continue
        fits $((2 * STEP)) "nginx $kind" || continue
        if ! start_nginx "$workers" $njs; then
            say "-- nginx ($kind) did not start: its rows are skipped"
            stop_pid NGINX_PID
            continue
        fi
        for size in 1024 65536; do
            say "-- nginx ${njs:++ njs verifier, }$workers worker(s), $size-byte bodies"
            measure "nginx${kind}_$size" "$VIA_NGINX" "$size" "$(events_for "$size")" \
                --connections "$CONNS" --wrap
        done
        stop_pid NGINX_PID
    done
fi

# The bare stack, as many workers as hookgate's default: the floor of hyper + tokio.
if fits $((2 * STEP)) "bare proxy" && [[ -x $BARE ]]; then
    if start_bare; then
        CPU_PIDS=$BARE_PID
        for size in 1024 65536; do
            say "-- bare hyper proxy ($CORES workers), $size-byte bodies"
            measure "bare_$size" "$VIA_BARE" "$size" "$(events_for "$size")" \
                --connections "$CONNS" --wrap
        done
    else
        say "-- the bare proxy did not start: its rows are skipped"
    fi
    stop_pid BARE_PID
fi

# hookgate: default runtime (one worker per core), then one worker; the baseline binary too.
variants=("default|$HG|hookgate" "1|$HG|hookgate")
[[ -n $BEFORE ]] && variants+=("default|$BEFORE|before" "1|$BEFORE|before")
for variant in "${variants[@]}"; do
    IFS='|' read -r workers bin name <<<"$variant"
    for size in 1024 65536; do
        fits $((STEP + 10)) "$name $workers $size" || continue
        say "-- $name stripe ($workers workers), $size-byte bodies"
        start_hg "$workers" "$bin"
        measure "$name${workers}_$size" "$VIA_HG" "$size" "$(events_for "$size")" \
            --connections "$CONNS"
        stop_pid HG_PID
    done
done

# Alternating rounds: the three side by side, measured in turn, so that whatever else the
# shared machine does drifts over all three alike.
if ((ROUNDS > 0)) && [[ -n $NGINX ]] && [[ -x $BARE ]] &&
    fits $((ROUNDS * 3 * (ROUND_SECS + WARMUP + 5) + 20)) "alternating rounds"; then
    say "-- $ROUNDS alternating rounds, 1 KiB, ${ROUND_SECS}s each: nginx 2 workers, bare proxy, hookgate"
    if start_nginx 2 && NGINX_CPU=$CPU_PIDS && start_bare; then
        start_hg
        secs_saved=$SECS
        SECS=$ROUND_SECS
        for ((r = 1; r <= ROUNDS; r++)); do
            CPU_PIDS=$NGINX_CPU
            measure "round${r}_nginx" "$VIA_NGINX" 1024 "$EVENTS_1K" --connections "$CONNS" --wrap
            CPU_PIDS=$BARE_PID
            measure "round${r}_bare" "$VIA_BARE" 1024 "$EVENTS_1K" --connections "$CONNS" --wrap
            CPU_PIDS=$HG_PID
            measure "round${r}_hookgate" "$VIA_HG" 1024 "$EVENTS_1K" --connections "$CONNS"
        done
        SECS=$secs_saved
        stop_pid HG_PID
    else
        say "-- nginx or the bare proxy did not start: no rounds"
    fi
    stop_pid BARE_PID
    stop_pid NGINX_PID
fi

# The signature check alone, to subtract the HMAC of the body from the 64 KiB figure.
for size in 1024 65536; do
    out="$TMP/verify_$size.out"
    bounded "$out" 60 "$LG" verify --secret "$SECRET" --body-size "$size" --label "verify_$size" ||
        say "  (verify $size failed)"
    RES[verify_$size]=$(grep '^RESULT' "$out" || true)
done
# The dedup work alone (key, claim, commit on a memory store that starts empty, as each row's
# fresh hookgate does), for as many events as a 1 KiB row delivers.
out="$TMP/dedup.out"
bounded "$out" 120 "$LG" dedup --events $(((SECS + WARMUP) * 40000)) --capacity 1000000 ||
    say "  (dedup failed)"
RES[dedup]=$(grep '^RESULT' "$out" || true)

if fits $((2 * STEP)) "fixed rate"; then
    say "-- fixed $RATE requests/s, 1 KiB: direct, then hookgate"
    CPU_PIDS=""
    measure "rate_direct" "$DIRECT" 1024 "$EVENTS_RATE" --connections "$RATE_CONNS" --rate "$RATE"
    start_hg
    measure "rate_hookgate" "$VIA_HG" 1024 "$EVENTS_RATE" --connections "$RATE_CONNS" --rate "$RATE"
    stop_pid HG_PID
    if [[ -n $BEFORE ]]; then
        start_hg default "$BEFORE"
        measure "rate_before" "$VIA_HG" 1024 "$EVENTS_RATE" --connections "$RATE_CONNS" --rate "$RATE"
        stop_pid HG_PID
    fi
fi

# memory_of NAME [BINARY]: idle RSS, then RSS and remembered ids after up to MEM_IDS events,
# into MEM[NAME_idle], MEM[NAME_after], MEM[NAME_ids].
declare -A MEM
memory_of() {
    local name=$1
    say "-- memory ($name): idle, then after up to $MEM_IDS distinct 64-byte events (at most ${MEM_SECS}s)"
    start_hg default "${2:-$HG}"
    sleep 0.2
    MEM[${name}_idle]=$(rss_kib "$HG_PID")
    local mem_secs=$MEM_SECS
    # Never past the budget.
    (($(left) - 15 < mem_secs)) && mem_secs=$(($(left) - 15))
    local secs_saved=$SECS warmup_saved=$WARMUP
    SECS=$mem_secs WARMUP=0
    CPU_PIDS=""
    measure "memory_$name" "$VIA_HG" 64 "$MEM_IDS" --connections "$CONNS" --max-requests "$MEM_IDS"
    SECS=$secs_saved WARMUP=$warmup_saved
    sleep 0.2
    MEM[${name}_ids]=$("$LG" get --url "http://127.0.0.1:$ADMIN_PORT/metrics" |
        sed -n 's/^hookgate_store_entries \([0-9]*\)$/\1/p')
    MEM[${name}_after]=$(rss_kib "$HG_PID")
    stop_pid HG_PID
}
fits $((MEM_SECS + 20)) "memory" && memory_of hookgate
[[ -n $BEFORE ]] && fits $((MEM_SECS + 20)) "memory before" && memory_of before "$BEFORE"
IDLE_KIB=${MEM[hookgate_idle]:-} AFTER_KIB=${MEM[hookgate_after]:-} IDS=${MEM[hookgate_ids]:-}

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

rows=()
for size in 1024 65536; do
    body="1 KiB"
    ((size == 65536)) && body="64 KiB"
    rows+=("direct_$size|direct to the upstream|$body"
        "nginx1_$size|nginx proxy_pass, 1 worker|$body"
        "nginx2_$size|nginx proxy_pass, 2 workers|$body"
        "nginxnjs2_$size|nginx + njs HMAC, 2 workers|$body"
        "bare_$size|bare hyper proxy, $CORES workers|$body"
        "hookgatedefault_$size|hookgate, $CORES workers|$body"
        "hookgate1_$size|hookgate, 1 worker|$body")
    [[ -n $BEFORE ]] && rows+=("beforedefault_$size|hookgate before, $CORES workers|$body"
        "before1_$size|hookgate before, 1 worker|$body")
done

echo
say "== results: ${SECS}s per target, $CONNS connections, $LG_THREADS generator thread(s), $CORES cores ($MODEL) shared by generator, proxy and upstream"
say "   cpu_us/req: the proxy's own CPU (utime + stime of all its processes) over the measured window / answered requests;"
say "   user, sys: its two parts; errors: non-2xx answers + failed requests"
printf '%-34s %-7s %8s %11s %9s %9s %8s %8s %7s\n' target body rps cpu_us/req user sys p50_ms p99_ms errors
for row in "${rows[@]}"; do
    IFS='|' read -r label name body <<<"$row"
    [[ -n ${RES[$label]:-} ]] || {
        printf '%-34s %-7s %8s\n' "$name" "$body" "not run"
        continue
    }
    note="" cpu=$(field "$label" cpu_us_per_req)
    [[ $(field "$label" exhausted) == 1 ]] && note="  (events ran out after $(field "$label" secs)s)"
    user=$(field "$label" user_us_per_req) sys=$(field "$label" sys_us_per_req)
    printf '%-34s %-7s %8.0f %11s %9s %9s %8s %8s %7s%s\n' "$name" "$body" "$(field "$label" rps)" \
        "${cpu:--}" "${user:--}" "${sys:--}" "$(ms "$(field "$label" p50_us)")" \
        "$(ms "$(field "$label" p99_us)")" "$(($(field "$label" non2xx) + $(field "$label" errors)))" "$note"
done

cpu() { field "$1" cpu_us_per_req; }
rps() { field "$1" rps; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") printf ""; else printf "%.2f", a - b }'; }
v1=$(field verify_1024 us_per_verify) v64=$(field verify_65536 us_per_verify)
echo
say "signature check alone (hookgate's verifier, one thread): ${v1:-?} us at 1 KiB, ${v64:-?} us at 64 KiB"
dd=$(field dedup us_per_event)
say "dedup alone (store key, claim and commit on the memory store, one thread): ${dd:-?} us per event"
floor=$(awk -v b="$(cpu bare_1024)" -v v="$v1" -v d="$dd" 'BEGIN { if (b == "" || v == "" || d == "") printf ""; else printf "%.2f", b + v + d }')
if [[ -n $floor ]]; then
    say "the floor of the design at 1 KiB: bare hyper proxy $(cpu bare_1024) + signature $v1 + dedup $dd = $floor us per request"
    say "  = $(ratio "$floor" "$(cpu nginx2_1024)") x nginx 2 workers; hookgate, $CORES workers, is $(minus "$(cpu hookgatedefault_1024)" "$floor") us above it"
fi
echo
printf '%-52s %7s %7s   %s\n' "CPU per request, ratio" "1 KiB" "64 KiB" "goal (64 KiB: hookgate minus its HMAC)"
for pair in "default|2|$CORES workers / nginx 2 workers" "1|1|1 worker / nginx 1 worker"; do
    IFS='|' read -r hw nw text <<<"$pair"
    r1=$(ratio "$(cpu "hookgate${hw}_1024")" "$(cpu "nginx${nw}_1024")")
    r64=$(ratio "$(minus "$(cpu "hookgate${hw}_65536")" "$v64")" "$(cpu "nginx${nw}_65536")")
    printf '%-52s %7s %7s   %s\n' "hookgate, $text" "$r1" "$r64" \
        "<= 1.0: $(verdict "$r1" '<=' 1.0 '') / $(verdict "$r64" '<=' 1.0 '')"
done
printf '%-52s %7s %7s\n' "bare hyper proxy, $CORES workers / nginx 2 workers" \
    "$(ratio "$(cpu bare_1024)" "$(cpu nginx2_1024)")" \
    "$(ratio "$(cpu bare_65536)" "$(cpu nginx2_65536)")"
printf '%-52s %7s %7s\n' "hookgate, $CORES workers / bare hyper proxy (64 KiB: minus HMAC)" \
    "$(ratio "$(cpu hookgatedefault_1024)" "$(cpu bare_1024)")" \
    "$(ratio "$(minus "$(cpu hookgatedefault_65536)" "$v64")" "$(cpu bare_65536)")"
printf '%-52s %7s %7s\n' "hookgate, $CORES workers / nginx + njs HMAC, 2 workers" \
    "$(ratio "$(cpu hookgatedefault_1024)" "$(cpu nginxnjs2_1024)")" \
    "$(ratio "$(cpu hookgatedefault_65536)" "$(cpu nginxnjs2_65536)")"
if [[ -n $BEFORE ]]; then
    printf '%-52s %7s %7s\n' "hookgate / hookgate before, $CORES workers" \
        "$(ratio "$(cpu hookgatedefault_1024)" "$(cpu beforedefault_1024)")" \
        "$(ratio "$(cpu hookgatedefault_65536)" "$(cpu beforedefault_65536)")"
fi
if ((ROUNDS > 0)) && [[ -n ${RES[round1_hookgate]:-} ]]; then
    echo
    say "alternating rounds, 1 KiB, CPU us per request (same processes throughout, ${ROUND_SECS}s each):"
    printf '  %-6s %8s %8s %9s %16s %13s\n' round nginx bare hookgate hookgate/nginx bare/nginx
    hn=() bn=()
    for ((r = 1; r <= ROUNDS; r++)); do
        n=$(cpu "round${r}_nginx") b=$(cpu "round${r}_bare") h=$(cpu "round${r}_hookgate")
        hn+=("$(ratio "$h" "$n")") bn+=("$(ratio "$b" "$n")")
        printf '  %-6s %8s %8s %9s %16s %13s\n' "$r" "$n" "$b" "$h" "${hn[-1]}" "${bn[-1]}"
    done
    median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
    say "  median hookgate / nginx: $(median "${hn[@]}") (goal <= 1.0: $(verdict "$(median "${hn[@]}")" '<=' 1.0 '')); median bare / nginx: $(median "${bn[@]}")"
fi

echo
printf '%-52s %7s %7s\n' "rps ratio" "1 KiB" "64 KiB"
printf '%-52s %7s %7s\n' "hookgate, $CORES workers / nginx 2 workers" \
    "$(ratio "$(rps hookgatedefault_1024)" "$(rps nginx2_1024)")" \
    "$(ratio "$(rps hookgatedefault_65536)" "$(rps nginx2_65536)")"
printf '%-52s %7s %7s\n' "hookgate, 1 worker / nginx 1 worker" \
    "$(ratio "$(rps hookgate1_1024)" "$(rps nginx1_1024)")" \
    "$(ratio "$(rps hookgate1_65536)" "$(rps nginx1_65536)")"
printf '%-52s %7s %7s\n' "hookgate, $CORES workers / nginx + njs HMAC, 2 workers" \
    "$(ratio "$(rps hookgatedefault_1024)" "$(rps nginxnjs2_1024)")" \
    "$(ratio "$(rps hookgatedefault_65536)" "$(rps nginxnjs2_65536)")"
if [[ -n $BEFORE ]]; then
    printf '%-52s %7s %7s\n' "hookgate / hookgate before, $CORES workers" \
        "$(ratio "$(rps hookgatedefault_1024)" "$(rps beforedefault_1024)")" \
        "$(ratio "$(rps hookgatedefault_65536)" "$(rps beforedefault_65536)")"
fi
say "(hookgate runs one event loop per worker, one per core by default: its same-worker peer is"
say " nginx with as many workers. Per-request logging is off in both: nginx access_log off,"
say " hookgate RUST_LOG=warn. The generator and the upstream share the same cores.)"
echo
if [[ -n $ALLOCS ]]; then
    say "allocations per delivered request through the layer (tests/allocations.rs): $ALLOCS"
else
    say "allocations per request: not measured"
fi

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
    if [[ -n ${RES[rate_before]:-} ]]; then
        b99=$(field rate_before p99_us)
        printf '  %-9s p50 %s ms, p99 %s ms, p99.9 %s ms (%s req/s achieved); added p99 %s ms\n' before \
            "$(ms "$(field rate_before p50_us)")" "$(ms "$b99")" "$(ms "$(field rate_before p999_us)")" \
            "$(field rate_before rps)" "$(awk -v a="$b99" -v b="$d99" 'BEGIN { printf "%.3f", (a - b) / 1000 }')"
    fi
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
if [[ -n ${MEM[before_ids]:-} && ${MEM[before_ids]} -gt 0 ]]; then
    say "memory (before): idle RSS $(awk -v k="${MEM[before_idle]}" 'BEGIN { printf "%.1f", k / 1024 }') MiB; after ${MEM[before_ids]} remembered ids $(awk -v k="${MEM[before_after]}" 'BEGIN { printf "%.1f", k / 1024 }') MiB -> $(awk -v a="${MEM[before_after]}" -v i="${MEM[before_idle]}" -v n="${MEM[before_ids]}" 'BEGIN { printf "%.0f", (a - i) * 1024 / n }') bytes per id"
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
    stop_pid WATCHDOG
    stop_pid UP_PID
    for extra in $EXTRA; do
        echo
        BENCH_SKIP_BUILD=1 bash "bench/$extra.sh" &
        CURRENT=$!
        wait "$CURRENT" || say "bench/$extra.sh failed"
        CURRENT=""
    done
fi
