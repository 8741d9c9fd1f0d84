#!/usr/bin/env python3
"""Regenerates uwsgi-proto/vectors/captures/ from real peers on loopback.

Starts nginx (uwsgi_pass), uWSGI's HTTP router and a uWSGI server with
scripts/peers/apps/echo_wsgi.py, drives them with raw HTTP requests, records
the exact bytes each sends on one direction of one connection, and writes
them with a manifest.json (peer, version, config, request, decoded vars as an
independent cross-check of the Rust decoder). Loopback only; every process it
starts is stopped by pid. Usage: capture.py [--out REPO_ROOT]
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CANNED = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"


def decode_packet(data):
    """Independent uwsgi decoder: (mod1, datasize, mod2, [(k, v)], rest)."""
    mod1, size, mod2 = data[0], int.from_bytes(data[1:3], "little"), data[3]
    block, pos, pairs = data[4 : 4 + size], 0, []
    while pos < len(block):
        kl = int.from_bytes(block[pos : pos + 2], "little")
        k = block[pos + 2 : pos + 2 + kl]
        pos += 2 + kl
        vl = int.from_bytes(block[pos : pos + 2], "little")
        v = block[pos + 2 : pos + 2 + vl]
        pos += 2 + vl
        pairs.append((k, v))
    return mod1, size, mod2, pairs, data[4 + size :]


def jbytes(b):
    try:
        s = b.decode("utf-8")
        if s.isprintable():
            return s
    except UnicodeDecodeError:
        pass
    return {"hex": b.hex()}


def recv_request(conn):
    """Reads one uwsgi request (packet + CONTENT_LENGTH body) from conn."""
    data = b""
    conn.settimeout(5)
    def need(n):
        nonlocal data
        while len(data) < n:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        return True
    if not need(4):
        return data
    size = int.from_bytes(data[1:3], "little")
    if not need(4 + size):
        return data
    cl = 0
    for k, v in decode_packet(data)[3]:
        if k == b"CONTENT_LENGTH" and v:
            cl = int(v)
    need(4 + size + cl)
    return data


class Recorder:
    """A loopback uwsgi backend that records each request it receives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.captured = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    data = recv_request(conn)
                    self.captured.append(data)
                    conn.sendall(CANNED)
                except OSError:
                    pass

    def take(self, timeout=5):
        end = time.time() + timeout
        while not self.captured and time.time() < end:
            time.sleep(0.01)
        return self.captured.pop(0) if self.captured else None


def wait_port(port, proc, log):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"capture: peer exited early; log:\n{open(log).read()}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"capture: peer did not listen on {port}; log:\n{open(log).read()}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(port, raw):
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(raw)
    out = b""
    s.settimeout(5)
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


KIB = bytes(range(256)) * 4

REQUESTS = [
    ("get-query", b"GET /path/to?q=1&x=%20y HTTP/1.1\r\nHost: example.test\r\nUser-Agent: capture/1\r\nAccept: */*\r\n\r\n"),
    ("post-1k", b"POST /submit HTTP/1.1\r\nHost: example.test\r\nContent-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n" + KIB),
    ("dup-headers", b"GET /dup HTTP/1.1\r\nHost: example.test\r\nX-Dup: one\r\nX-Dup: two\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"),
    ("underscore-header", b"GET /u HTTP/1.1\r\nHost: example.test\r\nX-Auth-User: good\r\nX_Auth_User: evil\r\n\r\n"),
    ("non-ascii-path", b"GET /caf\xc3\xa9/%C3%A9?n=\xc3\xa9 HTTP/1.1\r\nHost: example.test\r\nX-Latin: caf\xe9\r\n\r\n"),
    ("http10", b"GET /old HTTP/1.0\r\n\r\n"),
    ("browser", b"GET /articles/2026/11/protocols?page=2&sort=date HTTP/1.1\r\nHost: www.example.test\r\n"
     b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0\r\n"
     b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
     b"Accept-Language: en-GB,en;q=0.7,fr;q=0.3\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
     b"Referer: https://www.example.test/articles/2026/11\r\nConnection: keep-alive\r\n"
     b"Cookie: session=5f2b9c1e8d7a4b3c; theme=dark; consent=1\r\nUpgrade-Insecure-Requests: 1\r\n"
     b"Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: same-origin\r\n"
     b"Priority: u=0, i\r\n\r\n"),
]


