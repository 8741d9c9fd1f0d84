//! CGI response heads: the parsing and emitting items of the checklist.

use http::StatusCode;
use wsgi_environ::response::{
    CgiResponse, ResponseHead, ResponseKind, ResponseLimits, ResponseOptions, parse_cgi_response,
    parse_cgi_response_at_eof,
};
use wsgi_environ::{ResponseError, Status};

fn ok(b: &[u8]) -> CgiResponse {
    parse_cgi_response(b, &ResponseOptions::default())
        .unwrap()
        .complete()
        .unwrap()
}

fn err(b: &[u8]) -> ResponseError {
    parse_cgi_response(b, &ResponseOptions::default()).unwrap_err()
}

#[test]
fn line_endings() {
    for b in [
        &b"Content-Type: text/html\n\nX"[..],
        b"Content-Type: text/html\r\n\r\nX",
        b"Content-Type: text/html\r\n\nX",
        b"Content-Type: text/html\n\r\nX",
    ] {
        let r = ok(b);
        assert_eq!(r.head.status, StatusCode::OK);
        assert_eq!(r.kind, ResponseKind::Document);
        assert_eq!(&b[r.body_offset..], b"X");
    }
    assert_eq!(
        err(b"Content-Type: a\rb\n\n"),
        ResponseError::ControlChar { offset: 15 }
    );
    assert_eq!(
        err(b"Content-Type: a\r\r\n\n"),
        ResponseError::ControlChar { offset: 15 }
    );
}

#[test]
fn status_forms() {
    for (line, code, reason) in [
        ("Status: 404", 404, None),
        ("Status: 404 Not Found", 404, Some("Not Found")),
        ("status: 201", 201, None),
        ("STATUS:404", 404, None),
        ("Status:  302  Found", 302, Some("Found")),
    ] {
        let r = ok(format!("{line}\n\n").as_bytes());
        assert_eq!(r.head.status.as_u16(), code, "{line}");
        assert_eq!(
            r.head.reason.as_deref(),
            reason.map(str::as_bytes),
            "{line}"
        );
    }
    for bad in [
        "Status: 99",
        "Status: 1000",
        "Status: abc",
        "Status: 000",
        "Status: 600",
        "Status: 20x",
    ] {
        assert_eq!(
            err(format!("{bad}\n\n").as_bytes()),
            ResponseError::InvalidStatus { offset: 0 },
            "{bad}"
        );
    }
}

#[test]
fn redirects() {
    let r = ok(b"Location: http://x/\n\n");
    assert_eq!(
        (r.head.status, r.kind),
        (StatusCode::FOUND, ResponseKind::ClientRedirect)
    );
    assert_eq!(r.head.headers["location"], "http://x/");
    let r = ok(b"Location: http://x/\nStatus: 301\nContent-Type: text/html\n\nbody");
    assert_eq!(
        (r.head.status, r.kind),
        (StatusCode::MOVED_PERMANENTLY, ResponseKind::ClientRedirect)
    );
    let r = ok(b"Location: /local?q\n\n");
    assert_eq!(
        r.kind,
        ResponseKind::LocalRedirect {
            location: b"/local?q".to_vec()
        }
    );
    assert!(r.head.headers.is_empty());
    let r = ok(b"Location: /local\nStatus: 303\n\n");
    assert_eq!(
        (r.head.status, r.kind),
        (StatusCode::SEE_OTHER, ResponseKind::ClientRedirect)
    );
    let r = ok(b"Location: /local\nSet-Cookie: a=1\n\n");
    assert_eq!(
        (r.head.status, r.kind),
        (StatusCode::FOUND, ResponseKind::ClientRedirect)
    );
}

#[test]
fn cgi_fields_required() {
    assert_eq!(err(b"X-Foo: 1\n\n"), ResponseError::NoCgiFields);
    assert_eq!(err(b"\n"), ResponseError::NoCgiFields);
    let r = ok(b"Status: 204\n\n");
    assert!(r.head.headers.get("content-type").is_none());
}

#[test]
fn duplicates() {
    assert_eq!(
        err(b"Status: 200\nStatus: 404\n\n"),
        ResponseError::DuplicateField { offset: 12 }
    );
    assert_eq!(
        err(b"Location: /a\nLocation: /b\n\n"),
        ResponseError::DuplicateField { offset: 13 }
    );
    assert_eq!(
        err(b"Content-Type: a/b\ncontent-type: c/d\n\n"),
        ResponseError::DuplicateField { offset: 18 }
    );
    let r = ok(b"Content-Type: t/h\nSet-Cookie: a=1\nSet-Cookie: b=2\n\n");
    assert_eq!(
        r.head
            .headers
            .get_all("set-cookie")
            .iter()
            .collect::<Vec<_>>(),
        ["a=1", "b=2"]
    );
}

#[test]
fn syntax() {
    assert_eq!(
        err(b"Foo : bar\n\n"),
        ResponseError::MalformedLine { offset: 0 }
    );
    assert_eq!(
        err(b": bar\n\n"),
        ResponseError::MalformedLine { offset: 0 }
    );
    assert_eq!(
        err(b"Status: 200\nnocolon\n\n"),
        ResponseError::MalformedLine { offset: 12 }
    );
    assert_eq!(
        err(b"Status: 200\nX: a\n b\n\n"),
        ResponseError::ObsFold { offset: 17 }
    );
    assert_eq!(
        err(b"Status: 200\nX: a\n\tb\n\n"),
        ResponseError::ObsFold { offset: 17 }
    );
    assert_eq!(
        err(b"Status: 200\nX: a\0b\n\n"),
        ResponseError::ControlChar { offset: 16 }
    );
    assert_eq!(
        err(b"Status: 200\nX: a\x01b\n\n"),
        ResponseError::ControlChar { offset: 16 }
    );
    let r = ok(b"Status: 200\nX: a\tb\x80\xff\n\n");
    assert_eq!(r.head.headers["x"].as_bytes(), b"a\tb\x80\xff");
}

