#!/usr/bin/env bash
# bench/tls.sh: hookgate over HTTPS against the same hookgate over plain HTTP, in one bounded
# run on loopback (see BENCHMARKS.md, "TLS"). bench/run.sh calls it when BENCH_EXTRA contains
# "tls".
#
# One upstream (loadgen upstream); one hookgate configuration (a `github` route, dedup = false,
# so one pre-signed 1 KiB body is replayed), run once as is and once with [server.tls] and a
# self-signed P-256 certificate made here with openssl. The generator is wrk (loadgen speaks
# only http://), one thread:
#   1. keep-alive: rps over BENCH_CONNECTIONS connections, HTTPS vs HTTP;
#   2. a new connection per request (`Connection: close` on every request): hookgate's CPU
#      per connection, utime+stime growth of /proc/PID/stat (all threads) / requests answered,
#      HTTPS vs HTTP; the difference is the TLS handshake (and record layer) cost;
#   3. openssl s_time against the HTTPS hookgate, -new (a full handshake per connection) and
#      -reuse (resumed sessions): hookgate's CPU per connection again, which tells whether
#      wrk's reconnects (2.) resumed sessions or not.
# Prints one table. Leaves no file and no process behind.
#
# Both hookgates run side by side (idle but for the one being measured), and the four wrk runs
# are repeated BENCH_ROUNDS times, alternating HTTP and HTTPS, so that load from outside the
# benchmark hits both alike; the table gives the median of the rounds, and each round's ratios.
#
# Environment (all optional): BENCH_SECONDS=10 (per wrk run), BENCH_ROUNDS=3,
# BENCH_CONNECTIONS=16, BENCH_BUDGET_SECONDS=300, BENCH_PORT_BASE=18080 (ports BASE+1 upstream,
# +3/+4 HTTP hookgate and its admin, +6/+7 HTTPS hookgate and its admin), BENCH_TARGET_DIR,
# BENCH_SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=tls

SECS=${BENCH_SECONDS:-10}
WARMUP=0
CONNS=${BENCH_CONNECTIONS:-16}
BUDGET=${BENCH_BUDGET_SECONDS:-300}
PORT_BASE=${BENCH_PORT_BASE:-18080}
source bench/lib.sh
check_knobs SECS CONNS BUDGET PORT_BASE
ROUNDS=${BENCH_ROUNDS:-3}
check_knobs ROUNDS
UP_PORT=$((PORT_BASE + 1))
declare -A LISTEN=([http]=$((PORT_BASE + 3)) [https]=$((PORT_BASE + 6)))
declare -A ADMIN=([http]=$((PORT_BASE + 4)) [https]=$((PORT_BASE + 7)))
SECRET=bench_github_secret
PATH_=/webhooks/github

apt_install wrk wrk || {
    say "wrk is not installed and could not be installed: nothing to measure"
    exit 1
}
command -v openssl >/dev/null || {
    say "openssl is missing: nothing to measure"
    exit 1
}
build
start_watchdog
ports_free $UP_PORT ${LISTEN[http]} ${ADMIN[http]} ${LISTEN[https]} ${ADMIN[https]}

# ---------------------------------------------------------------------------------------------
# certificate, configurations, the signed body, the wrk scripts

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -days 1 -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >"$TMP/openssl.log" 2>&1 || {
    cat "$TMP/openssl.log" >&2
    exit 1
}

for mode in http https; do
    {
        cat <<EOF
[server]
listen = "127.0.0.1:${LISTEN[$mode]}"
admin_listen = "127.0.0.1:${ADMIN[$mode]}"
max_body = "1MiB"
EOF
        [[ $mode == https ]] && printf '\n[server.tls]\ncert = "%s"\nkey = "%s"\n' "$TMP/cert.pem" "$TMP/key.pem"
        cat <<EOF

[store]
backend = "memory"
EOF
        route_toml github
        echo "dedup = false"
    } >"$TMP/hookgate-$mode.toml"
done

