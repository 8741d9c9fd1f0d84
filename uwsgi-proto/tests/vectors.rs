//! The reference vectors in `vectors/*.json` (format: `vectors/README.md`):
//! every vector decodes to its expectation (or fails with its error class at
//! its offset), and every valid one re-encodes to its input bytes, or, where
//! the encoding is not canonical, to bytes that decode to the same thing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uwsgi_proto::fuzzing::{request_events, response_events};
use uwsgi_proto::*;

/// The generator writes this many vectors or more; fewer means files went missing.
const MIN_VECTORS: usize = 160;

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

fn jpairs(v: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    v.as_array()
        .expect("pairs")
        .iter()
        .map(|p| (jbytes(&p[0]), jbytes(&p[1])))
        .collect()
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Every vector of every group file, with the file it came from.
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
        assert_eq!(doc["protocol"], "uwsgi", "{}", f.display());
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for v in doc["vectors"].as_array().expect("vectors array") {
            out.push((name.clone(), v.clone()));
        }
    }
    out
}

fn input(v: &Value) -> Vec<u8> {
    if let Some(h) = v["input_hex"].as_str() {
        return hex::decode(h).unwrap();
    }
    let rel = v["input_file"].as_str().expect("input_hex or input_file");
    let data = std::fs::read(dir().join(rel)).unwrap();
    assert_eq!(data.len() as u64, v["input_len"].as_u64().unwrap());
    assert_eq!(sha(&data), v["input_sha256"].as_str().unwrap());
    data
}

fn limits(v: &Value) -> Limits {
    let l = &v["limits"];
    let mut out = Limits::default();
    if let Some(n) = l["max_vars_len"].as_u64() {
        out = out.max_vars_len(n as usize);
    }
    if let Some(n) = l["max_vars"].as_u64() {
        out = out.max_vars(n as usize);
    }
    if let Some(n) = l["max_body_len"].as_u64() {
        out = out.max_body_len(Some(n));
    }
    out
}

/// An error as (vocabulary class, stream offset); `pos` is the stream offset
/// of the unit (packet or head) being decoded when it was reported.
fn class(e: DecodeError, pos: usize) -> (String, u64) {
    let p = pos as u64;
    let (c, off) = match e {
        DecodeError::TooLarge { .. } => ("too-large", p),
        DecodeError::EmptyKey { offset } => ("empty-key", p + offset as u64),
        DecodeError::LengthOverrun { offset, .. } => ("length-overrun", p + offset as u64),
        DecodeError::TrailingBytes { offset, .. } => ("trailing-data", p + offset as u64),
        DecodeError::TooManyVars { offset, .. } => ("too-many", p + offset as u64),
        DecodeError::LooksLikeHttp { .. } => ("looks-like-http", p),
        DecodeError::InvalidContentLength { offset } => ("bad-content-length", p + offset as u64),
        DecodeError::ConflictingContentLength { offset } => {
            ("conflicting-content-length", p + offset as u64)
        }
        DecodeError::Truncated { offset, .. } => ("truncated", offset),
        DecodeError::UnexpectedData { offset, .. } => ("unexpected-data", offset),
        DecodeError::InvalidResponse { reason } => (
            match reason {
                ResponseError::Syntax => "bad-header",
                ResponseError::TooManyHeaders => "too-many",
                ResponseError::InvalidStatus => "bad-status",
                ResponseError::InvalidContentLength => "bad-content-length",
                ResponseError::LengthAndTransferEncoding => "conflicting-framing",
                other => panic!("unmapped response error {other:?}"),
            },
            p,
        ),
        other => panic!("unmapped error {other:?}"),
    };
    (c.to_owned(), off)
}

/// A decoded packet, in the vectors' terms (byte strings as bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pkt {
    modifier1: u8,
    datasize: u16,
    modifier2: u8,
    vars: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    payload: Option<Vec<u8>>,
    body: Vec<u8>,
}

