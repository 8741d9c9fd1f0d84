//! Environ → request: the parser items of the edge-case checklist.

mod common;

use common::vars;
use wsgi_environ::parse::{DuplicateKeys, ParseOptions, environ_to_request};
use wsgi_environ::path::PathError;
use wsgi_environ::{Environ, ParseError};

fn parse(
    p: &[(&str, &str)],
) -> Result<(http::Request<()>, wsgi_environ::RequestFacts), ParseError> {
    environ_to_request(vars(p), &ParseOptions::default())
}

const BASE: [(&str, &str); 3] = [
    ("REQUEST_METHOD", "GET"),
    ("SERVER_NAME", "s.test"),
    ("SERVER_PORT", "80"),
];

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = BASE.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn method_required_and_case_sensitive() {
    assert_eq!(
        parse(&[("SERVER_NAME", "s")]).unwrap_err(),
        ParseError::MissingMethod
    );
    assert_eq!(
        parse(&[("REQUEST_METHOD", "")]).unwrap_err(),
        ParseError::MissingMethod
    );
    assert_eq!(
        parse(&[("REQUEST_METHOD", "G T")]).unwrap_err(),
        ParseError::InvalidMethod
    );
    let (r, _) = parse(&[("REQUEST_METHOD", "purge")]).unwrap();
    assert_eq!(r.method().as_str(), "purge");
}

#[test]
fn empty_means_unset() {
    let (r, f) = parse(&with(&[
        ("CONTENT_LENGTH", ""),
        ("CONTENT_TYPE", ""),
        ("PATH_INFO", ""),
    ]))
    .unwrap();
    assert_eq!(f.content_length, None);
    assert!(r.headers().get("content-type").is_none());
    assert!(r.headers().get("content-length").is_none());
    assert_eq!(r.uri(), "http://s.test/");
}

#[test]
fn content_length_values() {
    for bad in ["abc", "-1", "+5", " 5", "99999999999999999999999"] {
        assert_eq!(
            parse(&with(&[("CONTENT_LENGTH", bad)])).unwrap_err(),
            ParseError::InvalidContentLength,
            "{bad}"
        );
    }
    assert_eq!(
        parse(&with(&[("CONTENT_LENGTH", "007")]))
            .unwrap()
            .1
            .content_length,
        Some(7)
    );
    let strict = ParseOptions {
        allow_leading_zeros: false,
        ..ParseOptions::default()
    };
    assert_eq!(
        environ_to_request(vars(&with(&[("CONTENT_LENGTH", "007")])), &strict).unwrap_err(),
        ParseError::InvalidContentLength
    );
}

#[test]
fn content_vars_win_over_http_copies() {
    let (r, f) = parse(&with(&[
        ("CONTENT_LENGTH", "5"),
        ("HTTP_CONTENT_LENGTH", "9"),
        ("HTTP_TRANSFER_ENCODING", "chunked"),
        ("CONTENT_TYPE", "a/b"),
        ("HTTP_CONTENT_TYPE", "c/d"),
    ]))
    .unwrap();
    assert_eq!(f.content_length, Some(5));
    assert_eq!(r.headers()["content-length"], "5");
    assert_eq!(r.headers()["content-type"], "a/b");
    assert!(r.headers().get("transfer-encoding").is_none());
    assert_eq!(r.headers().get_all("content-length").iter().count(), 1);
}

#[test]
fn header_reconstruction() {
    let (r, f) = parse(&with(&[
        ("HTTP_X_FOO", "1"),
        ("HTTP_", "bare"),
        ("HTTP__X", "2"),
        ("HTTP_x_low", "3"),
        ("HTTP_BAD NAME", "4"),
    ]))
    .unwrap();
    assert_eq!(r.headers()["x-foo"], "1");
    assert_eq!(r.headers()["-x"], "2");
    assert_eq!(r.headers()["x-low"], "3");
    assert_eq!(
        f.extensions,
        vec![
            (b"HTTP_".to_vec(), b"bare".to_vec()),
            (b"HTTP_BAD NAME".to_vec(), b"4".to_vec())
        ]
    );
}

#[test]
fn duplicate_keys_policy() {
    let p = with(&[("HTTP_COOKIE", "a=1"), ("HTTP_COOKIE", "b=2")]);
    let (r, _) = environ_to_request(vars(&p), &ParseOptions::default()).unwrap();
    assert_eq!(
        r.headers().get_all("cookie").iter().collect::<Vec<_>>(),
        ["b=2"]
    );
    let app = ParseOptions {
        duplicates: DuplicateKeys::AppendHeaders,
        ..ParseOptions::default()
    };
    let (r, _) = environ_to_request(vars(&p), &app).unwrap();
    assert_eq!(
        r.headers().get_all("cookie").iter().collect::<Vec<_>>(),
        ["a=1", "b=2"]
    );
    let rej = ParseOptions {
        duplicates: DuplicateKeys::Reject,
        ..ParseOptions::default()
    };
    assert_eq!(
        environ_to_request(vars(&p), &rej).unwrap_err(),
        ParseError::DuplicateKey { index: 4 }
    );
}

