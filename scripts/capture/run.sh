#!/usr/bin/env bash
# Regenerates every captured vector from the real peers: installs them if
# needed, then runs both capture tools (each starts and stops its own peers).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
command -v php-fpm8.2 >/dev/null 2>&1 || compgen -G '/usr/sbin/php-fpm*' >/dev/null || bash "$root/scripts/install-peers.sh"
python3 "$here/capture.py" --out "$root"
python3 "$here/capture_fastcgi.py" --out "$root"
