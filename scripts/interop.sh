#!/usr/bin/env bash
# Interop matrix: the crates against real nginx, uWSGI, PHP-FPM, fcgiwrap, a
# libfcgi app, Apache and lighttpd, all on 127.0.0.1 high ports or unix
# sockets under scripts/run/interop (no system service touched).
#
# Installs the peers (scripts/install-peers.sh), builds the example binaries,
# starts every peer and our servers, runs the #[ignore]d tests of
# examples/tests/interop.rs with --ignored, stops every process by pid (also
# on failure) and prints a scenario x peer table of pass/fail counts.
# A missing peer or a failed start fails the run; nothing is skipped.
#
# CI duration: the matrix itself runs in about 20 seconds (peers start in
# ~2 s, 100+ scenarios run on 2 test threads); a cold build of the example
# binaries and the test binary adds 1-2 minutes.
# Ports: INTEROP_PORT_BASE (default 24100) .. +40 must be free; the default
# range lies below Linux's ephemeral ports, so busy client traffic on the
# machine cannot hold them.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

die() { echo "interop: FAIL: $*" >&2; exit 1; }

echo "== interop: peers"
bash scripts/install-peers.sh

echo "== interop: build"
cargo build -p examples --bins --locked
cargo test -p examples --test interop --locked --no-run
BIN="$(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug"
for b in environ-dump gateway tower-serve; do
    [ -x "$BIN/$b" ] || die "example binary $BIN/$b was not built"
done
export RUN_DIR="$ROOT/scripts/run/interop"
# Stop anything a previous, killed run of this script left behind (by pid).
if [ -d "$RUN_DIR" ]; then
    # shellcheck source=scripts/peers/lib.sh
    while IFS= read -r f; do (RUN_DIR="$(dirname "$f")"; source scripts/peers/lib.sh; stop_all); done \
        < <(find "$RUN_DIR" -name pids 2>/dev/null)
    rm -rf "$RUN_DIR"
fi
mkdir -p "$RUN_DIR"
# shellcheck source=scripts/peers/lib.sh
source scripts/peers/lib.sh