#[test]
fn uri_reconstruction() {
    let (r, _) = parse(&with(&[
        ("REQUEST_URI", "/raw%2Fpath?q=1"),
        ("PATH_INFO", "/raw/path"),
    ]))
    .unwrap();
    assert_eq!(r.uri(), "http://s.test/raw%2Fpath?q=1");
    let (r, _) = parse(&with(&[
        ("SCRIPT_NAME", "/app"),
        ("PATH_INFO", "/a b/%/?/#/\u{e9}"),
        ("QUERY_STRING", "x=%20"),
    ]))
    .unwrap();
    assert_eq!(r.uri(), "http://s.test/app/a%20b/%25/%3F/%23/%C3%A9?x=%20");
    let no_ru = ParseOptions {
        prefer_request_uri: false,
        ..ParseOptions::default()
    };
    let (r, _) = environ_to_request(
        vars(&with(&[("REQUEST_URI", "/x"), ("PATH_INFO", "/y")])),
        &no_ru,
    )
    .unwrap();
    assert_eq!(r.uri().path(), "/y");
}

#[test]
fn host_and_port() {
    let (r, _) = parse(&with(&[("HTTP_HOST", "h.test:81")])).unwrap();
    assert_eq!(r.uri().authority().unwrap(), "h.test:81");
    assert_eq!(r.headers()["host"], "h.test:81");
    let (r, _) = parse(&[
        ("REQUEST_METHOD", "GET"),
        ("SERVER_NAME", "s"),
        ("SERVER_PORT", "8080"),
    ])
    .unwrap();
    assert_eq!(r.uri(), "http://s:8080/");
    let (r, _) = parse(&[
        ("REQUEST_METHOD", "GET"),
        ("SERVER_NAME", "s"),
        ("SERVER_PORT", "443"),
        ("HTTPS", "on"),
    ])
    .unwrap();
    assert_eq!(r.uri(), "https://s/");
    let (r, _) = parse(&[
        ("REQUEST_METHOD", "GET"),
        ("SERVER_NAME", "[::1]"),
        ("SERVER_PORT", "80"),
    ])
    .unwrap();
    assert_eq!(r.uri(), "http://[::1]/");
    assert_eq!(
        parse(&with(&[("HTTP_HOST", "a b")])).unwrap_err(),
        ParseError::InvalidHost
    );
    assert_eq!(
        parse(&with(&[("HTTP_HOST", "a/b")])).unwrap_err(),
        ParseError::InvalidHost
    );
}

#[test]
fn scheme() {
    for (k, v, https) in [
        ("HTTPS", "on", true),
        ("HTTPS", "ON", true),
        ("HTTPS", "1", true),
        ("HTTPS", "yes", true),
        ("HTTPS", "off", false),
        ("REQUEST_SCHEME", "https", true),
        ("REQUEST_SCHEME", "http", false),
        ("wsgi.url_scheme", "https", false),
    ] {
        let (r, f) = parse(&with(&[(k, v)])).unwrap();
        assert_eq!(f.https, https, "{k}={v}");
        assert_eq!(
            r.uri().scheme_str(),
            Some(if https { "https" } else { "http" })
        );
    }
}

#[test]
fn server_protocol() {
    for (p, v) in [
        ("HTTP/1.0", http::Version::HTTP_10),
        ("HTTP/1.1", http::Version::HTTP_11),
        ("HTTP/2.0", http::Version::HTTP_2),
        ("HTTP/2", http::Version::HTTP_2),
        ("HTTP/1", http::Version::HTTP_11),
        ("INCLUDED", http::Version::HTTP_11),
        ("garbage", http::Version::HTTP_11),
    ] {
        assert_eq!(
            parse(&with(&[("SERVER_PROTOCOL", p)])).unwrap().0.version(),
            v,
            "{p}"
        );
    }
    let strict = ParseOptions {
        strict_protocol: true,
        ..ParseOptions::default()
    };
    assert_eq!(
        environ_to_request(vars(&with(&[("SERVER_PROTOCOL", "garbage")])), &strict).unwrap_err(),
        ParseError::InvalidProtocol
    );
}

