//! `REQUEST_URI` bytes that front servers pass through raw but `http::Uri`
//! refuses. nginx accepts `"`, `<`, `>`, `` ` `` and latin-1 bytes in the
//! request line and forwards them in `REQUEST_URI`; rebuilding the request
//! failed with `InvalidUri` (found behind nginx `uwsgi_pass` and
//! `fastcgi_pass` with `GET /status/404?x="<>` and `GET /caf\xe9`).

mod common;

use wsgi_environ::parse::{ParseOptions, environ_to_request};

fn uri(request_uri: &[u8]) -> String {
    let env: Vec<(&[u8], &[u8])> = vec![
        (b"REQUEST_METHOD", b"GET"),
        (b"SERVER_NAME", b"s.test"),
        (b"SERVER_PORT", b"80"),
        (b"REQUEST_URI", request_uri),
    ];
    let (req, _) = environ_to_request(env, &ParseOptions::default()).unwrap();
    req.uri().to_string()
}

#[test]
fn quotes_angles_and_backtick_are_percent_encoded() {
    assert_eq!(uri(b"/q?x=\"<>`"), "http://s.test/q?x=%22%3C%3E%60");
    assert_eq!(uri(b"/a\"b/<c>/`d`"), "http://s.test/a%22b/%3Cc%3E/%60d%60");
}

#[test]
fn latin1_bytes_are_percent_encoded() {
    assert_eq!(uri(b"/caf\xe9?q=\xff"), "http://s.test/caf%E9?q=%FF");
    // one invalid byte anywhere: every high byte is encoded
    assert_eq!(uri(b"/\xc3\xa9/\xe9"), "http://s.test/%C3%A9/%E9");
}

#[test]
fn what_http_accepts_is_kept_as_sent() {
    assert_eq!(uri(b"/caf\xc3\xa9?q=%20"), "http://s.test/caf\u{e9}?q=%20");
    assert_eq!(uri(b"/a|b{c}^\\?x=`|"), "http://s.test/a|b{c}^\\?x=%60|");
    assert_eq!(uri(b"/raw%2Fpath?q=1"), "http://s.test/raw%2Fpath?q=1");
}

#[test]
fn controls_still_fail() {
    let env: Vec<(&[u8], &[u8])> = vec![
        (b"REQUEST_METHOD", b"GET"),
        (b"SERVER_NAME", b"s.test"),
        (b"REQUEST_URI", b"/a b"),
    ];
    assert_eq!(
        environ_to_request(env, &ParseOptions::default()).unwrap_err(),
        wsgi_environ::ParseError::InvalidUri
    );
}

/// The uWSGI router passes an absolute-form target through untouched, in
/// `REQUEST_URI` and (worse) `PATH_INFO`; Apache keeps it in `REQUEST_URI`.
/// The request used to fail with `InvalidUri` behind the router.
#[test]
fn absolute_form_request_uri_is_reduced_to_origin_form() {
    let env = |ru: &'static [u8], pi: &'static [u8]| -> Vec<(&'static [u8], &'static [u8])> {
        vec![
            (b"REQUEST_METHOD", b"GET"),
            (b"HTTP_HOST", b"example.test"),
            (b"SCRIPT_NAME", b""),
            (b"PATH_INFO", pi),
            (b"QUERY_STRING", b"a=1"),
            (b"REQUEST_URI", ru),
        ]
    };
    let uri = |ru, pi| {
        let (req, _) = environ_to_request(env(ru, pi), &ParseOptions::default()).unwrap();
        req.uri().to_string()
    };
    // uWSGI router: both vars absolute
    assert_eq!(
        uri(
            b"http://other.test/path/x%2Fy?a=1",
            b"http://other.test/path/x/y"
        ),
        "http://example.test/path/x%2Fy?a=1"
    );
    assert_eq!(
        uri(b"HTTPS://other.test:8443/p", b"https://other.test:8443/p"),
        "http://example.test/p"
    );
    assert_eq!(
        uri(b"http://other.test?a=1", b""),
        "http://example.test/?a=1"
    );
    assert_eq!(uri(b"http://other.test", b""), "http://example.test/");
    // not a URI scheme we reduce: the PATH_INFO fallback, as before
    assert_eq!(uri(b"ftp://x/y", b"/y"), "http://example.test/y?a=1");
}
