//! Property tests: request → environ → request for the canonical subset;
//! arbitrary environ bytes never panic; response head encode → parse.

mod common;

use common::config;
use proptest::prelude::*;
use wsgi_environ::build::{BuildOptions, Connection, Preset, build_environ};
use wsgi_environ::parse::{ParseOptions, environ_to_request};
use wsgi_environ::response::{ResponseHead, ResponseOptions, parse_cgi_response};

fn segment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_~-]{1,8}"
}

fn header_name() -> impl Strategy<Value = String> {
    "x-[a-z0-9]{1,6}(-[a-z0-9]{1,4})?"
}

proptest! {
    #![proptest_config(config())]

    /// Canonical subset: lower-case `[a-z0-9-]` names, one value each,
    /// unreserved path segments, printable values.
    #[test]
    fn request_environ_request(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
        segs in prop::collection::vec(segment(), 0..5),
        query in prop::option::of("[a-z0-9=&%+]{0,12}"),
        headers in prop::collection::btree_map(header_name(), "[ -~]{0,16}", 0..6),
        preset in prop::sample::select(vec![Preset::FastcgiParams, Preset::FastcgiConf, Preset::UwsgiParams, Preset::ScgiParams]),
    ) {
        let path = format!("/{}", segs.join("/"));
        let target = match &query { Some(q) => format!("{path}?{q}"), None => path.clone() };
        let mut b = http::Request::builder().method(method).uri(&target).header("host", "h.test");
        for (n, v) in &headers {
            b = b.header(n.as_str(), v.trim());
        }
        let (parts, ()) = b.body(()).unwrap().into_parts();
        let conn = Connection { remote: Some(([127, 0, 0, 1], 1).into()), server_name: b"h.test".to_vec(), ..Connection::default() };
        let env = build_environ(&parts, &conn, &BuildOptions::new(preset)).unwrap();
        for (k, v) in env.iter() {
            prop_assert!(k.iter().all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_'));
            prop_assert!(!v.contains(&0));
        }
        let (req, facts) = environ_to_request(env.iter(), &ParseOptions::default()).unwrap();
        prop_assert_eq!(req.method(), &parts.method);
        prop_assert_eq!(req.uri().path_and_query().unwrap().as_str(), parts.uri.path_and_query().unwrap().as_str());
        prop_assert_eq!(req.headers()["host"].as_bytes(), b"h.test");
        for (n, v) in &headers {
            prop_assert_eq!(req.headers()[n.as_str()].as_bytes(), v.trim().as_bytes());
        }
        prop_assert_eq!(facts.remote_addr, Some([127, 0, 0, 1].into()));
    }

    /// Arbitrary pairs never panic.
    #[test]
    fn arbitrary_environ_never_panics(pairs in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..12), prop::collection::vec(any::<u8>(), 0..12)), 0..12)) {
        let _ = environ_to_request(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice())), &ParseOptions::default());
        let mut with_method = vec![(b"REQUEST_METHOD".to_vec(), b"GET".to_vec())];
        with_method.extend(pairs);
        let _ = environ_to_request(with_method.iter().map(|(k, v)| (k.as_slice(), v.as_slice())), &ParseOptions::default());
    }

    /// Arbitrary response bytes never panic.
    #[test]
    fn arbitrary_response_never_panics(data in prop::collection::vec(any::<u8>(), 0..200)) {
        wsgi_environ::fuzzing::cgi_response(&data);
    }

    /// Response head encode → parse identity (CGI form and HTTP/1.1 form).
    #[test]
    fn response_head_roundtrip(
        code in 100u16..600,
        reason in prop::option::of("[A-Za-z][A-Za-z ]{0,10}[A-Za-z]"),
        fields in prop::collection::vec(("x-[a-z]{1,6}", "[!-~]([ -~]{0,10}[!-~])?"), 0..6),
        ct in prop::option::of("[a-z]{1,5}/[a-z]{1,5}"),
    ) {
        let mut h = ResponseHead::new(http::StatusCode::from_u16(code).unwrap());
        h.reason = reason.map(String::into_bytes);
        if h.reason.is_none() && h.status.canonical_reason().is_some() {
            h.reason = h.status.canonical_reason().map(|r| r.as_bytes().to_vec());
        }
        if let Some(ct) = ct {
            h.headers.insert("content-type", ct.parse().unwrap());
        }
        for (n, v) in &fields {
            h.headers.append(http::HeaderName::from_bytes(n.as_bytes()).unwrap(), v.parse().unwrap());
        }
        let mut out = Vec::new();
        h.encode_cgi(&mut out).unwrap();
        prop_assert_eq!(out.len(), h.cgi_encoded_len());
        let r = parse_cgi_response(&out, &ResponseOptions::default()).unwrap().complete().unwrap();
        prop_assert_eq!(&r.head, &h);
        prop_assert_eq!(r.body_offset, out.len());
        let mut out = Vec::new();
        h.encode_http1(&mut out).unwrap();
        prop_assert_eq!(out.len(), h.http1_encoded_len());
        let nph = ResponseOptions { allow_status_line: true, ..ResponseOptions::default() };
        let r = parse_cgi_response(&out, &nph).unwrap().complete().unwrap();
        prop_assert_eq!(r.head.status, h.status);
        prop_assert_eq!(&r.head.headers, &h.headers);
    }
    /// The builder never emits a name outside `[A-Z0-9_]`, an `HTTP_PROXY`
    /// from a header, or a value with NUL/CR/LF, whatever the headers.
    #[test]
    fn builder_output_is_clean(
        headers in prop::collection::vec(("[!#$%&'*+.^_`|~0-9a-zA-Z-]{1,10}", prop::collection::vec(any::<u8>(), 0..12)), 0..10),
        target in "/[ -~&&[^#?%]]{0,20}",
    ) {
        let mut b = http::Request::builder().uri("/");
        if let Ok(u) = target.parse::<http::Uri>() {
            b = b.uri(u);
        }
        let mut req = b.body(()).unwrap();
        for (n, v) in &headers {
            if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(n.as_bytes()), http::HeaderValue::from_bytes(v)) {
                req.headers_mut().append(n, v);
            }
        }
        req.headers_mut().append("proxy", http::HeaderValue::from_static("http://evil"));
        req.headers_mut().remove("content-length");
        req.headers_mut().remove("transfer-encoding");
        let (parts, ()) = req.into_parts();
        for preset in [Preset::FastcgiParams, Preset::FastcgiConf, Preset::UwsgiParams, Preset::ScgiParams] {
            if let Ok(env) = build_environ(&parts, &Connection::default(), &BuildOptions::new(preset)) {
                for (k, v) in env.iter() {
                    prop_assert!(k.iter().all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_'));
                    prop_assert!(!v.iter().any(|&c| matches!(c, 0 | b'\r' | b'\n')));
                }
                prop_assert_eq!(env.get(b"HTTP_PROXY"), None);
            }
        }
    }
}
