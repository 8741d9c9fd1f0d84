//! The reference vectors in `vectors/*.json` (format: `vectors/README.md`):
//! HTTP requests map to their expected environ (exactly, or the listed
//! variables), environs map back to their expected request, and invalid
//! inputs fail with their error class.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wsgi_environ::build::{Duplicates, InvalidNames};
use wsgi_environ::parse::DuplicateKeys;
use wsgi_environ::path::{DotSegments, EncodedSlash, PathError};
use wsgi_environ::{
    BuildError, BuildOptions, Connection, HeaderPolicy, ParseError, ParseOptions, Preset,
    build_environ, environ_to_request,
};

/// The generator writes this many vectors or more; fewer means files went missing.
const MIN_VECTORS: usize = 140;

type Failure = (String, u64);
type PairList = Vec<(Vec<u8>, Vec<u8>)>;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn jbytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(o) => hex::decode(o["hex"].as_str().expect("hex")).expect("hex digits"),
        _ => panic!("not a byte string: {v}"),
    }
}

fn jpairs(v: &Value) -> PairList {
    v.as_array()
        .map(|a| a.iter().map(|p| (jbytes(&p[0]), jbytes(&p[1]))).collect())
        .unwrap_or_default()
}

fn show(p: &[(Vec<u8>, Vec<u8>)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

fn load() -> Vec<(String, Value)> {
    let d = dir();
    let rd = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("vector directory {} is missing: {e}", d.display()));
    let mut files: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !matches!(
                    p.file_name().and_then(|n| n.to_str()),
                    Some("schema.json" | "counts.json")
                )
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        assert_eq!(doc["format"], "gateway-vectors/1", "{}", f.display());
        assert_eq!(doc["protocol"], "environ", "{}", f.display());
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for v in doc["vectors"].as_array().expect("vectors array") {
            out.push((name.clone(), v.clone()));
        }
    }
    out
}

fn path_error(e: PathError) -> Failure {
    let off = match e {
        PathError::Nul { offset }
        | PathError::ControlChar { offset }
        | PathError::EncodedSlash { offset }
        | PathError::BadPercent { offset } => offset,
        _ => 0,
    };
    ("bad-path".into(), off as u64)
}

fn build_error(e: BuildError) -> Failure {
    let (c, off) = match e {
        BuildError::InvalidHeaderName { index } | BuildError::InvalidHeaderValue { index } => {
            ("bad-header", index)
        }
        BuildError::ContentLengthWithTransferEncoding => ("conflicting-framing", 0),
        BuildError::InvalidContentLength => ("bad-content-length", 0),
        BuildError::Path(p) => return path_error(p),
        BuildError::OutsideMount => ("outside-mount", 0),
        BuildError::TooManyVars { .. } => ("too-many", 0),
        BuildError::TooLarge { .. } => ("too-large", 0),
        BuildError::InvalidOverride { index } => ("bad-override", index),
        other => panic!("unmapped error {other:?}"),
    };
    (c.to_owned(), off as u64)
}

