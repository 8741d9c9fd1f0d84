"""uwsgi vectors: a reference decoder written from the protocol description
(not from the Rust crate), and the vector groups built with it."""

import re
import struct

from common import (Group, bstr, capture_input, edge, err, load_manifest, pairs, peer,
                    read_capture, sha, spec, split_peer, u16le, unbstr)

CRATE = "uwsgi-proto"
REQUEST_MODIFIERS = {0, 5, 6, 7, 8, 9, 11, 14, 15, 18, 19, 23, 24, 25, 30, 35}
HTTP_PREFIXES = [b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"OPTI", b"PATC", b"CONN", b"TRAC",
                 b"PRI "]
DEFAULT_LIMITS = {"max_vars_len": 65535, "max_vars": 512, "max_body_len": None}
U64_MAX = 2**64 - 1


class Fail(Exception):
    def __init__(self, cls, offset):
        super().__init__(cls, offset)
        self.cls = cls
        self.offset = offset


# ---------------------------------------------------------------- encoding

def var(k, v):
    if isinstance(k, str):
        k = k.encode()
    if isinstance(v, str):
        v = v.encode()
    return u16le(len(k)) + k + u16le(len(v)) + v


def block(ps):
    return b"".join(var(k, v) for k, v in ps)


def packet(ps, m1=0, m2=0, raw=None):
    body = block(ps) if raw is None else raw
    return bytes([m1]) + u16le(len(body)) + bytes([m2]) + body


# ---------------------------------------------------------------- decoding

def parse_vars(blk, base, mode):
    """The vars of a block at stream offset `base` (of the block's first byte)."""
    out = []
    p, n = 0, len(blk)
    while p < n:
        rem = n - p
        if rem <= 2:
            raise Fail("trailing-data", base + p)
        klen = struct.unpack_from("<H", blk, p)[0]
        kend = p + 2 + klen
        if mode == "compat" and kend >= n:
            p += 2  # uWSGI skips the key length and parses on from there
            continue
        if kend > n:
            raise Fail("length-overrun", base + p)
        if klen == 0:
            raise Fail("empty-key", base + p)
        if kend + 2 > n:
            raise Fail("length-overrun", base + kend)
        vlen = struct.unpack_from("<H", blk, kend)[0]
        vend = kend + 2 + vlen
        if vend > n:
            raise Fail("length-overrun", base + kend)
        out.append((blk[p + 2:kend], blk[kend + 2:vend], base + p, base + kend + 2))
        p = vend
    return out


def parse_cl(v, mode):
    if mode == "strict":
        if not all(0x30 <= c <= 0x39 for c in v):
            return None
        digits = v
    else:
        i = 0
        while i < len(v) and 0x30 <= v[i] <= 0x39:
            i += 1
        digits = v[:i]
    n = int(digits) if digits else 0
    return n if n <= U64_MAX else None


def decode_request(data, mode="strict", limits=None, pipelining=False):
    lim = dict(DEFAULT_LIMITS)
    lim.update(limits or {})
    pos, out = 0, []
    while pos < len(data):
        if out and not pipelining:
            raise Fail("unexpected-data", pos)
        if data[pos:pos + 4] in HTTP_PREFIXES:
            raise Fail("looks-like-http", pos)
        if len(data) - pos < 4:
            raise Fail("truncated", len(data))
        m1, ds, m2 = data[pos], struct.unpack_from("<H", data, pos + 1)[0], data[pos + 3]
        if ds > lim["max_vars_len"]:
            raise Fail("too-large", pos)
        if len(data) - pos - 4 < ds:
            raise Fail("truncated", len(data))
        payload = data[pos + 4:pos + 4 + ds]
        p = {"modifier1": m1, "datasize": ds, "modifier2": m2}
        if m1 not in REQUEST_MODIFIERS:
            p["payload"] = bstr(payload)
            out.append(p)
            pos += 4 + ds
            continue
        vs = parse_vars(payload, pos + 4, mode)
        if len(vs) > lim["max_vars"]:
            raise Fail("too-many", vs[lim["max_vars"]][2])
        cl = None
        for k, v, _, voff in vs:
            if k != b"CONTENT_LENGTH":
                continue
            n = parse_cl(v, mode)
            if n is None:
                raise Fail("bad-content-length", voff)
            if mode == "strict" and cl is not None and cl != n:
                raise Fail("conflicting-content-length", voff)
            cl = n
        cl = cl or 0
        if lim["max_body_len"] is not None and cl > lim["max_body_len"]:
            raise Fail("too-large", pos)
        start = pos + 4 + ds
        if len(data) - start < cl:
            raise Fail("truncated", len(data))
        body = data[start:start + cl]
        p["vars"] = pairs([(k, v) for k, v, _, _ in vs])
        p["body_len"] = cl
        p["body_sha256"] = sha(body)
        out.append(p)
        pos = start + cl
    return out


def canonical_request(data, packets):
    """Whether re-encoding the decoded packets reproduces the input bytes."""
    out = b""
    pos = 0
    for p in packets:
        if "vars" in p:
            head = packet([(unbstr(k), unbstr(v)) for k, v in p["vars"]], p["modifier1"], p["modifier2"])
            out += head + data[pos + len(head):pos + len(head) + p["body_len"]]
            pos += len(head) + p["body_len"]
        else:
            pl = unbstr(p["payload"])
            out += packet(None, p["modifier1"], p["modifier2"], raw=pl)
            pos += 4 + len(pl)
    return out == data


