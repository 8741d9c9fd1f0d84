# shellcheck shell=bash
# Start/stop helpers for the real peers, sourced by interop and capture scripts.
# Everything binds 127.0.0.1 or unix sockets under $RUN_DIR; every process is
# recorded in $RUN_DIR/pids and stopped by pid in stop_all.
PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$PEERS_DIR/../.." && pwd)"
RUN_DIR="${RUN_DIR:-$REPO_ROOT/scripts/run}"
mkdir -p "$RUN_DIR"

peer_fail() { # name log
    echo "peers: FAIL: $1 did not start; log $2:" >&2
    [ -f "$2" ] && tail -n 40 "$2" >&2
    return 1
}

# wait_port PORT NAME LOG [PID]
wait_port() {
    local i
    for i in $(seq 1 200); do
        if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then peer_fail "$2" "$3"; return 1; fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    peer_fail "$2" "$3"
}

# render TEMPLATE OUT key=value...   (replaces @KEY@)
render() {
    local tpl=$1 out=$2 s; shift 2
    s="$(cat "$tpl")"
    local kv
    for kv in "$@"; do s="${s//@${kv%%=*}@/${kv#*=}}"; done
    s="${s//@RUN@/$RUN_DIR}"
    printf '%s\n' "$s" >"$out"
}

# spawn NAME LOG cmd...  -> records pid (process group leader)
spawn() {
    local name=$1 log=$2; shift 2
    setsid "$@" >"$log" 2>&1 &
    echo "$! $name" >>"$RUN_DIR/pids"
    LAST_PID=$!
}

# start_nginx_uwsgi PORT UPSTREAM    (uwsgi_pass with uwsgi_params)
start_nginx_uwsgi() {
    mkdir -p "$RUN_DIR/nginx-u"
    local conf="$RUN_DIR/nginx-u/nginx.conf" log="$RUN_DIR/nginx-u.log"
    RUN_DIR="$RUN_DIR/nginx-u" render "$PEERS_DIR/conf/nginx-uwsgi.conf" "$conf" "PORT=$1" "UPSTREAM=$2"
    spawn nginx-uwsgi "$log" nginx -p "$RUN_DIR/nginx-u" -c "$conf"
    wait_port "$1" nginx-uwsgi "$log" "$LAST_PID"
}

# start_nginx_fastcgi PORT UPSTREAM  (fastcgi_params at /, fastcgi.conf at /conf/,
# keep-conn at /keep/, scgi_params at /scgi/, uwsgi_params at /uwsgi/, return 200 at /ceiling)
start_nginx_fastcgi() {
    mkdir -p "$RUN_DIR/nginx-f"
    local conf="$RUN_DIR/nginx-f/nginx.conf" log="$RUN_DIR/nginx-f.log"
    RUN_DIR="$RUN_DIR/nginx-f" render "$PEERS_DIR/conf/nginx-fastcgi.conf" "$conf" "PORT=$1" "UPSTREAM=$2"
    spawn nginx-fastcgi "$log" nginx -p "$RUN_DIR/nginx-f" -c "$conf"
    wait_port "$1" nginx-fastcgi "$log" "$LAST_PID"
}

# start_uwsgi_server PORT   (echo_wsgi.py over the uwsgi protocol)
start_uwsgi_server() {
    local log="$RUN_DIR/uwsgi-server.log"
    spawn uwsgi-server "$log" uwsgi --plugin python3,ping,signal --socket "127.0.0.1:$1" \
        --wsgi-file "$PEERS_DIR/apps/echo_wsgi.py" --master --processes 1 --die-on-term
    wait_port "$1" uwsgi-server "$log" "$LAST_PID"
}

# start_uwsgi_router PORT UPSTREAM   (HTTP router)
start_uwsgi_router() {
    local log="$RUN_DIR/uwsgi-router.log"
    spawn uwsgi-router "$log" uwsgi --plugin http --http "127.0.0.1:$1" --http-to "$2" \
        --master --processes 0 --die-on-term
    wait_port "$1" uwsgi-router "$log" "$LAST_PID"
}

# start_uwsgi_static PORT   (internal routing answers 200, no Python)
start_uwsgi_static() {
    local log="$RUN_DIR/uwsgi-static.log"
    spawn uwsgi-static "$log" uwsgi --plugin router_static --socket "127.0.0.1:$1" \
        --route-run 'return:200' --master --processes 1 --die-on-term
    wait_port "$1" uwsgi-static "$log" "$LAST_PID"
}

php_fpm_bin() { compgen -G '/usr/sbin/php-fpm*' | head -n1; }

