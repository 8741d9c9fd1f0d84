//! Golden tests: the environ built with each nginx preset equals, variable
//! for variable and in order, what nginx 1.22 sent for the same request
//! (`vectors/captures/manifest.json`).

use serde_json::Value;
use wsgi_environ::build::{BuildOptions, Connection, HeaderPolicy, Preset, build_environ};

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(o) => hex::decode(o["hex"].as_str().unwrap()).unwrap(),
        other => panic!("unexpected {other}"),
    }
}

fn captures() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/vectors/captures/manifest.json"
    );
    let m: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let caps = m["captures"].as_array().unwrap().clone();
    assert_eq!(caps.len(), 36, "expected 4 presets x 9 requests");
    caps
}

fn preset(name: &str) -> Preset {
    match name {
        "fastcgi_params" => Preset::FastcgiParams,
        "fastcgi.conf" => Preset::FastcgiConf,
        "uwsgi_params" => Preset::UwsgiParams,
        "scgi_params" => Preset::ScgiParams,
        other => panic!("unknown preset {other}"),
    }
}

fn var<'a>(vars: &'a Pairs, name: &[u8]) -> &'a [u8] {
    &vars.iter().find(|(k, _)| k == name).unwrap().1
}

/// Builds our environ for a capture under `policy`; the per-run facts
/// (peer port, document root) come from the capture itself.
fn ours(c: &Value, policy: HeaderPolicy) -> (Pairs, Pairs) {
    let expected: Pairs = c["vars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (bytes(&p[0]), bytes(&p[1])))
        .collect();
    let r = &c["request"];
    let mut b = http::Request::builder()
        .method(r["method"].as_str().unwrap())
        .uri(r["target"].as_str().unwrap())
        .version(match r["http_version"].as_str().unwrap() {
            "HTTP/1.0" => http::Version::HTTP_10,
            _ => http::Version::HTTP_11,
        });
    for h in r["headers"].as_array().unwrap() {
        b = b.header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
    }
    let (parts, ()) = b.body(()).unwrap().into_parts();
    let port: u16 = std::str::from_utf8(var(&expected, b"REMOTE_PORT"))
        .unwrap()
        .parse()
        .unwrap();
    let conn = Connection {
        remote: Some(([127, 0, 0, 1], port).into()),
        local: Some(([127, 0, 0, 1], 18101).into()),
        server_name: b"localhost".to_vec(),
        document_root: var(&expected, b"DOCUMENT_ROOT").to_vec(),
        server_software: b"nginx/1.22.1".to_vec(),
        ..Connection::default()
    };
    let mut opts = BuildOptions::new(preset(c["preset"].as_str().unwrap()));
    opts.headers = policy;
    let env = build_environ(&parts, &conn, &opts).unwrap();
    (env.into_vec(), expected)
}

fn show(p: &Pairs) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

#[test]
fn nginx_1_22_presets_match_captures_exactly() {
    for c in captures() {
        let (got, expected) = ours(&c, HeaderPolicy::nginx_1_22());
        assert_eq!(show(&got), show(&expected), "{}", c["file"]);
        assert_eq!(got, expected, "{}", c["file"]);
    }
}

/// The safe default policy departs from nginx 1.22 only where it must:
/// no `HTTP_PROXY`, no hop-by-hop `HTTP_CONNECTION`, repeated fields joined,
/// and the absolute-form authority as `HTTP_HOST` where the preset has no
/// `HTTP_HOST` line.
#[test]
fn default_policy_differs_from_nginx_only_in_safe_ways() {
    for c in captures() {
        let (got, expected) = ours(&c, HeaderPolicy::default());
        let file = c["file"].as_str().unwrap();
        let mut want: Pairs = expected
            .into_iter()
            .filter(|(k, _)| k != b"HTTP_PROXY" && k != b"HTTP_CONNECTION")
            .collect();
        if file.contains("dup-cookie") {
            let pos = want.iter().position(|(k, _)| k == b"HTTP_COOKIE").unwrap();
            want.retain(|(k, _)| !k.starts_with(b"HTTP_") || k == b"HTTP_HOST");
            want.insert(pos, (b"HTTP_COOKIE".to_vec(), b"a=1; b=2".to_vec()));
            want.insert(pos + 1, (b"HTTP_ACCEPT".to_vec(), b"a, b".to_vec()));
            want.insert(pos + 2, (b"HTTP_X_MULTI".to_vec(), b"1, 2".to_vec()));
        }
        if file.contains("conf-absolute-form") {
            for (k, v) in &mut want {
                if k == b"HTTP_HOST" {
                    *v = b"other.test:8080".to_vec();
                }
            }
        }
        assert_eq!(show(&got), show(&want), "{file}");
    }
}
