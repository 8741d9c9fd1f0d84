"""Environ vectors: HTTP request -> CGI/WSGI environ (nginx presets, safe
header mapping) and environ -> HTTP request. Expectations come from real
nginx captures (decoded here from the raw bytes), from the rules written in
the vectors README (hand-written `include`/`exclude` sets), and from a small
reference implementation of the environ -> request rules below."""

import struct

from common import (Group, bstr, edge, err, load_manifest, pairs, peer, read_capture, sha, spec,
                    unbstr)
import fastcgi_vectors as fcgi
import uwsgi_vectors as uw

CRATE = "wsgi-environ"
RFC = "RFC 3875 "
PEP = "PEP 3333 "


TOPICS = {"§1": "design rules", "§2": "RFC 3875 variables", "§4.1": "nginx parameter presets",
          "§4.2": "nginx header mapping", "§5": "header-name mapping", "§6": "paths and decoding",
          "§8": "reference implementations", "§9": "security pitfalls"}


def ref(s):
    """A readable source: the environ topic the vector belongs to."""
    head, _, rest = s.partition(" ")
    return "environ: " + TOPICS.get(head.rstrip(","), head) + (" " + rest if rest else "")


# ---------------------------------------------------------------- captures

def decode_scgi(data):
    """An SCGI request: netstring "<len>:" NUL-separated name/value "," then the body."""
    colon = data.index(b":")
    n = int(data[:colon])
    head = data[colon + 1:colon + 1 + n]
    assert data[colon + 1 + n:colon + 2 + n] == b",", "netstring end"
    parts = head.split(b"\x00")
    assert parts[-1] == b""
    parts = parts[:-1]
    return list(zip(parts[0::2], parts[1::2]))


def decode_capture(proto, data):
    if proto == "fastcgi":
        blk = b"".join(r[4] for r in fcgi.parse_records(data) if r[2] == fcgi.PARAMS)
        return fcgi.parse_params(blk)
    if proto == "uwsgi":
        pk = uw.decode_request(data)
        return [(unbstr(k), unbstr(v)) for k, v in pk[0]["vars"]]
    return decode_scgi(data)


def var(ps, name):
    return [v for k, v in ps if k == name][-1]


# ---------------------------------------------------------------- environ -> request

STANDARD = {b"REQUEST_METHOD", b"QUERY_STRING", b"CONTENT_TYPE", b"CONTENT_LENGTH", b"SCRIPT_NAME",
            b"PATH_INFO", b"REQUEST_URI", b"SERVER_PROTOCOL", b"SERVER_NAME", b"SERVER_PORT",
            b"SERVER_ADDR", b"REMOTE_ADDR", b"REMOTE_PORT", b"HTTPS", b"REQUEST_SCHEME"}