NO_BODY = set(range(100, 200)) - {101} | {204, 304}


def decode_response(data, head_request=False, max_head_len=65536, max_headers=100):
    """A uwsgi backend's HTTP response, read until EOF."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) >= max_head_len:
            raise Fail("too-large", 0)
        raise Fail("truncated", len(data))
    if end + 4 > max_head_len:
        raise Fail("too-large", 0)
    lines = data[:end].split(b"\r\n")
    version, status, reason = None, 200, b"OK"
    if lines[0].startswith(b"HTTP/"):
        first = lines.pop(0)
        parts = first.split(b" ", 2)
        version = parts[0].decode()
        if len(parts) < 2 or len(parts[1]) != 3 or not parts[1].isdigit():
            raise Fail("bad-header", 0)
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else b""
    headers = []
    for ln in lines:
        if b":" not in ln:
            raise Fail("bad-header", 0)
        n, v = ln.split(b":", 1)
        if not n or any(c in b" \t\x00" for c in n):
            raise Fail("bad-header", 0)
        v = v.strip(b" \t")
        if any(c in b"\x00\r\n" for c in v):
            raise Fail("bad-header", 0)
        headers.append((n, v))
    if len(headers) > max_headers:
        raise Fail("too-many", 0)
    if version is None:
        st = [v for n, v in headers if n.lower() == b"status"]
        if st:
            v = st[0]
            code, rest = v[:3], v[3:]
            if len(code) != 3 or not code.isdigit() or int(code) < 100 or (rest and rest[:1] != b" "):
                raise Fail("bad-status", 0)
            status, reason = int(code), rest[1:]
            headers = [(n, v) for n, v in headers if n.lower() != b"status"]
        elif any(n.lower() == b"location" for n, _ in headers):
            status, reason = 302, b"Found"
    cl, te = None, False
    for n, v in headers:
        if n.lower() == b"content-length":
            if not v or not v.isdigit() or int(v) > U64_MAX:
                raise Fail("bad-content-length", 0)
            if cl is not None and cl != int(v):
                raise Fail("bad-content-length", 0)
            cl = int(v)
        elif n.lower() == b"transfer-encoding":
            te = True
    if te and cl is not None:
        raise Fail("conflicting-framing", 0)
    body_start = end + 4
    rest = data[body_start:]
    if head_request or status in NO_BODY:
        cl = 0
    if cl is not None:
        if len(rest) < cl:
            raise Fail("truncated", len(data))
        if len(rest) > cl:
            raise Fail("unexpected-data", body_start + cl)
    body = rest if cl is None else rest[:cl]
    resp = {"version": version, "status": status, "reason": bstr(reason), "headers": pairs(headers),
            "body_len": len(body), "body_sha256": sha(body)}
    if version is not None:
        canon = b"%s %03d %s\r\n" % (version.encode(), status, reason)
    else:
        canon = b"Status: %03d %s\r\n" % (status, reason)
    canon += b"".join(n + b": " + v + b"\r\n" for n, v in headers) + b"\r\n"
    can = version in (None, "HTTP/1.0", "HTTP/1.1") and canon == data[:body_start]
    return resp, can


# ---------------------------------------------------------------- vectors

def request_vector(g, vid, desc, prov, data, mode=None, limits=None, pipelining=False, want=None):
    """Adds a request-stream vector whose expectation is computed by the
    reference decoder; `want` (class, offset) or "ok" cross-checks it."""
    modes = [mode] if mode else ["strict", "compat"]
    results = []
    for m in modes:
        try:
            results.append(("ok", decode_request(data, m, limits, pipelining)))
        except Fail as f:
            results.append(("error", f.cls, f.offset))
    if len(results) == 2:
        assert results[0] == results[1], (vid, "modes differ; give the mode", results)
    r = results[0]
    if want is not None:
        got = "ok" if r[0] == "ok" else (r[1], r[2])
        assert got == want, (vid, got, want)
    v = {"id": vid, "description": desc, "provenance": prov, "direction": "request"}
    if mode:
        v["mode"] = mode
    if limits:
        v["limits"] = limits
    if pipelining:
        v["options"] = {"pipelining": True}
    if r[0] == "ok":
        v["canonical"] = canonical_request(data, r[1])
        v["input_hex"] = data.hex()
        v["expect"] = {"result": "ok", "packets": r[1]}
    else:
        v["input_hex"] = data.hex()
        v["expect"] = err(r[1], r[2])
    return g.add(v)


def response_vector(g, vid, desc, prov, data, options=None, want=None):
    options = options or {}
    kw = {}
    if "head_request" in options:
        kw["head_request"] = options["head_request"]
    if "max_head_len" in options:
        kw["max_head_len"] = options["max_head_len"]
    if "max_headers" in options:
        kw["max_headers"] = options["max_headers"]
    v = {"id": vid, "description": desc, "provenance": prov, "direction": "response"}
    if options:
        v["options"] = options
    try:
        resp, can = decode_response(data, **kw)
        got = "ok"
        v["canonical"] = can
        v["input_hex"] = data.hex()
        v["expect"] = {"result": "ok", "response": resp}
    except Fail as f:
        got = (f.cls, f.offset)
        v["input_hex"] = data.hex()
        v["expect"] = err(f.cls, f.offset)
    if want is not None:
        assert got == want, (vid, got, want)
    return g.add(v)


DOC = "/work/shared/docs/uwsgi.md"


TOPICS = {"§2.2": "vars block", "§2.3": "request body", "§2.4": "responses", "§2.5": "worked example",
          "§2.6": "modifier1/modifier2 table", "§3.1": "uWSGI limits", "§3.2": "uWSGI CONTENT_LENGTH handling",
          "§3.3": "uWSGI parser quirks", "§3.4": "uWSGI magic vars", "§4.1": "nginx uwsgi_params"}


def sec(s):
    """A readable source: protocol topics and edge-case checklist items."""
    s = re.sub(r"§8 (items?)", r"edge-case checklist \1", s)
    for k, t in TOPICS.items():
        s = s.replace(k, t)
    return "uwsgi: " + s


def build():
    stream = Group("uwsgi", "stream", "Request streams: packet header, framing, pipelining, HTTP on a uwsgi socket.")
    vars_ = Group("uwsgi", "vars", "Vars blocks: layout, empty keys, overruns, trailing bytes, counts, byte content.")
    body = Group("uwsgi", "content-length", "CONTENT_LENGTH parsing and the request body, strict and compat.")
    resp = Group("uwsgi", "response", "Responses: raw HTTP heads, the CGI Status form, bodies, special packets.")
    caps = Group("uwsgi", "captures", "Traffic captured from real peers (nginx, Apache, lighttpd, the uWSGI router and server).")

    worked = [("REQUEST_METHOD", "POST"), ("PATH_INFO", "/p"), ("CONTENT_LENGTH", "5"),
              ("SERVER_PROTOCOL", "HTTP/1.1")]
    ex = packet(worked) + b"hello"
    assert ex[:4] == bytes([0, 0x53, 0, 0]) and len(ex) == 92
    request_vector(stream, "uwsgi.stream.worked-example", "The worked example: POST /p with a 5-byte body, datasize 83.",
                   spec(sec("§2.5 (worked example, verified against uWSGI 2.0.31)")), ex, want="ok")
    get = [("REQUEST_METHOD", "GET"), ("PATH_INFO", "/"), ("QUERY_STRING", ""), ("CONTENT_LENGTH", ""),
           ("SERVER_PROTOCOL", "HTTP/1.1"), ("HTTP_HOST", "example.test")]
    request_vector(stream, "uwsgi.stream.get-no-body", "A GET with an empty CONTENT_LENGTH, as nginx sends it: no body.",
                   spec(sec("§4.1 (nginx uwsgi_params)")), packet(get), want="ok")
    request_vector(stream, "uwsgi.stream.no-content-length", "No CONTENT_LENGTH var at all: the body is empty.",
                   spec(sec("§3.2")), packet([("REQUEST_METHOD", "GET"), ("PATH_INFO", "/x")]), want="ok")
    request_vector(stream, "uwsgi.stream.empty-vars-block", "modifier1 0 with datasize 0: an empty vars block decodes (uWSGI itself then refuses the request at application level).",
                   edge(sec("§8 item 3")), bytes([0, 0, 0, 0]), want="ok")
    request_vector(stream, "uwsgi.stream.empty-input", "No bytes at all: a stream closed before any request is not an error.",
                   edge(sec("§8 item 2")), b"", want="ok")
    for n in (1, 2, 3):
        request_vector(stream, "uwsgi.stream.eof-in-header-%d" % n, "The stream ends after %d header byte(s)." % n,
                       edge(sec("§8 item 2")), ex[:n], want=("truncated", n))
    request_vector(stream, "uwsgi.stream.eof-in-vars", "The stream ends inside the vars block.",
                   edge(sec("§8 item 2")), ex[:40], want=("truncated", 40))
    request_vector(stream, "uwsgi.stream.eof-after-vars", "The stream ends after the vars block, before any of the 5 body bytes.",
                   edge(sec("§8 item 2")), ex[:87], want=("truncated", 87))
    request_vector(stream, "uwsgi.stream.eof-in-body", "The stream ends after 3 of the 5 body bytes.",
                   edge(sec("§8 items 2, 20")), ex[:90], want=("truncated", 90))
    request_vector(stream, "uwsgi.stream.body-overrun", "Two bytes more than CONTENT_LENGTH announced.",
                   edge(sec("§8 item 20")), ex + b"!!", want=("unexpected-data", 92))
    request_vector(stream, "uwsgi.stream.pipelined-rejected", "A second packet after a complete request: uWSGI closes the connection and drops it; a decoder without pipelining reports it.",
                   edge(sec("§2.4, §8 item 5")), ex + packet(get), want=("unexpected-data", 92))
    request_vector(stream, "uwsgi.stream.pipelined-accepted", "The same two requests with pipelining on (uWSGI's persistent uwsgi socket).",
                   edge(sec("§2.4 (--puwsgi-socket), §8 item 5")), ex + packet(get), pipelining=True, want="ok")
    request_vector(stream, "uwsgi.stream.pipelined-then-http", "HTTP bytes after a complete pipelined request: detected at the second packet.",
                   edge(sec("§8 items 5, 7")), ex + b"GET / HTTP/1.1\r\n\r\n", pipelining=True, want=("looks-like-http", 92))
    request_vector(stream, "uwsgi.stream.pipelined-ping-after-request", "A ping packet pipelined after a request.",
                   edge(sec("§8 item 5")), ex + bytes([100, 0, 0, 0]), pipelining=True, want="ok")
    big = [("K", "v" * 65530)]
    assert len(block(big)) == 65535
    request_vector(stream, "uwsgi.stream.datasize-65535", "One var filling the largest block (2+1+2+65530 = 65535).",
                   edge(sec("§8 items 3, 17")), packet(big), want="ok")
    request_vector(stream, "uwsgi.stream.datasize-over-limit", "datasize 4097 with max_vars_len 4096 (uWSGI's default buffer-size): rejected on the header, before the block arrives.",
                   edge(sec("§3.1, §8 item 4")), bytes([0]) + u16le(4097) + bytes([0]), limits={"max_vars_len": 4096},
                   want=("too-large", 0))
    request_vector(stream, "uwsgi.stream.datasize-at-limit", "datasize exactly max_vars_len (16) is accepted.",
                   edge(sec("§8 item 4")), packet([("KEY", "012345678")]), limits={"max_vars_len": 16}, want="ok")
    request_vector(stream, "uwsgi.stream.datasize-over-limit-pipelined", "The second pipelined packet is over the limit: detected at its own header.",
                   edge(sec("§8 item 4")), packet([("A", "b")]) + bytes([0]) + u16le(600) + bytes([0]),
                   limits={"max_vars_len": 512}, pipelining=True, want=("too-large", 10))
    for name, pre in [("get", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ("post", b"POST /a HTTP/1.1\r\n\r\n"),
                      ("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), ("head", b"HEAD / HTTP/1.0\r\n\r\n"),
                      ("put", b"PUT /f HTTP/1.1\r\n\r\n"), ("delete", b"DELETE /f HTTP/1.1\r\n\r\n"),
                      ("options", b"OPTIONS * HTTP/1.1\r\n\r\n"), ("patch", b"PATCH /f HTTP/1.1\r\n\r\n"),
                      ("connect", b"CONNECT h:443 HTTP/1.1\r\n\r\n"), ("trace", b"TRACE / HTTP/1.1\r\n\r\n")]:
        request_vector(stream, "uwsgi.stream.http-on-uwsgi-" + name,
                       "An HTTP client on a uwsgi socket (%r): a specific error, not a 21 KiB datasize wait." % pre[:4].decode(),
                       edge(sec("§8 item 7")), pre, want=("looks-like-http", 0))
    request_vector(stream, "uwsgi.stream.get-prefix-short", "Only 3 bytes 'GET': too short to tell, the stream is truncated.",
                   edge(sec("§8 item 7")), b"GET", want=("truncated", 3))
    request_vector(stream, "uwsgi.stream.raw-http-response-on-request-stream", "A raw HTTP response sent to a server: 'HTTP' reads as modifier1 72, datasize 0x5454; the stream ends first.",
                   edge(sec("§2.4, §8 item 8")), b"HTTP/1.1 200 OK\r\n\r\n", want=("truncated", 19))
    for m1 in (5, 6, 7, 8, 9, 11, 14, 15, 18, 19, 23, 24, 25, 30, 35):
        request_vector(stream, "uwsgi.stream.request-modifier1-%d" % m1, "modifier1 %d carries vars and a body like modifier1 0." % m1,
                       spec(sec("§2.6")), packet([("PATH_INFO", "/m"), ("CONTENT_LENGTH", "2")], m1=m1) + b"ok", want="ok")
    for m2 in (1, 127, 255):
        request_vector(stream, "uwsgi.stream.modifier2-%d" % m2, "modifier2 %d is carried through untouched." % m2,
                       spec(sec("§2.6, §8 item 6")), packet([("PATH_INFO", "/")], m2=m2), want="ok")
    for m1, m2, pl, what in [(100, 0, b"", "ping"), (100, 1, b"", "pong"), (110, 17, b"", "signal 17"),
                             (255, 1, b"", "generic response, ok"), (173, 0, b"\x03\x00abc\x00\x00\x02\x00de", "RPC array payload"),
                             (224, 0, block([("key", "example.test"), ("address", "127.0.0.1:3031")]), "subscription dict"),
                             (201, 9, b"\x00\xff\x10", "an unregistered modifier1"), (72, 80, b"", "modifier1 72 ('H') with datasize 0")]:
        request_vector(stream, "uwsgi.stream.packet-m%d-%d" % (m1, m2), "A standalone packet: %s. It has no vars view and no body." % what,
                       spec(sec("§2.6, §8 items 6, 27")), packet(None, m1, m2, raw=pl), want="ok")

    # vars blocks
    request_vector(vars_, "uwsgi.vars.empty-key", "A zero-length key: uWSGI rejects the whole request ('uwsgi key cannot be null').",
                   spec(sec("§2.2, §8 item 9")), packet(None, raw=b"\x00\x00\x01\x00v"), want=("empty-key", 4))
    request_vector(vars_, "uwsgi.vars.empty-key-second", "The second var has an empty key: offset of its key length.",
                   edge(sec("§8 item 9")), packet(None, raw=var("A", "b") + b"\x00\x00\x00\x00"), want=("empty-key", 10))
    request_vector(vars_, "uwsgi.vars.empty-value-middle", "An empty value between two vars.",
                   edge(sec("§8 item 10")), packet([("A", "1"), ("EMPTY", ""), ("B", "2")]), want="ok")
    request_vector(vars_, "uwsgi.vars.empty-value-last", "An empty value as the very last var.",
                   edge(sec("§2.2, §8 item 10")), packet([("A", "1"), ("EMPTY", "")]), want="ok")
    request_vector(vars_, "uwsgi.vars.value-exactly-at-end", "A value length reaching exactly the end of the block.",
                   edge(sec("§8 item 11")), packet([("KEY", "value")]), want="ok")
    request_vector(vars_, "uwsgi.vars.value-one-too-long", "A value length one byte past the end of the block.",
                   edge(sec("§8 item 11")), packet(None, raw=b"\x03\x00KEY\x06\x00value"), want=("length-overrun", 9))
    ko = packet(None, raw=b"\x09\x00KEY")
    request_vector(vars_, "uwsgi.vars.key-one-too-long-strict", "A key length past the end of the block (strict).",
                   edge(sec("§8 item 11")), ko, mode="strict", want=("length-overrun", 4))
    request_vector(vars_, "uwsgi.vars.key-one-too-long-compat", "The same block in compat mode: uWSGI skips the key length and reads 'KE' … as the next var, which then overruns.",
                   edge(sec("§3.3, §8 item 12")), ko, mode="compat")
    q1 = packet(None, raw=var("A", "b") + b"\xff\xff\x01\x00\x4b\x00\x00")
    request_vector(vars_, "uwsgi.vars.q1-overrun-tail-strict", "The overrun tail ff ff 01 00 4b 00 00 is rejected by a strict parser.",
                   edge(sec("§8 item 12")), q1, mode="strict", want=("length-overrun", 10))
    request_vector(vars_, "uwsgi.vars.q1-overrun-tail-compat", "Compat mode reads the overrun tail ff ff 01 00 4b 00 00 as the var K=\"\", as uWSGI 2.0 does; re-encoding drops the skipped length, so the encoding is not canonical.",
                   edge(sec("§3.3, §8 item 12 (uWSGI accepts it)")), q1, mode="compat", want="ok")
    for n, raw in [(1, b"\x05"), (2, b"\x05\x00")]:
        request_vector(vars_, "uwsgi.vars.trailing-%d" % n, "%d trailing byte(s) after the last var." % n,
                       edge(sec("§8 item 11")), packet(None, raw=var("A", "b") + raw), want=("trailing-data", 10))
    kend = packet(None, raw=var("A", "b") + b"\x03\x00KEY")
    request_vector(vars_, "uwsgi.vars.key-to-end-no-value-length-strict", "A key reaching the end of the block with no value length (strict).",
                   edge(sec("§8 item 11")), kend, mode="strict", want=("length-overrun", 15))
    request_vector(vars_, "uwsgi.vars.key-to-end-no-value-length-compat", "The same block in compat mode: the key length is skipped and the key bytes re-read as a var.",
                   edge(sec("§3.3, §8 item 11")), kend, mode="compat")
    request_vector(vars_, "uwsgi.vars.datasize-1", "datasize 1: a block that cannot hold a key length and a key.",
                   edge(sec("§8 item 3")), packet(None, raw=b"\x00"), want=("trailing-data", 4))
    request_vector(vars_, "uwsgi.vars.datasize-2", "datasize 2: a key length and nothing else.",
                   edge(sec("§8 item 3")), packet(None, raw=b"\x01\x00"), want=("trailing-data", 4))
    request_vector(vars_, "uwsgi.vars.datasize-3-strict", "datasize 3: a 1-byte key with no value length (strict).",
                   edge(sec("§8 item 3")), packet(None, raw=b"\x01\x00A"), mode="strict", want=("length-overrun", 7))
    request_vector(vars_, "uwsgi.vars.datasize-3-compat", "datasize 3 in compat mode: the key length is skipped and 1 byte trails.",
                   edge(sec("§8 item 3")), packet(None, raw=b"\x01\x00A"), mode="compat", want=("trailing-data", 6))
    dup = [("HTTP_COOKIE", "a=1"), ("REMOTE_ADDR", "10.0.0.1"), ("HTTP_COOKIE", "b=2"), ("REMOTE_ADDR", "10.0.0.2")]
    request_vector(vars_, "uwsgi.vars.duplicates-kept-in-order", "Duplicate keys (REMOTE_ADDR, HTTP_COOKIE) are kept, in wire order.",
                   peer(sec("§8 item 13; nginx 1.22 sends duplicate vars"), "nginx", "1.22.1", "uwsgi_pass"), packet(dup), want="ok")
    request_vector(vars_, "uwsgi.vars.content-length-duplicate-equal", "Two equal CONTENT_LENGTH vars.",
                   edge(sec("§8 item 13")), packet([("CONTENT_LENGTH", "2"), ("CONTENT_LENGTH", "2")]) + b"ab", want="ok")
    cl2 = packet([("CONTENT_LENGTH", "2"), ("CONTENT_LENGTH", "5")]) + b"abcde"
    request_vector(vars_, "uwsgi.vars.content-length-conflict-strict", "Two different CONTENT_LENGTH vars (a smuggling vector): rejected at the second value.",
                   edge(sec("§8 items 13, 19")), cl2, mode="strict", want=("conflicting-content-length", 41))
    request_vector(vars_, "uwsgi.vars.content-length-conflict-compat", "Compat mode: the last CONTENT_LENGTH wins, as in uWSGI.",
                   edge(sec("§3.2, §8 item 13")), cl2, mode="compat", want="ok")
    many = [("V%03d" % i, "x") for i in range(129)]
    request_vector(vars_, "uwsgi.vars.count-128-at-limit", "128 vars with max_vars 128 (uWSGI's limit).",
                   edge(sec("§8 item 14")), packet(many[:128]), limits={"max_vars": 128}, want="ok")
    request_vector(vars_, "uwsgi.vars.count-129-over-limit", "129 vars with max_vars 128: the 129th var is one too many.",
                   edge(sec("§8 item 14")), packet(many), limits={"max_vars": 128}, want=("too-many", 4 + 128 * 9))
    many2 = [("K%04d" % i, "") for i in range(513)]
    request_vector(vars_, "uwsgi.vars.count-512-default", "512 vars: the default limit.",
                   edge(sec("§8 item 14")), packet(many2[:512]), want="ok")
    request_vector(vars_, "uwsgi.vars.count-513-default", "513 vars under the default limit of 512.",
                   edge(sec("§8 item 14")), packet(many2), want=("too-many", 4 + 512 * 9))
    many3 = [("k%d" % i, "") for i in range(1000)]
    request_vector(vars_, "uwsgi.vars.count-1000", "1000 vars (gunicorn's limit) accepted with max_vars 1000.",
                   edge(sec("§8 item 14")), packet(many3), limits={"max_vars": 1000}, want="ok")
    request_vector(vars_, "uwsgi.vars.malformed-after-limit", "A malformed var after max_vars good ones: the first problem in wire order is reported.",
                   edge(sec("§8 item 14")), packet(None, raw=block(many[:2]) + b"\x00\x00\x00\x00"), limits={"max_vars": 2},
                   want=("empty-key", 22))
    for vid, k, v, d in [("nul", "X_NUL", b"a\x00b", "a NUL byte"), ("crlf", "X_CRLF", b"a\r\nInjected: 1", "CR LF"),
                         ("high-bytes", "X_HIGH", bytes(range(0x80, 0x100)), "bytes 0x80-0xFF"),
                         ("invalid-utf8", "X_BAD", b"\xc3\x28\xff", "invalid UTF-8"),
                         ("utf8", "PATH_INFO", "/caf\u00e9/\u65e5\u672c".encode(), "valid UTF-8 (byte lengths, not char lengths)")]:
        request_vector(vars_, "uwsgi.vars.value-" + vid, "A value with %s stays bytes." % d,
                       edge(sec("§2.2, §8 item 15")), packet([(k, v)]), want="ok")
    request_vector(vars_, "uwsgi.vars.key-binary", "A key with NUL and 0xFF bytes is still a key.",
                   edge(sec("§8 item 15")), packet([(b"K\x00\xff", "v")]), want="ok")
    request_vector(vars_, "uwsgi.vars.key-lowercase-and-dash", "Lower-case and dashed keys are distinct, case-sensitive keys.",
                   edge(sec("§8 item 16")), packet([("http_host", "a"), ("HTTP_HOST", "b"), ("X-Dash", "c")]), want="ok")
    request_vector(vars_, "uwsgi.vars.key-256", "A 256-byte key (nginx once truncated keys at 255).",
                   edge(sec("§8 item 16")), packet([("K" * 256, "v")]), want="ok")
    request_vector(vars_, "uwsgi.vars.key-65531", "The longest key that fits a block: 2+65531+2+0 = 65535.",
                   edge(sec("§8 items 16, 17")), packet([("K" * 65531, "")]), want="ok")
    request_vector(vars_, "uwsgi.vars.cgi-name-with-space", "CONTENT_TYPE with surrounding spaces is kept verbatim.",
                   edge(sec("§8 item 18")), packet([("CONTENT_TYPE", " text/plain ")]), want="ok")
    request_vector(vars_, "uwsgi.vars.uwsgi-magic-vars", "UWSGI_* magic vars are ordinary vars at this layer.",
                   spec(sec("§3.4, §8 item 30")), packet([("UWSGI_SCRIPT", "app"), ("UWSGI_CHDIR", "/srv")]), want="ok")

    # CONTENT_LENGTH
    def clp(val, body_bytes=b""):
        return packet([("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", val)]) + body_bytes
    cl_off = 4 + 2 + 14 + 2 + 4 + 2 + 14 + 2
    for name, val, b in [("empty", "", b""), ("zero", "0", b""), ("five", "5", b"hello"), ("leading-zero", "05", b"hello")]:
        request_vector(body, "uwsgi.content-length." + name, "CONTENT_LENGTH %r." % val,
                       edge(sec("§8 item 19")), clp(val, b), want="ok")
    for name, val, cbody in [("plus", "+5", b""), ("minus", "-1", b""), ("digits-then-letters", "12abc", b"x" * 12),
                             ("leading-space", " 5", b""), ("trailing-space", "5 ", b"hello"), ("exponent", "1e3", b"x")]:
        request_vector(body, "uwsgi.content-length.%s-strict" % name, "CONTENT_LENGTH %r is rejected in strict mode." % val,
                       edge(sec("§8 item 19")), clp(val, cbody), mode="strict", want=("bad-content-length", cl_off))
        request_vector(body, "uwsgi.content-length.%s-compat" % name,
                       "CONTENT_LENGTH %r in compat mode: uWSGI reads the leading digits (%d)." % (val, parse_cl(val.encode(), "compat")),
                       edge(sec("§3.2, §8 item 19")), clp(val, cbody), mode="compat", want="ok")
    request_vector(body, "uwsgi.content-length.u64-max-over-max-body", "CONTENT_LENGTH 18446744073709551615 with max_body_len 1048576: rejected when the head is decoded, nothing pre-allocated.",
                   edge(sec("§8 items 19, 20")), clp("18446744073709551615"), limits={"max_body_len": 1048576},
                   want=("too-large", 0))
    request_vector(body, "uwsgi.content-length.overflow", "A 20-digit CONTENT_LENGTH that overflows 64 bits: rejected in both modes.",
                   edge(sec("§8 item 19")), clp("18446744073709551616"), want=("bad-content-length", cl_off))
    request_vector(body, "uwsgi.content-length.over-max-body", "CONTENT_LENGTH 11 with max_body_len 10.",
                   edge(sec("§8 item 20 (limit-post)")), clp("11", b"x" * 11), limits={"max_body_len": 10}, want=("too-large", 0))
    request_vector(body, "uwsgi.content-length.at-max-body", "CONTENT_LENGTH 10 with max_body_len 10.",
                   edge(sec("§8 item 20")), clp("10", b"x" * 10), limits={"max_body_len": 10}, want="ok")
    request_vector(body, "uwsgi.content-length.body-short", "A body 3 bytes short of CONTENT_LENGTH, then EOF.",
                   edge(sec("§8 item 20")), clp("8", b"hello"), want=("truncated", cl_off + 1 + 5))
    request_vector(body, "uwsgi.content-length.chunked-with-length", "HTTP_TRANSFER_ENCODING: chunked with CONTENT_LENGTH (nginx de-chunks): the length is trusted.",
                   spec(sec("§8 item 21")), packet([("HTTP_TRANSFER_ENCODING", "chunked"), ("CONTENT_LENGTH", "3")]) + b"abc", want="ok")
    request_vector(body, "uwsgi.content-length.binary-body", "A 256-byte body with every byte value.",
                   edge(sec("§8 item 20")), clp("256", bytes(range(256))), want="ok")
    request_vector(body, "uwsgi.content-length.body-with-vars-in-one-read", "Header, vars and body arrive together (one read).",
                   edge(sec("§2.3, §8 item 5")), clp("4", b"data"), want="ok")

    # responses
    R = response_vector
    R(resp, "uwsgi.response.worked-example-reply", "uWSGI's reply to the worked example: HTTP/1.1 status line, no Content-Length, body until EOF.",
      spec(sec("§2.5")), b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello", want="ok")
    R(resp, "uwsgi.response.http10-status-line", "HTTP/1.0 status line (no SERVER_PROTOCOL in the request).",
      spec(sec("§2.4")), b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nx", want="ok")
    R(resp, "uwsgi.response.content-length", "A body delimited by Content-Length.",
      edge(sec("§8 item 26")), b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno", want="ok")
    R(resp, "uwsgi.response.content-length-zero", "Content-Length: 0: the response ends with the head.",
      edge(sec("§8 item 26")), b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", want="ok")
    R(resp, "uwsgi.response.content-length-extra", "Bytes after the Content-Length body are flagged.",
      edge(sec("§8 item 26")), b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nnoXX", want=("unexpected-data", 40))
    R(resp, "uwsgi.response.content-length-short", "EOF before Content-Length bytes arrived.",
      edge(sec("§8 item 26")), b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", want=("truncated", 40))
    R(resp, "uwsgi.response.cgi-status", "The CGI form 'Status: 404 Not Found' with no status line (uWSGI --cgi-mode, nginx accepts it).",
      spec(sec("§2.4, §8 item 25")), b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nmissing", want="ok")
    R(resp, "uwsgi.response.cgi-status-not-first", "A Status header after other headers: same meaning, not a canonical encoding.",
      edge(sec("§8 item 25")), b"Content-Type: text/plain\r\nStatus: 201 Created\r\n\r\n", want="ok")
    R(resp, "uwsgi.response.location-only", "Location and no status: 302.",
      spec(sec("§8 item 25")), b"Location: /next\r\n\r\n", want="ok")
    R(resp, "uwsgi.response.no-status", "Headers with no status at all: 200.",
      spec(sec("§8 item 25")), b"Content-Type: text/html\r\n\r\n<p>", want="ok")
    R(resp, "uwsgi.response.bad-status-letters", "Status: abc is not a status.",
      edge(sec("§8 item 25")), b"Status: abc\r\n\r\n", want=("bad-status", 0))
    R(resp, "uwsgi.response.bad-status-low", "Status: 099 is below 100.",
      edge(sec("§8 item 25")), b"Status: 099 Low\r\n\r\n", want=("bad-status", 0))
    R(resp, "uwsgi.response.bad-status-no-space", "Status: 200OK lacks the space before the reason.",
      edge(sec("§8 item 25")), b"Status: 200OK\r\n\r\n", want=("bad-status", 0))
    R(resp, "uwsgi.response.cl-and-te", "Content-Length and Transfer-Encoding together (a smuggling vector).",
      edge(sec("§8 item 25")), b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
      want=("conflicting-framing", 0))
    R(resp, "uwsgi.response.bad-content-length", "Content-Length: 1x is not a number.",
      edge(sec("§8 item 25")), b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", want=("bad-content-length", 0))
    R(resp, "uwsgi.response.conflicting-content-length", "Two different Content-Length headers.",
      edge(sec("§8 item 25")), b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      want=("bad-content-length", 0))
    R(resp, "uwsgi.response.nul-in-header-value", "A NUL byte in a header value.",
      edge(sec("§8 item 25")), b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", want=("bad-header", 0))
    R(resp, "uwsgi.response.space-in-header-name", "A space inside a header name.",
      edge(sec("§8 item 25")), b"HTTP/1.1 200 OK\r\nX A: b\r\n\r\n", want=("bad-header", 0))
    R(resp, "uwsgi.response.too-many-headers", "Four headers with max_headers 3.",
      edge(sec("§8 item 25")), b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", options={"max_headers": 3},
      want=("too-many", 0))
    R(resp, "uwsgi.response.head-over-limit", "A head longer than max_head_len 64 (nginx's uwsgi_buffer_size analogue).",
      edge(sec("§8 item 25")), b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 80 + b"\r\n\r\n", options={"max_head_len": 64},
      want=("too-large", 0))
    R(resp, "uwsgi.response.truncated-head", "EOF inside the head.",
      edge(sec("§8 item 25")), b"HTTP/1.1 200 OK\r\nContent-Ty", want=("truncated", 27))
    R(resp, "uwsgi.response.head-request", "The answer to a HEAD request has no body, whatever Content-Length says.",
      edge(sec("§8 item 26")), b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", options={"head_request": True}, want="ok")
    for code in (204, 304):
        R(resp, "uwsgi.response.status-%d-no-body" % code, "A %d response has no body." % code,
          edge(sec("§8 item 26")), b"HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n" % code, want="ok")
    R(resp, "uwsgi.response.status-101-tunnel", "101 Switching Protocols: the rest of the stream is the body (a raw tunnel).",
      edge(sec("§8 item 26")), b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello", want="ok")

    # captures
    for c in load_manifest(CRATE):
        name = c["file"]
        data = read_capture(CRATE, name)
        assert sha(data) == c["sha256"] and len(data) == c["len"], name
        stem = name[:-4]
        pname, pver = split_peer(c["peer"])
        prov = peer("uwsgi-proto/vectors/captures/" + name, pname, pver, c["config"])
        v = {"id": "uwsgi.capture." + stem, "provenance": prov, "direction": c["direction"]}
        v.update(capture_input(CRATE, name, data))
        if c["direction"] == "request":
            pk = decode_request(data)
            assert len(pk) == 1, name
            p = pk[0]
            assert p["modifier1"] == c["modifier1"] and p["datasize"] == c["datasize"], name
            assert p["vars"] == c["vars"], name
            assert p["body_len"] == c["body_len"] and p["body_sha256"] == c["body_sha256"], name
            v["description"] = "What %s sent to a uwsgi backend (%d vars, %d-byte body)." % (
                c["peer"], len(p["vars"]), p["body_len"])
            v["canonical"] = canonical_request(data, pk)
            v["expect"] = {"result": "ok", "packets": pk}
        elif len(data) >= 4 and data[0] in (100, 110) or (len(data) == 4 and data[0] not in b"HS"):
            v["description"] = "uWSGI's packet reply to %s." % c["request"].get("uwsgi_request_hex", "a special packet")
            pk = decode_request(data)
            v["canonical"] = canonical_request(data, pk)
            v["expect"] = {"result": "ok", "packets": pk}
        else:
            r, can = decode_response(data)
            v["description"] = "uWSGI's raw HTTP reply (status %d, %d headers, %d-byte body)." % (
                r["status"], len(r["headers"]), r["body_len"])
            v["canonical"] = can
            v["expect"] = {"result": "ok", "response": r}
        caps.add(v)
    return [stream, vars_, body, resp, caps]


def seeds(groups):
    """Fuzz corpus seeds: every small vector input (≤ 8 KiB), deduplicated."""
    packet_seeds, stream_seeds, seen = [], [], set()
    for g in groups:
        for v in g.vectors:
            if "input_hex" not in v:
                continue
            data = bytes.fromhex(v["input_hex"])
            if len(data) > 8192 or data in seen:
                continue
            seen.add(data)
            name = v["id"].split(".", 1)[1]
            if v["direction"] == "request":
                packet_seeds.append((name, data))
            # uwsgi_stream: two bytes choose the read splits, the rest is the stream
            stream_seeds.append((name, bytes([len(data) % 251 + 1, 0]) + data))
    return {"uwsgi_packet": packet_seeds[:150], "uwsgi_stream": stream_seeds[:150]}
