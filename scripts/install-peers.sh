#!/usr/bin/env bash
# Installs the real peers used for captures and interop tests from Debian's
# packages, without letting package scripts start any system service.
# Idempotent; fails loudly, naming any peer binary still missing afterwards.
set -euo pipefail
PKGS=(nginx-light uwsgi uwsgi-plugin-python3 php-fpm libfcgi-bin fcgiwrap apache2
      lighttpd wrk libfcgi-dev gcc libc6-dev python3 curl)

php_fpm() { compgen -G '/usr/sbin/php-fpm*' | head -n1; }

check() {
    local b missing=()
    for b in nginx uwsgi cgi-fcgi fcgiwrap apache2 lighttpd wrk gcc python3 curl; do
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || missing+=("$b")
    done
    [ -e /usr/lib/uwsgi/plugins/python3_plugin.so ] || missing+=("uwsgi python3 plugin")
    [ -n "$(php_fpm)" ] || missing+=("php-fpm")
    [ -e /usr/include/fcgi_stdio.h ] || missing+=("libfcgi-dev headers")
    [ -e /usr/lib/apache2/modules/mod_proxy_uwsgi.so ] || missing+=("apache2 mod_proxy_uwsgi")
    printf '%s\n' "${missing[@]}"
}

if [ -n "$(check)" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-peers: missing $(check | tr '\n' ' ')and not root: cannot install" >&2
        exit 1
    fi
    # Package installation must never start services (no port 80, no units).
    policy=/usr/sbin/policy-rc.d
    created=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1
    fi
    trap '[ "$created" = 1 ] && rm -f "$policy"' EXIT
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
fi
missing="$(check)"
if [ -n "$missing" ]; then
    echo "install-peers: FAIL: still missing after install: $(echo "$missing" | tr '\n' ' ')" >&2
    exit 1
fi
echo "nginx:    $(nginx -v 2>&1)"
echo "uwsgi:    $(uwsgi --version)"
echo "php-fpm:  $("$(php_fpm)" -v | head -n1)"
echo "apache2:  $(/usr/sbin/apache2 -v | head -n1)"
echo "lighttpd: $(lighttpd -v 2>&1 | head -n1)"
echo "fcgiwrap: $(dpkg-query -W -f '${Version}' fcgiwrap)"
echo "libfcgi:  $(dpkg-query -W -f '${Version}' libfcgi-bin)"
echo "wrk:      $(dpkg-query -W -f '${Version}' wrk)"
