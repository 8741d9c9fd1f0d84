#!/usr/bin/env bash
# End-to-end benchmark on loopback: wrk driving nginx (or the gateway example)
# in front of our hello-server and the C peers (uWSGI internal routing,
# libfcgi, PHP-FPM), GET and POST 1 MiB, plus idle-connection memory and a
# concurrency sweep. Prints Markdown tables (requests/s, latency p50/p99,
# backend RSS, ratios ours/theirs) and writes them, the raw results and a PNG
# plot to $BENCH_OUT (default scripts/bench/results/).
#
#   scripts/bench-e2e.sh            full run: 3 rounds of 5 s per pair, medians (~10 min)
#   scripts/bench-e2e.sh --smoke    every pair once for 1 s, answers checked, no
#                                   plot (~1 min after the build; used by .ci/run)
#
# Runs as root on a fresh Debian machine: installs the peers
# (scripts/install-peers.sh) and gnuplot, builds the examples, compiles the
# libfcgi hello with gcc. Fails (nonzero, with a message) when a peer does not
# start, an answer is wrong, or (smoke) any run sees a socket error or non-2xx.
#
# Pinning (2 cores): the servers (nginx or the gateway, and the backend) on
# cpu 0, wrk alone on cpu 1: a single wrk thread needs a core of its own, and
# with front and backend sharing one core, a backend that uses less CPU per
# request leaves more to the front server, which shows in requests/s.
# Override with FRONT_CPU, LOAD_CPU, BACK_CPU; durations with BENCH_SECONDS,
# BENCH_ROUNDS; concurrency with BENCH_CONNS (GET), BENCH_POST_CONNS.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/scripts/bench"
SMOKE=0
case "${1:-}" in
    --smoke) SMOKE=1 ;;
    "") ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench-e2e: unknown argument $1 (--smoke or nothing)" >&2; exit 2 ;;
esac

die() { echo "bench-e2e: FAIL: $*" >&2; exit 1; }
log() { echo "bench-e2e: $*" >&2; }

if [ "$SMOKE" = 1 ]; then
    SECONDS_PER=${BENCH_SECONDS:-1}; ROUNDS=${BENCH_ROUNDS:-1}
    CONNS=${BENCH_CONNS:-8}; POST_CONNS=${BENCH_POST_CONNS:-2}
    IDLE_CONNS=${BENCH_IDLE_CONNS:-500}; SWEEP=()
else
    SECONDS_PER=${BENCH_SECONDS:-5}; ROUNDS=${BENCH_ROUNDS:-3}
    CONNS=${BENCH_CONNS:-64}; POST_CONNS=${BENCH_POST_CONNS:-8}
    IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}; SWEEP=(1 1000)
fi
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
    FRONT_CPU=${FRONT_CPU:-0}; LOAD_CPU=${LOAD_CPU:-1}; BACK_CPU=${BACK_CPU:-0}
else
    FRONT_CPU=${FRONT_CPU:-0}; LOAD_CPU=${LOAD_CPU:-0}; BACK_CPU=${BACK_CPU:-0}
fi
# FastCGI keep-conn: nginx keeps up to KEEPALIVE idle connections per upstream.
# libfcgi and PHP-FPM serve one connection per process and a kept connection
# pins its process, so they get one process per client connection (fewer
# would leave requests queued on connections no process reads).
KEEPALIVE=${KEEPALIVE:-$CONNS}
LIBFCGI_PROCS=${LIBFCGI_PROCS:-$CONNS}
PHP_CHILDREN=${PHP_CHILDREN:-$CONNS}
BASE=${BENCH_PORT_BASE:-18080}
P_NGINX=$BASE P_OURS_U=$((BASE + 1)) P_OURS_F=$((BASE + 2)) P_UWSGI=$((BASE + 3))
P_LIBFCGI=$((BASE + 4)) P_PHP=$((BASE + 5)) P_OURS_FC=$((BASE + 6)) P_GW=$((BASE + 10)) P_SCALE=$((BASE + 20))

# ---------------------------------------------------------------- setup
if ! bash "$ROOT/scripts/install-peers.sh" >/dev/null; then
    die "scripts/install-peers.sh could not provide the peers"
