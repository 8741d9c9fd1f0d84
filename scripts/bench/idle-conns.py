#!/usr/bin/env python3
"""Opens N idle TCP connections to a backend and holds them (scale test), or
sends one probe request and checks the hello answer.

usage: idle-conns.py HOST PORT N [--hold SECONDS] [--send HEX]
       idle-conns.py HOST PORT 0 --probe uwsgi|fcgi
Prints `open N` once every connection is established (and has sent the
--send bytes, e.g. the first bytes of a request), then holds them."""
import resource
import socket
import struct
import sys
import time


def uwsgi_probe(s):
    pairs = {b"REQUEST_METHOD": b"GET", b"REQUEST_URI": b"/", b"PATH_INFO": b"/",
             b"QUERY_STRING": b"", b"SERVER_PROTOCOL": b"HTTP/1.1"}
    body = b"".join(struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
                    for k, v in pairs.items())
    s.sendall(struct.pack("<BHB", 0, len(body), 0) + body)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    if not (data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"\r\n\r\nhello\n")):
        raise SystemExit(f"uwsgi probe: unexpected answer {data[:200]!r}")


def fcgi_record(rtype, content):
    pad = -len(content) % 8
    return struct.pack(">BBHHBB", 1, rtype, 1, len(content), pad, 0) + content + b"\0" * pad


def fcgi_probe(s):
    params = b""
    for k, v in ((b"REQUEST_METHOD", b"GET"), (b"SCRIPT_NAME", b"/"), (b"QUERY_STRING", b"")):
        params += bytes([len(k), len(v)]) + k + v
    s.sendall(fcgi_record(1, struct.pack(">HB5x", 1, 0)) + fcgi_record(4, params)
              + fcgi_record(4, b"") + fcgi_record(5, b""))
    data = b""
    stdout = b""
    while True:
        while len(data) >= 8:
            _, rtype, _, clen, pad, _ = struct.unpack(">BBHHBB", data[:8])
            if len(data) < 8 + clen + pad:
                break
            content, data = data[8:8 + clen], data[8 + clen + pad:]
            if rtype == 6:
                stdout += content
            elif rtype == 3:
                if not stdout.endswith(b"\r\n\r\nhello\n") or b"200" not in stdout.split(b"\r\n")[0]:
                    raise SystemExit(f"fcgi probe: unexpected STDOUT {stdout[:200]!r}")
                return
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit(f"fcgi probe: closed before END_REQUEST, STDOUT {stdout[:200]!r}")
        data += chunk


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        raise SystemExit(__doc__)
    host, port, n = args[0], int(args[1]), int(args[2])
    hold, probe, send = 60.0, None, b""
    rest = args[3:]
    while rest:
        flag, val, rest = rest[0], rest[1], rest[2:]
        if flag == "--hold":
            hold = float(val)
        elif flag == "--probe":
            probe = val
        elif flag == "--send":
            send = bytes.fromhex(val)
        else:
            raise SystemExit(f"unknown argument {flag}")
    if probe:
        with socket.create_connection((host, port), timeout=10) as s:
            {"uwsgi": uwsgi_probe, "fcgi": fcgi_probe}[probe](s)
        print("ok")
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    conns = []
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=10)
        if send:
            s.sendall(send)
        conns.append(s)
    print(f"open {len(conns)}", flush=True)
    time.sleep(hold)


if __name__ == "__main__":
    main()