fn parse_error(e: ParseError) -> Failure {
    let (c, off) = match e {
        ParseError::MissingMethod => ("missing-method", 0),
        ParseError::InvalidMethod => ("bad-method", 0),
        ParseError::InvalidContentLength => ("bad-content-length", 0),
        ParseError::InvalidUri => ("bad-uri", 0),
        ParseError::InvalidHost => ("bad-host", 0),
        ParseError::InvalidHeader { index } => ("bad-header", index),
        ParseError::DuplicateKey { index } => ("duplicate-key", index),
        ParseError::InvalidProtocol => ("bad-protocol", 0),
        ParseError::Path(p) => return path_error(p),
        ParseError::TooManyVars { .. } => ("too-many", 0),
        other => panic!("unmapped error {other:?}"),
    };
    (c.to_owned(), off as u64)
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

fn addr(v: &Value) -> Option<SocketAddr> {
    v.as_str().map(|s| s.parse().expect("socket address"))
}

fn build_options(v: &Value) -> BuildOptions {
    let o = &v["options"];
    let mut opts = BuildOptions::new(preset(o["preset"].as_str().expect("preset")));
    let h = &o["headers"];
    let mut pol = HeaderPolicy::default();
    if let Some(s) = h["invalid_names"].as_str() {
        pol.invalid_names = if s == "reject" {
            InvalidNames::Reject
        } else {
            InvalidNames::Drop
        };
    }
    if let Some(s) = h["duplicates"].as_str() {
        pol.duplicates = if s == "repeat" {
            Duplicates::Repeat
        } else {
            Duplicates::Join
        };
    }
    let flag = |name: &str, default: bool| h[name].as_bool().unwrap_or(default);
    pol.drop_proxy = flag("drop_proxy", pol.drop_proxy);
    pol.drop_hop_by_hop = flag("drop_hop_by_hop", pol.drop_hop_by_hop);
    pol.pass_authorization = flag("pass_authorization", pol.pass_authorization);
    pol.http_content_vars = flag("http_content_vars", pol.http_content_vars);
    pol.host_from_authority = flag("host_from_authority", pol.host_from_authority);
    opts.headers = pol;
    let p = &o["path"];
    if let Some(s) = p["encoded_slash"].as_str() {
        opts.path.encoded_slash = match s {
            "preserve" => EncodedSlash::Preserve,
            "reject" => EncodedSlash::Reject,
            _ => EncodedSlash::Decode,
        };
    }
    if let Some(s) = p["dot_segments"].as_str() {
        opts.path.dot_segments = match s {
            "reject" => DotSegments::Reject,
            "pass" => DotSegments::Pass,
            _ => DotSegments::Resolve,
        };
    }
    if let Some(b) = p["reject_control"].as_bool() {
        opts.path.reject_control = b;
    }
    if let Some(b) = p["merge_slashes"].as_bool() {
        opts.path.merge_slashes = b;
    }
    opts.overrides = jpairs(&v["input"]["overrides"]);
    if let Some(n) = v["limits"]["max_vars"].as_u64() {
        opts.max_vars = n as usize;
    }
    if let Some(n) = v["limits"]["max_size"].as_u64() {
        opts.max_size = n as usize;
    }
    opts
}

fn http_to_environ(v: &Value) -> Result<PairList, Failure> {
    let r = &v["input"]["request"];
    let mut b = http::Request::builder()
        .method(r["method"].as_str().unwrap())
        .uri(r["target"].as_str().unwrap())
        .version(match r["version"].as_str().unwrap() {
            "HTTP/1.0" => http::Version::HTTP_10,
            "HTTP/2.0" => http::Version::HTTP_2,
            _ => http::Version::HTTP_11,
        });
    for (n, val) in jpairs(&r["headers"]) {
        b = b.header(n.as_slice(), val.as_slice());
    }
    let (parts, ()) = b.body(()).expect("a well-formed request").into_parts();
    let c = &v["input"]["connection"];
    let conn = Connection {
        remote: addr(&c["remote"]),
        local: addr(&c["local"]),
        tls: c["tls"].as_bool().unwrap_or(false),
        server_name: jbytes(&c["server_name"]),
        server_port: c["server_port"].as_u64().map(|p| p as u16),
        document_root: jbytes(&c["document_root"]),
        mount: jbytes(&c["mount"]),
        server_software: jbytes(&c["server_software"]),
        remote_user: jbytes(&c["remote_user"]),
        body_len: c["body_len"].as_u64(),
    };
    build_environ(&parts, &conn, &build_options(v))
        .map(|e| e.into_vec())
        .map_err(build_error)
}

fn check_http_to_environ(v: &Value) -> Result<(), String> {
    let e = &v["expect"];
    let got = http_to_environ(v);
    if e["result"] == "error" {
        return check_error(got, e);
    }
    let got = got.map_err(|err| format!("unexpected error {err:?}"))?;
    if !e["environ"].is_null() {
        let want = jpairs(&e["environ"]);
        if got != want {
            return Err(format!(
                "environ {:?}, expected {:?}",
                show(&got),
                show(&want)
            ));
        }
    }
    // `include`: each pair present, in this relative order for repeated names.
    let mut from = std::collections::BTreeMap::<Vec<u8>, usize>::new();
    for (k, val) in jpairs(&e["include"]) {
        let start = from.get(&k).copied().unwrap_or(0);
        let hit = got
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, (gk, _))| *gk == k);
        match hit {
            Some((i, (_, gv))) if *gv == val => {
                from.insert(k, i + 1);
            }
            _ => {
                return Err(format!(
                    "{} is not {:?} in {:?}",
                    String::from_utf8_lossy(&k),
                    String::from_utf8_lossy(&val),
                    show(&got)
                ));
            }
        }
    }
    for n in e["exclude"].as_array().into_iter().flatten() {
        let n = jbytes(n);
        if got.iter().any(|(k, _)| *k == n) {
            return Err(format!("{} is present", String::from_utf8_lossy(&n)));
        }
    }
    Ok(())
}