fi
# Tools of this script beyond the peers: ps (procps), ss (iproute2), taskset
# (util-linux), gnuplot for the plot of a full run.
need=()
command -v ps >/dev/null || need+=(procps)
command -v ss >/dev/null || need+=(iproute2)
command -v taskset >/dev/null || need+=(util-linux)
[ "$SMOKE" = 0 ] && ! command -v gnuplot >/dev/null && need+=(gnuplot-nox)
if [ "${#need[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages ${need[*]} and not root: cannot install"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
        die "cannot install ${need[*]}"
fi
command -v cargo >/dev/null || die "cargo is not on PATH"

RUN_DIR="$(mktemp -d /tmp/bench-e2e.XXXXXX)"
export RUN_DIR
# shellcheck source=peers/lib.sh
source "$ROOT/scripts/peers/lib.sh"
cleanup() { stop_all; rm -rf "$RUN_DIR"; }
trap cleanup EXIT
OUT=${BENCH_OUT:-$ROOT/scripts/bench/results}
[ "$SMOKE" = 1 ] && OUT="$RUN_DIR/out"
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv"
printf 'section\trow\tround\tconns\trps\tp50_us\tp99_us\terrors\tnon2xx\tback_rss_kib\tfront_rss_kib\trequests\tback_cpu_ns\tfront_cpu_ns\n' >"$RESULTS"

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((IDLE_CONNS + 1000)) ] || die "open-files limit $(ulimit -n) is below $((IDLE_CONNS + 1000))"

if [ "$SMOKE" = 1 ]; then PROFILE=dev; BINDIR=debug; else PROFILE=release; BINDIR=release; fi
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BINS=(--bin hello-server)
HAVE_GATEWAY=0
if [ -f "$ROOT/examples/src/bin/gateway.rs" ]; then BINS+=(--bin gateway); HAVE_GATEWAY=1; fi
log "building ${BINS[*]} ($PROFILE)"
(cd "$ROOT" && cargo build --locked --profile "$PROFILE" -p examples "${BINS[@]}" >&2) || die "cargo build failed"
HELLO="${HELLO_BIN:-$TARGET/$BINDIR/hello-server}"  # HELLO_BIN: another build, for A/B runs
GATEWAY="$TARGET/$BINDIR/gateway"
gcc -O2 -Wall -o "$RUN_DIR/fcgi_hello" "$BENCH/fcgi_hello.c" -lfcgi || die "cannot build fcgi_hello.c"

