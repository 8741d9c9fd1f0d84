#!/usr/bin/env bash
# Installs the real peers used for captures and interop tests from Debian's
# packages, without letting package scripts start any system service.
# Idempotent; fails loudly, naming any peer binary still missing afterwards.
set -euo pipefail
PKGS=(nginx-light uwsgi uwsgi-plugin-python3 curl python3)
need=()
for b in nginx uwsgi curl python3; do command -v "$b" >/dev/null 2>&1 || need+=("$b"); done
[ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || need+=(python3_plugin)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-peers: missing ${need[*]} and not root: cannot install" >&2
        exit 1
    fi
    # Package installation must never start services (no port 80, no units).
    policy=/usr/sbin/policy-rc.d
    created=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
    [ "$created" = 1 ] && rm -f "$policy"
    # A postinst may still have spawned a default instance; stop what it started.
    pkill -x nginx 2>/dev/null || true
fi
missing=()
for b in nginx uwsgi curl python3; do command -v "$b" >/dev/null 2>&1 || missing+=("$b"); done
[ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || missing+=("uwsgi python3 plugin")
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-peers: FAIL: still missing after install: ${missing[*]}" >&2
    exit 1
fi
echo "install-peers: $(nginx -v 2>&1); uwsgi $(uwsgi --version)"
