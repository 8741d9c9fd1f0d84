//! Request → environ: the builder items of the edge-case checklist.

mod common;

use common::{build, build_with, conn, http_vars, parts};
use wsgi_environ::BuildError;
use wsgi_environ::build::{
    BuildOptions, Connection, Duplicates, HeaderPolicy, InvalidNames, Preset, build_environ,
    client_params,
};
use wsgi_environ::path::{DotSegments, EncodedSlash, PathError, PathPolicy};

fn s(v: Option<&[u8]>) -> Option<&str> {
    v.map(|b| std::str::from_utf8(b).unwrap())
}

#[test]
fn query_string_always_present_and_raw() {
    assert_eq!(s(build("/x", &[]).get(b"QUERY_STRING")), Some(""));
    assert_eq!(s(build("/x?", &[]).get(b"QUERY_STRING")), Some(""));
    let e = build("/x?a+b=%20%2B;c=%C3%A9", &[]);
    assert_eq!(s(e.get(b"QUERY_STRING")), Some("a+b=%20%2B;c=%C3%A9"));
    assert_eq!(s(e.get(b"REQUEST_URI")), Some("/x?a+b=%20%2B;c=%C3%A9"));
}

#[test]
fn path_decoding_policies() {
    let e = build("/a%2Fb/%2541/%ff", &[]);
    assert_eq!(e.get(b"PATH_INFO"), Some(&b"/a/b/%41/\xff"[..]));
    let mut o = BuildOptions::new(Preset::UwsgiParams);
    o.path.encoded_slash = EncodedSlash::Preserve;
    let e = build_with("GET", "/a%2fb", &[], &o).unwrap();
    assert_eq!(e.get(b"PATH_INFO"), Some(&b"/a%2fb"[..]));
    o.path.encoded_slash = EncodedSlash::Reject;
    assert_eq!(
        build_with("GET", "/a%2Fb", &[], &o),
        Err(BuildError::Path(PathError::EncodedSlash { offset: 2 }))
    );
    let d = BuildOptions::new(Preset::UwsgiParams);
    assert_eq!(
        build_with("GET", "/a%00", &[], &d),
        Err(BuildError::Path(PathError::Nul { offset: 2 }))
    );
    assert_eq!(
        build_with("GET", "/a%0a.php", &[], &d),
        Err(BuildError::Path(PathError::ControlChar { offset: 2 }))
    );
    assert_eq!(
        build_with("GET", "/a%0D", &[], &d),
        Err(BuildError::Path(PathError::ControlChar { offset: 2 }))
    );
    assert_eq!(
        build_with("GET", "/a%zz", &[], &d),
        Err(BuildError::Path(PathError::BadPercent { offset: 2 }))
    );
    assert_eq!(
        build_with("GET", "/a%4", &[], &d),
        Err(BuildError::Path(PathError::BadPercent { offset: 2 }))
    );
}

#[test]
fn dot_segments_and_slashes() {
    let p = PathPolicy::default();
    let dec = |x: &[u8], p: &PathPolicy| wsgi_environ::path::decode_path(x, p);
    assert_eq!(dec(b"/a//b/./c/", &p).unwrap(), b"/a/b/c/");
    assert_eq!(dec(b"/a/b/../c", &p).unwrap(), b"/a/c");
    assert_eq!(dec(b"/a/%2e%2e/c", &p).unwrap(), b"/c");
    assert_eq!(dec(b"/a/..%2fc", &p).unwrap(), b"/c");
    assert_eq!(dec(b"/a/..", &p).unwrap(), b"/");
    assert_eq!(dec(b"/..", &p), Err(PathError::EscapesRoot));
    let r = PathPolicy {
        dot_segments: DotSegments::Reject,
        ..p
    };
    assert_eq!(dec(b"/a/./b", &r), Err(PathError::DotSegment));
    assert_eq!(dec(b"/a/%2E%2E/b", &r), Err(PathError::DotSegment));
    let pass = PathPolicy {
        dot_segments: DotSegments::Pass,
        merge_slashes: false,
        ..p
    };
    assert_eq!(dec(b"/a//../b", &pass).unwrap(), b"/a//../b");
    // Preserved %2F is not a separator: `..%2F` is a plain segment.
    let keep = PathPolicy {
        encoded_slash: EncodedSlash::Preserve,
        ..p
    };
    assert_eq!(dec(b"/a/..%2Fb", &keep).unwrap(), b"/a/..%2Fb");
}

