//! Entry points for the fuzz targets, with oracles. Not a stable API.

use crate::parse::{self, ParseOptions};
use crate::response::{ResponseOptions, parse_cgi_response};

/// Splits `data` into pairs: records `name \0 value \0`.
fn pairs(data: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut it = data.split(|&b| b == 0);
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// Environ → request on arbitrary pairs; oracle: no panic, and a rebuilt
/// request never carries a `proxy` header, a CR/LF/NUL in a header value,
/// or a content-length that differs from the facts.
pub fn environ_to_request_oracle(data: &[u8]) {
    let p = pairs(data);
    for opts in [
        ParseOptions::default(),
        ParseOptions {
            strict_protocol: true,
            ..ParseOptions::default()
        },
    ] {
        if let Ok((req, facts)) = parse::environ_to_request(p.iter().copied(), &opts) {
            assert!(!req.headers().contains_key("proxy"));
            for v in req.headers().values() {
                assert!(!v.as_bytes().iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')));
            }
            let cl = req
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .map(|v| v.to_str().unwrap_or_default().parse::<u64>().ok());
            assert_eq!(cl, facts.content_length.map(Some));
        }
    }
}

/// The `environ_from_vars` target: see [`environ_to_request_oracle`].
pub fn environ_to_request(data: &[u8]) {
    environ_to_request_oracle(data);
}

/// CGI response head parsing; oracles: no panic, the result at every prefix
/// is incomplete or the same as the whole, no header holds CR/LF/NUL, and a
/// parsed head re-encodes and re-parses to the same status and fields.
pub fn cgi_response(data: &[u8]) {
    let opts = ResponseOptions {
        allow_status_line: data.first().is_some_and(|b| b & 1 == 1),
        ..ResponseOptions::default()
    };
    let whole = parse_cgi_response(data, &opts);
    if let Ok(crate::Status::Complete(r)) = &whole {
        assert!(r.body_offset <= data.len());
        for v in r.head.headers.values() {
            assert!(!v.as_bytes().iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')));
        }
        let prefix = data.get(..r.body_offset).unwrap_or_default();
        assert_eq!(parse_cgi_response(prefix, &opts), whole.clone());
        let mut out = Vec::new();
        if r.head.encode_cgi(&mut out).is_ok() {
            let again = parse_cgi_response(&out, &ResponseOptions::default())
                .ok()
                .and_then(crate::Status::complete);
            if let Some(again) = again {
                assert_eq!(again.head.status, r.head.status);
            }
        }
    }
    let cut = data.len() / 2;
    match parse_cgi_response(data.get(..cut).unwrap_or_default(), &opts) {
        Ok(crate::Status::Complete(r)) => assert_eq!(whole, Ok(crate::Status::Complete(r))),
        Ok(crate::Status::Incomplete) | Err(_) => {}
    }
}