fn parse_options(v: &Value) -> ParseOptions {
    let o = &v["options"];
    let d = ParseOptions::default();
    ParseOptions {
        duplicates: match o["duplicates"].as_str() {
            Some("append-headers") => DuplicateKeys::AppendHeaders,
            Some("reject") => DuplicateKeys::Reject,
            _ => DuplicateKeys::LastWins,
        },
        strict_protocol: o["strict_protocol"].as_bool().unwrap_or(d.strict_protocol),
        prefer_request_uri: o["prefer_request_uri"]
            .as_bool()
            .unwrap_or(d.prefer_request_uri),
        allow_leading_zeros: o["allow_leading_zeros"]
            .as_bool()
            .unwrap_or(d.allow_leading_zeros),
        reject_control_in_paths: o["reject_control_in_paths"]
            .as_bool()
            .unwrap_or(d.reject_control_in_paths),
        max_vars: v["limits"]["max_vars"]
            .as_u64()
            .map_or(d.max_vars, |n| n as usize),
    }
}

fn hexp(p: &[(Vec<u8>, Vec<u8>)]) -> Value {
    Value::Array(
        p.iter()
            .map(|(a, b)| json!([hex::encode(a), hex::encode(b)]))
            .collect(),
    )
}

fn environ_to_http(v: &Value, env: &[(Vec<u8>, Vec<u8>)]) -> Result<Value, Failure> {
    let (req, f) = environ_to_request(
        env.iter().map(|(k, x)| (k.as_slice(), x.as_slice())),
        &parse_options(v),
    )
    .map_err(parse_error)?;
    let mut headers: PairList = req
        .headers()
        .iter()
        .map(|(n, x)| (n.as_str().as_bytes().to_vec(), x.as_bytes().to_vec()))
        .collect();
    // Order across names is not significant; values of one name keep theirs.
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let version = match req.version() {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    };
    Ok(json!({
        "method": req.method().as_str(),
        "uri": req.uri().to_string(),
        "version": version,
        "headers": hexp(&headers),
        "facts": {
            "remote_addr": f.remote_addr.map(|a| a.to_string()),
            "remote_port": f.remote_port,
            "server_addr": f.server_addr.map(|a| a.to_string()),
            "server_port": f.server_port,
            "server_name": hex::encode(&f.server_name),
            "script_name": hex::encode(&f.script_name),
            "path_info": hex::encode(&f.path_info),
            "content_length": f.content_length,
            "https": f.https,
            "extensions": hexp(&f.extensions),
        }
    }))
}

/// The expected request in the form [`environ_to_http`] produces.
fn expected_request(r: &Value) -> Value {
    let mut r = r.clone();
    r["headers"] = hexp(&jpairs(&r["headers"]));
    let f = &mut r["facts"];
    for k in ["server_name", "script_name", "path_info"] {
        f[k] = json!(hex::encode(jbytes(&f[k])));
    }
    f["extensions"] = hexp(&jpairs(&f["extensions"]));
    r
}

fn check_environ_to_http(v: &Value) -> Result<(), String> {
    let e = &v["expect"];
    let env = jpairs(&v["input"]["environ"]);
    let got = environ_to_http(v, &env);
    if e["result"] == "error" {
        return check_error(got, e);
    }
    let got = got.map_err(|err| format!("unexpected error {err:?}"))?;
    let want = expected_request(&e["request"]);
    if got != want {
        return Err(format!("request {got}, expected {want}"));
    }
    Ok(())
}