fn mounted(mount: &str, target: &str, preset: Preset) -> Result<(Vec<u8>, Vec<u8>), BuildError> {
    let c = Connection {
        mount: mount.as_bytes().to_vec(),
        ..conn()
    };
    let e = build_environ(&parts("GET", target, &[]), &c, &BuildOptions::new(preset))?;
    Ok((
        e.get(b"SCRIPT_NAME").unwrap().to_vec(),
        e.get(b"PATH_INFO").unwrap().to_vec(),
    ))
}

#[test]
fn mount_on_segment_boundary_only() {
    let u = Preset::UwsgiParams;
    assert_eq!(
        mounted("/api", "/api", u).unwrap(),
        (b"/api".to_vec(), b"".to_vec())
    );
    assert_eq!(
        mounted("/api", "/api/", u).unwrap(),
        (b"/api".to_vec(), b"/".to_vec())
    );
    assert_eq!(
        mounted("/api/", "/api/x", u).unwrap(),
        (b"/api".to_vec(), b"/x".to_vec())
    );
    assert_eq!(mounted("/api", "/apifoo", u), Err(BuildError::OutsideMount));
    assert_eq!(
        mounted("/", "/x", u).unwrap(),
        (b"".to_vec(), b"/x".to_vec())
    );
    assert_eq!(
        mounted("/caf\u{e9}", "/caf%C3%A9/x", u).unwrap(),
        ("/caf\u{e9}".as_bytes().to_vec(), b"/x".to_vec())
    );
    assert_eq!(
        mounted("/app", "/app/x", Preset::FastcgiParams).unwrap(),
        (b"/app".to_vec(), b"/x".to_vec())
    );
}