# 1024 bytes of JSON.
body='{"action":"bench","zen":"'
body+=$(printf 'x%.0s' $(seq $((1024 - ${#body} - 2))))
body+='"}'
printf '%s' "$body" >"$TMP/body.json"
SIG=$(openssl dgst -sha256 -hmac "$SECRET" -hex <"$TMP/body.json" | sed 's/^.*= *//')

for conn in keepalive close; do
    {
        cat <<EOF
wrk.method = "POST"
wrk.body = [==[$body]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "ping"
wrk.headers["X-GitHub-Delivery"] = "bench-delivery"
wrk.headers["X-Hub-Signature-256"] = "sha256=$SIG"
EOF
        [[ $conn == close ]] && echo 'wrk.headers["Connection"] = "close"'
        cat <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d secs=%.3f rps=%.1f p50_us=%d p99_us=%d p999_us=%d " ..
    "connect_err=%d read_err=%d write_err=%d status_err=%d timeout_err=%d\n",
    summary.requests, secs, summary.requests / secs, latency:percentile(50),
    latency:percentile(99), latency:percentile(99.9), e.connect, e.read, e.write, e.status,
    e.timeout))
end
EOF
    } >"$TMP/$conn.lua"
done

# ---------------------------------------------------------------------------------------------
# measurements

UP_PID=""
declare -A HGPID

# wrk_run LABEL MODE SCRIPT: wrk against the hookgate of MODE, with that process's CPU growth.
wrk_run() {
    local label=$1 mode=$2 script=$3 out="$TMP/$1.out" pid=${HGPID[$2]}
    local before after
    before=$(cpu_ticks "$pid")
    bounded "$out" $((SECS + 30)) wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 2s \
        -s "$TMP/$script.lua" "$mode://127.0.0.1:${LISTEN[$mode]}$PATH_" ||
        say "  ($label: wrk exited with an error)"
    after=$(cpu_ticks "$pid")
    RES[$label]=$(grep '^RESULT' "$out" || true)
    [[ -n ${RES[$label]} ]] || { sed 's/^/  /' "$out"; return 0; }
    add_field "$label" cpu_us_per_req "$(awk -v t=$((after - before)) -v c="$CLK_TCK" -v n="$(field "$label" requests)" \
        'BEGIN { if (n > 0) printf "%.1f", t / c * 1e6 / n }')"
    add_field "$label" cpu_secs "$(awk -v t=$((after - before)) -v c="$CLK_TCK" 'BEGIN { printf "%.2f", t / c }')"
    add_field "$label" errs $(($(field "$label" connect_err) + $(field "$label" read_err) + $(field "$label" write_err) + $(field "$label" status_err) + $(field "$label" timeout_err)))
    say "  $label: $(field "$label" rps) req/s, p99 $(ms "$(field "$label" p99_us)") ms, hookgate CPU $(field "$label" cpu_us_per_req) us per request ($(field "$label" cpu_secs) s over $(field "$label" requests)); errors: connect $(field "$label" connect_err) read $(field "$label" read_err) write $(field "$label" write_err) status $(field "$label" status_err) timeout $(field "$label" timeout_err)"
}

# stime_run LABEL -new|-reuse: openssl s_time against the HTTPS hookgate.
stime_run() {
    local label=$1 mode=$2 out="$TMP/$1.out" before after conns pid=${HGPID[https]}
    before=$(cpu_ticks "$pid")
    bounded "$out" $((SECS + 30)) openssl s_time -connect "127.0.0.1:${LISTEN[https]}" "$mode" \
        -time "$SECS" -www "$PATH_" || true
    after=$(cpu_ticks "$pid")
    conns=$(sed -n 's/^\([0-9]*\) connections in [0-9.]*s;.*/\1/p' "$out" | tail -n 1)
    if [[ -z $conns || $conns == 0 ]]; then
        say "  $label: openssl s_time gave no connection count"
        sed 's/^/    /' "$out" | tail -n 5
        return 0
    fi
    RES[$label]="RESULT requests=$conns rps=$(awk -v n="$conns" -v s="$SECS" 'BEGIN { printf "%.1f", n / s }')"
    add_field "$label" cpu_us_per_req "$(awk -v t=$((after - before)) -v c="$CLK_TCK" -v n="$conns" 'BEGIN { printf "%.1f", t / c * 1e6 / n }')"
    say "  $label: $conns connections in ${SECS}s, hookgate CPU $(field "$label" cpu_us_per_req) us per connection"
}

say "== hookgate HTTPS vs HTTP, $(date -u '+%Y-%m-%d %H:%M UTC'): $CORES cores ($MODEL), ${SECS}s per run, $ROUNDS rounds, wrk -t1 -c$CONNS, loopback, $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), $(openssl version | cut -d' ' -f1-2)"
start_upstream "$UP_PORT"
for mode in http https; do
    start_hookgate "$TMP/hookgate-$mode.toml" "${ADMIN[$mode]}"
    HGPID[$mode]=$HG_PID
done
timeout 5 openssl s_client -connect "127.0.0.1:${LISTEN[https]}" -servername localhost -brief \
    </dev/null 2>&1 | grep -E 'Protocol version|Ciphersuite|Peer signature type|Server Temp Key' |
    sed 's/^/  /' || true

STEP=$((4 * SECS + 10))
DONE_ROUNDS=0
for round in $(seq "$ROUNDS"); do
    fits "$STEP" "round $round" || break
    say "-- round $round: keep-alive, then a new connection per request; HTTP, then HTTPS"
    for kind in keepalive close; do
        for mode in http https; do
            wrk_run "${mode}_${kind}_$round" "$mode" "$kind"
        done
    done
    DONE_ROUNDS=$round
done
if fits $((2 * SECS + 10)) "s_time"; then
    say "-- openssl s_time against the HTTPS hookgate: full handshakes, then resumed"
    stime_run stime_new -new
    stime_run stime_reuse -reuse
fi

# ---------------------------------------------------------------------------------------------
# the table

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) printf ""; else if (NR % 2) printf "%s", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# over LABEL KEY: that key's value in every round, space-separated.
over() { local r; for r in $(seq "$DONE_ROUNDS"); do printf '%s ' "$(field "${1}_$r" "$2")"; done; }
# ratios A B KEY: per-round A/B of KEY, space-separated.
ratios() { local r; for r in $(seq "$DONE_ROUNDS"); do printf '%s ' "$(ratio "$(field "${1}_$r" "$3")" "$(field "${2}_$r" "$3")")"; done; }

echo
say "== results (one run; medians of $DONE_ROUNDS alternating rounds): ${SECS}s per wrk run, 1 thread, $CONNS connections, $CORES cores ($MODEL) shared by wrk, hookgate and upstream"
printf '%-38s %10s %9s %9s %13s %7s\n' target rps p50_ms p99_ms hg_cpu_us/req errors
for row in "http_keepalive|HTTP, keep-alive" "https_keepalive|HTTPS, keep-alive" \
    "http_close|HTTP, new connection per request" "https_close|HTTPS, new connection per request"; do
    IFS='|' read -r label name <<<"$row"
    [[ -n ${RES[${label}_1]:-} ]] || {
        printf '%-38s %10s\n' "$name" "not run"
        continue
    }
    printf '%-38s %10.0f %9s %9s %13s %7s\n' "$name" "$(over "$label" rps | median)" \
        "$(ms "$(over "$label" p50_us | median)")" "$(ms "$(over "$label" p99_us | median)")" \
        "$(over "$label" cpu_us_per_req | median)" "$(over "$label" errs | tr ' ' '\n' | awk '{ n += $1 } END { print n + 0 }')"
done
for row in "stime_new|s_time -new (full handshakes)" "stime_reuse|s_time -reuse (resumed)"; do
    IFS='|' read -r label name <<<"$row"
    [[ -n ${RES[$label]:-} ]] || continue
    printf '%-38s %10.0f %9s %9s %13s %7s\n' "$name" "$(field "$label" rps)" - - "$(field "$label" cpu_us_per_req)" -
done
echo
printf '%-52s %7s   %s\n' "ratio (median of the rounds)" median "each round"
line() { printf '%-52s %7s   %s\n' "$1" "$(median <<<"$2")" "$2"; }
line "HTTPS / HTTP rps, keep-alive" "$(ratios https_keepalive http_keepalive rps)"
line "HTTPS / HTTP hookgate CPU per request, keep-alive" "$(ratios https_keepalive http_keepalive cpu_us_per_req)"
line "HTTPS / HTTP hookgate CPU per new connection" "$(ratios https_close http_close cpu_us_per_req)"
line "HTTPS / HTTP rps, new connection per request" "$(ratios https_close http_close rps)"
diffs=$(for r in $(seq "$DONE_ROUNDS"); do awk -v a="$(field "https_close_$r" cpu_us_per_req)" -v b="$(field "http_close_$r" cpu_us_per_req)" 'BEGIN { if (a != "" && b != "") printf "%.1f ", a - b }'; done)
line "added hookgate CPU per HTTPS connection (us)" "$diffs"
say "(s_time requests are GETs that hookgate answers itself, without the upstream: compare them with each other only)"
say "measurements took $(($(date +%s) - STARTED))s"