fn expected_packets(e: &Value) -> Vec<(Pkt, u64, String)> {
    e.as_array()
        .expect("packets")
        .iter()
        .map(|p| {
            let pkt = Pkt {
                modifier1: p["modifier1"].as_u64().unwrap() as u8,
                datasize: p["datasize"].as_u64().unwrap() as u16,
                modifier2: p["modifier2"].as_u64().unwrap() as u8,
                vars: p.get("vars").map(jpairs),
                payload: p.get("payload").map(jbytes),
                body: Vec::new(),
            };
            let len = p["body_len"].as_u64().unwrap_or(0);
            let hash = p["body_sha256"]
                .as_str()
                .map_or_else(|| sha(&[]), str::to_owned);
            (pkt, len, hash)
        })
        .collect()
}

fn decode_requests(data: &[u8], mut dec: RequestDecoder) -> Result<Vec<Pkt>, (String, u64)> {
    let mut pos = 0;
    let mut out: Vec<Pkt> = Vec::new();
    loop {
        match dec.decode(&data[pos..]) {
            Err(e) => return Err(class(e, pos)),
            Ok(Status::Incomplete { .. }) => break,
            Ok(Status::Complete((frame, used))) => {
                match frame {
                    RequestFrame::Head(h) => out.push(Pkt {
                        modifier1: h.header.modifier1.0,
                        datasize: h.header.datasize,
                        modifier2: h.header.modifier2,
                        vars: Some(
                            h.vars
                                .iter()
                                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                                .collect(),
                        ),
                        payload: None,
                        body: Vec::new(),
                    }),
                    RequestFrame::Packet(p) => out.push(Pkt {
                        modifier1: p.header().modifier1.0,
                        datasize: p.header().datasize,
                        modifier2: p.header().modifier2,
                        vars: None,
                        payload: Some(p.payload().to_vec()),
                        body: Vec::new(),
                    }),
                    RequestFrame::Body(b) => out.last_mut().unwrap().body.extend_from_slice(b),
                    RequestFrame::End => {}
                    other => panic!("unknown frame {other:?}"),
                }
                pos += used;
            }
        }
    }
    dec.finish(data.len() - pos).map_err(|e| class(e, pos))?;
    Ok(out)
}

fn decode_packets(data: &[u8]) -> Result<Vec<Pkt>, (String, u64)> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < data.len() {
        match Packet::parse(&data[pos..], &Limits::default()).map_err(|e| class(e, pos))? {
            Status::Complete((p, used)) => {
                out.push(Pkt {
                    modifier1: p.header().modifier1.0,
                    datasize: p.header().datasize,
                    modifier2: p.header().modifier2,
                    vars: None,
                    payload: Some(p.payload().to_vec()),
                    body: Vec::new(),
                });
                pos += used;
            }
            Status::Incomplete { .. } => return Err(("truncated".into(), data.len() as u64)),
        }
    }
    Ok(out)
}

fn compare_packets(got: &[Pkt], want: &[(Pkt, u64, String)], datasize: bool) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} packets, expected {}", got.len(), want.len()));
    }
    for (i, (g, (w, len, hash))) in got.iter().zip(want).enumerate() {
        let same = g.modifier1 == w.modifier1
            && g.modifier2 == w.modifier2
            && (!datasize || g.datasize == w.datasize)
            && g.vars == w.vars
            && g.payload == w.payload
            && g.body.len() as u64 == *len
            && sha(&g.body) == *hash;
        if !same {
            return Err(format!(
                "packet {i}: got {g:?}, expected {w:?} body {len} {hash}"
            ));
        }
    }
    Ok(())
}