def spawn(cmd, log):
    return subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc):
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def version(cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout.strip() + subprocess.run(
        cmd, capture_output=True, text=True
    ).stderr.strip()


def entry(name, data, peer, config, request, direction):
    e = {
        "file": name + ".bin",
        "peer": peer,
        "config": config,
        "direction": direction,
        "request": request,
        "len": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    if direction == "request":
        mod1, size, mod2, pairs, rest = decode_packet(data)
        e.update(
            modifier1=mod1,
            datasize=size,
            modifier2=mod2,
            vars=[[jbytes(k), jbytes(v)] for k, v in pairs],
            body_len=len(rest),
            body_sha256=hashlib.sha256(rest).hexdigest(),
        )
    return e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=ROOT)
    args = ap.parse_args()
    out = os.path.join(args.out, "uwsgi-proto", "vectors", "captures")
    os.makedirs(out, exist_ok=True)
    run = tempfile.mkdtemp(prefix="uwsgi-capture-")
    manifest, procs = [], []
    nginx_v = version(["nginx", "-v"]).replace("nginx version: ", "")
    uwsgi_v = "uWSGI " + version(["uwsgi", "--version"])
    try:
        rec = Recorder()
        # nginx uwsgi_pass
        port = free_port()
        conf = open(os.path.join(ROOT, "scripts/peers/conf/nginx-uwsgi.conf")).read()
        conf = conf.replace("@RUN@", run).replace("@PORT@", str(port)).replace("@UPSTREAM@", f"127.0.0.1:{rec.port}")
        with open(os.path.join(run, "nginx.conf"), "w") as f:
            f.write(conf)
        log = os.path.join(run, "nginx.log")
        procs.append(spawn(["nginx", "-p", run, "-c", os.path.join(run, "nginx.conf")], log))
        wait_port(port, procs[-1], log)
        for name, raw in REQUESTS:
            reply = http(port, raw)
            data = rec.take()
            assert data, f"nothing captured for nginx {name}: {reply[:200]!r}"
            fname = f"nginx-{name}"
            open(os.path.join(out, fname + ".bin"), "wb").write(data)
            manifest.append(
                entry(fname, data, nginx_v, "scripts/peers/conf/nginx-uwsgi.conf (uwsgi_pass, include uwsgi_params)",
                      {"raw_http_hex": raw.hex()}, "request")
            )
        # uWSGI HTTP router
        port = free_port()
        log = os.path.join(run, "router.log")
        procs.append(spawn(["uwsgi", "--plugin", "http", "--http", f"127.0.0.1:{port}",
                            "--http-to", f"127.0.0.1:{rec.port}", "--master", "--processes", "0"], log))
        wait_port(port, procs[-1], log)
        for name, raw in REQUESTS[:2]:
            reply = http(port, raw)
            data = rec.take()
            assert data, f"nothing captured for router {name}: {reply[:200]!r}"
            fname = f"uwsgi-router-{name}"
            open(os.path.join(out, fname + ".bin"), "wb").write(data)
            manifest.append(entry(fname, data, uwsgi_v + " (http router plugin)",
                                  f"uwsgi --plugin http --http 127.0.0.1:PORT --http-to 127.0.0.1:BACKEND",
                                  {"raw_http_hex": raw.hex()}, "request"))
        # uWSGI server replies
        port = free_port()
        log = os.path.join(run, "server.log")
        app = os.path.join(ROOT, "scripts/peers/apps/echo_wsgi.py")
        procs.append(spawn(["uwsgi", "--plugin", "python3,ping,signal", "--socket", f"127.0.0.1:{port}",
                            "--wsgi-file", app, "--master", "--processes", "1"], log))
        wait_port(port, procs[-1], log)
        time.sleep(0.5)
        def packet(pairs, body=b""):
            block = b"".join(len(k).to_bytes(2, "little") + k + len(v).to_bytes(2, "little") + v for k, v in pairs)
            return bytes([0]) + len(block).to_bytes(2, "little") + bytes([0]) + block + body
        base = [(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/echo"), (b"QUERY_STRING", b"a=1"),
                (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"SERVER_NAME", b"localhost"), (b"SERVER_PORT", b"80"),
                (b"HTTP_HOST", b"localhost")]
        replies = [
            ("get", packet(base)),
            ("post", packet([(b"REQUEST_METHOD", b"POST")] + base[1:] + [(b"CONTENT_LENGTH", b"5")], b"hello")),
            ("ping", bytes([100, 0, 0, 0])),
            ("signal-unregistered", bytes([110, 0, 0, 17])),
        ]
        for name, req in replies:
            s = socket.create_connection(("127.0.0.1", port), 5)
            s.sendall(req)
            data, s2 = b"", s
            s.settimeout(5)
            try:
                while True:
                    c = s2.recv(65536)
                    if not c:
                        break
                    data += c
            except socket.timeout:
                pass
            s.close()
            assert data, f"no reply from uWSGI for {name}"
            fname = f"uwsgi-server-reply-{name}"
            open(os.path.join(out, fname + ".bin"), "wb").write(data)
            manifest.append(entry(fname, data, uwsgi_v + " (python3 plugin, echo_wsgi.py)",
                                  "uwsgi --plugin python3,ping,signal --socket 127.0.0.1:PORT --wsgi-file scripts/peers/apps/echo_wsgi.py",
                                  {"uwsgi_request_hex": req.hex()}, "response"))
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(run, ignore_errors=True)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"captures": manifest}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"capture: wrote {len(manifest)} captures to {out}")


if __name__ == "__main__":
    main()