# ---------------------------------------------------------------- processes
declare -A PGID
# start NAME CPU PORT cmd...: spawned in its own session (pgid = pid), pinned.
start() {
    local name=$1 cpu=$2 port=$3; shift 3
    spawn "$name" "$RUN_DIR/$name.log" taskset -c "$cpu" "$@"
    PGID[$name]=$LAST_PID
    wait_port "$port" "$name" "$RUN_DIR/$name.log" "$LAST_PID" || die "$name did not start"
}
# RSS of a process group (all workers of a backend), KiB.
rss() { ps -e -o pgid=,rss= | awk -v g="${PGID[$1]:-none}" '$1 == g { s += $2 } END { print s + 0 }'; }
# CPU time (ns on cpu, from schedstat, all threads) used so far by a process group.
cpu_ns() {
    local pid
    for pid in $(ps -e -o pid=,pgid= | awk -v g="${PGID[$1]:-none}" '$2 == g { print $1 }'); do
        cat /proc/"$pid"/task/*/schedstat 2>/dev/null
    done | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

start hello "$BACK_CPU" "$P_OURS_F" "$HELLO" --uwsgi "127.0.0.1:$P_OURS_U" --fastcgi "127.0.0.1:$P_OURS_F"
wait_port "$P_OURS_U" hello "$RUN_DIR/hello.log" || die "hello-server uwsgi listener"
# The same server serving at most as many FastCGI connections at a time as
# libfcgi and PHP-FPM have processes (the rest wait in the listen queue).
start hello-capped "$BACK_CPU" "$P_OURS_FC" "$HELLO" --fastcgi "127.0.0.1:$P_OURS_FC" \
    --max-conns "$LIBFCGI_PROCS"
# --post-buffering: uWSGI reads the whole body (in memory) before routing;
# without it, return:200 answers and closes while nginx still sends, a 502.
start uwsgi "$BACK_CPU" "$P_UWSGI" uwsgi --socket "127.0.0.1:$P_UWSGI" --listen 4096 \
    --post-buffering 2097152 \
    --route-run 'addheader:Content-Type: text/plain' --route-run 'return:200' \
    --master --processes 1 --die-on-term --disable-logging
start libfcgi "$BACK_CPU" "$P_LIBFCGI" "$RUN_DIR/fcgi_hello" "127.0.0.1:$P_LIBFCGI" 4096 "$LIBFCGI_PROCS"
render "$BENCH/php-fpm.conf" "$RUN_DIR/php-fpm.conf" "PORT=$P_PHP" "USER=$(id -un)" \
    "GROUP=$(id -gn)" "CHILDREN=$PHP_CHILDREN"
php_extra=(); [ "$(id -u)" = 0 ] && php_extra=(--allow-to-run-as-root)
start php "$BACK_CPU" "$P_PHP" "$(php_fpm_bin)" --nodaemonize --fpm-config "$RUN_DIR/php-fpm.conf" "${php_extra[@]}"
mkdir -p "$RUN_DIR/nginx"
RUN_DIR="$RUN_DIR/nginx" render "$BENCH/nginx.conf" "$RUN_DIR/nginx/nginx.conf" "PORT=$P_NGINX" \
    "OURS_UWSGI=$P_OURS_U" "OURS_FCGI=$P_OURS_F" "OURS_FCGI_CAPPED=$P_OURS_FC" "UWSGI=$P_UWSGI" "LIBFCGI=$P_LIBFCGI" \
    "PHP=$P_PHP" "PHP_SCRIPT=$BENCH/hello.php" "KEEP=$KEEPALIVE"
start nginx "$FRONT_CPU" "$P_NGINX" nginx -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx/nginx.conf"

# Backends by row key: URL path behind nginx, backend process, gateway backend URL.
KEYS=(ceiling uwsgi-ours uwsgi-c fcgi-ours fcgi-capped fcgi-c fcgi-php)
declare -A PATH_OF=([ceiling]=/ceiling [uwsgi-ours]=/uwsgi/ours [uwsgi-c]=/uwsgi/c
    [fcgi-ours]=/fcgi/ours [fcgi-capped]=/fcgi/capped [fcgi-c]=/fcgi/c [fcgi-php]=/fcgi/php)
declare -A BACK_OF=([ceiling]=none [uwsgi-ours]=hello [uwsgi-c]=uwsgi [fcgi-ours]=hello
    [fcgi-capped]=hello-capped [fcgi-c]=libfcgi [fcgi-php]=php)
declare -A GW_BACKEND=([uwsgi-ours]="uwsgi://127.0.0.1:$P_OURS_U" [uwsgi-c]="uwsgi://127.0.0.1:$P_UWSGI"
    [fcgi-ours]="fcgi://127.0.0.1:$P_OURS_F" [fcgi-c]="fcgi://127.0.0.1:$P_LIBFCGI"
    [fcgi-php]="fcgi://127.0.0.1:$P_PHP")
declare -A URL_OF FRONT_OF
for k in "${KEYS[@]}"; do URL_OF[nginx:$k]="http://127.0.0.1:$P_NGINX${PATH_OF[$k]}"; FRONT_OF[nginx:$k]=nginx; done
ROWS=()
for k in "${KEYS[@]}"; do ROWS+=("nginx:$k"); done
# BENCH_ONLY=REGEX keeps only the matching rows (e.g. 'fcgi' or 'nginx:uwsgi'), for profiling.
ONLY=${BENCH_ONLY:-.}
if [ "$HAVE_GATEWAY" = 1 ]; then
    i=0
    for k in uwsgi-ours uwsgi-c fcgi-ours fcgi-c fcgi-php; do
        port=$((P_GW + i)); i=$((i + 1))
        gw_extra=(); [ "${k#fcgi}" != "$k" ] && gw_extra=(--script-filename "$BENCH/hello.php" --keepalive-timeout 1)
        # One runtime thread, as nginx runs one worker process.
        start "gw-$k" "$FRONT_CPU" "$port" "$GATEWAY" --listen "127.0.0.1:$port" --threads 1 \
            --backend "${GW_BACKEND[$k]}" "${gw_extra[@]}"
        URL_OF[gateway:$k]="http://127.0.0.1:$port/"
        FRONT_OF[gateway:$k]="gw-$k"
        ROWS+=("gateway:$k")
    done
else
    log "examples/src/bin/gateway.rs is not in this tree: the gateway rows are left out"
fi

# ---------------------------------------------------------------- answers
check_answer() { # ROW METHOD
    local row=$1 method=$2 body code
    local args=(-sS -o "$RUN_DIR/answer" -w '%{http_code}' --max-time 10)
    if [ "$method" = POST ]; then
        head -c 1048576 /dev/zero >"$RUN_DIR/post.bin"
        args+=(-H 'Content-Type: application/octet-stream' --data-binary "@$RUN_DIR/post.bin")
    fi
    code=$(curl "${args[@]}" "${URL_OF[$row]}") || die "$row $method: curl failed"
    [ "$code" = 200 ] || die "$row $method: HTTP $code: $(head -c 300 "$RUN_DIR/answer")"
    body=$(cat "$RUN_DIR/answer")
    # uWSGI's return:200 answers with its own body ("200 OK"); everyone else says hello.
    if [ "${row#*:}" != uwsgi-c ] && [ "$body" != hello ]; then
        die "$row $method: body ${body:0:100} (expected hello)"
    fi
}
for row in "${ROWS[@]}"; do
    check_answer "$row" GET
    check_answer "$row" POST
done
log "every pair answers GET and POST 1 MiB correctly"

# ---------------------------------------------------------------- wrk
# run_wrk SECTION ROW ROUND CONNS [LUA]: one wrk run, one line in $RESULTS.
run_wrk() {
    local section=$1 row=$2 round=$3 conns=$4 lua=${5:-} out line
    local args=(-t1 "-c$conns" "-d${SECONDS_PER}s" --latency --timeout 10s)
    [ -n "$lua" ] && args+=(-s "$lua")
    local back=${BACK_OF[${row#*:}]} front=${FRONT_OF[$row]} b0 f0
    # nginx's idle kept FastCGI connections pin libfcgi / PHP-FPM processes
    # until its upstream keepalive_timeout (1 s) closes them.
    if [ "$front" != nginx ] && [ "${LAST_FRONT:-}" = nginx ]; then sleep 1.5; fi
    LAST_FRONT=$front
    b0=$(cpu_ns "$back"); f0=$(cpu_ns "$front")
    out=$(taskset -c "$LOAD_CPU" wrk "${args[@]}" "${URL_OF[$row]}" 2>&1) || die "wrk failed on $row: $out"
    line=$(awk '
        function us(v) {
            if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return (v + 0) * 1000
            if (v ~ /m$/) return (v + 0) * 60e6; if (v ~ /s$/) return (v + 0) * 1e6; return v + 0 }
        $1 == "50%" { p50 = us($2) } $1 == "99%" { p99 = us($2) }
        /Requests\/sec:/ { rps = $2 }
        /Socket errors:/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
        /Non-2xx/ { non = $5 }
        END { printf "%s\t%d\t%d\t%d\t%d", rps, p50, p99, err, non }' <<<"$out")
    local requests
    requests=$(awk '/ requests in / { print $1 }' <<<"$out")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$section" "$row" "$round" "$conns" "$line" \
        "$(rss "$back")" "$(rss "$front")" "${requests:-0}" \
        "$(( $(cpu_ns "$back") - b0 ))" "$(( $(cpu_ns "$front") - f0 ))" >>"$RESULTS"
    local errs non
    errs=$(cut -f3 <<<"${line#*$'\t'}"); non=$(cut -f4 <<<"${line#*$'\t'}")
    log "$section $row c=$conns round $round: $(cut -f1 <<<"$line") req/s, errors $errs, non-2xx $non"
    if [ "$SMOKE" = 1 ] && { [ "$errs" != 0 ] || [ "$non" != 0 ] || ! grep -q ' [1-9][0-9]* requests in' <<<"$out"; }; then
        echo "$out" >&2
        die "$row ($section): $errs socket errors, $non non-2xx answers (or no request completed)"
    fi
}

sel=()
for row in "${ROWS[@]}"; do [[ "$row" =~ $ONLY ]] && sel+=("$row"); done
ROWS=("${sel[@]}")
for round in $(seq 1 "$ROUNDS"); do
    for row in "${ROWS[@]}"; do run_wrk get "$row" "$round" "$CONNS"; done
    for row in "${ROWS[@]}"; do run_wrk post "$row" "$round" "$POST_CONNS" "$BENCH/post-1m.lua"; done
    for c in "${SWEEP[@]}"; do
        for k in "${KEYS[@]}"; do
            [[ "nginx:$k" =~ $ONLY ]] && run_wrk sweep "nginx:$k" "$round" "$c"
        done
    done
done

# ---------------------------------------------------------------- idle connections
IDLE="$OUT/idle.tsv"
printf 'protocol\tconns\trss_before_kib\trss_with_conns_kib\tbytes_per_conn\n' >"$IDLE"
# A fresh hello-server per protocol, so its RSS holds nothing but the idle
# connections (memory freed by one test would be reused by the next).
[ "$IDLE_CONNS" -gt 0 ] && {
for proto in uwsgi fcgi; do
    port=$P_SCALE; [ "$proto" = fcgi ] && port=$((P_SCALE + 1))
    spawn hello-scale "$RUN_DIR/hello-scale-$proto.log" taskset -c "$BACK_CPU" "$HELLO" \
        --uwsgi "127.0.0.1:$P_SCALE" --fastcgi "127.0.0.1:$((P_SCALE + 1))"
    PGID[hello-scale]=$LAST_PID
    wait_port "$port" hello-scale "$RUN_DIR/hello-scale-$proto.log" "$LAST_PID" || die "hello-server (scale)"
    # one request first, so the runtime has done its one-time allocations
    curl_ok=$(python3 "$BENCH/idle-conns.py" 127.0.0.1 "$port" 0 --probe "$proto") || die "$proto probe: $curl_ok"
    before=$(rss hello-scale)
    # hello-server's uwsgi listener defers accept until a connection has sent
    # something (uwsgi clients speak first); its idle clients send the 4-byte
    # header of a request and stop, so the server holds them mid-request.
    send=(); [ "$proto" = uwsgi ] && send=(--send 00640000)
    python3 "$BENCH/idle-conns.py" 127.0.0.1 "$port" "$IDLE_CONNS" --hold 600 "${send[@]}" >"$RUN_DIR/idle.out" 2>&1 &
    client=$!
    for _ in $(seq 1 600); do
        grep -q '^open' "$RUN_DIR/idle.out" && break
        kill -0 "$client" 2>/dev/null || { cat "$RUN_DIR/idle.out" >&2; die "idle client failed"; }
        sleep 0.1
    done
    grep -q '^open' "$RUN_DIR/idle.out" || die "idle client did not open $IDLE_CONNS connections"
    # every connection accepted and parked by the server?
    for _ in $(seq 1 100); do
        n=$(ss -Htn state established "( sport = :$port )" | wc -l)
        [ "$n" -ge "$IDLE_CONNS" ] && break
        sleep 0.1
    done
    sleep 1
    with=$(rss hello-scale)
    per=$(( (with - before) * 1024 / (IDLE_CONNS > 0 ? IDLE_CONNS : 1) ))
    kill "$client"; wait "$client" 2>/dev/null || true
    printf '%s\t%s\t%s\t%s\t%s\n' "$proto" "$IDLE_CONNS" "$before" "$with" "$per" >>"$IDLE"
    log "idle $proto: $IDLE_CONNS connections, RSS $before -> $with KiB, $per bytes per connection"
    # the server still answers after they are gone
    sleep 0.5
    out=$(python3 "$BENCH/idle-conns.py" 127.0.0.1 "$port" 0 --probe "$proto") || die "$proto after idle: $out"
    kill -TERM -- "-${PGID[hello-scale]}" 2>/dev/null || true
    wait "${PGID[hello-scale]}" 2>/dev/null || true
done
}

# ---------------------------------------------------------------- report
{
    echo "Machine: $(nproc) cpus ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(uname -sr)"
    echo "Pinning: front (nginx/gateway) cpu $FRONT_CPU, wrk cpu $LOAD_CPU, backends cpu $BACK_CPU;" \
        "$ROUNDS round(s) of ${SECONDS_PER}s per pair; GET c=$CONNS, POST 1 MiB c=$POST_CONNS;" \
        "libfcgi $LIBFCGI_PROCS processes, PHP-FPM $PHP_CHILDREN children, nginx keepalive $KEEPALIVE"
    echo "Versions: $(nginx -v 2>&1 | sed 's/.*: //'), uWSGI $(uwsgi --version)," \
        "$("$(php_fpm_bin)" -v | head -n1 | cut -d' ' -f1-2), libfcgi $(dpkg-query -W -f '${Version}' libfcgi-bin)," \
        "wrk $(dpkg-query -W -f '${Version}' wrk)"
    echo
    python3 "$BENCH/report.py" "$RESULTS" "$IDLE"
} | tee "$OUT/report.md"
if [ "$SMOKE" = 0 ]; then
    python3 "$BENCH/report.py" "$RESULTS" "$IDLE" --plot-data "$OUT/sweep.dat" >/dev/null
    gnuplot -e "datafile='$OUT/sweep.dat'; outfile='$OUT/throughput.png'" "$BENCH/plot.gp" ||
        die "gnuplot failed"
    log "plot: $OUT/throughput.png"
fi
log "done: $OUT/report.md"
