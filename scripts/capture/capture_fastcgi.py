#!/usr/bin/env python3
"""Regenerates fastcgi-proto/vectors/captures/ and wsgi-environ/vectors/captures/.

Front-end captures: nginx (scripts/peers/conf/nginx-fastcgi.conf) in front of a
loopback recorder that speaks FastCGI, uwsgi and SCGI (chosen by the first
byte), records the raw request bytes of each connection and answers validly.
Backend captures: hand-built FastCGI requests to PHP-FPM, fcgiwrap and a
libfcgi app, recording the raw response bytes. Peers are started and stopped
with scripts/peers/lib.sh. Usage: capture_fastcgi.py [--out REPO_ROOT]
"""
import argparse
import hashlib
import json
import os
import socket
import subprocess
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN = os.environ.get("RUN_DIR", os.path.join(ROOT, "scripts", "run"))
WRAP_SOCK = os.path.join(RUN, "fcgiwrap.sock")
NGINX_PORT, REC_PORT, PHP_PORT, WRAP_PORT, LIBFCGI_PORT = 18101, 19101, 19102, 19103, 19104
APACHE_PORT, LIGHTTPD_PORT = 18102, 18103
CANNED = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok\n"


def jbytes(b):
    try:
        s = b.decode("utf-8")
        if s.isprintable():
            return s
    except UnicodeDecodeError:
        pass
    return {"hex": b.hex()}


