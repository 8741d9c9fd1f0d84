"""FastCGI vectors: a reference decoder written from the FastCGI 1.0
specification (not from the Rust crate), and the vector groups built with it."""

import struct

from common import (Group, bstr, capture_input, edge, err, load_manifest, pairs, peer,
                    read_capture, sha, spec, unbstr)

CRATE = "fastcgi-proto"
BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR, DATA, GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = range(1, 12)
FIXED = {BEGIN: 8, ABORT: 0, END: 8, UNKNOWN_TYPE: 8}
RESPONDER, AUTHORIZER, FILTER = 1, 2, 3
COMPLETE, CANT_MPX_CONN, OVERLOADED, UNKNOWN_ROLE = 0, 1, 2, 3
DEFAULT_LIMITS = {"max_params_len": 1 << 20, "max_params": 4096}
INLINE_CONTENT = 512


class Fail(Exception):
    def __init__(self, cls, offset):
        super().__init__(cls, offset)
        self.cls = cls
        self.offset = offset


# ---------------------------------------------------------------- encoding

def rec(ty, rid, content=b"", pad=None, version=1, reserved=0, pad_byte=0):
    if pad is None:
        pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", version, ty, rid, len(content), pad, reserved) + content + bytes([pad_byte]) * pad


def nvlen(n, wide=False):
    if n < 128 and not wide:
        return bytes([n])
    return struct.pack(">I", n | 0x80000000)


def nv(name, value, wide_name=False, wide_value=False):
    if isinstance(name, str):
        name = name.encode()
    if isinstance(value, str):
        value = value.encode()
    return nvlen(len(name), wide_name) + nvlen(len(value), wide_value) + name + value


def nvs(ps):
    return b"".join(nv(k, v) for k, v in ps)


def begin(rid, role=RESPONDER, flags=0):
    return rec(BEGIN, rid, struct.pack(">HB5x", role, flags))


def end(rid, app=0, ps=COMPLETE):
    return rec(END, rid, struct.pack(">IB3x", app, ps))


def params(rid, ps, split=None):
    """PARAMS records carrying the pairs (split at the given byte offsets), then the empty one."""
    blk = nvs(ps) if not isinstance(ps, bytes) else ps
    cuts = [0] + (split or []) + [len(blk)]
    out = b"".join(rec(PARAMS, rid, blk[a:b]) for a, b in zip(cuts, cuts[1:]) if b > a)
    return out + rec(PARAMS, rid)


def stream(ty, rid, data, chunk=None):
    out = b""
    chunk = chunk or 65528
    for i in range(0, len(data), chunk):
        out += rec(ty, rid, data[i:i + chunk])
    return out + rec(ty, rid)


# ---------------------------------------------------------------- decoding

def read_nvlen(b, p):
    if p >= len(b):
        return None
    if b[p] & 0x80 == 0:
        return b[p], 1
    if p + 4 > len(b):
        return None
    return struct.unpack_from(">I", b, p)[0] & 0x7FFFFFFF, 4


def parse_params(blk, limits=None):
    """A complete name-value block. Offsets are within the block."""
    lim = dict(DEFAULT_LIMITS)
    lim.update(limits or {})
    if len(blk) > lim["max_params_len"]:
        raise Fail("too-large", 0)
    out, p = [], 0
    while p < len(blk):
        budget = lim["max_params_len"] - p
        a = read_nvlen(blk, p)
        if a is None:
            raise Fail("length-overrun", p)
        nl, an = a
        if nl > budget:
            raise Fail("too-large", p)
        b = read_nvlen(blk, p + an)
        if b is None:
            raise Fail("length-overrun", p)
        vl, bn = b
        if vl > budget or nl + vl + an + bn > budget:
            raise Fail("too-large", p + an)
        start = p + an + bn
        if start + nl + vl > len(blk):
            raise Fail("length-overrun", p)
        if len(out) >= lim["max_params"]:
            raise Fail("too-many", p)
        out.append((blk[start:start + nl], blk[start + nl:start + nl + vl]))
        p = start + nl + vl
    return out


def canonical_params(ps):
    return nvs(ps)


def iter_records(data):
    """Yields (offset, version, type, id, content, padding bytes, reserved);
    raises Fail when it reaches a framing error, so that problems in earlier
    records are reported first."""
    p = 0
    while p < len(data):
        if len(data) - p < 8:
            raise Fail("truncated", len(data))
        ver, ty, rid, clen, plen, res = struct.unpack_from(">BBHHBB", data, p)
        if ver != 1:
            raise Fail("bad-version", p)
        if ty in FIXED and FIXED[ty] != clen:
            raise Fail("bad-record-body", p)
        if len(data) - p < 8 + clen + plen:
            raise Fail("truncated", len(data))
        content = data[p + 8:p + 8 + clen]
        padding = data[p + 8 + clen:p + 8 + clen + plen]
        yield (p, ver, ty, rid, content, padding, res)
        p += 8 + clen + plen


def parse_records(data):
    return list(iter_records(data))


def record_json(r):
    _, ver, ty, rid, content, padding, _ = r
    j = {"version": ver, "type": ty, "request_id": rid, "content_length": len(content),
         "padding_length": len(padding)}
    if len(content) <= INLINE_CONTENT:
        j["content_hex"] = content.hex()
    else:
        j["content_sha256"] = sha(content)
    if ty == BEGIN:
        role, flags = struct.unpack_from(">HB", content)
        j["begin_request"] = {"role": role, "flags": flags}
    elif ty == END:
        app, ps = struct.unpack_from(">IB", content)
        j["end_request"] = {"app_status": app, "protocol_status": ps}
    elif ty == UNKNOWN_TYPE:
        j["unknown_type"] = content[0]
    return j