#[test]
fn header_names() {
    let e = build(
        "/",
        &[
            ("X-Foo", b"1"),
            ("X_Foo", b"2"),
            ("X.Foo", b"3"),
            ("1234", b"4"),
        ],
    );
    assert_eq!(
        http_vars(&e),
        [
            ("HTTP_HOST", "app.test"),
            ("HTTP_X_FOO", "1"),
            ("HTTP_1234", "4")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let long = "X".repeat(4000);
    let e = build("/", &[(&long, b"v")]);
    assert_eq!(e.get(format!("HTTP_{long}").as_bytes()), Some(&b"v"[..]));
    let mut o = BuildOptions::new(Preset::UwsgiParams);
    o.headers.invalid_names = InvalidNames::Reject;
    assert_eq!(
        build_with("GET", "/", &[("A", b"1"), ("X_Foo", b"2")], &o),
        Err(BuildError::InvalidHeaderName { index: 1 })
    );
}

#[test]
fn duplicates_joined_in_order() {
    let e = build(
        "/",
        &[
            ("A", b"1"),
            ("Cookie", b"a=1"),
            ("a", b"2"),
            ("Cookie", b"b=2"),
            ("X-A", b"x"),
            ("X_A", b"y"),
        ],
    );
    assert_eq!(
        http_vars(&e),
        [
            ("HTTP_HOST", "app.test"),
            ("HTTP_A", "1, 2"),
            ("HTTP_COOKIE", "a=1; b=2"),
            ("HTTP_X_A", "x")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let mut o = BuildOptions::new(Preset::UwsgiParams);
    o.headers.duplicates = Duplicates::Repeat;
    let e = build_with("GET", "/", &[("A", b"1"), ("A", b"2")], &o).unwrap();
    assert_eq!(
        http_vars(&e),
        [("HTTP_HOST", "app.test"), ("HTTP_A", "1"), ("HTTP_A", "2")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[test]
fn special_headers() {
    let e = build_with(
        "POST",
        "/",
        &[
            ("Content-Type", b"text/plain"),
            ("Content-Length", b"5"),
            ("Host", b"h.test:81"),
        ],
        &BuildOptions::new(Preset::UwsgiParams),
    )
    .unwrap();
    assert_eq!(e.get(b"CONTENT_TYPE"), Some(&b"text/plain"[..]));
    assert_eq!(e.get(b"CONTENT_LENGTH"), Some(&b"5"[..]));
    assert_eq!(e.get(b"HTTP_CONTENT_LENGTH"), Some(&b"5"[..]));
    // The preset's `HTTP_HOST $host` line: no port, lower-cased.
    assert_eq!(e.get(b"HTTP_HOST"), Some(&b"h.test"[..]));
    let mut o = BuildOptions::new(Preset::FastcgiConf);
    o.headers.http_content_vars = false;
    o.headers.pass_authorization = false;
    let e = build_with(
        "POST",
        "/",
        &[
            ("Content-Type", b"a/b"),
            ("Authorization", b"Basic x"),
            ("Host", b"H.test:81"),
        ],
        &o,
    )
    .unwrap();
    assert_eq!(e.get(b"HTTP_CONTENT_TYPE"), None);
    assert_eq!(e.get(b"HTTP_AUTHORIZATION"), None);
    assert_eq!(e.get(b"HTTP_HOST"), Some(&b"H.test:81"[..]));
    // Absolute form: the authority wins over Host; synthesised without Host.
    let o = BuildOptions::new(Preset::FastcgiConf);
    let e = build_with("GET", "http://auth.test:8080/x", &[("Host", b"other")], &o).unwrap();
    assert_eq!(e.get(b"HTTP_HOST"), Some(&b"auth.test:8080"[..]));
    let e = build_with("GET", "http://auth.test/x", &[], &o).unwrap();
    assert_eq!(e.get(b"HTTP_HOST"), Some(&b"auth.test"[..]));
    let e = build_with("GET", "/x", &[], &o).unwrap();
    assert_eq!(e.get(b"HTTP_HOST"), None);
    // Hop-by-hop, and names listed in Connection.
    let e = build(
        "/",
        &[
            ("Connection", b"close, X-Foo"),
            ("X-Foo", b"1"),
            ("TE", b"trailers"),
            ("Upgrade", b"h2c"),
            ("Keep-Alive", b"5"),
        ],
    );
    assert_eq!(
        http_vars(&e),
        [("HTTP_HOST".to_owned(), "app.test".to_owned())]
    );
}

#[test]
fn overrides_beat_headers() {
    let mut o = BuildOptions::new(Preset::FastcgiConf);
    o.overrides = vec![
        (b"HTTP_PROXY".to_vec(), Vec::new()),
        (b"HTTP_HOST".to_vec(), b"pinned.test".to_vec()),
        (b"SERVER_NAME".to_vec(), b"over".to_vec()),
        (b"X_EXTRA".to_vec(), b"1".to_vec()),
    ];
    o.headers.drop_proxy = false;
    let e = build_with("GET", "/", &[("Host", b"evil"), ("Proxy", b"http://p")], &o).unwrap();
    assert_eq!(e.get(b"HTTP_PROXY"), None);
    assert_eq!(e.get(b"HTTP_HOST"), Some(&b"pinned.test"[..]));
    assert_eq!(e.get(b"SERVER_NAME"), Some(&b"over"[..]));
    assert_eq!(e.get(b"X_EXTRA"), Some(&b"1"[..]));
    assert_eq!(e.iter().filter(|(k, _)| *k == b"HTTP_HOST").count(), 1);
    o.overrides = vec![(b"BAD\nNAME".to_vec(), Vec::new())];
    assert_eq!(
        build_with("GET", "/", &[], &o),
        Err(BuildError::InvalidOverride { index: 0 })
    );
    o.overrides = vec![(b"X".to_vec(), b"a\rb".to_vec())];
    assert_eq!(
        build_with("GET", "/", &[], &o),
        Err(BuildError::InvalidOverride { index: 0 })
    );
}

#[test]
fn body_framing() {
    let o = BuildOptions::new(Preset::UwsgiParams);
    let e = build_with("POST", "/", &[("Content-Length", b"0")], &o).unwrap();
    assert_eq!(e.get(b"CONTENT_LENGTH"), Some(&b"0"[..]));
    let e = build_with("GET", "/", &[], &o).unwrap();
    assert_eq!(e.get(b"CONTENT_LENGTH"), Some(&b""[..]));
    assert_eq!(
        build_with(
            "POST",
            "/",
            &[("Content-Length", b"5"), ("Transfer-Encoding", b"chunked")],
            &o
        ),
        Err(BuildError::ContentLengthWithTransferEncoding)
    );
    assert_eq!(
        build_with(
            "POST",
            "/",
            &[("Content-Length", b"5"), ("Content-Length", b"6")],
            &o
        ),
        Err(BuildError::InvalidContentLength)
    );
    assert_eq!(
        build_with(
            "POST",
            "/",
            &[("Content-Length", b"5"), ("Content-Length", b"5")],
            &o
        )
        .unwrap()
        .get(b"CONTENT_LENGTH"),
        Some(&b"5"[..])
    );
    assert_eq!(
        build_with("POST", "/", &[("Content-Length", b"-1")], &o),
        Err(BuildError::InvalidContentLength)
    );
    // De-chunked by the server: decoded length, no HTTP_TRANSFER_ENCODING.
    let c = Connection {
        body_len: Some(11),
        ..conn()
    };
    let e = build_environ(
        &parts("POST", "/", &[("Transfer-Encoding", b"chunked")]),
        &c,
        &o,
    )
    .unwrap();
    assert_eq!(e.get(b"CONTENT_LENGTH"), Some(&b"11"[..]));
    assert_eq!(e.get(b"HTTP_TRANSFER_ENCODING"), None);
    // SCGI always sends a length, first.
    let e = build_with("GET", "/", &[], &BuildOptions::new(Preset::ScgiParams)).unwrap();
    assert_eq!(e.iter().next(), Some((&b"CONTENT_LENGTH"[..], &b"0"[..])));
}

#[test]
fn server_and_remote_facts() {
    let c = Connection {
        remote: Some("[::ffff:192.0.2.1]:4000".parse().unwrap()),
        local: Some("[2001:db8::1]:443".parse().unwrap()),
        tls: true,
        server_name: b"2001:db8::1".to_vec(),
        ..Connection::default()
    };
    let e = build_environ(
        &parts("GET", "/", &[]),
        &c,
        &BuildOptions::new(Preset::FastcgiParams),
    )
    .unwrap();
    assert_eq!(s(e.get(b"REMOTE_ADDR")), Some("::ffff:192.0.2.1"));
    assert_eq!(s(e.get(b"REMOTE_PORT")), Some("4000"));
    assert_eq!(s(e.get(b"SERVER_ADDR")), Some("2001:db8::1"));
    assert_eq!(s(e.get(b"SERVER_NAME")), Some("[2001:db8::1]"));
    assert_eq!(s(e.get(b"SERVER_PORT")), Some("443"));
    assert_eq!(s(e.get(b"HTTPS")), Some("on"));
    assert_eq!(s(e.get(b"REQUEST_SCHEME")), Some("https"));
    assert_eq!(s(e.get(b"GATEWAY_INTERFACE")), Some("CGI/1.1"));
    // Unix socket: no addresses, configured port, never an empty port.
    let c = Connection {
        server_port: Some(8000),
        server_name: b"u".to_vec(),
        ..Connection::default()
    };
    let e = build_environ(
        &parts("GET", "/", &[]),
        &c,
        &BuildOptions::new(Preset::FastcgiParams),
    )
    .unwrap();
    assert_eq!(s(e.get(b"REMOTE_ADDR")), Some(""));
    assert_eq!(s(e.get(b"SERVER_PORT")), Some("8000"));
    assert_eq!(e.get(b"HTTPS"), None);
    let c = Connection::default();
    let e = build_environ(
        &parts("GET", "/", &[]),
        &c,
        &BuildOptions::new(Preset::UwsgiParams),
    )
    .unwrap();
    assert_eq!(s(e.get(b"SERVER_PORT")), Some("80"));
}

#[test]
fn server_name_never_empty_without_host() {
    // HTTP/1.0 without Host and no configured name: the local address.
    let mut p = parts("GET", "/", &[]);
    p.version = http::Version::HTTP_10;
    let o = BuildOptions::new(Preset::UwsgiParams);
    let mut c = Connection {
        local: Some("127.0.0.1:8080".parse().unwrap()),
        ..Connection::default()
    };
    let e = build_environ(&p, &c, &o).unwrap();
    assert_eq!(s(e.get(b"SERVER_NAME")), Some("127.0.0.1"));
    assert_eq!(e.get(b"HTTP_HOST"), None);
    c.local = Some("[::1]:8080".parse().unwrap());
    let e = build_environ(&p, &c, &o).unwrap();
    assert_eq!(s(e.get(b"SERVER_NAME")), Some("[::1]"));
    c.local = None;
    let e = build_environ(&p, &c, &o).unwrap();
    assert_eq!(s(e.get(b"SERVER_NAME")), Some("localhost"));
    // A configured name still wins over the address.
    c.local = Some("127.0.0.1:8080".parse().unwrap());
    c.server_name = b"example.test".to_vec();
    let e = build_environ(&p, &c, &o).unwrap();
    assert_eq!(s(e.get(b"SERVER_NAME")), Some("example.test"));
}

#[test]
fn server_protocol_spelling() {
    for (v, want) in [
        (http::Version::HTTP_10, "HTTP/1.0"),
        (http::Version::HTTP_11, "HTTP/1.1"),
        (http::Version::HTTP_2, "HTTP/2.0"),
        (http::Version::HTTP_3, "HTTP/3.0"),
    ] {
        let mut p = parts("GET", "/", &[]);
        p.version = v;
        let e = build_environ(&p, &conn(), &BuildOptions::new(Preset::UwsgiParams)).unwrap();
        assert_eq!(s(e.get(b"SERVER_PROTOCOL")), Some(want));
    }
}

#[test]
fn obs_text_and_htab_preserved() {
    let e = build("/", &[("X-Bin", b"a\tb\x80\xff")]);
    assert_eq!(e.get(b"HTTP_X_BIN"), Some(&b"a\tb\x80\xff"[..]));
    assert_eq!(e.get_latin1(b"HTTP_X_BIN").unwrap(), "a\tb\u{80}\u{ff}");
}

#[test]
fn limits() {
    let mut o = BuildOptions::new(Preset::UwsgiParams);
    o.max_vars = 16;
    let h: Vec<(String, &[u8])> = (0..5).map(|i| (format!("X-{i}"), &b"v"[..])).collect();
    let h: Vec<(&str, &[u8])> = h.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    assert_eq!(
        build_with("GET", "/", &h, &o),
        Err(BuildError::TooManyVars { max: 16 })
    );
    let mut o = BuildOptions::new(Preset::UwsgiParams);
    o.max_size = 300;
    let big = vec![b'a'; 200];
    let err = build_with("GET", "/", &[("X-Big", &big)], &o).unwrap_err();
    assert!(
        matches!(err, BuildError::TooLarge { max: 300, size } if size > 300),
        "{err:?}"
    );
}

#[test]
fn client_params_for_a_gateway() {
    let mut h = http::HeaderMap::new();
    h.insert("host", "h.test".parse().unwrap());
    let p = client_params(
        &http::Method::PUT,
        &"/u?x".parse().unwrap(),
        &h,
        Some(3),
        Preset::UwsgiParams,
        &conn(),
    )
    .unwrap();
    let names: Vec<&[u8]> = p.iter().map(|(k, _)| k.as_slice()).collect();
    assert_eq!(
        names,
        [
            &b"QUERY_STRING"[..],
            b"REQUEST_METHOD",
            b"CONTENT_TYPE",
            b"CONTENT_LENGTH",
            b"REQUEST_URI",
            b"PATH_INFO",
            b"DOCUMENT_ROOT",
            b"SERVER_PROTOCOL",
            b"REQUEST_SCHEME",
            b"REMOTE_ADDR",
            b"REMOTE_PORT",
            b"SERVER_PORT",
            b"SERVER_NAME",
            b"HTTP_HOST"
        ]
    );
    assert_eq!(p[3].1, b"3");
    assert_eq!(p[1].1, b"PUT");
}

#[test]
fn preset_names() {
    assert_eq!(Preset::FastcgiConf.names()[0], "SCRIPT_FILENAME");
    assert_eq!(Preset::ScgiParams.names()[0], "CONTENT_LENGTH");
    assert!(!Preset::UwsgiParams.names().contains(&"SCRIPT_NAME"));
    let _ = HeaderPolicy::nginx_1_22();
}

#[test]
fn suffix_split() {
    use wsgi_environ::path::split_suffix;
    let php = b".php";
    assert_eq!(
        split_suffix(b"/a.php/b", php),
        Some((&b"/a.php"[..], &b"/b"[..]))
    );
    assert_eq!(
        split_suffix(b"/a.php/b.php/c", php),
        Some((&b"/a.php"[..], &b"/b.php/c"[..]))
    );
    assert_eq!(split_suffix(b"/a.php.jpg", php), None);
    assert_eq!(
        split_suffix(b"/up/a.jpg/x.php", php),
        Some((&b"/up/a.jpg/x.php"[..], &b""[..]))
    );
    assert_eq!(
        split_suffix(b"/x.PhP/y", php),
        Some((&b"/x.PhP"[..], &b"/y"[..]))
    );
    assert_eq!(split_suffix(b"/.php", php), None);
    // Non-ASCII (dotted capital I, Kelvin sign): no Unicode folding, byte offsets exact.
    let p = "/\u{130}.php/\u{212a}".as_bytes();
    assert_eq!(split_suffix(p, php), Some((&p[..7], &p[7..])));
    assert_eq!(split_suffix("/a.\u{212a}hp/x".as_bytes(), b".khp"), None);
}