def records(data):
    """Independent FastCGI decoder: list of (version, type, id, content, padlen); trailing bytes."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        ver, typ = data[pos], data[pos + 1]
        rid = int.from_bytes(data[pos + 2 : pos + 4], "big")
        cl = int.from_bytes(data[pos + 4 : pos + 6], "big")
        pl = data[pos + 6]
        if pos + 8 + cl + pl > len(data):
            break
        out.append((ver, typ, rid, data[pos + 8 : pos + 8 + cl], pl))
        pos += 8 + cl + pl
    return out, data[pos:]


def nv_pairs(block):
    pairs, pos = [], 0
    def ln():
        nonlocal pos
        if block[pos] >> 7:
            n = int.from_bytes(block[pos : pos + 4], "big") & 0x7FFFFFFF
            pos += 4
        else:
            n = block[pos]
            pos += 1
        return n
    while pos < len(block):
        kl = ln()
        vl = ln()
        k = block[pos : pos + kl]
        v = block[pos + kl : pos + kl + vl]
        pos += kl + vl
        pairs.append((k, v))
    return pairs


def uwsgi_vars(data):
    size = int.from_bytes(data[1:3], "little")
    block, pos, pairs = data[4 : 4 + size], 0, []
    while pos < len(block):
        kl = int.from_bytes(block[pos : pos + 2], "little")
        k = block[pos + 2 : pos + 2 + kl]
        pos += 2 + kl
        vl = int.from_bytes(block[pos : pos + 2], "little")
        pairs.append((k, block[pos + 2 : pos + 2 + vl]))
        pos += 2 + vl
    return pairs


def scgi_vars(data):
    colon = data.index(b":")
    n = int(data[:colon])
    items = data[colon + 1 : colon + 1 + n].split(b"\0")[:-1]
    return list(zip(items[::2], items[1::2]))


def rec(typ, rid, content=b""):
    pad = (-len(content)) % 8
    return bytes([1, typ]) + rid.to_bytes(2, "big") + len(content).to_bytes(2, "big") + bytes([pad, 0]) + content + b"\0" * pad


def nv(pairs):
    out = b""
    for k, v in pairs:
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else (n | 0x80000000).to_bytes(4, "big")
        out += k + v
    return out


def params_stream(rid, pairs):
    """PARAMS records packing whole pairs only (PHP-FPM parses each record on its own)."""
    out, cur = b"", b""
    for p in pairs:
        one = nv([p])
        if cur and len(cur) + len(one) > 65535:
            out += rec(4, rid, cur)
            cur = b""
        cur += one
    return out + (rec(4, rid, cur) if cur else b"") + rec(4, rid)


def stream(typ, rid, data):
    out = b"".join(rec(typ, rid, data[i : i + 65535]) for i in range(0, len(data), 65535))
    return out + rec(typ, rid)


class Conn:
    def __init__(self):
        self.data = bytearray()
        self.done = 0
        self.closed = False


class Recorder:
    """Loopback backend for nginx: FastCGI (keep-conn aware), uwsgi, SCGI."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            st = Conn()
            self.conns.append(st)
            threading.Thread(target=self.serve, args=(c, st), daemon=True).start()

    def serve(self, c, st):
        c.settimeout(10)
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                st.data += chunk
                d = bytes(st.data)
                if d[0] == 1:
                    recs, _ = records(d)
                    ends = [r for r in recs if r[1] == 5 and not r[3]]
                    while len(ends) > st.done:
                        rid = ends[st.done][2]
                        begin = [r for r in recs if r[1] == 1 and r[2] == rid][-1]
                        keep = begin[3][2] & 1
                        c.sendall(stream(6, rid, CANNED) + rec(3, rid, bytes(8)))
                        st.done += 1
                        if not keep:
                            c.close()
                            return
                elif d[0] == 0 and len(d) >= 4:
                    size = int.from_bytes(d[1:3], "little")
                    if len(d) >= 4 + size:
                        cl = int(dict(uwsgi_vars(d)).get(b"CONTENT_LENGTH", b"0") or 0)
                        if len(d) >= 4 + size + cl:
                            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
                            st.done = 1
                            c.close()
                            return
                elif b":" in d:
                    colon = d.index(b":")
                    n = int(d[:colon])
                    if len(d) >= colon + n + 2:
                        cl = int(dict(scgi_vars(d)).get(b"CONTENT_LENGTH", b"0") or 0)
                        if len(d) >= colon + n + 2 + cl:
                            c.sendall(b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok\n")
                            st.done = 1
                            c.close()
                            return
        except OSError:
            pass
        st.closed = True
        c.close()

    def take(self, need=1, timeout=5):
        end = time.time() + timeout
        while time.time() < end:
            if self.conns and (self.conns[0].done >= need or self.conns[0].closed):
                time.sleep(0.05)
                return bytes(self.conns.pop(0).data)
            time.sleep(0.01)
        return bytes(self.conns.pop(0).data) if self.conns else None


def http(port, raw, keep=False):
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.sendall(raw)
    out = b""
    s.settimeout(3 if not keep else 1)
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            out += c
    except socket.timeout:
        pass
    s.close()
    return out


def roundtrip(port, data, wait_end=True):
    if isinstance(port, str):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(port)
    else:
        s = socket.create_connection(("127.0.0.1", port), 10)
    s.sendall(data)
    out = b""
    s.settimeout(5)
    try:
        while True:
            c = s.recv(65536)
            if not c:
                break
            out += c
            if wait_end and b"\x01\x03" in out and records(out)[0] and records(out)[0][-1][1] == 3 and not records(out)[1]:
                break
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


def version(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return (r.stdout + r.stderr).strip().splitlines()[0]


def fcgi_summary(data):
    recs, rest = records(data)
    types = {}
    for r in recs:
        types[str(r[1])] = types.get(str(r[1]), 0) + 1
    params = b"".join(r[3] for r in recs if r[1] == 4)
    stdin = b"".join(r[3] for r in recs if r[1] == 5)
    s = {"record_count": len(recs), "record_types": types, "request_ids": sorted({r[2] for r in recs}),
         "trailing_bytes": len(rest)}
    if params:
        s["params"] = [[jbytes(k), jbytes(v)] for k, v in nv_pairs(params)]
    if stdin:
        s["stdin_len"] = len(stdin)
        s["stdin_sha256"] = hashlib.sha256(stdin).hexdigest()
    return s


MIB = bytes(range(256)) * 4096
KIB = bytes(range(256)) * 4
H = b"Host: example.test\r\n"

FRONT = [
    ("get-query", b"GET /path/to?q=1&x=%20y HTTP/1.1\r\n" + H + b"User-Agent: capture/1\r\nAccept: */*\r\nConnection: close\r\n\r\n"),
    ("post-1k", b"POST /submit HTTP/1.1\r\n" + H + b"Content-Type: application/octet-stream\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n" + KIB),
    ("post-1m", b"POST /big HTTP/1.1\r\n" + H + b"Content-Type: application/octet-stream\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\n" + MIB),
    ("dup-headers", b"GET /dup HTTP/1.1\r\n" + H + b"X-Dup: one\r\nX-Dup: two\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n"),
    ("underscore-header", b"GET /u HTTP/1.1\r\n" + H + b"X-Auth-User: good\r\nX_Auth_User: evil\r\nConnection: close\r\n\r\n"),
    ("non-ascii-path", b"GET /caf\xc3\xa9/%C3%A9?n=\xc3\xa9 HTTP/1.1\r\n" + H + b"X-Latin: caf\xe9\r\nConnection: close\r\n\r\n"),
    ("http10", b"GET /old HTTP/1.0\r\n\r\n"),
    ("large-vars", b"GET /large HTTP/1.1\r\n" + H + b"".join(b"X-Big-%d: " % i + b"v" * 8000 + b"\r\n" for i in range(10)) + b"Connection: close\r\n\r\n"),
]

ENVIRON = [
    ("query", b"GET /app/page?a=1&b=two HTTP/1.1\r\n" + H + b"Accept: text/html\r\nConnection: close\r\n\r\n"),
    ("no-query", b"GET /app/page HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"),
    ("post-form", b"POST /app/form HTTP/1.1\r\n" + H + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\nConnection: close\r\n\r\na=1&b=2"),
    ("dup-cookie", b"GET /app/c HTTP/1.1\r\n" + H + b"Cookie: a=1\r\nCookie: b=2\r\nAccept: a\r\nAccept: b\r\nX-Multi: 1\r\nX-Multi: 2\r\nConnection: close\r\n\r\n"),
    ("underscore", b"GET /app/u HTTP/1.1\r\n" + H + b"X-Real-Ip: 1.2.3.4\r\nX_Real_Ip: 6.6.6.6\r\nConnection: close\r\n\r\n"),
    ("proxy-header", b"GET /app/p HTTP/1.1\r\n" + H + b"Proxy: http://evil.test:8080\r\nConnection: close\r\n\r\n"),
    ("http10-no-host", b"GET /app/old HTTP/1.0\r\n\r\n"),
    ("absolute-form", b"GET http://other.test:8080/app/abs?x=1 HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"),
    ("percent-path", b"GET /app/a%20b/%2F%C3%A9?q=%41 HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"),
]
PRESETS = [
    ("fastcgi_params", "/", "fastcgi_pass"),
    ("fastcgi.conf", "/conf", "fastcgi_pass"),
    ("scgi_params", "/scgi", "scgi_pass"),
    ("uwsgi_params", "/uwsgi", "uwsgi_pass"),
]


def shell(cmd):
    subprocess.run(["bash", "-c", f"set -e; . {ROOT}/scripts/peers/lib.sh; {cmd}"], check=True,
                   env=dict(os.environ, RUN_DIR=RUN))


def req_meta(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, target, ver = lines[0].split(b" ", 2)
    return {"method": method.decode(), "target": jbytes(target), "http_version": ver.decode(),
            "headers": [[jbytes(k), jbytes(v.strip())] for k, v in (l.split(b":", 1) for l in lines[1:])],
            "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=ROOT)
    args = ap.parse_args()
    fout = os.path.join(args.out, "fastcgi-proto", "vectors", "captures")
    eout = os.path.join(args.out, "wsgi-environ", "vectors", "captures")
    os.makedirs(fout, exist_ok=True)
    os.makedirs(eout, exist_ok=True)
    os.makedirs(RUN, exist_ok=True)
    nginx_v = version(["nginx", "-v"]).replace("nginx version: ", "")
    php_bin = subprocess.run(["bash", "-c", "compgen -G '/usr/sbin/php-fpm*' | head -n1"], capture_output=True, text=True).stdout.strip()
    php_v = version([php_bin, "-v"])
    wrap_v = "fcgiwrap " + subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "fcgiwrap"], capture_output=True, text=True).stdout
    libfcgi_v = "libfcgi " + subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libfcgi-bin"], capture_output=True, text=True).stdout
    nconf = "scripts/peers/conf/nginx-fastcgi.conf"
    fman, eman = [], []
    recd = Recorder(REC_PORT)
    try:
        shell(f"start_nginx_fastcgi {NGINX_PORT} 127.0.0.1:{REC_PORT}")
        shell(f"start_php_fpm {PHP_PORT}; start_fcgiwrap {WRAP_SOCK}; start_libfcgi_app {LIBFCGI_PORT}")

        def save(d, man, name, data, peer, config, request, direction, extra):
            open(os.path.join(d, name + ".bin"), "wb").write(data)
            e = {"file": name + ".bin", "peer": peer, "config": config, "direction": direction,
                 "request": request, "len": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            e.update(extra)
            man.append(e)

        for name, raw in FRONT:
            reply = http(NGINX_PORT, raw)
            data = recd.take(timeout=3) or b""
            status = reply.split(b"\r\n", 1)[0].decode("latin-1")
            if name != "large-vars":
                assert data, f"nothing captured for nginx fastcgi {name}: {reply[:200]!r}"
            save(fout, fman, f"nginx-{name}", data, nginx_v, nconf + " (location /, fastcgi_params)",
                 req_meta(raw), "request", dict(fcgi_summary(data), client_status=status))
        # keep-conn: three requests reuse one upstream connection
        for i in range(3):
            http(NGINX_PORT, b"GET /keep/r%d?i=%d HTTP/1.1\r\n" % (i, i) + H + b"Connection: close\r\n\r\n")
        data = recd.take(need=3)
        save(fout, fman, "nginx-keep-conn-3", data, nginx_v, nconf + " (location /keep/, fastcgi_keep_conn on, keepalive)",
             {"requests": ["GET /keep/r0?i=0", "GET /keep/r1?i=1", "GET /keep/r2?i=2"]}, "request", fcgi_summary(data))

        # Apache and lighttpd front-ends: FastCGI into this directory, uwsgi into uwsgi-proto's
        uout = os.path.join(args.out, "uwsgi-proto", "vectors", "captures")
        umf = os.path.join(uout, "manifest.json")
        uman = [e for e in json.load(open(umf))["captures"] if not e["file"].startswith(("apache-", "lighttpd-"))] if os.path.exists(umf) else []
        apache_v = version(["/usr/sbin/apache2", "-v"]).replace("Server version: ", "")
        lighttpd_v = version(["lighttpd", "-v"]).split(" - ")[0]
        shell(f"start_apache {APACHE_PORT} 127.0.0.1:{REC_PORT} 127.0.0.1:{REC_PORT}; "
              f"start_lighttpd {LIGHTTPD_PORT} {REC_PORT} {REC_PORT}")
        fronts = [("apache", APACHE_PORT, apache_v, "scripts/peers/conf/apache.conf"),
                  ("lighttpd", LIGHTTPD_PORT, lighttpd_v, "scripts/peers/conf/lighttpd.conf")]
        for peer, port, ver, conf in fronts:
            for proto, prefix in (("fcgi", b"/fcgi"), ("uwsgi", b"/uwsgi")):
                for name, raw in FRONT:
                    if name in ("post-1m", "large-vars"):
                        continue
                    r = raw.replace(b" /", b" " + prefix + b"/", 1)
                    reply = http(port, r)
                    data = recd.take(timeout=3) or b""
                    status = reply.split(b"\r\n", 1)[0].decode("latin-1")
                    fname = f"{peer}-{name}"
                    if proto == "fcgi":
                        save(fout, fman, fname, data, ver, conf + " (/fcgi/)", req_meta(r), "request",
                             dict(fcgi_summary(data), client_status=status))
                    else:
                        extra = {"client_status": status}
                        if data:
                            extra["vars"] = [[jbytes(k), jbytes(v)] for k, v in uwsgi_vars(data)]
                            extra["modifier1"], extra["modifier2"] = data[0], data[3]
                            extra["datasize"] = int.from_bytes(data[1:3], "little")
                            body = data[4 + extra["datasize"] :]
                            extra["body_len"] = len(body)
                            extra["body_sha256"] = hashlib.sha256(body).hexdigest()
                        save(uout, uman, fname, data, ver, conf + " (/uwsgi/)", req_meta(r), "request", extra)
        with open(umf, "w") as f:
            json.dump({"captures": uman}, f, indent=1, ensure_ascii=False)
            f.write("\n")

        # environ goldens
        for preset, prefix, directive in PRESETS:
            for name, raw in ENVIRON:
                r = raw
                if not raw.startswith(b"GET http"):
                    r = raw.replace(b" /app", b" " + prefix.encode().rstrip(b"/") + b"/app", 1)
                else:
                    r = raw.replace(b"8080/app", b"8080" + prefix.encode().rstrip(b"/") + b"/app", 1)
                reply = http(NGINX_PORT, r)
                data = recd.take()
                assert data, f"nothing captured for {preset} {name}: {reply[:200]!r}"
                if data[0] == 1:
                    recs, _ = records(data)
                    pairs = nv_pairs(b"".join(x[3] for x in recs if x[1] == 4))
                    proto = "fastcgi"
                elif data[0] == 0:
                    pairs, proto = uwsgi_vars(data), "uwsgi"
                else:
                    pairs, proto = scgi_vars(data), "scgi"
                fname = f"nginx-{preset.replace('.', '-').replace('_', '-')}-{name}"
                save(eout, eman, fname, data, nginx_v, f"{nconf} (location {prefix}, {directive}, include {preset})",
                     req_meta(r), "request", {"preset": preset, "protocol": proto,
                                              "vars": [[jbytes(k), jbytes(v)] for k, v in pairs]})

        # backend replies
        php_dir = os.path.join(ROOT, "scripts", "peers", "php")
        def php_params(script, method="GET", query="", extra=()):
            return [(b"SCRIPT_FILENAME", os.path.join(php_dir, script).encode()), (b"SCRIPT_NAME", b"/" + script.encode()),
                    (b"REQUEST_METHOD", method.encode()), (b"QUERY_STRING", query.encode()),
                    (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"GATEWAY_INTERFACE", b"CGI/1.1"),
                    (b"REQUEST_URI", b"/" + script.encode() + (b"?" + query.encode() if query else b"")),
                    (b"SERVER_NAME", b"localhost"), (b"SERVER_PORT", b"80"), (b"REMOTE_ADDR", b"127.0.0.1"),
                    (b"HTTP_HOST", b"localhost")] + list(extra)
        def request(rid, params, body=b"", keep=False):
            return rec(1, rid, bytes([0, 1, 1 if keep else 0]) + bytes(5)) + params_stream(rid, params) + stream(5, rid, body)
        big = [(b"HTTP_X_BIG_%d" % i, b"b" * 9000) for i in range(8)]
        backends = [
            ("php-fpm-get-echo", PHP_PORT, php_v, request(1, php_params("echo.php", query="a=1&b=2"))),
            ("php-fpm-post", PHP_PORT, php_v, request(1, php_params("echo.php", "POST", extra=[(b"CONTENT_LENGTH", b"1024"), (b"CONTENT_TYPE", b"application/octet-stream")]), KIB)),
            ("php-fpm-stderr", PHP_PORT, php_v, request(1, php_params("stderr.php"))),
            ("php-fpm-hello", PHP_PORT, php_v, request(1, php_params("hello.php"))),
            ("php-fpm-get-values", PHP_PORT, php_v, rec(9, 0, nv([(b"FCGI_MAX_CONNS", b""), (b"FCGI_MAX_REQS", b""), (b"FCGI_MPXS_CONNS", b"")]))),
            ("php-fpm-large-params", PHP_PORT, php_v, request(1, php_params("hello.php", extra=big))),
            ("php-fpm-keep-conn-2", PHP_PORT, php_v, None),
            ("fcgiwrap-get", WRAP_SOCK, wrap_v, request(1, [(b"SCRIPT_FILENAME", os.path.join(ROOT, "scripts/peers/cgi/echo.sh").encode()), (b"SCRIPT_NAME", b"/echo.sh"), (b"REQUEST_METHOD", b"GET"), (b"QUERY_STRING", b"x=1"), (b"GATEWAY_INTERFACE", b"CGI/1.1"), (b"SERVER_PROTOCOL", b"HTTP/1.1")])),
            ("libfcgi-get", LIBFCGI_PORT, libfcgi_v, request(1, [(b"REQUEST_METHOD", b"GET"), (b"QUERY_STRING", b"y=2"), (b"SERVER_PROTOCOL", b"HTTP/1.1")])),
        ]
        for name, port, peer, req in backends:
            if req is None:
                s = socket.create_connection(("127.0.0.1", port), 5)
                s.settimeout(5)
                req = b""
                data = b""
                for rid in (1, 2):
                    part = request(rid, php_params("hello.php", query=f"n={rid}"), keep=True)
                    req += part
                    s.sendall(part)
                    while True:
                        c = s.recv(65536)
                        data += c
                        rs, rest = records(data)
                        if not c or (rs and rs[-1][1] == 3 and rs[-1][2] == rid and not rest):
                            break
                s.close()
            else:
                data = roundtrip(port, req)
            print(f"capture: {name}: {len(data)} bytes", flush=True)
            if name != "php-fpm-get-values":
                assert data, f"no reply from {name}"
            cfg = {PHP_PORT: "scripts/peers/conf/php-fpm.conf", WRAP_SOCK: "fcgiwrap -s unix:RUN_DIR/fcgiwrap.sock (scripts/peers/lib.sh)",
                   LIBFCGI_PORT: "scripts/peers/apps/fcgi_echo.c via cgi-fcgi -start -connect"}[port]
            rq = fcgi_summary(req)
            rq.pop("params", None)
            save(fout, fman, name, data, peer, cfg,
                 {"fastcgi_request_hex_sha256": hashlib.sha256(req).hexdigest(), "fastcgi_request_len": len(req), "summary": rq,
                  "params": [[jbytes(k), jbytes(v)] for k, v in nv_pairs(b"".join(r[3] for r in records(req)[0] if r[1] in (4, 9)))]},
                 "response", fcgi_summary(data))
            open(os.path.join(fout, name + ".request.bin"), "wb").write(req)
    finally:
        shell("stop_all")
        recd.sock.close()
    for d, man in ((fout, fman), (eout, eman)):
        with open(os.path.join(d, "manifest.json"), "w") as f:
            json.dump({"captures": man}, f, indent=1, ensure_ascii=False)
            f.write("\n")
    print(f"capture: wrote {len(fman)} fastcgi and {len(eman)} environ captures")


if __name__ == "__main__":
    main()