#[test]
fn bounds() {
    let small = ResponseOptions {
        limits: ResponseLimits {
            max_head: 64,
            max_headers: 3,
        },
        ..ResponseOptions::default()
    };
    let long = [b"X: ".as_slice(), &[b'a'; 100]].concat();
    assert_eq!(
        parse_cgi_response(&long, &small),
        Err(ResponseError::HeadTooLarge { max: 64 })
    );
    let mut longl = long.clone();
    longl.extend_from_slice(b"\n\n");
    assert_eq!(
        parse_cgi_response(&longl, &small),
        Err(ResponseError::HeadTooLarge { max: 64 })
    );
    assert_eq!(
        parse_cgi_response(b"A: 1\nB: 2\nC: 3\nD: 4\n\n", &small),
        Err(ResponseError::TooManyHeaders { max: 3 })
    );
}

#[test]
fn framing_headers() {
    let r = ok(b"Content-Type: t/h\nContent-Length: 5\nTransfer-Encoding: chunked\nConnection: close\nKeep-Alive: 5\n\n");
    assert_eq!(r.head.headers.len(), 2);
    assert_eq!(r.head.headers["content-length"], "5");
    assert_eq!(
        err(b"Content-Type: t/h\nContent-Length: 5x\n\n"),
        ResponseError::InvalidContentLength { offset: 18 }
    );
}

#[test]
fn x_cgi_stripped_by_policy() {
    let b = b"Content-Type: t/h\nX-CGI-Foo: 1\n\n";
    assert!(ok(b).head.headers.get("x-cgi-foo").is_none());
    let keep = ResponseOptions {
        strip_x_cgi: false,
        ..ResponseOptions::default()
    };
    let r = parse_cgi_response(b, &keep).unwrap().complete().unwrap();
    assert_eq!(r.head.headers["x-cgi-foo"], "1");
}

#[test]
fn status_line_only_when_enabled() {
    let b = b"HTTP/1.1 201 Created\r\nContent-Type: t/h\r\n\r\n";
    assert_eq!(err(b), ResponseError::StatusLine);
    let nph = ResponseOptions {
        allow_status_line: true,
        ..ResponseOptions::default()
    };
    let r = parse_cgi_response(b, &nph).unwrap().complete().unwrap();
    assert_eq!(r.head.status, StatusCode::CREATED);
    assert_eq!(r.head.reason.as_deref(), Some(&b"Created"[..]));
    assert_eq!(
        parse_cgi_response(b"HTTP/1.1 20 X\r\n\r\n", &nph),
        Err(ResponseError::StatusLine)
    );
}

#[test]
fn every_split_point_and_prefix() {
    let full = b"Status: 404 Not Found\r\nContent-Type: text/plain\nSet-Cookie: a=1\r\n\r\nbody";
    let whole = ok(full);
    assert_eq!(whole.body_offset, full.len() - 4);
    for cut in 0..whole.body_offset {
        assert_eq!(
            parse_cgi_response(&full[..cut], &ResponseOptions::default()),
            Ok(Status::Incomplete),
            "prefix {cut}"
        );
        assert_eq!(
            parse_cgi_response_at_eof(&full[..cut], &ResponseOptions::default()),
            Err(ResponseError::UnexpectedEof)
        );
    }
    for cut in whole.body_offset..=full.len() {
        assert_eq!(ok(&full[..cut]), whole, "prefix {cut}");
    }
}

#[test]
fn emit_both_forms() {
    let mut h = ResponseHead::new(StatusCode::FOUND);
    h.headers.append("location", "http://x/".parse().unwrap());
    h.headers.append("set-cookie", "a=1".parse().unwrap());
    h.headers.append("set-cookie", "b=2".parse().unwrap());
    let mut cgi = Vec::new();
    h.encode_cgi(&mut cgi).unwrap();
    assert_eq!(
        cgi,
        b"Status: 302 Found\r\nlocation: http://x/\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n"
    );
    assert_eq!(cgi.len(), h.cgi_encoded_len());
    let mut h1 = Vec::new();
    h.encode_http1(&mut h1).unwrap();
    assert_eq!(
        h1,
        b"HTTP/1.1 302 Found\r\nlocation: http://x/\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n"
    );
    assert_eq!(h1.len(), h.http1_encoded_len());
    // No Content-Type is added.
    let mut out = Vec::new();
    ResponseHead::new(StatusCode::OK)
        .encode_cgi(&mut out)
        .unwrap();
    assert_eq!(out, b"Status: 200 OK\r\n\r\n");
    // Injection refused.
    let mut bad = ResponseHead::new(StatusCode::OK);
    bad.reason = Some(b"OK\r\nLocation: /x".to_vec());
    assert_eq!(
        bad.encode_cgi(&mut Vec::new()),
        Err(ResponseError::Unencodable)
    );
    assert_eq!(
        bad.encode_http1(&mut Vec::new()),
        Err(ResponseError::Unencodable)
    );
    let mut bad = ResponseHead::new(StatusCode::OK);
    bad.headers.insert("status", "500".parse().unwrap());
    assert_eq!(
        bad.encode_cgi(&mut Vec::new()),
        Err(ResponseError::Unencodable)
    );
}