def canonical_records(recs):
    return all(r[6] == 0 and all(b == 0 for b in r[5]) for r in recs)


def merge(events, ev):
    last = events[-1] if events else None
    if (ev["event"] in ("stdin", "data", "stdout", "stderr") and last and last["event"] == ev["event"]
            and last["id"] == ev["id"]):
        last["_buf"] += ev["_buf"]
    else:
        events.append(ev)


def finish_events(events):
    for e in events:
        if "_buf" in e:
            b = e.pop("_buf")
            e["len"] = len(b)
            e["sha256"] = sha(b)
    return events


def server(data, limits=None, options=None):
    """The application side: events, and the replies the connection itself
    sends (management answers, rejected BEGIN_REQUESTs). The application ends
    each request (END_REQUEST, not listed) once its input is complete or it
    was aborted; without KEEP_CONN it then closes the connection."""
    opt = {"max_concurrent_requests": 1, "max_conns": 1}
    opt.update(options or {})
    lim = dict(DEFAULT_LIMITS)
    lim.update(limits or {})
    recs = iter_records(data)
    events, replies, active, closed = [], [], {}, False
    for off, _, ty, rid, content, _, _ in recs:
        if closed:
            raise Fail("unexpected-data", off)
        if rid == 0:
            if ty == GET_VALUES:
                known = {b"FCGI_MAX_CONNS": str(opt["max_conns"]).encode(),
                         b"FCGI_MAX_REQS": str(opt["max_concurrent_requests"]).encode(),
                         b"FCGI_MPXS_CONNS": b"1" if opt["max_concurrent_requests"] > 1 else b"0"}
                ans = []
                for n, _ in leading_pairs(content):
                    if n in known and n not in [a for a, _ in ans]:
                        ans.append((n, known[n]))
                replies.append({"type": GET_VALUES_RESULT, "request_id": 0, "content_hex": nvs(ans).hex()})
            else:
                replies.append({"type": UNKNOWN_TYPE, "request_id": 0,
                                "content_hex": (bytes([ty]) + bytes(7)).hex()})
            continue
        if ty == BEGIN:
            role, flags = struct.unpack_from(">HB", content)
            if rid in active:
                raise Fail("protocol-violation", off)
            if len(active) >= opt["max_concurrent_requests"]:
                ps = CANT_MPX_CONN if opt["max_concurrent_requests"] <= 1 else OVERLOADED
                replies.append({"type": END, "request_id": rid, "content_hex": struct.pack(">IB3x", 0, ps).hex()})
                continue
            if role not in (1, 2, 3):
                replies.append({"type": END, "request_id": rid,
                                "content_hex": struct.pack(">IB3x", 0, UNKNOWN_ROLE).hex()})
                continue
            active[rid] = {"role": role, "keep": bool(flags & 1), "phase": "params", "buf": b"",
                           "stdin_done": False, "data_done": False}
            events.append({"event": "begin", "id": rid, "role": role, "keep_conn": bool(flags & 1)})
            continue
        req = active.get(rid)
        if req is None:
            continue
        done = False
        if ty == ABORT:
            events.append({"event": "abort", "id": rid})
            done = True
        elif ty == PARAMS:
            if req["phase"] != "params":
                raise Fail("protocol-violation", off)
            if not content:
                try:
                    ps = parse_params(req["buf"], lim)
                except Fail as f:
                    raise Fail(f.cls, off)
                req["phase"] = "body"
                events.append({"event": "params", "id": rid, "pairs": pairs(ps)})
            else:
                if len(req["buf"]) + len(content) > lim["max_params_len"]:
                    raise Fail("too-large", off)
                req["buf"] += content
                try:
                    parse_params_prefix(req["buf"], lim)
                except Fail as f:
                    raise Fail(f.cls, off)
        elif ty in (STDIN, DATA):
            is_data = ty == DATA
            if req["phase"] != "body" or (is_data and req["role"] != FILTER):
                raise Fail("protocol-violation", off)
            key = "data_done" if is_data else "stdin_done"
            if req[key]:
                if content:
                    raise Fail("protocol-violation", off)
                continue
            name = "data" if is_data else "stdin"
            if not content:
                req[key] = True
                events.append({"event": name + "-end", "id": rid})
            else:
                merge(events, {"event": name, "id": rid, "_buf": content})
            done = req["stdin_done"] and (req["role"] != FILTER or req["data_done"])
        elif ty in (END, STDOUT, STDERR, GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE):
            raise Fail("protocol-violation", off)
        if done:
            keep = req["keep"]
            del active[rid]
            if not keep:
                closed = True
    return finish_events(events), replies


def leading_pairs(blk):
    """The well-formed pairs at the start of a block, up to the first bad one."""
    p, out = 0, []
    while p < len(blk):
        a = read_nvlen(blk, p)
        b = a and read_nvlen(blk, p + a[1])
        if not b:
            break
        start = p + a[1] + b[1]
        if start + a[0] + b[0] > len(blk):
            break
        out.append((blk[start:start + a[0]], blk[start + a[0]:start + a[0] + b[0]]))
        p = start + a[0] + b[0]
    return out


def parse_params_prefix(blk, lim):
    """Checks the complete pairs at the start of a growing PARAMS stream the
    way a streaming decoder does: limits first, then count."""
    p, n = 0, 0
    while p < len(blk):
        budget = lim["max_params_len"] - p
        a = read_nvlen(blk, p)
        if a is None:
            return
        if a[0] > budget:
            raise Fail("too-large", p)
        b = read_nvlen(blk, p + a[1])
        if b is None:
            return
        if b[0] > budget or a[0] + b[0] + a[1] + b[1] > budget:
            raise Fail("too-large", p)
        total = a[1] + b[1] + a[0] + b[0]
        if p + total > len(blk):
            return
        if n >= lim["max_params"]:
            raise Fail("too-many", p)
        n += 1
        p += total