/// Encodes the expected packets, taking each body from the input (the
/// vectors give bodies as length + hash).
fn encode_packets(data: &[u8], want: &[(Pkt, u64, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for (p, len, _) in want {
        match (&p.vars, &p.payload) {
            (Some(vars), _) => {
                let mut b = VarsBuilder::new();
                b.vars(vars.iter().map(|(k, v)| (k, v)));
                b.packet(Modifier1(p.modifier1), p.modifier2)
                    .expect("expected vars encode")
                    .encode(&mut out);
            }
            (None, Some(payload)) => Packet::new(Modifier1(p.modifier1), p.modifier2, payload)
                .unwrap()
                .encode(&mut out),
            (None, None) => panic!("packet without vars or payload"),
        }
        pos += 4 + usize::from(p.datasize);
        let n = *len as usize;
        out.extend_from_slice(&data[pos..pos + n]);
        pos += n;
    }
    out
}

fn request_decoder(v: &Value, mode: Mode) -> RequestDecoder {
    RequestDecoder::with_limits(limits(v))
        .mode(mode)
        .pipelining(v["options"]["pipelining"].as_bool().unwrap_or(false))
}

fn check_error(got: Result<impl std::fmt::Debug, (String, u64)>, e: &Value) -> Result<(), String> {
    let want = (
        e["class"].as_str().unwrap().to_owned(),
        e["offset"].as_u64().unwrap(),
    );
    match got {
        Err(g) if g == want => Ok(()),
        other => Err(format!("got {other:?}, expected error {want:?}")),
    }
}

fn check_request(v: &Value, data: &[u8]) -> Result<(), String> {
    let modes = match v["mode"].as_str() {
        None => vec![Mode::Strict, Mode::Compat],
        Some("strict") => vec![Mode::Strict],
        Some("compat") => vec![Mode::Compat],
        Some(m) => return Err(format!("unknown mode {m}")),
    };
    let e = &v["expect"];
    for mode in modes {
        let got = decode_requests(data, request_decoder(v, mode));
        // Any split of the input into reads gives the same events.
        if data.len() <= 4096 {
            let every: Vec<usize> = (1..data.len()).collect();
            let whole = request_events(data, &[], request_decoder(v, mode));
            if request_events(data, &every, request_decoder(v, mode)) != whole {
                return Err(format!("{mode:?}: byte-by-byte feed differs"));
            }
        }
        if e["result"] == "error" {
            check_error(got, e).map_err(|m| format!("{mode:?}: {m}"))?;
            continue;
        }
        let want = expected_packets(&e["packets"]);
        let got = got.map_err(|err| format!("{mode:?}: unexpected error {err:?}"))?;
        compare_packets(&got, &want, true).map_err(|m| format!("{mode:?}: {m}"))?;
        let enc = encode_packets(data, &want);
        if v["canonical"] == true {
            if enc != data {
                return Err(format!("{mode:?}: re-encoding differs from the input"));
            }
        } else {
            let again = decode_requests(&enc, request_decoder(v, mode))
                .map_err(|err| format!("{mode:?}: re-encoding does not decode: {err:?}"))?;
            compare_packets(&again, &want, false)
                .map_err(|m| format!("{mode:?}: re-encoding decodes differently: {m}"))?;
        }
    }
    Ok(())
}

#[derive(Debug)]
struct Resp {
    head: ResponseHead,
    body: Vec<u8>,
}

fn response_decoder(v: &Value) -> ResponseDecoder {
    let o = &v["options"];
    let mut d = ResponseDecoder::new();
    if let Some(n) = o["max_head_len"].as_u64() {
        d = d.max_head_len(n as usize);
    }
    if let Some(n) = o["max_headers"].as_u64() {
        d = d.max_headers(n as usize);
    }
    d.head_request(o["head_request"].as_bool().unwrap_or(false))
}

fn decode_response(data: &[u8], mut dec: ResponseDecoder) -> Result<Resp, (String, u64)> {
    let mut pos = 0;
    let mut head = None;
    let mut body = Vec::new();
    loop {
        match dec.decode(&data[pos..]) {
            Err(e) => return Err(class(e, if head.is_some() { pos } else { 0 })),
            Ok(Status::Incomplete { .. }) => break,
            Ok(Status::Complete((frame, used))) => {
                match frame {
                    ResponseFrame::Head(h) => head = Some(h),
                    ResponseFrame::Body(b) => body.extend_from_slice(b),
                    ResponseFrame::End => {}
                    other => panic!("unknown frame {other:?}"),
                }
                pos += used;
            }
        }
    }
    dec.finish(data.len() - pos).map_err(|e| class(e, 0))?;
    Ok(Resp {
        head: head.ok_or_else(|| ("truncated".to_owned(), data.len() as u64))?,
        body,
    })
}

fn compare_response(got: &Resp, r: &Value) -> Result<(), String> {
    let want = ResponseHead {
        status: r["status"].as_u64().unwrap() as u16,
        reason: jbytes(&r["reason"]),
        headers: jpairs(&r["headers"]),
    };
    if got.head != want {
        return Err(format!("head {:?}, expected {want:?}", got.head));
    }
    if got.body.len() as u64 != r["body_len"].as_u64().unwrap()
        || sha(&got.body) != r["body_sha256"].as_str().unwrap()
    {
        return Err(format!("body of {} bytes differs", got.body.len()));
    }
    Ok(())
}

fn check_response(v: &Value, data: &[u8]) -> Result<(), String> {
    let e = &v["expect"];
    if data.len() <= 4096 {
        let every: Vec<usize> = (1..data.len()).collect();
        if response_events(data, &every, response_decoder(v))
            != response_events(data, &[], response_decoder(v))
        {
            return Err("byte-by-byte feed differs".into());
        }
    }
    if e["result"] == "error" {
        return check_error(decode_response(data, response_decoder(v)), e);
    }
    if !e["packets"].is_null() {
        let want = expected_packets(&e["packets"]);
        let got = decode_packets(data).map_err(|err| format!("unexpected error {err:?}"))?;
        compare_packets(&got, &want, true)?;
        return if encode_packets(data, &want) == data {
            Ok(())
        } else {
            Err("re-encoding differs from the input".into())
        };
    }
    let r = &e["response"];
    let got = decode_response(data, response_decoder(v))
        .map_err(|err| format!("unexpected error {err:?}"))?;
    compare_response(&got, r)?;
    let head = ResponseHead {
        status: r["status"].as_u64().unwrap() as u16,
        reason: jbytes(&r["reason"]),
        headers: jpairs(&r["headers"]),
    };
    let mut enc = Vec::new();
    match r["version"].as_str() {
        None => head.encode_cgi(&mut enc),
        Some("HTTP/1.0") => head.encode(HttpVersion::Http10, &mut enc),
        Some(_) => head.encode(HttpVersion::Http11, &mut enc),
    }
    .map_err(|err| format!("expected head does not encode: {err:?}"))?;
    let body_at = data.len() - got.body.len();
    enc.extend_from_slice(&data[body_at..]);
    if v["canonical"] == true {
        if enc != data {
            return Err(format!(
                "re-encoding differs: {:?}",
                String::from_utf8_lossy(&enc)
            ));
        }
    } else {
        let again = decode_response(&enc, response_decoder(v))
            .map_err(|err| format!("re-encoding does not decode: {err:?}"))?;
        compare_response(&again, r).map_err(|m| format!("re-encoding decodes differently: {m}"))?;
    }
    Ok(())
}

fn check(v: &Value) -> Result<(), String> {
    for key in [
        "id",
        "description",
        "provenance",
        "protocol",
        "direction",
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
    let data = input(v);
    match v["direction"].as_str() {
        Some("request") => check_request(v, &data),
        Some("response") => check_response(v, &data),
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
        assert!(id.starts_with("uwsgi."), "{id}");
        assert!(ids.insert(id.clone()), "duplicate id {id}");
        assert_eq!(v["protocol"], "uwsgi", "{id}");
        match check(v) {
            Ok(()) => passed += 1,
            Err(m) => failed.push(format!("{file}: {id}: {m}")),
        }
    }
    for f in &failed {
        eprintln!("FAILED {f}");
    }
    // Written past the test harness's output capture, so every run shows it.
    let line = format!("vectors: uwsgi: {passed} passed, {} failed\n", failed.len());
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
        "truncated",
        "too-large",
        "too-many",
        "empty-key",
        "length-overrun",
        "trailing-data",
        "unexpected-data",
        "looks-like-http",
        "bad-content-length",
        "conflicting-content-length",
        "conflicting-framing",
        "bad-header",
        "bad-status",
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
    if root.join("Cargo.toml").exists() && root.join("fastcgi-proto").exists() {
        for other in ["fastcgi-proto", "wsgi-environ"] {
            let theirs = std::fs::read(root.join(other).join("vectors/schema.json"))
                .unwrap_or_else(|e| panic!("{other}/vectors/schema.json: {e}"));
            assert_eq!(mine, theirs, "{other}/vectors/schema.json differs");
        }
    }
}
