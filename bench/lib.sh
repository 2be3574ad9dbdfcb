# bench/lib.sh: helpers shared by bench/redis.sh, bench/tls.sh and bench/queue.sh (sourced, not
# run).
#
# The caller sets NAME (for messages) and BUDGET, PORT_BASE, SECS, WARMUP ... before sourcing,
# and adds the pids of the processes it starts to PIDS (stopped in reverse order on exit).
# Conventions as in bench/run.sh: everything on 127.0.0.1, every run under `timeout`, a
# watchdog for the whole script, a temp dir removed on exit, RESULT lines.

# The binaries: BENCH_TARGET_DIR, else CARGO_TARGET_DIR, else target (the build goes there too).
TARGET_DIR=${BENCH_TARGET_DIR:-${CARGO_TARGET_DIR:-target}}
LG=$TARGET_DIR/release/examples/loadgen
HG=$TARGET_DIR/release/hookgate
BARE=$TARGET_DIR/release/examples/bare_proxy
CORES=$(nproc)
MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
CLK_TCK=$(getconf CLK_TCK)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookgate-$NAME.XXXXXX")
chmod 755 "$TMP"
PIDS="" CURRENT="" WATCHDOG=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local pid rev=""
    for pid in $PIDS; do rev="$pid $rev"; done
    for pid in $WATCHDOG $CURRENT $rev; do kill "$pid" 2>/dev/null || true; done
    for pid in $WATCHDOG $CURRENT $rev; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench/$NAME.sh: stopped" >&2; exit 130' INT TERM

say() { printf '%s\n' "$*"; }

check_knobs() { # check_knobs VAR...: positive integers (WARMUP may be 0)
    local v
    for v in "$@"; do
        if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} == 0 && v != "WARMUP")); then
            echo "bench/$NAME.sh: $v must be a positive integer (got '${!v}')" >&2
            exit 2
        fi
    done
}

build() {
    if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
        say "building (release) ..."
        CARGO_TARGET_DIR=$TARGET_DIR cargo build --release --quiet --bin hookgate --example loadgen \
            --example bare_proxy
    fi
    [[ -x $LG && -x $HG ]] || {
        echo "bench/$NAME.sh: $LG or $HG missing" >&2
        exit 1
    }
}

# apt_install COMMAND PACKAGE: install a Debian package when COMMAND is missing (as run.sh
# does for nginx); returns 1 when it is still missing.
apt_install() {
    command -v "$1" >/dev/null && return 0
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo -n"
    if command -v apt-get >/dev/null; then
        say "installing $2 with apt-get ..."
        timeout 300 bash -c "$sudo apt-get update -qq && \
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $2" \
            >"$TMP/apt-$2.log" 2>&1 || tail -n 5 "$TMP/apt-$2.log" >&2
    fi
    command -v "$1" >/dev/null
}

start_watchdog() {
    STARTED=$(date +%s)
    (
        trap 'kill $sleeper 2>/dev/null; exit 0' TERM
        sleep "$BUDGET" &
        sleeper=$!
        wait "$sleeper"
        echo "bench/$NAME.sh: the ${BUDGET}s budget is exhausted, stopping" >&2
        kill -TERM $$
    ) &
    WATCHDOG=$!
}
left() { echo $((BUDGET - ($(date +%s) - STARTED))); }
fits() {
    if (($(left) < $1)); then
        say "-- skipped ($2): $(left)s of budget left, it needs about $1s"
        return 1
    fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports_free() {
    local port
    for port in "$@"; do
        port_free "$port" || {
            echo "bench/$NAME.sh: 127.0.0.1:$port is in use; set BENCH_PORT_BASE" >&2
            exit 1
        }
    done
}

# bounded OUT LIMIT CMD...: run in the background (so the watchdog's signal is handled at
# once), stdout+stderr to OUT, killed after LIMIT seconds.
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

ready() { "$LG" get --url "$1" --wait "${2:-5s}" >/dev/null; }

# stop_pid VAR: TERM the pid held in $VAR, reap it, forget it.
stop_pid() {
    local pid=${!1} p rest=""
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in $PIDS; do [[ $p == "$pid" ]] || rest="$rest $p"; done
    PIDS=$rest
    printf -v "$1" '%s' ""
}

start_upstream() { # start_upstream PORT
    "$LG" upstream --listen "127.0.0.1:$1" --workers 1 --max-time "$((BUDGET + 120))s" \
        2>"$TMP/upstream.log" &
    UP_PID=$!
    PIDS="$PIDS $UP_PID"
    ready "http://127.0.0.1:$1/" || {
        cat "$TMP/upstream.log" >&2
        exit 1
    }
}

# start_hookgate CONFIG ADMIN_PORT: a fresh process in HG_PID.
start_hookgate() {
    RUST_LOG=warn "$HG" run --config "$1" 2>>"$TMP/hookgate.log" &
    HG_PID=$!
    PIDS="$PIDS $HG_PID"
    ready "http://127.0.0.1:$2/healthz" || {
        cat "$TMP/hookgate.log" >&2
        exit 1
    }
}

# route_toml PRESET: the benchmarks' one route, named after its preset, on $PATH_, forwarding
# to the upstream on $UP_PORT with secret $SECRET (a blank line first, so it follows any
# section).
route_toml() {
    printf '\n[[route]]\nname = "%s"\npath = "%s"\nupstream = "http://127.0.0.1:%s%s"\nprovider = "%s"\nsecrets = ["%s"]\n' \
        "$1" "$PATH_" "$UP_PORT" "$PATH_" "$1" "$SECRET"
}

# cpu_ticks PID: utime + stime of the whole process (all threads), in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

declare -A RES
# field LABEL KEY: one value of a RESULT line ("" when absent).
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"${RES[$1]:-}"; }
# add_field LABEL KEY VALUE: append key=value to a RESULT line.
add_field() { RES[$1]="${RES[$1]} $2=$3"; }

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