# start_php_fpm PORT   (pool on 127.0.0.1:PORT, scripts under scripts/peers/php)
start_php_fpm() {
    local log="$RUN_DIR/php-fpm.log" conf="$RUN_DIR/php-fpm.conf"
    render "$PEERS_DIR/conf/php-fpm.conf" "$conf" "PORT=$1" "USER=$(id -un)" "GROUP=$(id -gn)"
    local extra=(); [ "$(id -u)" = 0 ] && extra=(--allow-to-run-as-root)
    spawn php-fpm "$log" "$(php_fpm_bin)" --nodaemonize --fpm-config "$conf" "${extra[@]}"
    wait_port "$1" php-fpm "$log" "$LAST_PID"
}

# start_fcgiwrap PORT|/SOCKET   (runs CGI scripts such as scripts/peers/cgi/echo.sh).
# fcgiwrap binds without SO_REUSEADDR, so a TCP port stays busy for a while after
# a previous run's connections; a unix socket under $RUN_DIR avoids that.
start_fcgiwrap() {
    local log="$RUN_DIR/fcgiwrap.log"
    if [ "${1#/}" != "$1" ]; then
        rm -f "$1"
        spawn fcgiwrap "$log" fcgiwrap -c 1 -s "unix:$1"
        local i
        for i in $(seq 1 100); do [ -S "$1" ] && return 0; kill -0 "$LAST_PID" 2>/dev/null || break; sleep 0.05; done
        peer_fail fcgiwrap "$log"
    else
        spawn fcgiwrap "$log" fcgiwrap -c 1 -s "tcp:127.0.0.1:$1"
        wait_port "$1" fcgiwrap "$log" "$LAST_PID"
    fi
}

# start_libfcgi_app PORT   (C app from scripts/peers/apps/fcgi_echo.c via cgi-fcgi)
start_libfcgi_app() {
    local bin="$RUN_DIR/fcgi_echo" log="$RUN_DIR/libfcgi.log"
    gcc -O2 -o "$bin" "$PEERS_DIR/apps/fcgi_echo.c" -lfcgi >"$log" 2>&1 || { peer_fail libfcgi-build "$log"; return 1; }
    cgi-fcgi -start -connect "127.0.0.1:$1" "$bin" 1 >>"$log" 2>&1 || { peer_fail libfcgi "$log"; return 1; }
    local pid; pid="$(pgrep -nx fcgi_echo || true)"
    [ -n "$pid" ] && echo "$pid libfcgi" >>"$RUN_DIR/pids"
    wait_port "$1" libfcgi "$log"
}

# start_apache PORT UWSGI_HOSTPORT FCGI_HOSTPORT  (/uwsgi/ -> mod_proxy_uwsgi, /fcgi/ -> mod_proxy_fcgi)
start_apache() {
    local dir="$RUN_DIR/apache" log="$RUN_DIR/apache.log"
    mkdir -p "$dir"
    RUN_DIR="$dir" render "$PEERS_DIR/conf/apache.conf" "$dir/httpd.conf" "PORT=$1" "UWSGI=$2" "FCGI=$3"
    spawn apache "$log" /usr/sbin/apache2 -f "$dir/httpd.conf" -DFOREGROUND
    wait_port "$1" apache "$dir/error.log" "$LAST_PID" || { cat "$log" >&2; return 1; }
}

# start_lighttpd PORT FCGI_PORT UWSGI_PORT  (/fcgi/ -> mod_fastcgi, /uwsgi/ -> mod_scgi uwsgi mode)
start_lighttpd() {
    local dir="$RUN_DIR/lighttpd" log="$RUN_DIR/lighttpd.log"
    mkdir -p "$dir"
    RUN_DIR="$dir" render "$PEERS_DIR/conf/lighttpd.conf" "$dir/lighttpd.conf" "PORT=$1" "FCGI_PORT=$2" "UWSGI_PORT=$3"
    spawn lighttpd "$log" lighttpd -D -f "$dir/lighttpd.conf"
    wait_port "$1" lighttpd "$dir/error.log" "$LAST_PID" || { cat "$log" >&2; return 1; }
}

# stop_all: stops every recorded process by pid (its process group), then forgets them.
stop_all() {
    [ -f "$RUN_DIR/pids" ] || return 0
    local pid name
    while read -r pid name; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done <"$RUN_DIR/pids"
    sleep 0.3
    while read -r pid name; do
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done <"$RUN_DIR/pids"
    rm -f "$RUN_DIR/pids"
}
