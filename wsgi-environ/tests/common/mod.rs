//! Shared test helpers.
#![allow(dead_code, unreachable_pub)]

use wsgi_environ::build::{BuildOptions, Connection, Preset, build_environ};
use wsgi_environ::{BuildError, Environ};

/// A request head from a method, target and headers.
pub fn parts(method: &str, target: &str, headers: &[(&str, &[u8])]) -> http::request::Parts {
    let mut b = http::Request::builder().method(method).uri(target);
    for (n, v) in headers {
        b = b.header(*n, http::HeaderValue::from_bytes(v).unwrap());
    }
    b.body(()).unwrap().into_parts().0
}

/// A typical connection: 192.0.2.7:5555 → 198.51.100.1:8080, server "app.test".
pub fn conn() -> Connection {
    Connection {
        remote: Some(([192, 0, 2, 7], 5555).into()),
        local: Some(([198, 51, 100, 1], 8080).into()),
        server_name: b"app.test".to_vec(),
        document_root: b"/srv".to_vec(),
        ..Connection::default()
    }
}

/// Builds with `opts` and the typical connection.
pub fn build_with(
    method: &str,
    target: &str,
    headers: &[(&str, &[u8])],
    opts: &BuildOptions,
) -> Result<Environ, BuildError> {
    build_environ(&parts(method, target, headers), &conn(), opts)
}

/// Builds with the uwsgi preset and safe defaults.
pub fn build(target: &str, headers: &[(&str, &[u8])]) -> Environ {
    build_with(
        "GET",
        target,
        headers,
        &BuildOptions::new(Preset::UwsgiParams),
    )
    .unwrap()
}

/// The `HTTP_*` pairs of an environ, in order.
pub fn http_vars(env: &Environ) -> Vec<(String, String)> {
    env.iter()
        .filter(|(k, _)| k.starts_with(b"HTTP_"))
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

/// Pairs from string literals.
pub fn vars<'a>(p: &'a [(&'a str, &'a str)]) -> Vec<(&'a [u8], &'a [u8])> {
    p.iter()
        .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
        .collect()
}

/// Proptest settings: 256 cases unless `PROPTEST_CASES` says otherwise.
pub fn config() -> proptest::prelude::ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    proptest::prelude::ProptestConfig {
        cases,
        ..proptest::prelude::ProptestConfig::default()
    }
}