cleanup() {
    local rc=$?
    local f
    # (stderr dropped: bash reports each job it had to SIGKILL)
    while IFS= read -r f; do RUN_DIR="$(dirname "$f")" stop_all; done \
        < <(find "$ROOT/scripts/run/interop" -name pids 2>/dev/null) 2>/dev/null
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BASE="${INTEROP_PORT_BASE:-24100}"
port() { echo $((BASE + $1)); }
for i in $(seq 0 40); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$(port "$i")") 2>/dev/null; then
        die "port $(port "$i") is already in use (set INTEROP_PORT_BASE to a free range)"
    fi
done

OURS_U=$(port 0) OURS_F=$(port 1) TEST_U=$(port 2) TEST_F=$(port 3)
NGX_U=$(port 10) NGX_U_TEST=$(port 11) NGX_F=$(port 12) NGX_F_TEST=$(port 13)
ROUTER=$(port 14) UWSGI_SRV=$(port 15) PHP=$(port 16) LIBFCGI=$(port 17)
APACHE=$(port 18) LIGHTTPD=$(port 19) NGX_U_PEER=$(port 20) NGX_F_PEER=$(port 21)
GW_U=$(port 22) GW_F=$(port 23) TOWER_U=$(port 24) TOWER_F=$(port 25)
NGX_U_TOWER=$(port 26) NGX_F_TOWER=$(port 27) ROUTER_TOWER=$(port 28)
APACHE_TEST=$(port 29) LIGHTTPD_TEST=$(port 30) UWSGI_STATIC=$(port 31) SUBSCRIBE_UDP=$(port 32)
WRAP_SOCK="$RUN_DIR/fcgiwrap.sock"

echo "== interop: start peers (logs in $RUN_DIR)"
# Our environ-dump backend (uwsgi + FastCGI, JSON reports).
spawn environ-dump "$RUN_DIR/environ-dump.log" "$BIN/environ-dump" --format json \
    --uwsgi "127.0.0.1:$OURS_U" --fastcgi "127.0.0.1:$OURS_F"
wait_port "$OURS_U" environ-dump "$RUN_DIR/environ-dump.log" "$LAST_PID"
wait_port "$OURS_F" environ-dump "$RUN_DIR/environ-dump.log" "$LAST_PID"

# Front-ends in front of our servers. Each nginx instance gets its own run dir.
RUN_DIR="$RUN_DIR/ngx-u" start_nginx_uwsgi "$NGX_U" "127.0.0.1:$OURS_U"
RUN_DIR="$RUN_DIR/ngx-u-test" start_nginx_uwsgi "$NGX_U_TEST" "127.0.0.1:$TEST_U"
RUN_DIR="$RUN_DIR/ngx-f" start_nginx_fastcgi "$NGX_F" "127.0.0.1:$OURS_F"
RUN_DIR="$RUN_DIR/ngx-f-test" start_nginx_fastcgi "$NGX_F_TEST" "127.0.0.1:$TEST_F"
start_uwsgi_router "$ROUTER" "127.0.0.1:$OURS_U"
start_apache "$APACHE" "127.0.0.1:$OURS_U" "127.0.0.1:$OURS_F"
start_lighttpd "$LIGHTTPD" "$OURS_F" "$OURS_U"
# The same in front of the test servers the tests bind while they run.
RUN_DIR="$RUN_DIR/apache-test" start_apache "$APACHE_TEST" "127.0.0.1:$TEST_U" "127.0.0.1:$TEST_F"
RUN_DIR="$RUN_DIR/lighttpd-test" start_lighttpd "$LIGHTTPD_TEST" "$TEST_F" "$TEST_U"

# tower-serve (an axum app on our tower adapter) on TCP and unix sockets;
# nginx reaches it over the sockets, the uWSGI router over TCP. nginx's
# workers may run as another user, so the sockets are opened to all.
TOWER_U_SOCK="$RUN_DIR/tower-uwsgi.sock" TOWER_F_SOCK="$RUN_DIR/tower-fcgi.sock"
spawn tower-serve "$RUN_DIR/tower-serve.log" "$BIN/tower-serve" --uwsgi "127.0.0.1:$TOWER_U" \
    --fastcgi "127.0.0.1:$TOWER_F" --uwsgi-unix "$TOWER_U_SOCK" --fastcgi-unix "$TOWER_F_SOCK"
wait_port "$TOWER_U" tower-serve "$RUN_DIR/tower-serve.log" "$LAST_PID"
wait_port "$TOWER_F" tower-serve "$RUN_DIR/tower-serve.log" "$LAST_PID"
for i in $(seq 1 100); do [ -S "$TOWER_U_SOCK" ] && [ -S "$TOWER_F_SOCK" ] && break; sleep 0.05; done
[ -S "$TOWER_U_SOCK" ] && [ -S "$TOWER_F_SOCK" ] || peer_fail tower-serve "$RUN_DIR/tower-serve.log"
chmod 666 "$TOWER_U_SOCK" "$TOWER_F_SOCK"
RUN_DIR="$RUN_DIR/ngx-u-tower" start_nginx_uwsgi "$NGX_U_TOWER" "unix:$TOWER_U_SOCK"
RUN_DIR="$RUN_DIR/ngx-f-tower" start_nginx_fastcgi "$NGX_F_TOWER" "unix:$TOWER_F_SOCK"
mkdir -p "$RUN_DIR/router-tower"
RUN_DIR="$RUN_DIR/router-tower" start_uwsgi_router "$ROUTER_TOWER" "127.0.0.1:$TOWER_U"

# Back-ends in front of which our clients (and nginx, for comparison) run.
start_uwsgi_server "$UWSGI_SRV"
start_php_fpm "$PHP"
start_fcgiwrap "$WRAP_SOCK"
start_libfcgi_app "$LIBFCGI"
# uWSGI answering from its internal router (no Python), subscribing itself
# every second to a UDP port the subscription test listens on.
spawn uwsgi-static "$RUN_DIR/uwsgi-static.log" uwsgi --plugin router_static \
    --socket "127.0.0.1:$UWSGI_STATIC" --route-run return:200 \
    --subscribe-to "127.0.0.1:$SUBSCRIBE_UDP:example.test" --subscribe-freq 1 \
    --master --processes 1 --die-on-term
wait_port "$UWSGI_STATIC" uwsgi-static "$RUN_DIR/uwsgi-static.log" "$LAST_PID"
RUN_DIR="$RUN_DIR/ngx-u-peer" start_nginx_uwsgi "$NGX_U_PEER" "127.0.0.1:$UWSGI_SRV"
RUN_DIR="$RUN_DIR/ngx-f-peer" start_nginx_fastcgi "$NGX_F_PEER" "127.0.0.1:$PHP"

# Our gateway in front of the same two back-ends, with nginx's document
# root, so that its environ can be compared with nginx's var for var.
NGX_F_PEER_ROOT="$RUN_DIR/ngx-f-peer/nginx-f/html"
mkdir -p "$NGX_F_PEER_ROOT/conf"
cp scripts/peers/php/*.php "$NGX_F_PEER_ROOT/conf/"
spawn gateway-uwsgi "$RUN_DIR/gateway-uwsgi.log" "$BIN/gateway" --listen "127.0.0.1:$GW_U" \
    --backend "uwsgi://127.0.0.1:$UWSGI_SRV" --document-root "$RUN_DIR/ngx-u-peer/nginx-u/html"
wait_port "$GW_U" gateway-uwsgi "$RUN_DIR/gateway-uwsgi.log" "$LAST_PID"
# PHP-FPM has 2 children here and a kept FastCGI connection pins one: the
# gateway closes its idle kept connections after 1 s, so that nginx (same
# pool) is not left waiting for a child.
spawn gateway-fcgi "$RUN_DIR/gateway-fcgi.log" "$BIN/gateway" --listen "127.0.0.1:$GW_F" \
    --backend "fcgi://127.0.0.1:$PHP" --document-root "$NGX_F_PEER_ROOT" --keepalive-timeout 1
wait_port "$GW_F" gateway-fcgi "$RUN_DIR/gateway-fcgi.log" "$LAST_PID"

RESULTS="$RUN_DIR/results.tsv"
: >"$RESULTS"
export INTEROP_RESULTS="$RESULTS" INTEROP_RUN_DIR="$RUN_DIR" INTEROP_REPO="$ROOT"
export INTEROP_OURS_UWSGI="127.0.0.1:$OURS_U" INTEROP_OURS_FCGI="127.0.0.1:$OURS_F"
export INTEROP_TEST_UWSGI="127.0.0.1:$TEST_U" INTEROP_TEST_FCGI="127.0.0.1:$TEST_F"
export INTEROP_NGINX_UWSGI="127.0.0.1:$NGX_U" INTEROP_NGINX_UWSGI_TEST="127.0.0.1:$NGX_U_TEST"
export INTEROP_NGINX_FCGI="127.0.0.1:$NGX_F" INTEROP_NGINX_FCGI_TEST="127.0.0.1:$NGX_F_TEST"
export INTEROP_UWSGI_ROUTER="127.0.0.1:$ROUTER" INTEROP_UWSGI_SERVER="127.0.0.1:$UWSGI_SRV"
export INTEROP_PHP_FPM="127.0.0.1:$PHP" INTEROP_FCGIWRAP="$WRAP_SOCK" INTEROP_LIBFCGI="127.0.0.1:$LIBFCGI"
export INTEROP_APACHE="127.0.0.1:$APACHE" INTEROP_LIGHTTPD="127.0.0.1:$LIGHTTPD"
export INTEROP_NGINX_UWSGI_PEER="127.0.0.1:$NGX_U_PEER" INTEROP_NGINX_FCGI_PEER="127.0.0.1:$NGX_F_PEER"
export INTEROP_GATEWAY_UWSGI="127.0.0.1:$GW_U" INTEROP_GATEWAY_FCGI="127.0.0.1:$GW_F"
export INTEROP_NGINX_UWSGI_TOWER="127.0.0.1:$NGX_U_TOWER" INTEROP_NGINX_FCGI_TOWER="127.0.0.1:$NGX_F_TOWER"
export INTEROP_UWSGI_ROUTER_TOWER="127.0.0.1:$ROUTER_TOWER"
export INTEROP_APACHE_TEST="127.0.0.1:$APACHE_TEST" INTEROP_LIGHTTPD_TEST="127.0.0.1:$LIGHTTPD_TEST"
export INTEROP_UWSGI_STATIC="127.0.0.1:$UWSGI_STATIC" INTEROP_SUBSCRIBE_UDP="127.0.0.1:$SUBSCRIBE_UDP"

echo "== interop: tests"
set +e
# INTEROP_FILTER (unset in CI) passes a test-name filter and flags to the
# test binary while working on one scenario, e.g. "php_fpm --nocapture".
# shellcheck disable=SC2086
cargo test -p examples --test interop --locked -- --ignored --test-threads=2 ${INTEROP_FILTER:-}
rc=$?
set -e

echo "== interop: scenario x peer (pass/total)"
python3 - "$RESULTS" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
if not rows:
    print("interop: no results recorded")
    sys.exit(0)
peers = sorted({r[0] for r in rows})
scen = sorted({r[1] for r in rows})
cell = {}
for peer, sc, res in rows:
    p, t = cell.get((sc, peer), (0, 0))
    cell[(sc, peer)] = (p + (res == "pass"), t + 1)
w = max(len(s) for s in scen)
cw = [max(len(p), 5) for p in peers]
print(" " * w + " | " + " | ".join(p.ljust(c) for p, c in zip(peers, cw)))
print("-" * w + "-+-" + "-+-".join("-" * c for c in cw))
for sc in scen:
    cells = []
    for p, c in zip(peers, cw):
        v = cell.get((sc, p))
        cells.append(("%d/%d" % v if v else "").ljust(c))
    print(sc.ljust(w) + " | " + " | ".join(cells))
tp = sum(v[0] for v in cell.values()); tt = sum(v[1] for v in cell.values())
print(f"total: {tp}/{tt} passed, {tt - tp} failed")
EOF
[ -s "$RESULTS" ] || die "the interop tests recorded no results"
if grep -q $'\tfail$' "$RESULTS" && [ "$rc" = 0 ]; then rc=1; fi
[ "$rc" = 0 ] || die "interop tests failed (exit $rc); peer logs are in $RUN_DIR"
echo "interop: all scenarios passed"
