//! Findings of the fuzz targets, each pinned as a named test.

use wsgi_environ::{ParseOptions, environ_to_request};

/// `environ_from_vars` found that `HTTP_*` names were screened by their exact
/// case: `HTTP_CONTENt_LENGTH` became a second `content-length` header that
/// disagreed with `CONTENT_LENGTH`, and `HTTP_proxy` would have become a
/// `proxy` header (httpoxy). The screen now applies to the mapped name.
#[test]
fn mixed_case_http_vars_cannot_smuggle_framing_or_proxy_headers() {
    let vars: [(&[u8], &[u8]); 6] = [
        (b"REQUEST_METHOD", b"POST"),
        (b"CONTENT_LENGTH", b"5"),
        (b"HTTP_CONTENt_LENGTH", b"9"),
        (b"HTTP_proxy", b"http://evil.test"),
        (b"HTTP_Content_Type", b"text/evil"),
        (b"HTTP_X_OK", b"1"),
    ];
    let (req, facts) = environ_to_request(vars, &ParseOptions::default()).unwrap();
    assert_eq!(facts.content_length, Some(5));
    assert_eq!(
        req.headers()
            .get_all("content-length")
            .iter()
            .collect::<Vec<_>>(),
        ["5"]
    );
    assert!(req.headers().get("proxy").is_none());
    assert!(req.headers().get("content-type").is_none());
    assert_eq!(req.headers().get("x-ok").unwrap(), "1");
}

/// The crash input itself, replayed through the fuzz oracle.
#[test]
fn environ_from_vars_crash_f45b133b_is_fixed() {
    wsgi_environ::fuzzing::environ_to_request(
        b"REQUEST_METHOD\0POSSERVER_NAMET\0CONTE5T_LENGTH\x005\0HTTP_CONTENt_LENGTH\x009\0HTTP_TRANSFUR_ENCODING\0chunked\0",
    );
}