TCHAR = set(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
KEEP = set(b"-._~!$&'()*+,;=:@/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
PARSE_DEFAULTS = {"duplicates": "last-wins", "strict_protocol": False, "prefer_request_uri": True,
                  "allow_leading_zeros": True, "reject_control_in_paths": True}


class Fail(Exception):
    def __init__(self, cls, offset):
        super().__init__(cls, offset)
        self.cls = cls
        self.offset = offset


def decimal(v):
    if not v or len(v) > 20 or not v.isdigit():
        return None
    n = int(v)
    return n if n < 2**64 else None


def ip(v):
    import ipaddress
    try:
        return str(ipaddress.ip_address(v.decode()))
    except (ValueError, UnicodeDecodeError):
        return None


def env_to_request(ps, options=None, max_vars=1000):
    o = dict(PARSE_DEFAULTS)
    o.update(options or {})
    env = []
    for i, (k, v) in enumerate(ps):
        if i >= max_vars:
            raise Fail("too-many", 0)
        if o["duplicates"] == "reject" and any(k == e for e, _ in env):
            raise Fail("duplicate-key", i)
        env.append((k, v))

    def get(n):
        vs = [v for k, v in env if k == n]
        return vs[-1] if vs else None

    def nonempty(n):
        v = get(n)
        return v if v else None

    m = nonempty(b"REQUEST_METHOD")
    if m is None:
        raise Fail("missing-method", 0)
    if not all(c in TCHAR for c in m):
        raise Fail("bad-method", 0)
    cl = nonempty(b"CONTENT_LENGTH")
    if cl is not None:
        if not o["allow_leading_zeros"] and len(cl) > 1 and cl[:1] == b"0":
            raise Fail("bad-content-length", 0)
        cl = decimal(cl)
        if cl is None:
            raise Fail("bad-content-length", 0)
    h = nonempty(b"HTTPS")
    if h is not None:
        https = h.lower() in (b"on", b"1", b"yes")
    else:
        https = (get(b"REQUEST_SCHEME") or b"").lower() == b"https"
    sp = nonempty(b"SERVER_PORT")
    port = decimal(sp) if sp else None
    port = port if port is not None and port < 65536 else None
    sname = nonempty(b"SERVER_NAME") or b""
    script = get(b"SCRIPT_NAME") or b""
    pinfo = get(b"PATH_INFO") or b""
    for p in (script, pinfo):
        for i, c in enumerate(p):
            if c == 0 or (o["reject_control_in_paths"] and (c < 0x20 or c == 0x7F)):
                raise Fail("bad-path", i)
    host = nonempty(b"HTTP_HOST")
    if host is None:
        host = sname
        if port is not None and not ((https and port == 443) or (not https and port == 80)):
            host += b":%d" % port
    ru = nonempty(b"REQUEST_URI")
    if ru is not None and o["prefer_request_uri"] and ru[:1] == b"/":
        pq = ru
    else:
        pq = "".join(chr(c) if c in KEEP else "%%%02X" % c for c in script + pinfo).encode()
        if not pq:
            pq = b"/"
        q = nonempty(b"QUERY_STRING")
        if q:
            pq += b"?" + q
    if host:
        if any(c in b" /?#@\\\"<>{}|^`" or c < 0x21 or c > 0x7E for c in host):
            raise Fail("bad-host", 0)
        uri = (b"https://" if https else b"http://") + host + pq
    else:
        uri = pq
    proto = nonempty(b"SERVER_PROTOCOL")
    versions = {None: "HTTP/1.1", b"HTTP/1.0": "HTTP/1.0", b"HTTP/1.1": "HTTP/1.1", b"HTTP/1": "HTTP/1.1",
                b"HTTP/2.0": "HTTP/2.0", b"HTTP/2": "HTTP/2.0", b"HTTP/3.0": "HTTP/3.0", b"HTTP/3": "HTTP/3.0",
                b"HTTP/0.9": "HTTP/0.9"}
    if proto in versions:
        version = versions[proto]
    elif o["strict_protocol"]:
        raise Fail("bad-protocol", 0)
    else:
        version = "HTTP/1.1"
    headers, ext = [], []
    for i, (k, v) in enumerate(env):
        if not (k.startswith(b"HTTP_") and len(k) > 5):
            if k not in STANDARD:
                ext.append((k, v))
            continue
        name = bytes(b"-"[0] if c == b"_"[0] else (c + 32 if 65 <= c <= 90 else c) for c in k[5:])
        if name in (b"content-type", b"content-length", b"proxy", b"host") or (
                name == b"transfer-encoding" and cl is not None):
            continue
        if not all(c in TCHAR for c in name):
            ext.append((k, v))
            continue
        if any((c < 0x20 and c != 9) or c == 0x7F for c in v):
            raise Fail("bad-header", i)
        if o["duplicates"] == "append-headers":
            headers.append((name, v))
        else:
            headers = [(n, x) for n, x in headers if n != name] + [(name, v)]
    if host:
        headers = [(n, x) for n, x in headers if n != b"host"] + [(b"host", host)]
    ct = nonempty(b"CONTENT_TYPE")
    if ct is not None:
        headers.append((b"content-type", ct))
    if cl is not None:
        headers.append((b"content-length", str(cl).encode()))
    headers = sorted(headers, key=lambda h: h[0])  # stable: values of one name keep their order
    ra, rp, sa = nonempty(b"REMOTE_ADDR"), nonempty(b"REMOTE_PORT"), nonempty(b"SERVER_ADDR")
    rport = decimal(rp) if rp else None
    facts = {
        "remote_addr": ip(ra) if ra else None,
        "remote_port": rport if rport is not None and rport < 65536 else None,
        "server_addr": ip(sa) if sa else None,
        "server_port": port,
        "server_name": bstr(sname),
        "script_name": bstr(script),
        "path_info": bstr(pinfo),
        "content_length": cl,
        "https": https,
        "extensions": pairs(ext),
    }
    return {"method": m.decode(), "uri": uri.decode("latin-1"), "version": version,
            "headers": pairs(headers), "facts": facts}


# ---------------------------------------------------------------- vectors

NGINX_CONN = {"remote": None, "local": "127.0.0.1:18101", "tls": False, "server_name": "localhost",
              "server_port": None, "document_root": "", "mount": "", "server_software": "nginx/1.22.1",
              "remote_user": "", "body_len": None}
NGINX_POLICY = {"invalid_names": "drop", "duplicates": "repeat", "drop_proxy": False, "drop_hop_by_hop": False,
                "pass_authorization": True, "http_content_vars": True, "host_from_authority": False}
PRESETS = {"fastcgi_params", "fastcgi.conf", "uwsgi_params", "scgi_params"}


def conn(**kw):
    c = {"remote": "192.0.2.7:50000", "local": "192.0.2.1:8080", "tls": False, "server_name": "example.test",
         "server_port": None, "document_root": "/srv/www", "mount": "", "server_software": "test-server/1",
         "remote_user": "", "body_len": None}
    c.update(kw)
    return c


def req(method="GET", target="/", version="HTTP/1.1", headers=(("Host", "example.test"),)):
    return {"method": method, "target": target, "version": version,
            "headers": [[bstr(n), bstr(v)] for n, v in headers]}


def h2e(g, vid, desc, prov, request, connection=None, preset="uwsgi_params", headers=None, path=None,
        overrides=None, limits=None, environ=None, include=None, exclude=None, error=None):
    inp = {"request": request, "connection": connection or conn(), "overrides": pairs(overrides or [])}
    opts = {"preset": preset}
    if headers:
        opts["headers"] = headers
    if path:
        opts["path"] = path
    v = {"id": vid, "description": desc, "provenance": prov, "direction": "http-to-environ", "options": opts}
    if limits:
        v["limits"] = limits
    v["input"] = inp
    if error:
        v["expect"] = err(*error)
    else:
        e = {"result": "ok"}
        if environ is not None:
            e["environ"] = pairs(environ)
        if include is not None:
            e["include"] = pairs(include)
        if exclude is not None:
            e["exclude"] = [bstr(n) for n in exclude]
        v["expect"] = e
    return g.add(v)


def e2h(g, vid, desc, prov, env, options=None, limits=None, want_error=None):
    v = {"id": vid, "description": desc, "provenance": prov, "direction": "environ-to-http"}
    if options:
        v["options"] = options
    if limits:
        v["limits"] = limits
    v["input"] = {"environ": pairs(env)}
    try:
        r = env_to_request(env, options, (limits or {}).get("max_vars", 1000))
        v["expect"] = {"result": "ok", "request": r}
        got = "ok"
    except Fail as f:
        v["expect"] = err(f.cls, f.offset)
        got = (f.cls, f.offset)
    if want_error is not None:
        assert got == want_error, (vid, got, want_error)
    return g.add(v)


def build():
    caps = Group("environ", "captures", "What nginx 1.22 sent under each of its four presets for nine requests, both directions.")
    hmap = Group("environ", "headers", "HTTP request -> environ: header mapping, framing and security defaults.")
    paths = Group("environ", "paths", "HTTP request -> environ: path decoding, mounts, presets and connection facts.")
    back = Group("environ", "environ-to-http", "Environ -> HTTP request: method, URI, headers and facts.")

    for c in load_manifest(CRATE):
        name = c["file"]
        data = read_capture(CRATE, name)
        assert sha(data) == c["sha256"], name
        ps = decode_capture(c["protocol"], data)
        assert pairs(ps) == c["vars"], name
        stem = name[:-4]
        pn, pv = c["peer"].split("/", 1)
        prov = peer("wsgi-environ/vectors/captures/" + name, pn, pv, c["config"])
        r = c["request"]
        cn = dict(NGINX_CONN)
        cn["remote"] = "127.0.0.1:%s" % var(ps, b"REMOTE_PORT").decode()
        cn["document_root"] = bstr(var(ps, b"DOCUMENT_ROOT"))
        request = {"method": r["method"], "target": r["target"], "version": r["http_version"],
                   "headers": [[bstr(n), bstr(v)] for n, v in r["headers"]]}
        assert c["preset"] in PRESETS
        h2e(caps, "environ.capture.%s" % stem,
            "nginx 1.22's %s for %s %s: the exact variables, in order (nginx 1.22 header policy)." % (
                c["preset"], r["method"], r["target"]),
            prov, request, cn, c["preset"], headers=NGINX_POLICY, environ=ps)
        e2h(caps, "environ.capture.%s-to-http" % stem,
            "The request an application rebuilds from nginx's %s for %s %s." % (c["preset"], r["method"], r["target"]),
            prov, ps)

    S = spec
    E = edge
    # header mapping
    h2e(hmap, "environ.headers.httpoxy", "A Proxy header never becomes HTTP_PROXY (httpoxy).",
        E(ref("§9 (CVE-2016-5385)")), req(headers=[("Host", "example.test"), ("Proxy", "http://evil:8080")]),
        exclude=["HTTP_PROXY"], include=[("HTTP_HOST", "example.test")])
    h2e(hmap, "environ.headers.httpoxy-nginx-policy", "nginx 1.22's policy passes Proxy through as HTTP_PROXY (what the peer does, not safe).",
        E(ref("§4.2")), req(headers=[("Host", "example.test"), ("Proxy", "http://evil:8080")]), headers=NGINX_POLICY,
        include=[("HTTP_PROXY", "http://evil:8080")])
    h2e(hmap, "environ.headers.underscore-dropped", "Names outside [A-Za-z0-9-] are dropped, so X_Auth_User cannot pose as X-Auth-User.",
        E(ref("§5, §9 (CVE-2015-0219)")), req(headers=[("Host", "h"), ("X-Auth-User", "alice"), ("X_Auth_User", "mallory")]),
        include=[("HTTP_X_AUTH_USER", "alice")])
    h2e(hmap, "environ.headers.underscore-only", "With only X_Auth_User, nothing reaches HTTP_X_AUTH_USER.",
        E(ref("§9 (CVE-2015-0219)")), req(headers=[("Host", "h"), ("X_Auth_User", "mallory")]), exclude=["HTTP_X_AUTH_USER"])
    h2e(hmap, "environ.headers.dot-dropped", "X.Auth.User is dropped too.",
        E(ref("§9 (CVE-2025-64484)")), req(headers=[("Host", "h"), ("X.Auth.User", "m")]), exclude=["HTTP_X_AUTH_USER"])
    h2e(hmap, "environ.headers.invalid-name-rejected", "With invalid names rejected, the first bad header is the error (its index).",
        E(ref("§5")), req(headers=[("Host", "h"), ("X-Ok", "1"), ("X_Bad", "2")]),
        headers={"invalid_names": "reject"}, error=("bad-header", 2))
    h2e(hmap, "environ.headers.duplicates-joined", "Repeated fields become one variable: ', ' joined, Cookie '; ' joined.",
        S(RFC + "§4.1.18"), req(headers=[("Host", "h"), ("Cookie", "a=1"), ("Accept", "a"), ("Cookie", "b=2"), ("Accept", "b")]),
        include=[("HTTP_COOKIE", "a=1; b=2"), ("HTTP_ACCEPT", "a, b")])
    h2e(hmap, "environ.headers.duplicates-repeated", "The nginx 1.22 policy repeats the variable per field.",
        E(ref("§4.2")), req(headers=[("Host", "h"), ("Cookie", "a=1"), ("Cookie", "b=2")]), headers={"duplicates": "repeat"},
        include=[("HTTP_COOKIE", "a=1"), ("HTTP_COOKIE", "b=2")])
    h2e(hmap, "environ.headers.hop-by-hop", "Hop-by-hop headers and the names Connection lists are dropped.",
        E(ref("§9 (CVE-2022-31813)")),
        req(headers=[("Host", "h"), ("Connection", "keep-alive, X-Secret"), ("Keep-Alive", "5"), ("TE", "trailers"),
                     ("Upgrade", "h2c"), ("X-Secret", "s"), ("X-Kept", "k")]),
        exclude=["HTTP_CONNECTION", "HTTP_KEEP_ALIVE", "HTTP_TE", "HTTP_UPGRADE", "HTTP_X_SECRET"],
        include=[("HTTP_X_KEPT", "k")])
    h2e(hmap, "environ.headers.content-length-and-te", "Content-Length with Transfer-Encoding is rejected (smuggling).",
        E(ref("§9 (CVE-2024-1135)")), req("POST", headers=[("Host", "h"), ("Content-Length", "3"), ("Transfer-Encoding", "chunked")]),
        error=("conflicting-framing", 0))
    h2e(hmap, "environ.headers.content-length-conflict", "Two different Content-Length values are rejected.",
        E(ref("§9")), req("POST", headers=[("Host", "h"), ("Content-Length", "3"), ("Content-Length", "4")]),
        error=("bad-content-length", 0))
    h2e(hmap, "environ.headers.content-length-invalid", "A Content-Length that is not a decimal number is rejected.",
        E(ref("§9")), req("POST", headers=[("Host", "h"), ("Content-Length", "1e3")]), error=("bad-content-length", 0))
    h2e(hmap, "environ.headers.content-vars", "Content-Type and Content-Length give CONTENT_* and, as nginx does, HTTP_CONTENT_*.",
        S(RFC + "§4.1.2, §4.1.3"), req("POST", headers=[("Host", "h"), ("Content-Type", "text/plain"), ("Content-Length", "5")]),
        include=[("CONTENT_TYPE", "text/plain"), ("CONTENT_LENGTH", "5"), ("HTTP_CONTENT_TYPE", "text/plain"),
                 ("HTTP_CONTENT_LENGTH", "5")])
    h2e(hmap, "environ.headers.content-vars-off", "Without HTTP_CONTENT_* the CONTENT_* variables stay.",
        E(ref("§4.2")), req("POST", headers=[("Host", "h"), ("Content-Length", "5")]), headers={"http_content_vars": False},
        include=[("CONTENT_LENGTH", "5")], exclude=["HTTP_CONTENT_LENGTH"])
    h2e(hmap, "environ.headers.dechunked-body-length", "No Content-Length but a de-chunked body of 42 bytes: CONTENT_LENGTH 42.",
        E(ref("§4.1")), req("POST", headers=[("Host", "h")]), conn(body_len=42), include=[("CONTENT_LENGTH", "42")])
    h2e(hmap, "environ.headers.authorization-passed", "Authorization is passed by default (PHP and most frameworks need it).",
        E(ref("§2 (RFC 3875 §9.2)")), req(headers=[("Host", "h"), ("Authorization", "Basic Zm9vOmJhcg==")]),
        include=[("HTTP_AUTHORIZATION", "Basic Zm9vOmJhcg==")])
    h2e(hmap, "environ.headers.authorization-withheld", "With pass_authorization off, Authorization is withheld (RFC 3875 §9.2).",
        S(RFC + "§9.2"), req(headers=[("Host", "h"), ("Authorization", "Basic Zm9vOmJhcg==")]),
        headers={"pass_authorization": False}, exclude=["HTTP_AUTHORIZATION"])
    h2e(hmap, "environ.headers.forwarded-for-ignored", "X-Forwarded-For never changes REMOTE_ADDR.",
        E(ref("§9 (RFC 3875 §8.2)")), req(headers=[("Host", "h"), ("X-Forwarded-For", "10.9.9.9")]),
        include=[("REMOTE_ADDR", "192.0.2.7"), ("HTTP_X_FORWARDED_FOR", "10.9.9.9")])
    h2e(hmap, "environ.headers.obs-text-value", "A value with bytes 0x80-0xFF stays bytes (PEP 3333 reads them as latin-1).",
        S(PEP + "(unicode issues)"), req(headers=[("Host", "h"), ("X-Name", b"Jos\xe9")]), include=[("HTTP_X_NAME", b"Jos\xe9")])
    h2e(hmap, "environ.headers.override-hides-header", "An empty HTTP_* override hides the header and sends nothing.",
        E(ref("§1")), req(headers=[("Host", "h"), ("X-A", "1")]), overrides=[("HTTP_X_A", "")], exclude=["HTTP_X_A"])
    h2e(hmap, "environ.headers.override-beats-header", "An override beats the header-derived value.",
        E(ref("§1")), req(headers=[("Host", "h"), ("X-A", "1")]), overrides=[("HTTP_X_A", "2"), ("REMOTE_ADDR", "203.0.113.5")],
        include=[("HTTP_X_A", "2"), ("REMOTE_ADDR", "203.0.113.5")])
    h2e(hmap, "environ.headers.override-invalid", "An override with CR LF in its value is refused (its index).",
        E(ref("§9")), req(), overrides=[("OK", "1"), ("BAD", "a\r\nb")], error=("bad-override", 1))
    h2e(hmap, "environ.headers.host-from-authority", "An absolute-form target's authority wins over the Host header (fastcgi.conf has no HTTP_HOST line).",
        S("RFC 9112 §3.2.2"), req(target="http://other.test:8080/x", headers=[("Host", "example.test")]),
        preset="fastcgi.conf", include=[("HTTP_HOST", "other.test:8080"), ("REQUEST_URI", "/x")])
    h2e(hmap, "environ.headers.preset-host-line", "uwsgi_params sets HTTP_HOST to nginx's $host: the authority's host, without port, lower-cased; it hides the header.",
        S(ref("§4.1 (Debian nginx 1.22 presets)")), req(target="http://Other.TEST:8080/x", headers=[("Host", "example.test")]),
        include=[("HTTP_HOST", "other.test"), ("SERVER_NAME", "example.test")])
    h2e(hmap, "environ.headers.too-many", "More variables than max_vars.", E(ref("§1")), req(), limits={"max_vars": 5},
        error=("too-many", 0))
    h2e(hmap, "environ.headers.too-large", "An environ over max_size bytes (counted as a uwsgi vars block).",
        E(ref("§1")), req(headers=[("Host", "h"), ("X-Big", "x" * 300)]), limits={"max_size": 256}, error=("too-large", 0))

    # paths and facts
    h2e(paths, "environ.paths.decode-once", "PATH_INFO is the percent-decoded path; REQUEST_URI stays raw.",
        S(RFC + "§4.1.5"), req(target="/a%20b/c%C3%A9?x=%41"),
        include=[("PATH_INFO", "/a b/c\u00e9"), ("REQUEST_URI", "/a%20b/c%C3%A9?x=%41"), ("QUERY_STRING", "x=%41")])
    h2e(paths, "environ.paths.no-double-decode", "%2541 decodes once, to %41.", S(RFC + "§4.1.5"), req(target="/a%2541"),
        include=[("PATH_INFO", "/a%41")])
    h2e(paths, "environ.paths.nul", "%00 in the path is rejected at the '%'.", E(ref("§9 (CVE-2019-11043)")),
        req(target="/a%00b"), error=("bad-path", 2))
    h2e(paths, "environ.paths.newline", "An encoded line feed (%0a, the PHP-FPM CVE-2019-11043 trigger) is rejected.",
        E(ref("§9 (CVE-2019-11043)")), req(target="/index.php/%0atest"), error=("bad-path", 11))
    h2e(paths, "environ.paths.bad-percent", "A '%' not followed by two hex digits.", E(ref("§6")), req(target="/a%zz"),
        error=("bad-path", 2))
    h2e(paths, "environ.paths.dot-segments", "Dot segments are resolved before anything else.", S(RFC + "§9.8"),
        req(target="/a/./b/../c"), include=[("PATH_INFO", "/a/c")])
    h2e(paths, "environ.paths.escape-root", "'..' above the root is rejected.", E(ref("§9")), req(target="/a/../../etc/passwd"),
        error=("bad-path", 0))
    h2e(paths, "environ.paths.encoded-dot-segments", "%2e%2e is decoded, then resolved like '..'.", E(ref("§6")),
        req(target="/a/%2e%2e/b"), include=[("PATH_INFO", "/b")])
    h2e(paths, "environ.paths.merge-slashes", "Runs of '/' are merged (nginx merge_slashes).", E(ref("§6")),
        req(target="//a///b"), include=[("PATH_INFO", "/a/b")])
    h2e(paths, "environ.paths.encoded-slash-decoded", "%2F decodes to '/' by default (as nginx does).", E(ref("§6")),
        req(target="/a%2Fb"), include=[("PATH_INFO", "/a/b")])
    h2e(paths, "environ.paths.encoded-slash-preserved", "With encoded_slash preserve, %2F stays three bytes.", E(ref("§6")),
        req(target="/a%2Fb"), path={"encoded_slash": "preserve"}, include=[("PATH_INFO", "/a%2Fb")])
    h2e(paths, "environ.paths.encoded-slash-rejected", "With encoded_slash reject, %2F is an error at its '%'.", E(ref("§6")),
        req(target="/a%2Fb"), path={"encoded_slash": "reject"}, error=("bad-path", 2))
    h2e(paths, "environ.paths.mount-split", "A mount splits SCRIPT_NAME / PATH_INFO on a segment boundary.",
        S(PEP + "(environ variables)"), req(target="/api/users/7"), conn(mount="/api"),
        include=[("SCRIPT_NAME", "/api"), ("PATH_INFO", "/users/7")])
    h2e(paths, "environ.paths.mount-prefix-not-segment", "/apifoo is not under the mount /api.", E(ref("§9")),
        req(target="/apifoo"), conn(mount="/api"), error=("outside-mount", 0))
    h2e(paths, "environ.paths.fastcgi-script-name", "fastcgi_params: SCRIPT_NAME is the decoded path, DOCUMENT_URI too.",
        S(ref("§4.1")), req(target="/x/y.php"), preset="fastcgi_params",
        include=[("SCRIPT_NAME", "/x/y.php"), ("DOCUMENT_URI", "/x/y.php"), ("GATEWAY_INTERFACE", "CGI/1.1"),
                 ("REDIRECT_STATUS", "200")])
    h2e(paths, "environ.paths.fastcgi-conf-script-filename", "fastcgi.conf: SCRIPT_FILENAME is the document root + SCRIPT_NAME.",
        S(ref("§4.1")), req(target="/x/y.php"), preset="fastcgi.conf", include=[("SCRIPT_FILENAME", "/srv/www/x/y.php")])
    h2e(paths, "environ.paths.scgi", "scgi_params: CONTENT_LENGTH 0 without a body, SCGI=1.", S(ref("§4.1")),
        req(target="/s"), preset="scgi_params", include=[("CONTENT_LENGTH", "0"), ("SCGI", "1")])
    h2e(paths, "environ.paths.tls", "Under TLS: HTTPS=on, REQUEST_SCHEME=https.", S(ref("§4.1")),
        req(), conn(tls=True), include=[("REQUEST_SCHEME", "https"), ("HTTPS", "on")])
    h2e(paths, "environ.paths.plain-has-no-https", "Without TLS there is no HTTPS variable.", S(ref("§4.1")),
        req(), exclude=["HTTPS"], include=[("REQUEST_SCHEME", "http")])
    h2e(paths, "environ.paths.ipv6", "IPv6 peers: REMOTE_ADDR without brackets.", S(RFC + "§4.1.8"),
        req(), conn(remote="[2001:db8::7]:50000", local="[2001:db8::1]:8443"),
        include=[("REMOTE_ADDR", "2001:db8::7"), ("REMOTE_PORT", "50000"), ("SERVER_PORT", "8443")])
    h2e(paths, "environ.paths.unix-socket", "A unix socket: empty REMOTE_ADDR, the configured SERVER_PORT.", S(RFC + "§4.1.8"),
        req(), conn(remote=None, local=None, server_port=8000), include=[("REMOTE_ADDR", ""), ("SERVER_PORT", "8000")])
    h2e(paths, "environ.paths.http10-no-host", "HTTP/1.0 without Host: SERVER_NAME and HTTP_HOST from the server name.",
        S(RFC + "§4.1.14"), req(version="HTTP/1.0", headers=[]), include=[("SERVER_PROTOCOL", "HTTP/1.0"),
                                                                        ("SERVER_NAME", "example.test")])
    h2e(paths, "environ.paths.http10-no-host-no-server-name",
        "HTTP/1.0 without Host and no configured name: SERVER_NAME is the local address, never empty.",
        S(RFC + "§4.1.14"), req(version="HTTP/1.0", headers=[]), conn(server_name=""),
        include=[("SERVER_NAME", "192.0.2.1")], exclude=["HTTP_HOST"])
    h2e(paths, "environ.paths.http10-no-host-no-address",
        "HTTP/1.0 without Host, no configured name, no local address (unix socket): SERVER_NAME is localhost.",
        S(RFC + "§4.1.14"), req(version="HTTP/1.0", headers=[]),
        conn(server_name="", remote=None, local=None, server_port=8000),
        include=[("SERVER_NAME", "localhost"), ("SERVER_PORT", "8000")], exclude=["HTTP_HOST"])
    h2e(paths, "environ.paths.query-absent", "No query: QUERY_STRING is present and empty.", S(RFC + "§4.1.7"),
        req(target="/q"), include=[("QUERY_STRING", "")])

    # environ -> HTTP
    base = [(b"REQUEST_METHOD", b"GET"), (b"SERVER_NAME", b"example.test"), (b"SERVER_PORT", b"80"),
            (b"SERVER_PROTOCOL", b"HTTP/1.1")]
    e2h(back, "environ.environ-to-http.pep3333-reconstruction", "SCRIPT_NAME + PATH_INFO (re-encoded) + QUERY_STRING, host from HTTP_HOST.",
        S(PEP + "(URL reconstruction)"),
        [(b"REQUEST_METHOD", b"POST"), (b"SCRIPT_NAME", b"/app"), (b"PATH_INFO", b"/a b"), (b"QUERY_STRING", b"x=1"),
         (b"HTTP_HOST", b"example.test")])
    e2h(back, "environ.environ-to-http.request-uri-preferred", "REQUEST_URI, when present, gives the path and query verbatim.",
        E(ref("§8")), base + [(b"REQUEST_URI", b"/raw%2Fpath?q=1"), (b"PATH_INFO", b"/raw/path")])
    e2h(back, "environ.environ-to-http.server-name-and-port", "No HTTP_HOST: SERVER_NAME:SERVER_PORT (port omitted when default).",
        S(PEP + "(URL reconstruction)"), [(b"REQUEST_METHOD", b"GET"), (b"SERVER_NAME", b"example.test"),
                                          (b"SERVER_PORT", b"8080"), (b"PATH_INFO", b"/p")])
    e2h(back, "environ.environ-to-http.https-default-port", "HTTPS=on with port 443: https scheme, no port in the host.",
        S(PEP + "(URL reconstruction)"), [(b"REQUEST_METHOD", b"GET"), (b"HTTPS", b"on"), (b"SERVER_NAME", b"s.test"),
                                          (b"SERVER_PORT", b"443"), (b"PATH_INFO", b"/")])
    e2h(back, "environ.environ-to-http.no-host", "No host at all: an origin-form URI.", E(ref("§8")),
        [(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/x")])
    e2h(back, "environ.environ-to-http.headers", "HTTP_* variables become headers; CONTENT_* become Content-*.", S(RFC + "§4.1.18"),
        base + [(b"HTTP_ACCEPT", b"*/*"), (b"HTTP_X_REQUEST_ID", b"abc"), (b"CONTENT_TYPE", b"text/plain"),
                (b"CONTENT_LENGTH", b"5"), (b"PATH_INFO", b"/")])
    e2h(back, "environ.environ-to-http.http-proxy-never", "HTTP_PROXY (in any case) never becomes a Proxy header.",
        E(ref("§9 (httpoxy)")), base + [(b"HTTP_PROXY", b"http://evil"), (b"HTTP_proxy", b"http://evil2"), (b"PATH_INFO", b"/")])
    e2h(back, "environ.environ-to-http.http-content-ignored", "HTTP_CONTENT_LENGTH beside CONTENT_LENGTH: the CONTENT_* one wins.",
        E(ref("§8")), base + [(b"CONTENT_LENGTH", b"3"), (b"HTTP_CONTENT_LENGTH", b"999"), (b"PATH_INFO", b"/")])
    e2h(back, "environ.environ-to-http.dechunked-te-dropped", "HTTP_TRANSFER_ENCODING with CONTENT_LENGTH: the body was de-chunked, the header is dropped.",
        E(ref("§8")), base + [(b"CONTENT_LENGTH", b"3"), (b"HTTP_TRANSFER_ENCODING", b"chunked"), (b"PATH_INFO", b"/")])
    e2h(back, "environ.environ-to-http.te-kept-without-length", "HTTP_TRANSFER_ENCODING without CONTENT_LENGTH is kept.",
        E(ref("§8")), base + [(b"HTTP_TRANSFER_ENCODING", b"chunked"), (b"PATH_INFO", b"/")])
    e2h(back, "environ.environ-to-http.duplicates-last-wins", "Repeated names: the last value wins by default.", E(ref("§8")),
        base + [(b"HTTP_COOKIE", b"a=1"), (b"HTTP_COOKIE", b"b=2"), (b"PATH_INFO", b"/")])
    e2h(back, "environ.environ-to-http.duplicates-append", "With append-headers, nginx 1.22's repeated HTTP_COOKIE become repeated fields.",
        E(ref("§4.2")), base + [(b"HTTP_COOKIE", b"a=1"), (b"HTTP_COOKIE", b"b=2"), (b"PATH_INFO", b"/")],
        options={"duplicates": "append-headers"})
    e2h(back, "environ.environ-to-http.duplicates-reject", "With reject, a repeated name is an error at its index.", E(ref("§8")),
        base + [(b"REQUEST_METHOD", b"POST")], options={"duplicates": "reject"}, want_error=("duplicate-key", 4))
    e2h(back, "environ.environ-to-http.missing-method", "No REQUEST_METHOD.", S(RFC + "§4.1.12"),
        [(b"PATH_INFO", b"/")], want_error=("missing-method", 0))
    e2h(back, "environ.environ-to-http.empty-method", "An empty REQUEST_METHOD counts as missing.", S(RFC + "§4.1.12"),
        [(b"REQUEST_METHOD", b"")], want_error=("missing-method", 0))
    e2h(back, "environ.environ-to-http.bad-method", "A method that is not a token.", S("RFC 9110 §9.1"),
        [(b"REQUEST_METHOD", b"GE T")], want_error=("bad-method", 0))
    e2h(back, "environ.environ-to-http.bad-content-length", "CONTENT_LENGTH 12x.", S(RFC + "§4.1.2"),
        base + [(b"CONTENT_LENGTH", b"12x")], want_error=("bad-content-length", 0))
    e2h(back, "environ.environ-to-http.leading-zero-strict", "CONTENT_LENGTH 007 when leading zeros are refused.", E(ref("§8")),
        base + [(b"CONTENT_LENGTH", b"007")], options={"allow_leading_zeros": False}, want_error=("bad-content-length", 0))
    e2h(back, "environ.environ-to-http.nul-in-path-info", "A NUL in PATH_INFO, at its byte offset.", E(ref("§9")),
        base + [(b"PATH_INFO", b"/a\x00b")], want_error=("bad-path", 2))
    e2h(back, "environ.environ-to-http.control-in-script-name", "A control character in SCRIPT_NAME.", E(ref("§9")),
        base + [(b"SCRIPT_NAME", b"/a\tb")], want_error=("bad-path", 2))
    e2h(back, "environ.environ-to-http.header-with-newline", "A line feed in an HTTP_* value cannot become a header (its index).",
        E(ref("§9")), base + [(b"HTTP_X_A", b"a\nb")], want_error=("bad-header", 4))
    e2h(back, "environ.environ-to-http.bad-host", "An HTTP_HOST that is not an authority.", E(ref("§8")),
        base + [(b"HTTP_HOST", b"exa mple")], want_error=("bad-host", 0))
    e2h(back, "environ.environ-to-http.http2-spelling", "SERVER_PROTOCOL HTTP/2 maps to HTTP/2.0.", E(ref("§8")),
        [(b"REQUEST_METHOD", b"GET"), (b"SERVER_PROTOCOL", b"HTTP/2"), (b"HTTP_HOST", b"h.test"), (b"PATH_INFO", b"/")])
    e2h(back, "environ.environ-to-http.unknown-protocol", "An unknown SERVER_PROTOCOL is HTTP/1.1 by default.", E(ref("§8")),
        [(b"REQUEST_METHOD", b"GET"), (b"SERVER_PROTOCOL", b"SPDY/3"), (b"HTTP_HOST", b"h.test")])
    e2h(back, "environ.environ-to-http.unknown-protocol-strict", "An unknown SERVER_PROTOCOL under strict_protocol.", E(ref("§8")),
        [(b"REQUEST_METHOD", b"GET"), (b"SERVER_PROTOCOL", b"SPDY/3")], options={"strict_protocol": True},
        want_error=("bad-protocol", 0))
    e2h(back, "environ.environ-to-http.extensions", "Non-standard variables (DOCUMENT_ROOT, REMOTE_USER, SSL_*) are kept as facts.",
        S(RFC + "§4.1"), base + [(b"DOCUMENT_ROOT", b"/srv"), (b"REMOTE_USER", b"alice"), (b"SSL_PROTOCOL", b"TLSv1.3"),
                                 (b"REMOTE_ADDR", b"192.0.2.7"), (b"REMOTE_PORT", b"50000")])
    e2h(back, "environ.environ-to-http.too-many", "More variables than max_vars.", E(ref("§8")), base,
        limits={"max_vars": 3}, want_error=("too-many", 0))
    return [caps, hmap, paths, back]


def seeds(groups):
    """environ_from_vars corpus seeds: the environ as `name NUL value NUL` records."""
    out = []
    for g in groups:
        for v in g.vectors:
            if v["direction"] != "environ-to-http":
                continue
            ps = [(unbstr(k), unbstr(x)) for k, x in v["input"]["environ"]]
            if any(b"\x00" in k + x for k, x in ps):
                continue
            out.append((v["id"].split(".", 1)[1], b"".join(k + b"\x00" + x + b"\x00" for k, x in ps)))
    return {"environ_from_vars": out[:150]}