def client(data, in_flight):
    """The web-server side, with requests `in_flight` already sent."""
    events, fl = [], set(in_flight)
    for off, _, ty, rid, content, _, _ in iter_records(data):
        if rid == 0:
            if ty == UNKNOWN_TYPE:
                events.append({"event": "unknown-type", "type": content[0]})
            elif ty == GET_VALUES_RESULT:
                try:
                    ps = parse_params(content, {"max_params_len": len(content), "max_params": 1 << 30})
                except Fail:
                    raise Fail("length-overrun", off)
                events.append({"event": "values", "pairs": pairs(ps)})
            else:
                raise Fail("protocol-violation", off)
            continue
        if rid not in fl:
            raise Fail("protocol-violation", off)
        if ty in (STDOUT, STDERR):
            if content:
                merge(events, {"event": "stdout" if ty == STDOUT else "stderr", "id": rid, "_buf": content})
        elif ty == END:
            app, ps = struct.unpack_from(">IB", content)
            fl.discard(rid)
            events.append({"event": "end", "id": rid, "app_status": app, "protocol_status": ps})
        else:
            raise Fail("protocol-violation", off)
    return finish_events(events)


# ---------------------------------------------------------------- vectors

def vec(g, vid, desc, prov, data, direction, layer, limits=None, options=None, want=None, input_fields=None):
    v = {"id": vid, "description": desc, "provenance": prov, "direction": direction, "layer": layer}
    if limits:
        v["limits"] = limits
    if options:
        v["options"] = options
    try:
        if layer == "params":
            ps = parse_params(data, limits)
            expect = {"result": "ok", "pairs": pairs(ps)}
            canonical = canonical_params(ps) == data
        else:
            recs = parse_records(data) if layer == "records" else None
            if layer == "connection":
                if direction == "request":
                    events, replies = server(data, limits, options)
                else:
                    events, replies = client(data, (options or {}).get("in_flight", [])), None
                recs = parse_records(data)
            expect = {"result": "ok", "records": [record_json(r) for r in recs]}
            if layer == "connection":
                expect["events"] = events
                if replies is not None:
                    expect["replies"] = replies
            canonical = canonical_records(recs)
        got = "ok"
        v["canonical"] = canonical
    except Fail as f:
        expect = err(f.cls, f.offset)
        got = (f.cls, f.offset)
    if want is not None:
        assert got == want, (vid, got, want)
    if input_fields:
        v.update(input_fields)
    else:
        v["input_hex"] = data.hex()
    v["expect"] = expect
    return g.add(v)


SPEC = "FastCGI Specification 1.0 (Open Market, 1996) "


def sp(s):
    return spec(SPEC + s)


def ed(s):
    return edge("FastCGI edge-case checklist " + s)


APPENDIX_PARAMS = [("SERVER_PORT", "80"), ("SERVER_ADDR", "199.170.183.42"), ("REQUEST_METHOD", "GET"),
                   ("SCRIPT_NAME", "/index.fcgi")]
PAGE = b"Content-type: text/html\r\n\r\n<html>\n<head> ... "