fn check_error<T: std::fmt::Debug>(got: Result<T, Failure>, e: &Value) -> Result<(), String> {
    let want = (
        e["class"].as_str().unwrap().to_owned(),
        e["offset"].as_u64().unwrap(),
    );
    match got {
        Err(g) if g == want => Ok(()),
        other => Err(format!("got {other:?}, expected error {want:?}")),
    }
}

fn check(v: &Value) -> Result<(), String> {
    for key in [
        "id",
        "description",
        "provenance",
        "protocol",
        "direction",
        "input",
        "expect",
    ] {
        if v.get(key).is_none() {
            return Err(format!("missing {key}"));
        }
    }
    let kind = v["provenance"]["kind"].as_str().unwrap_or("");
    if !matches!(kind, "spec" | "peer" | "edge-case") {
        return Err(format!("provenance kind {kind:?}"));
    }
    if kind == "peer" && v["provenance"]["peer"]["name"].as_str().is_none() {
        return Err("peer provenance without a peer".into());
    }
    match v["direction"].as_str() {
        Some("http-to-environ") => check_http_to_environ(v),
        Some("environ-to-http") => check_environ_to_http(v),
        d => Err(format!("direction {d:?}")),
    }
}

#[test]
fn every_vector_passes() {
    let all = load();
    let counts: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("counts.json")).unwrap()).unwrap();
    assert_eq!(
        all.len() as u64,
        counts["total"].as_u64().unwrap(),
        "counts.json total"
    );
    assert!(all.len() >= MIN_VECTORS, "only {} vectors", all.len());
    let mut ids = BTreeSet::new();
    let (mut passed, mut failed) = (0, Vec::new());
    for (file, v) in &all {
        let id = v["id"].as_str().unwrap_or("?").to_owned();
        assert!(id.starts_with("environ."), "{id}");
        assert!(ids.insert(id.clone()), "duplicate id {id}");
        assert_eq!(v["protocol"], "environ", "{id}");
        match check(v) {
            Ok(()) => passed += 1,
            Err(m) => failed.push(format!("{file}: {id}: {m}")),
        }
    }
    for f in &failed {
        eprintln!("FAILED {f}");
    }
    // Written past the test harness's output capture, so every run shows it.
    let line = format!(
        "vectors: environ: {passed} passed, {} failed\n",
        failed.len()
    );
    std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes()).unwrap();
    assert!(failed.is_empty(), "{} vector(s) failed", failed.len());
}

#[test]
fn every_error_class_is_covered() {
    let classes: BTreeSet<String> = load()
        .iter()
        .filter(|(_, v)| v["expect"]["result"] == "error")
        .map(|(_, v)| v["expect"]["class"].as_str().unwrap().to_owned())
        .collect();
    for c in [
        "bad-header",
        "conflicting-framing",
        "bad-content-length",
        "bad-path",
        "outside-mount",
        "too-many",
        "too-large",
        "bad-override",
        "missing-method",
        "bad-method",
        "bad-host",
        "bad-protocol",
        "duplicate-key",
    ] {
        assert!(classes.contains(c), "no vector for error class {c}");
    }
}

#[test]
fn schema_is_shared_by_the_three_crates() {
    let mine = std::fs::read(dir().join("schema.json")).expect("vectors/schema.json");
    let schema: Value = serde_json::from_slice(&mine).unwrap();
    assert_eq!(
        schema["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // Only in the workspace: a published package has no sibling crates.
    if root.join("Cargo.toml").exists() && root.join("uwsgi-proto").exists() {
        for other in ["uwsgi-proto", "fastcgi-proto"] {
            let theirs = std::fs::read(root.join(other).join("vectors/schema.json"))
                .unwrap_or_else(|e| panic!("{other}/vectors/schema.json: {e}"));
            assert_eq!(mine, theirs, "{other}/vectors/schema.json differs");
        }
    }
}