#[test]
fn facts_and_extensions() {
    let (_, f) = parse(&with(&[
        ("REMOTE_ADDR", "2001:db8::2"),
        ("REMOTE_PORT", "5000"),
        ("SERVER_ADDR", "10.0.0.1"),
        ("REMOTE_USER", "bob"),
        ("SSL_PROTOCOL", "TLSv1.3"),
        ("DOCUMENT_ROOT", "/srv"),
        ("SCRIPT_NAME", "/app"),
        ("PATH_INFO", "/x"),
    ]))
    .unwrap();
    assert_eq!(f.remote_addr, Some("2001:db8::2".parse().unwrap()));
    assert_eq!(f.remote_port, Some(5000));
    assert_eq!(f.server_addr, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(f.server_port, Some(80));
    assert_eq!(f.server_name, b"s.test");
    assert_eq!(f.script_name, b"/app");
    assert_eq!(f.path_info, b"/x");
    assert_eq!(
        f.extensions,
        vec![
            (b"REMOTE_USER".to_vec(), b"bob".to_vec()),
            (b"SSL_PROTOCOL".to_vec(), b"TLSv1.3".to_vec()),
            (b"DOCUMENT_ROOT".to_vec(), b"/srv".to_vec()),
        ]
    );
}

#[test]
fn path_vars_checked() {
    let p: Vec<(&[u8], &[u8])> = vec![(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", b"/a\0b")];
    assert_eq!(
        environ_to_request(p, &ParseOptions::default()).unwrap_err(),
        ParseError::Path(PathError::Nul { offset: 2 })
    );
    let p: Vec<(&[u8], &[u8])> = vec![(b"REQUEST_METHOD", b"GET"), (b"SCRIPT_NAME", b"/a\nb")];
    assert_eq!(
        environ_to_request(p, &ParseOptions::default()).unwrap_err(),
        ParseError::Path(PathError::ControlChar { offset: 2 })
    );
}

#[test]
fn non_utf8_never_panics_and_bad_values_are_typed() {
    let p: Vec<(&[u8], &[u8])> = vec![
        (b"REQUEST_METHOD", b"GET"),
        (b"\xff\xfe", b"\x80"),
        (b"HTTP_X", b"\xff ok"),
        (b"REMOTE_ADDR", b"\xff"),
        (b"PATH_INFO", b"/\xe9"),
    ];
    let (r, f) = environ_to_request(p, &ParseOptions::default()).unwrap();
    assert_eq!(r.headers()["x"].as_bytes(), b"\xff ok");
    assert_eq!(r.uri().path(), "/%E9");
    assert_eq!(f.remote_addr, None);
    let p: Vec<(&[u8], &[u8])> = vec![(b"REQUEST_METHOD", b"GET"), (b"HTTP_X", b"a\rb")];
    assert_eq!(
        environ_to_request(p, &ParseOptions::default()).unwrap_err(),
        ParseError::InvalidHeader { index: 1 }
    );
    let many: Vec<(&[u8], &[u8])> = (0..1001).map(|_| (&b"X"[..], &b""[..])).collect();
    assert_eq!(
        environ_to_request(many, &ParseOptions::default()).unwrap_err(),
        ParseError::TooManyVars { max: 1000 }
    );
}

#[test]
fn environ_model() {
    let mut e = Environ::from_pairs(vars(&[("A", "1"), ("B", "2"), ("A", "3")]));
    assert_eq!(e.get(b"A"), Some(&b"3"[..]));
    e.set(b"A", "x");
    assert_eq!(
        e.iter().collect::<Vec<_>>(),
        [(&b"A"[..], &b"x"[..]), (&b"B"[..], &b"2"[..])]
    );
    e.set(b"C", "");
    assert_eq!(e.get(b"C"), Some(&b""[..]));
    assert_eq!(e.get_nonempty(b"C"), None);
    e.remove(b"B");
    assert_eq!(e.len(), 2);
    assert_eq!(e.content_length(), Ok(None));
    e.push("CONTENT_LENGTH", "x");
    assert_eq!(e.content_length(), Err(ParseError::InvalidContentLength));
    assert_eq!(e.get_utf8_lossy(b"A").as_deref(), Some("x"));
}

#[test]
fn bad_content_type_value_names_its_pair() {
    let p: Vec<(&[u8], &[u8])> = vec![
        (b"REQUEST_METHOD", b"GET"),
        (b"X", b""),
        (b"CONTENT_TYPE", b"a\x01b"),
    ];
    assert_eq!(
        environ_to_request(p, &ParseOptions::default()).unwrap_err(),
        ParseError::InvalidHeader { index: 2 }
    );
}