def build():
    records = Group("fastcgi", "records", "Record framing: header fields, padding, fixed-size bodies, versions, truncation.")
    prm = Group("fastcgi", "params", "Name-value pair blocks: 1- and 4-byte lengths, limits, overruns.")
    srv = Group("fastcgi", "server", "Web server to application: request lifecycles as the application sees them (spec appendix B and the checklist).")
    cli = Group("fastcgi", "client", "Application to web server: responses as the web server sees them.")
    caps = Group("fastcgi", "captures", "Traffic captured from nginx, Apache, lighttpd (requests) and PHP-FPM, fcgiwrap, libfcgi (responses).")

    R = lambda *a, **k: vec(records, *a, direction=k.pop("direction", "request"), layer="records", **k)  # noqa: E731
    ex = begin(1) + params(1, [("SCRIPT_FILENAME", "/srv/index.php")]) + rec(STDIN, 1)
    R("fastcgi.records.worked-example", "BEGIN_REQUEST (RESPONDER), one PARAMS record, the empty PARAMS and the empty STDIN.",
      sp("§3.3, §5.1"), ex, want="ok")
    R("fastcgi.records.begin-keep-conn", "BEGIN_REQUEST with FCGI_KEEP_CONN.", sp("§5.1"), begin(7, RESPONDER, 1), want="ok")
    R("fastcgi.records.begin-roles", "BEGIN_REQUEST for each role and unknown roles 0, 4 and 65535: the record is well formed.",
      sp("§5.1, §6"), b"".join(begin(i + 1, r) for i, r in enumerate([1, 2, 3, 0, 4, 65535])), want="ok")
    R("fastcgi.records.end-request", "END_REQUEST with appStatus 938 and each protocolStatus 0-3 and 7.",
      sp("§5.5"), b"".join(end(1, 938, ps) for ps in (0, 1, 2, 3, 7)), direction="response", want="ok")
    R("fastcgi.records.end-request-max-app-status", "END_REQUEST with appStatus 0xFFFFFFFF.",
      ed("item 26"), end(1, 0xFFFFFFFF), direction="response", want="ok")
    R("fastcgi.records.unknown-type-record", "UNKNOWN_TYPE naming type 200.", sp("§4.2"),
      rec(UNKNOWN_TYPE, 0, bytes([200]) + bytes(7)), direction="response", want="ok")
    R("fastcgi.records.abort", "ABORT_REQUEST has an empty body.", sp("§5.4"), rec(ABORT, 1), want="ok")
    for t in (0, 12, 255):
        R("fastcgi.records.type-%d" % t, "Record type %d is not defined; the record is still framed normally." % t,
          ed("item 5"), rec(t, 1, b"abc"), want="ok")
    R("fastcgi.records.reserved-nonzero", "A non-zero reserved byte is ignored (not canonical: encoders write 0).",
      ed("item 4"), rec(STDIN, 1, b"x", reserved=0xAB), want="ok")
    for p in (1, 7, 255):
        R("fastcgi.records.empty-with-padding-%d" % p, "contentLength 0 with %d padding byte(s): the padding is skipped." % p,
          ed("item 2"), rec(STDOUT, 1, b"", pad=p), direction="response", want="ok")
    R("fastcgi.records.nonzero-padding", "Padding bytes need not be zero; they are skipped (not canonical).",
      ed("item 2"), rec(STDOUT, 1, b"hi", pad=6, pad_byte=0xEE), direction="response", want="ok")
    R("fastcgi.records.max-frame", "contentLength 65535 and paddingLength 255: 65798 bytes, no 16-bit overflow.",
      ed("item 3"), rec(STDOUT, 1, bytes(range(256)) * 255 + bytes(range(255)), pad=255), direction="response", want="ok")
    R("fastcgi.records.request-id-65535", "The largest request id.", ed("item 20"), begin(65535), want="ok")
    for v in (0, 2, 255):
        R("fastcgi.records.version-%d" % v, "Version %d is rejected." % v, ed("item 4"),
          rec(BEGIN, 1, struct.pack(">HB5x", 1, 0), version=v), want=("bad-version", 0))
    R("fastcgi.records.version-2-second-record", "A bad version in the second record: reported at its header.",
      ed("item 4"), begin(1) + rec(PARAMS, 1, version=2), want=("bad-version", 16))
    for ty, n, name in [(BEGIN, 0, "begin-0"), (BEGIN, 7, "begin-7"), (BEGIN, 9, "begin-9"), (END, 7, "end-7"),
                        (END, 9, "end-9"), (UNKNOWN_TYPE, 9, "unknown-type-9"), (ABORT, 1, "abort-1")]:
        R("fastcgi.records.body-length-" + name, "A %d-byte body for record type %d, which has a fixed size." % (n, ty),
          ed("item 7"), rec(ty, 1, bytes(n)), want=("bad-record-body", 0))
    R("fastcgi.records.begin-65535", "BEGIN_REQUEST declaring 65535 bytes: rejected on the header, before the body is read.",
      ed("item 7"), struct.pack(">BBHHBB", 1, BEGIN, 1, 65535, 0, 0), want=("bad-record-body", 0))
    for n, what in [(3, "mid-header"), (12, "mid-content"), (18, "mid-padding")]:
        R("fastcgi.records.truncated-" + what, "The input ends %s." % what.replace("-", " "), ed("item 6"),
          rec(STDIN, 1, b"0123456789")[:n], want=("truncated", n))

    P = lambda *a, **k: vec(prm, *a, direction="request", layer="params", **k)  # noqa: E731
    P("fastcgi.params.appendix-b", "The pairs of spec appendix B: 1-byte lengths.", sp("§3.4, appendix B"),
      nvs(APPENDIX_PARAMS), want="ok")
    P("fastcgi.params.empty-block", "An empty block has no pairs.", sp("§3.4"), b"", want="ok")
    P("fastcgi.params.length-127", "A 127-byte value: the largest 1-byte length.", ed("item 10"), nv("V", "v" * 127), want="ok")
    P("fastcgi.params.length-128", "A 128-byte value: the smallest 4-byte length.", ed("item 10"), nv("V", "v" * 128), want="ok")
    P("fastcgi.params.name-128", "A 128-byte name.", ed("item 10"), nv("N" * 128, "v"), want="ok")
    P("fastcgi.params.non-canonical-4-byte-length", "A 4-byte length for a small name and value: accepted, not canonical.",
      ed("item 10"), nv("X", "Y", True, True), want="ok")
    P("fastcgi.params.empty-name", "An empty name is a pair like any other.", ed("item 13"), nv("", "v"), want="ok")
    P("fastcgi.params.empty-value", "An empty value.", ed("item 13"), nv("QUERY_STRING", ""), want="ok")
    P("fastcgi.params.duplicates", "Duplicate names are kept in order.", ed("item 13"),
      nvs([("HTTP_COOKIE", "a=1"), ("X", "1"), ("HTTP_COOKIE", "b=2")]), want="ok")
    P("fastcgi.params.odd-bytes", "Names with '=' and NUL, values with CR LF and invalid UTF-8.", ed("item 13"),
      nvs([("A=B", "c"), (b"N\x00UL", b"v"), ("CRLF", b"a\r\nb"), ("BAD", b"\xff\xfe")]), want="ok")
    P("fastcgi.params.many-tiny", "2000 one-byte pairs.", ed("item 13"), nv("a", "") * 2000, want="ok")
    P("fastcgi.params.declared-2gib", "A name length of 2^31-1 in a 13-byte block: rejected before any allocation.",
      ed("item 12"), struct.pack(">I", 0xFFFFFFFF) + b"\x01abcdefgh", want=("too-large", 0))
    P("fastcgi.params.value-length-over-limit", "A value length over max_params_len: reported at the value length.",
      ed("item 12"), b"\x01\x80\x00\x10\x00A", limits={"max_params_len": 4096}, want=("too-large", 1))
    P("fastcgi.params.pair-overruns-block", "Lengths that run past the end of the block.", ed("item 12"),
      nv("A", "b") + b"\x05\x05abc", want=("length-overrun", 4))
    P("fastcgi.params.truncated-length", "A block ending inside a 4-byte length.", ed("item 11"),
      nv("A", "b") + b"\x01\x80\x00", want=("length-overrun", 4))
    P("fastcgi.params.single-byte", "A block of one byte: a name length and nothing else.", ed("item 11"),
      b"\x00", want=("length-overrun", 0))
    blk = nvs([("A", "1"), ("B", "2"), ("C", "3")])
    P("fastcgi.params.at-byte-limit", "A block exactly max_params_len long.", ed("item 14"), blk,
      limits={"max_params_len": len(blk)}, want="ok")
    P("fastcgi.params.over-byte-limit", "A block one byte over max_params_len.", ed("item 14"), blk,
      limits={"max_params_len": len(blk) - 1}, want=("too-large", 0))
    P("fastcgi.params.at-count-limit", "3 pairs with max_params 3.", ed("item 13"), blk, limits={"max_params": 3}, want="ok")
    P("fastcgi.params.over-count-limit", "4 pairs with max_params 3: the fourth is one too many.", ed("item 13"),
      blk + nv("D", "4"), limits={"max_params": 3}, want=("too-many", 12))

    S = lambda *a, **k: vec(srv, *a, direction="request", layer="connection", **k)  # noqa: E731
    ex1 = begin(1) + params(1, APPENDIX_PARAMS) + rec(STDIN, 1)
    S("fastcgi.server.appendix-b-1", "Appendix B example 1: a request with no data on stdin.", sp("appendix B, example 1"), ex1, want="ok")
    blk = nvs(APPENDIX_PARAMS)
    ex2 = begin(1) + params(1, blk, split=[16]) + rec(STDIN, 1, b"quantity=100&item=3047936") + rec(STDIN, 1)
    S("fastcgi.server.appendix-b-2", "Appendix B example 2: params over two records (split inside a name), data on stdin.",
      sp("appendix B, example 2"), ex2, want="ok")
    ex4 = (begin(1, RESPONDER, 1) + rec(PARAMS, 1, blk) + rec(PARAMS, 1) + begin(2, RESPONDER, 1) + rec(PARAMS, 2, blk)
           + rec(STDIN, 1) + rec(PARAMS, 2) + rec(STDIN, 2))
    S("fastcgi.server.appendix-b-4", "Appendix B example 4: two requests multiplexed on one connection.",
      sp("appendix B, example 4"), ex4, options={"max_concurrent_requests": 2}, want="ok")
    S("fastcgi.server.appendix-b-4-not-multiplexed", "Example 4 to an application that does not multiplex: the second BEGIN_REQUEST is refused with CANT_MPX_CONN, the first request goes on.",
      sp("§5.5 (FCGI_CANT_MPX_CONN), appendix B example 4"), ex4, want="ok")
    S("fastcgi.server.multiplex-overloaded", "A third request when two may be in flight: OVERLOADED.", ed("item 23"),
      begin(1, 1, 1) + begin(2, 1, 1) + begin(3, 1, 1), options={"max_concurrent_requests": 2}, want="ok")
    gv = rec(GET_VALUES, 0, nvs([("FCGI_MAX_CONNS", ""), ("FCGI_MAX_REQS", ""), ("FCGI_MPXS_CONNS", "")]))
    S("fastcgi.server.get-values", "FCGI_GET_VALUES for the three standard variables.", sp("§4.1"), gv, want="ok")
    S("fastcgi.server.get-values-multiplexing", "FCGI_GET_VALUES to an application taking 10 requests on 5 connections.",
      sp("§4.1"), gv, options={"max_concurrent_requests": 10, "max_conns": 5}, want="ok")
    S("fastcgi.server.get-values-unknown-and-values", "Unknown names are omitted from the answer; values in the query are ignored.",
      ed("item 15"), rec(GET_VALUES, 0, nvs([("X_UNKNOWN", ""), ("FCGI_MPXS_CONNS", "junk")])), want="ok")
    S("fastcgi.server.get-values-empty", "An empty query gets an empty answer.", ed("item 15"), rec(GET_VALUES, 0), want="ok")
    S("fastcgi.server.get-values-on-request-id", "GET_VALUES on an active request id is not a management record: a protocol error.",
      ed("item 15"), begin(1) + rec(GET_VALUES, 1, nv("FCGI_MAX_CONNS", "")), want=("protocol-violation", 16))
    S("fastcgi.server.begin-other-flag-bits", "BEGIN_REQUEST flags 0xFE: only bit 0 is FCGI_KEEP_CONN, so the connection is not kept.",
      sp("§5.1"), begin(1, RESPONDER, 0xFE) + params(1, []) + rec(STDIN, 1), want="ok")
    S("fastcgi.server.unknown-management-type", "An unknown management record type gets UNKNOWN_TYPE.",
      sp("§4.2"), rec(12, 0, b"abc"), want="ok")
    S("fastcgi.server.begin-on-id-0", "BEGIN_REQUEST on request id 0 is a management record of an unknown type.",
      ed("item 19"), begin(0), want="ok")
    for role in (0, 4, 65535):
        S("fastcgi.server.unknown-role-%d" % role, "Role %d: the request is refused with UNKNOWN_ROLE." % role,
          ed("item 18"), begin(1, role) + params(1, []) + rec(STDIN, 1), want="ok")
    S("fastcgi.server.authorizer", "An AUTHORIZER request (empty stdin).", sp("§6.3"),
      begin(1, AUTHORIZER) + params(1, [("REMOTE_USER", "u")]) + rec(STDIN, 1), want="ok")
    flt = begin(1, FILTER) + params(1, [("FCGI_DATA_LENGTH", "4")]) + stream(STDIN, 1, b"in") + stream(DATA, 1, b"file")
    S("fastcgi.server.filter", "A FILTER request: stdin, then the file on FCGI_DATA.", sp("§6.4"), flt, want="ok")
    S("fastcgi.server.data-for-responder", "FCGI_DATA for a RESPONDER is a protocol error.", ed("item 17"),
      begin(1) + params(1, []) + rec(DATA, 1, b"x"), want=("protocol-violation", 24))
    S("fastcgi.server.stdin-before-params-end", "STDIN before the empty PARAMS record.", ed("item 17"),
      begin(1) + rec(PARAMS, 1, nv("A", "b")) + rec(STDIN, 1, b"x"), want=("protocol-violation", 32))
    S("fastcgi.server.params-after-params-end", "PARAMS after the params stream ended.", ed("item 17"),
      begin(1) + params(1, []) + rec(PARAMS, 1, nv("A", "b")), want=("protocol-violation", 24))
    S("fastcgi.server.begin-active-id", "A second BEGIN_REQUEST for an active id.", ed("item 19"),
      begin(1) + begin(1), want=("protocol-violation", 16))
    S("fastcgi.server.stdout-from-web-server", "A web server must not send STDOUT.", ed("item 17"),
      begin(1) + rec(STDOUT, 1, b"x"), want=("protocol-violation", 16))
    S("fastcgi.server.unknown-id-ignored", "Records for a request id that is not active are ignored.", ed("item 20"),
      rec(PARAMS, 9, nv("A", "b")) + rec(STDIN, 9, b"x") + ex1, want="ok")
    S("fastcgi.server.unknown-type-on-active-id", "An undefined record type on an active request is ignored.", ed("item 5"),
      begin(1) + rec(200, 1, b"?") + params(1, []) + rec(STDIN, 1), want="ok")
    S("fastcgi.server.abort-before-params-end", "ABORT_REQUEST before the params stream ended.", ed("item 21"),
      begin(1) + rec(PARAMS, 1, nv("A", "b")) + rec(ABORT, 1), want="ok")
    S("fastcgi.server.abort-during-stdin", "ABORT_REQUEST while stdin is arriving.", ed("item 21"),
      begin(1, 1, 1) + params(1, []) + rec(STDIN, 1, b"part") + rec(ABORT, 1), want="ok")
    S("fastcgi.server.abort-unknown-id", "ABORT_REQUEST for an id that is not active is ignored.", ed("item 21"),
      rec(ABORT, 5) + ex1, want="ok")
    S("fastcgi.server.empty-stdin-only", "A request with only the empty STDIN.", ed("item 17"),
      begin(1) + params(1, []) + rec(STDIN, 1), want="ok")
    S("fastcgi.server.stdin-many-records", "A body of 100 bytes in 100 one-byte STDIN records.", ed("item 17"),
      begin(1) + params(1, []) + stream(STDIN, 1, bytes(range(100)), chunk=1), want="ok")
    S("fastcgi.server.stdin-large", "A 200000-byte body in 65528-byte records.", ed("item 8"),
      begin(1) + params(1, []) + stream(STDIN, 1, bytes(i % 251 for i in range(200000))), want="ok")
    S("fastcgi.server.leftover-empty-stdin", "An extra empty STDIN after the stream ended (a FILTER still reading FCGI_DATA) is ignored; PHP-FPM skips these too.",
      ed("item 22"), begin(1, FILTER) + params(1, []) + rec(STDIN, 1) + rec(STDIN, 1) + rec(DATA, 1), want="ok")
    S("fastcgi.server.stdin-after-end", "Non-empty STDIN after the stream ended (a FILTER still reading FCGI_DATA).", ed("item 17"),
      begin(1, FILTER) + params(1, []) + rec(STDIN, 1) + rec(STDIN, 1, b"x"), want=("protocol-violation", 32))
    S("fastcgi.server.after-end-ignored", "Once the application has ended a KEEP_CONN request, its late records are ignored.",
      ed("item 21"), begin(1, 1, 1) + params(1, []) + rec(STDIN, 1) + rec(STDIN, 1, b"late") + rec(ABORT, 1), want="ok")
    S("fastcgi.server.keep-conn-id-reuse", "Two requests in a row with the same id on a KEEP_CONN connection.", ed("items 20, 22"),
      (begin(1, 1, 1) + params(1, []) + rec(STDIN, 1)) * 2, want="ok")
    S("fastcgi.server.no-keep-conn-then-more", "Without KEEP_CONN the application closes after its END_REQUEST: a second request is unexpected.",
      ed("item 22"), ex1 + ex1, want=("unexpected-data", len(ex1)))
    pv = nvs([("NAME_LONGER_THAN_A_FEW", "x" * 200), ("B", "y")])
    S("fastcgi.server.params-split-everywhere", "Params split inside a 4-byte length, inside a name, inside a value and at a pair boundary.",
      ed("item 11"), begin(1) + params(1, pv, split=[2, 5, 40, 100, len(pv) - 4, len(pv) - 3]) + rec(STDIN, 1), want="ok")
    S("fastcgi.server.params-over-byte-limit", "A PARAMS stream over max_params_len: reported at the record that crosses it.",
      ed("item 14"), begin(1) + rec(PARAMS, 1, nv("A", "x" * 50)) + rec(PARAMS, 1, nv("B", "y" * 50)),
      limits={"max_params_len": 100}, want=("too-large", 80))
    S("fastcgi.server.params-over-count-limit", "More pairs than max_params.", ed("item 13"),
      begin(1) + rec(PARAMS, 1, nvs([("A", ""), ("B", ""), ("C", "")])), limits={"max_params": 2}, want=("too-many", 16))
    S("fastcgi.server.params-pair-overrun", "The params stream ends inside a pair.", ed("item 12"),
      begin(1) + rec(PARAMS, 1, b"\x05\x05abc") + rec(PARAMS, 1), want=("length-overrun", 32))
    S("fastcgi.server.params-declared-2gib", "A pair declaring a 2 GiB value in a 13-byte record: rejected before buffering.",
      ed("item 12"), begin(1) + rec(PARAMS, 1, b"\x01\xff\xff\xff\xffAabcdefg"), want=("too-large", 16))
    S("fastcgi.server.padding-everywhere", "Every record padded with 1-255 bytes.", ed("item 2"),
      rec(BEGIN, 1, struct.pack(">HB5x", 1, 0), pad=255) + rec(PARAMS, 1, nv("A", "b"), pad=1)
      + rec(PARAMS, 1, pad=3) + rec(STDIN, 1, b"xyz", pad=200) + rec(STDIN, 1, pad=9), want="ok")
    S("fastcgi.server.truncated", "The connection ends inside a STDIN record.", ed("item 6"),
      (begin(1) + params(1, []) + rec(STDIN, 1, b"abcdef"))[:-4], want=("truncated", 36))
    S("fastcgi.server.bad-version-mid-stream", "A version-2 record in the middle of a request.", ed("item 4"),
      begin(1) + rec(PARAMS, 1, version=2), want=("bad-version", 16))
    S("fastcgi.server.begin-wrong-length", "BEGIN_REQUEST with a 9-byte body.", ed("item 7"),
      rec(BEGIN, 1, bytes(9)), want=("bad-record-body", 0))
    S("fastcgi.server.non-sequential-ids", "Request ids need not start at 1 or be sequential (HAProxy).", ed("item 20"),
      begin(4242, 1, 1) + params(4242, []) + rec(STDIN, 4242) + begin(65535) + params(65535, []) + rec(STDIN, 65535), want="ok")

    C = lambda vid, d, p, data, ids=(1,), **k: vec(cli, vid, d, p, data, direction="response", layer="connection",  # noqa: E731
                                                   options={"in_flight": list(ids)}, **k)
    C("fastcgi.client.appendix-b-1", "Appendix B example 1: STDOUT, the empty STDOUT, END_REQUEST.", sp("appendix B, example 1"),
      rec(STDOUT, 1, PAGE) + rec(STDOUT, 1) + end(1), want="ok")
    C("fastcgi.client.appendix-b-3", "Appendix B example 3: STDOUT and STDERR interleaved, appStatus 938.", sp("appendix B, example 3"),
      rec(STDOUT, 1, PAGE[:30]) + rec(STDERR, 1, b"config error: missing SI_UID\n") + rec(STDOUT, 1, PAGE[30:])
      + rec(STDOUT, 1) + rec(STDERR, 1) + end(1, 938), want="ok")
    C("fastcgi.client.appendix-b-4", "Appendix B example 4: two requests answered out of order.", sp("appendix B, example 4"),
      rec(STDOUT, 2, PAGE) + rec(STDOUT, 1, PAGE) + rec(STDOUT, 2) + end(2) + rec(STDOUT, 1) + end(1), ids=(1, 2), want="ok")
    C("fastcgi.client.no-empty-stdout", "END_REQUEST without the empty STDOUT first (PHP-FPM).", ed("item 25"),
      rec(STDOUT, 1, b"Status: 204\r\n\r\n") + end(1), want="ok")
    C("fastcgi.client.padding-and-reserved", "STDOUT with non-zero padding bytes and reserved byte: same events, not canonical.",
      ed("items 2, 4"), rec(STDOUT, 1, b"ok", pad=14, pad_byte=0x55, reserved=9) + end(1), want="ok")
    C("fastcgi.client.end-first", "END_REQUEST with no output at all.", ed("item 26"), end(1), want="ok")
    for ps in (1, 2, 3, 7):
        C("fastcgi.client.protocol-status-%d" % ps, "END_REQUEST with protocolStatus %d." % ps, ed("item 26"),
          end(1, 0, ps), want="ok")
    C("fastcgi.client.app-status-max", "END_REQUEST with appStatus 0xFFFFFFFF.", ed("item 26"), end(1, 0xFFFFFFFF), want="ok")
    C("fastcgi.client.stderr-empty-only", "One empty STDERR record and nothing else before END_REQUEST.", ed("item 25"),
      rec(STDOUT, 1, b"x") + rec(STDERR, 1) + end(1), want="ok")
    C("fastcgi.client.values-mid-response", "GET_VALUES_RESULT on id 0 in the middle of a response.", ed("item 27"),
      rec(STDOUT, 1, b"a") + rec(GET_VALUES_RESULT, 0, nvs([("FCGI_MPXS_CONNS", "0")])) + rec(STDOUT, 1, b"b") + end(1), want="ok")
    C("fastcgi.client.values-long", "GET_VALUES_RESULT with a 200-byte value (4-byte length).", ed("item 15"),
      rec(GET_VALUES_RESULT, 0, nvs([("FCGI_MAX_REQS", "9" * 200)])), ids=(), want="ok")
    C("fastcgi.client.unknown-type", "UNKNOWN_TYPE on id 0.", sp("§4.2"), rec(UNKNOWN_TYPE, 0, bytes([9]) + bytes(7)), ids=(), want="ok")
    C("fastcgi.client.other-id", "A response for a request id not in flight.", ed("item 27"),
      rec(STDOUT, 2, b"x"), want=("protocol-violation", 0))
    C("fastcgi.client.after-end", "A record after END_REQUEST freed the id.", ed("item 27"),
      end(1) + rec(STDOUT, 1, b"late"), want=("protocol-violation", 16))
    C("fastcgi.client.begin-from-application", "An application must not send BEGIN_REQUEST.", ed("item 27"),
      begin(1), want=("protocol-violation", 0))
    C("fastcgi.client.management-on-id-0", "GET_VALUES (a query) from the application on id 0.", ed("item 27"),
      rec(GET_VALUES, 0), want=("protocol-violation", 0))
    C("fastcgi.client.values-malformed", "GET_VALUES_RESULT whose pair overruns the record.", ed("item 15"),
      rec(GET_VALUES_RESULT, 0, b"\x05\x05ab"), ids=(), want=("length-overrun", 0))
    C("fastcgi.client.end-wrong-length", "END_REQUEST with a 7-byte body.", ed("item 7"),
      rec(END, 1, bytes(7)), want=("bad-record-body", 0))
    C("fastcgi.client.truncated", "The connection closes inside END_REQUEST, after the padding-free content started.", ed("item 27"),
      (rec(STDOUT, 1, b"hi") + end(1))[:-3], want=("truncated", 29))
    C("fastcgi.client.large-stdout", "300 KiB of STDOUT in 65528-byte records.", ed("item 8"),
      stream(STDOUT, 1, bytes(i % 253 for i in range(300 * 1024))) + end(1), want="ok")

    add_captures(caps)
    return [records, prm, srv, cli, caps]


