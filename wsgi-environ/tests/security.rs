//! One named regression test per security pitfall class.

mod common;

use common::{build, build_with, conn, http_vars, parts, vars};
use wsgi_environ::build::{BuildOptions, Preset, build_environ};
use wsgi_environ::parse::{ParseOptions, environ_to_request};
use wsgi_environ::path::PathError;
use wsgi_environ::response::{ResponseKind, ResponseOptions, parse_cgi_response};
use wsgi_environ::{BuildError, ResponseError};

/// httpoxy (CVE-2016-5385 family): `Proxy` never becomes `HTTP_PROXY`, on
/// either side.
#[test]
fn httpoxy() {
    for p in [
        Preset::FastcgiParams,
        Preset::FastcgiConf,
        Preset::UwsgiParams,
        Preset::ScgiParams,
    ] {
        let e = build_with(
            "GET",
            "/",
            &[("Proxy", b"http://evil:8080")],
            &BuildOptions::new(p),
        )
        .unwrap();
        assert_eq!(e.get(b"HTTP_PROXY"), None);
    }
    let (r, _) = environ_to_request(
        vars(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "http://evil")]),
        &ParseOptions::default(),
    )
    .unwrap();
    assert!(r.headers().get("proxy").is_none());
}

/// Underscore / dot smuggling (CVE-2015-0219, CVE-2025-64484): `X_Auth_User`
/// and `X.Auth.User` never land on `HTTP_X_AUTH_USER`.
#[test]
fn underscore_and_dot_smuggling() {
    let e = build(
        "/",
        &[
            ("X_Auth_User", b"admin"),
            ("X.Auth.User", b"admin"),
            ("X-Auth-User", b"bob"),
            ("Content_Length", b"9"),
        ],
    );
    assert_eq!(
        http_vars(&e),
        [("HTTP_HOST", "app.test"), ("HTTP_X_AUTH_USER", "bob")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(e.get(b"CONTENT_LENGTH"), Some(&b""[..]));
}

/// Headers never produce control variables (`SCRIPT_NAME`, `REMOTE_USER`):
/// every header-derived name is `HTTP_`-prefixed.
#[test]
fn header_to_control_var_injection() {
    let e = build(
        "/x",
        &[("Script-Name", b"/admin"), ("Remote-User", b"root")],
    );
    assert_eq!(e.get(b"SCRIPT_NAME"), None);
    assert_eq!(e.get(b"REMOTE_USER"), None);
    assert_eq!(e.get(b"HTTP_SCRIPT_NAME"), Some(&b"/admin"[..]));
}

/// CRLF / NUL (response splitting, CVE-2024-38476): rejected in CGI
/// responses, in environ values rebuilt as headers, and never encoded.
#[test]
fn crlf_and_nul_injection() {
    let o = ResponseOptions::default();
    assert_eq!(
        parse_cgi_response(b"Status: 200\r\nX: a\rLocation: /x\r\n\r\n", &o),
        Err(ResponseError::ControlChar { offset: 17 })
    );
    assert_eq!(
        parse_cgi_response(b"Status: 200\nX: a\0\n\n", &o),
        Err(ResponseError::ControlChar { offset: 16 })
    );
    let p: Vec<(&[u8], &[u8])> = vec![
        (b"REQUEST_METHOD", b"GET"),
        (b"HTTP_X", b"a\r\nSet-Cookie: x"),
    ];
    assert!(environ_to_request(p, &ParseOptions::default()).is_err());
}

/// CL vs TE (CVE-2024-1135): both, or two differing lengths, are rejected.
#[test]
fn content_length_vs_transfer_encoding() {
    let o = BuildOptions::new(Preset::FastcgiParams);
    assert_eq!(
        build_with(
            "POST",
            "/",
            &[("Transfer-Encoding", b"chunked"), ("Content-Length", b"3")],
            &o
        ),
        Err(BuildError::ContentLengthWithTransferEncoding)
    );
    assert_eq!(
        build_with(
            "POST",
            "/",
            &[("Content-Length", b"3"), ("Content-Length", b"30")],
            &o
        ),
        Err(BuildError::InvalidContentLength)
    );
}

/// PATH_INFO splitting and traversal (CVE-2019-11043, RFC 3875 §9.8):
/// `%0a` rejected, `..` resolved before the mount split, escapes rejected,
/// and the mount only matches on a segment boundary.
#[test]
fn path_info_splitting_and_traversal() {
    let o = BuildOptions::new(Preset::FastcgiParams);
    assert_eq!(
        build_with("GET", "/index.php/%0a.php", &[], &o),
        Err(BuildError::Path(PathError::ControlChar { offset: 11 }))
    );
    assert_eq!(
        build_with("GET", "/%2e%2e/%2e%2e/etc/passwd", &[], &o),
        Err(BuildError::Path(PathError::EscapesRoot))
    );
    let c = wsgi_environ::Connection {
        mount: b"/api".to_vec(),
        ..conn()
    };
    let e = build_environ(&parts("GET", "/api/../admin/x", &[]), &c, &o);
    assert_eq!(e, Err(BuildError::OutsideMount));
    let e = build_environ(&parts("GET", "/apiadmin", &[]), &c, &o);
    assert_eq!(e, Err(BuildError::OutsideMount));
}

/// Forwarded-header spoofing: `X-Forwarded-For` / `Forwarded` never change
/// `REMOTE_ADDR`, which is the immediate peer.
#[test]
fn forwarded_header_spoofing() {
    let e = build(
        "/",
        &[
            ("X-Forwarded-For", b"10.9.9.9"),
            ("Forwarded", b"for=10.9.9.9"),
            ("X-Real-IP", b"10.9.9.9"),
        ],
    );
    assert_eq!(e.get(b"REMOTE_ADDR"), Some(&b"192.0.2.7"[..]));
    assert_eq!(e.get(b"HTTP_X_FORWARDED_FOR"), Some(&b"10.9.9.9"[..]));
}

/// Query as argv (CVE-2012-1823, CVE-2024-4577): an indexed query is passed
/// raw in `QUERY_STRING` and nothing else is derived from it.
#[test]
fn query_as_argv() {
    let e = build("/php-cgi?-d+allow_url_include%3d1+-s", &[]);
    assert_eq!(
        e.get(b"QUERY_STRING"),
        Some(&b"-d+allow_url_include%3d1+-s"[..])
    );
    let with_q: Vec<_> = e
        .iter()
        .filter(|(_, v)| v.windows(2).any(|w| w == b"-d" || w == b"-s"))
        .map(|(k, _)| k.to_vec())
        .collect();
    assert_eq!(with_q, [b"QUERY_STRING".to_vec(), b"REQUEST_URI".to_vec()]);
}

/// Local redirects (Orange Tsai 2024) are surfaced, never followed.
#[test]
fn local_redirect_is_surfaced() {
    let r = parse_cgi_response(
        b"Location: /proxy:http://internal/\n\n",
        &ResponseOptions::default(),
    )
    .unwrap()
    .complete()
    .unwrap();
    assert_eq!(
        r.kind,
        ResponseKind::LocalRedirect {
            location: b"/proxy:http://internal/".to_vec()
        }
    );
}

/// Variant spellings of the reserved names (lower case, `-` instead of `_`)
/// are filtered like the canonical ones: no `Proxy`, no second
/// `Content-Length`, no `Host` override.
#[test]
fn httpoxy_and_framing_variant_spellings() {
    let (r, f) = environ_to_request(
        vars(&[
            ("REQUEST_METHOD", "GET"),
            ("HTTP_proxy", "http://evil"),
            ("HTTP_Pro-xy", "http://evil"),
            ("HTTP_CONTENT-LENGTH", "7"),
            ("HTTP_content_type", "x/y"),
            ("HTTP_host", "evil.test"),
            ("SERVER_NAME", "good.test"),
        ]),
        &ParseOptions::default(),
    )
    .unwrap();
    assert!(r.headers().get("proxy").is_none());
    assert!(r.headers().get("content-length").is_none());
    assert!(r.headers().get("content-type").is_none());
    assert_eq!(f.content_length, None);
    assert_eq!(r.headers()["host"], "good.test");
    assert_eq!(r.headers()["pro-xy"], "http://evil");
}