def add_captures(caps):
    man = load_manifest(CRATE)
    for c in man:
        name = c["file"]
        data = read_capture(CRATE, name)
        assert sha(data) == c["sha256"] and len(data) == c["len"], name
        if not data:
            continue  # nginx-large-vars: nginx refused to send anything
        stem = name[:-4]
        pname = c["peer"]
        if pname.startswith("PHP "):
            pn, pv = "PHP-FPM", pname[4:]
        elif "/" in pname:
            pn, pv = pname.split("/", 1)
        else:
            pn, pv = pname.split(" ", 1)
        prov = peer("fastcgi-proto/vectors/captures/" + name, pn, pv, c["config"])
        recs = parse_records(data)
        assert len(recs) == c["record_count"], name
        types = {}
        for r in recs:
            types[str(r[2])] = types.get(str(r[2]), 0) + 1
        assert types == c["record_types"], name
        if c["direction"] == "request":
            desc = "What %s sent to a FastCGI application (%d records)." % (c["peer"], len(recs))
            vec(caps, "fastcgi.capture." + stem, desc, prov, data, "request", "connection", want="ok",
                options={"max_concurrent_requests": 1}, input_fields=capture_input(CRATE, name, data))
            v = caps.vectors[-1]
            ev = v["expect"]["events"]
            if "params" in c and c["params"] is not None and isinstance(c["params"], list):
                every = [e["pairs"] for e in ev if e["event"] == "params"]
                assert c["params"] in (every[0], [x for ps in every for x in ps]), name
            continue
        reqname = stem + ".request.bin"
        req = read_capture(CRATE, reqname)
        in_flight = sorted({r[3] for r in parse_records(req) if r[2] == BEGIN})
        desc = "What %s answered (%d records)." % (c["peer"], len(recs))
        vec(caps, "fastcgi.capture." + stem, desc, prov, data, "response", "connection", want="ok",
            options={"in_flight": in_flight}, input_fields=capture_input(CRATE, name, data))
        vec(caps, "fastcgi.capture." + stem + "-request",
            "The request sent to %s for this capture (built by the capture tool)." % pn,
            spec("request sent to %s, %s (scripts/capture/capture_fastcgi.py)" % (pn, "fastcgi-proto/vectors/captures/" + reqname)),
            req, "request", "connection", want="ok",
            options={"max_concurrent_requests": max(1, len(in_flight))},
            input_fields=capture_input(CRATE, reqname, req))


def seeds(groups):
    """Fuzz corpus seeds from the small vector inputs. The connection targets
    read operations (op, arg, len, bytes); inputs are fed in 255-byte pieces."""
    rec_s, prm_s, app_s, cli_s = [], [], [], []
    for g in groups:
        for v in g.vectors:
            if "input_hex" not in v:
                continue
            data = bytes.fromhex(v["input_hex"])
            if len(data) > 8192:
                continue
            name = v["id"].split(".", 1)[1]
            if v["layer"] == "params":
                prm_s.append((name, data))
                continue
            rec_s.append((name, data))
            pieces = [data[i:i + 255] for i in range(0, len(data), 255)]
            if v["direction"] == "request":
                ops = bytes([1])
                for p in pieces:
                    ops += bytes([0, 0, len(p)]) + p + bytes([2, 0, 0])
                app_s.append((name, ops + bytes([4, 0, 0])))
            else:
                ops = b"".join(bytes([0, (i % 4) | 0x10, 0]) for i in (v.get("options") or {}).get("in_flight", []))
                for p in pieces:
                    ops += bytes([4, 0, len(p)]) + p
                cli_s.append((name, ops))
    # cgi_response: the STDOUT an application sent (a CGI response head and body)
    cgi_s = []
    for g in groups:
        for v in g.vectors:
            if v["direction"] != "response" or v["expect"]["result"] != "ok":
                continue
            data = bytes.fromhex(v["input_hex"]) if "input_hex" in v else read_capture(CRATE, v["input_file"][9:])
            out = b"".join(r[4] for r in parse_records(data) if r[2] == STDOUT)
            if out and len(out) <= 8192:
                cgi_s.append((v["id"].split(".", 1)[1], out))
    return {"fastcgi_record": rec_s[:150], "fastcgi_params": prm_s[:150],
            "fastcgi_app_connection": app_s[:150], "fastcgi_client_connection": cli_s[:150],
            "cgi_response": cgi_s[:150]}
