//! The reference vectors in `vectors/*.json` (format: `vectors/README.md`):
//! records, name-value blocks and whole connections in both directions
//! decode to their expectation (or fail with their error class at their
//! offset), and valid inputs re-encode to their bytes, or, where the input
//! is not canonical, to bytes that decode to the same thing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use fastcgi_proto::server::{self, ServerError};
use fastcgi_proto::{
    Body, DecodeError, Header, Pairs, ParamsDecoder, ParamsLimits, Record, RecordType, Role,
    Status, client, encode_pair,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The generator writes this many vectors or more; fewer means files went missing.
const MIN_VECTORS: usize = 150;

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

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Pairs as `[[hex, hex], …]`, the form both sides are compared in.
fn hex_pairs<'a>(ps: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Value {
    Value::Array(
        ps.into_iter()
            .map(|(n, v)| json!([hex::encode(n), hex::encode(v)]))
            .collect(),
    )
}

/// The expectation with every `pairs` array turned into hex pairs.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let x = if k == "pairs" {
                        let ps: PairList = x
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|p| (jbytes(&p[0]), jbytes(&p[1])))
                            .collect();
                        hex_pairs(ps.iter().map(|(a, b)| (a.as_slice(), b.as_slice())))
                    } else {
                        normalize(x)
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
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
        assert_eq!(doc["protocol"], "fastcgi", "{}", f.display());
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

fn params_limits(v: &Value) -> ParamsLimits {
    let d = ParamsLimits::default();
    let l = &v["limits"];
    ParamsLimits {
        max_params_len: l["max_params_len"]
            .as_u64()
            .map_or(d.max_params_len, |n| n as usize),
        max_params: l["max_params"]
            .as_u64()
            .map_or(d.max_params, |n| n as usize),
    }
}

/// A framing error as (class, offset).
fn framing(e: DecodeError, at: usize) -> Failure {
    let (c, off) = match e {
        DecodeError::Version { offset, .. } => ("bad-version", offset),
        DecodeError::BodyLength { offset, .. } => ("bad-record-body", offset),
        DecodeError::Truncated { .. } => ("truncated", at),
        DecodeError::PairTooLong { .. } | DecodeError::ParamsTooLong { .. } => ("too-large", at),
        DecodeError::TooManyPairs { .. } => ("too-many", at),
        DecodeError::PairTruncated { .. } => ("length-overrun", at),
        other => panic!("unmapped error {other:?}"),
    };
    (c.to_owned(), off as u64)
}

fn record_json(rec: &Record<'_>) -> Value {
    let h = rec.header;
    let mut j = json!({
        "version": 1,
        "type": h.record_type.0,
        "request_id": h.request_id,
        "content_length": h.content_len,
        "padding_length": h.padding_len,
    });
    if rec.content.len() <= 512 {
        j["content_hex"] = json!(hex::encode(rec.content));
    } else {
        j["content_sha256"] = json!(sha(rec.content));
    }
    match rec.body() {
        Body::BeginRequest(b) => j["begin_request"] = json!({"role": b.role.0, "flags": b.flags}),
        Body::EndRequest(e) => {
            j["end_request"] =
                json!({"app_status": e.app_status, "protocol_status": e.protocol_status.0});
        }
        Body::UnknownType(t) => j["unknown_type"] = json!(t.0),
        _ => {}
    }
    j
}

/// Every record, or the framing error and where it is.
fn records(data: &[u8]) -> Result<Vec<(usize, Value)>, Failure> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < data.len() {
        match Record::parse(&data[pos..], pos).map_err(|e| framing(e, pos))? {
            Status::Complete((rec, used)) => {
                out.push((pos, record_json(&rec)));
                pos += used;
            }
            Status::Incomplete { .. } => return Err(("truncated".into(), data.len() as u64)),
        }
    }
    Ok(out)
}

/// Encodes records from their expectation; contents come from the input
/// when the vector gives only a hash.
fn encode_records(data: &[u8], want: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    for r in want {
        let clen = r["content_length"].as_u64().unwrap() as usize;
        let plen = r["padding_length"].as_u64().unwrap() as usize;
        let content = match r["content_hex"].as_str() {
            Some(h) => hex::decode(h).unwrap(),
            None => data[pos + 8..pos + 8 + clen].to_vec(),
        };
        Header {
            record_type: RecordType(r["type"].as_u64().unwrap() as u8),
            request_id: r["request_id"].as_u64().unwrap() as u16,
            content_len: clen as u16,
            padding_len: plen as u8,
        }
        .encode(&mut out);
        out.extend_from_slice(&content);
        out.extend(std::iter::repeat_n(0u8, plen));
        pos += 8 + clen + plen;
    }
    out
}

fn check_records(v: &Value, data: &[u8]) -> Result<(), String> {
    let e = &v["expect"];
    let got = records(data);
    if e["result"] == "error" {
        return check_error(got, e);
    }
    let got: Vec<Value> = got
        .map_err(|err| format!("unexpected error {err:?}"))?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let want = e["records"].as_array().expect("records");
    if got != *want {
        return Err(format!("records {got:?}, expected {want:?}"));
    }
    let enc = encode_records(data, want);
    if v["canonical"] == true {
        if enc != data {
            return Err("re-encoded records differ from the input".into());
        }
    } else {
        let again: Vec<Value> = records(&enc)
            .map_err(|err| format!("re-encoding does not decode: {err:?}"))?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        if again != *want {
            return Err("re-encoded records decode differently".into());
        }
    }
    Ok(())
}

fn decode_params(data: &[u8], limits: ParamsLimits) -> Result<PairList, Failure> {
    let mut d = ParamsDecoder::new(limits);
    let pushed = d.push(data);
    let res = pushed.and_then(|()| d.finish());
    match res {
        Ok(p) => Ok(p.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect()),
        Err(DecodeError::PairTooLong { offset, .. }) => Err(("too-large".into(), offset as u64)),
        Err(DecodeError::PairTruncated { offset }) => Err(("length-overrun".into(), offset as u64)),
        Err(DecodeError::ParamsTooLong { .. }) => Err(("too-large".into(), 0)),
        Err(DecodeError::TooManyPairs { limit }) => {
            // The error names no offset: the extra pair starts after `limit` pairs.
            let mut at = 0;
            let mut it = Pairs::new(data);
            for _ in 0..limit {
                let (n, v) = it.next().unwrap().unwrap();
                at += fastcgi_proto::pair_len(n, v);
            }
            Err(("too-many".into(), at as u64))
        }
        Err(other) => panic!("unmapped error {other:?}"),
    }
}

fn check_params(v: &Value, data: &[u8]) -> Result<(), String> {
    let e = &v["expect"];
    let got = decode_params(data, params_limits(v));
    if e["result"] == "error" {
        return check_error(got, e);
    }
    let got = got.map_err(|err| format!("unexpected error {err:?}"))?;
    let got_json = hex_pairs(got.iter().map(|(a, b)| (a.as_slice(), b.as_slice())));
    let want = normalize(&json!({"pairs": e["pairs"]}))["pairs"].clone();
    if got_json != want {
        return Err(format!("pairs {got_json}, expected {want}"));
    }
    // The zero-copy iterator over a complete block agrees.
    let lazy: Vec<_> = Pairs::new(data)
        .map(|r| r.map(|(a, b)| (a.to_vec(), b.to_vec())))
        .collect::<Result<_, _>>()
        .map_err(|err| format!("Pairs: {err:?}"))?;
    if lazy != got {
        return Err("Pairs disagrees with ParamsDecoder".into());
    }
    let mut enc = Vec::new();
    for (n, val) in &got {
        encode_pair(&mut enc, n, val).unwrap();
    }
    if v["canonical"] == true {
        if enc != data {
            return Err("re-encoded pairs differ from the input".into());
        }
    } else if decode_params(&enc, ParamsLimits::default()).ok() != Some(got) {
        return Err("re-encoded pairs decode differently".into());
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Outcome {
    events: Vec<Value>,
    replies: Vec<Value>,
}

/// Appends an event, merging a stream chunk into the previous one of the
/// same kind and request.
fn push_event(events: &mut Vec<(Value, Vec<u8>)>, ev: Value, data: Option<&[u8]>) {
    if let (Some(d), Some((last, buf))) = (data, events.last_mut()) {
        if last["event"] == ev["event"] && last["id"] == ev["id"] {
            buf.extend_from_slice(d);
            return;
        }
    }
    events.push((ev, data.map(<[u8]>::to_vec).unwrap_or_default()));
}

fn finish_events(events: Vec<(Value, Vec<u8>)>) -> Vec<Value> {
    events
        .into_iter()
        .map(|(mut ev, buf)| {
            if matches!(
                ev["event"].as_str(),
                Some("stdin" | "data" | "stdout" | "stderr")
            ) {
                ev["len"] = json!(buf.len());
                ev["sha256"] = json!(sha(&buf));
            }
            ev
        })
        .collect()
}

fn replies(bytes: &[u8]) -> Vec<Value> {
    records(bytes)
        .expect("the connection writes well-formed records")
        .into_iter()
        .map(|(_, r)| {
            let content = hex::decode(r["content_hex"].as_str().unwrap()).unwrap();
            json!({"type": r["type"], "request_id": r["request_id"], "content_hex": hex::encode(content)})
        })
        .collect()
}

/// Record boundaries of the input, as far as the input frames correctly.
fn record_spans(data: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        match Record::parse(&data[pos..], pos) {
            Ok(Status::Complete((_, used))) => {
                spans.push((pos, pos + used));
                pos += used;
            }
            _ => {
                spans.push((pos, data.len()));
                break;
            }
        }
    }
    spans
}

fn server_error(e: ServerError, at: usize) -> Failure {
    match e {
        ServerError::Decode(d) => framing(d, at),
        ServerError::RequestActive { .. } | ServerError::Unexpected { .. } => {
            ("protocol-violation".into(), at as u64)
        }
        ServerError::Params { error, .. } => (framing(error, at).0, at as u64),
        other => panic!("unmapped error {other:?}"),
    }
}

/// Plays the application: feeds the input record by record, answers each
/// request once its input is complete or aborted (see the README).
fn run_server(v: &Value, data: &[u8], spans: &[(usize, usize)]) -> Result<Outcome, Failure> {
    let o = &v["options"];
    let config = server::Config {
        max_concurrent_requests: o["max_concurrent_requests"].as_u64().unwrap_or(1) as usize,
        max_conns: o["max_conns"].as_u64().unwrap_or(1) as usize,
        params: params_limits(v),
        ..server::Config::default()
    };
    let mut conn = server::Connection::new(config);
    let mut events = Vec::new();
    let mut out = Outcome::default();
    let mut roles: BTreeMap<u16, (Role, bool, bool)> = BTreeMap::new();
    for &(start, end) in spans {
        let mut piece = &data[start..end];
        while !piece.is_empty() {
            let taken = conn
                .handle_bytes(piece)
                .map_err(|e| server_error(e, start))?;
            if taken == 0 && conn.is_closed() {
                return Err(("unexpected-data".into(), start as u64));
            }
            piece = &piece[taken..];
            let mut finished = Vec::new();
            while let Some(ev) = conn.poll_event() {
                let (j, d) = match ev {
                    server::Event::Request {
                        id,
                        role,
                        keep_conn,
                    } => {
                        roles.insert(id, (role, false, false));
                        (
                            json!({"event": "begin", "id": id, "role": role.0, "keep_conn": keep_conn}),
                            None,
                        )
                    }
                    server::Event::Params { id, params } => (
                        json!({"event": "params", "id": id, "pairs": hex_pairs(params.iter())}),
                        None,
                    ),
                    server::Event::Stdin { id, data } => {
                        (json!({"event": "stdin", "id": id}), Some(data.to_vec()))
                    }
                    server::Event::StdinEnd { id } => {
                        if let Some(r) = roles.get_mut(&id) {
                            r.1 = true;
                            if r.0 != Role::FILTER || r.2 {
                                finished.push(id);
                            }
                        }
                        (json!({"event": "stdin-end", "id": id}), None)
                    }
                    server::Event::Data { id, data } => {
                        (json!({"event": "data", "id": id}), Some(data.to_vec()))
                    }
                    server::Event::DataEnd { id } => {
                        if let Some(r) = roles.get_mut(&id) {
                            r.2 = true;
                            if r.1 {
                                finished.push(id);
                            }
                        }
                        (json!({"event": "data-end", "id": id}), None)
                    }
                    server::Event::Abort { id } => {
                        finished.push(id);
                        (json!({"event": "abort", "id": id}), None)
                    }
                    // The announcement of a reply the connection made
                    // itself; the reply bytes are checked below.
                    server::Event::Replied { .. } => continue,
                    other => panic!("unknown event {other:?}"),
                };
                push_event(&mut events, j, d.as_deref());
            }
            if let Some(b) = conn.poll_transmit() {
                out.replies.extend(replies(&b));
            }
            for id in finished {
                if roles.remove(&id).is_some() {
                    conn.end_request(id, 0).unwrap();
                }
            }
            let _ = conn.poll_transmit(); // the application's own END_REQUESTs
        }
    }
    if conn.input_buffered() > 0 {
        return Err(("truncated".into(), data.len() as u64));
    }
    out.events = finish_events(events);
    Ok(out)
}

fn client_error(e: client::ClientError, at: usize) -> Failure {
    match e {
        client::ClientError::Decode(DecodeError::PairTruncated { .. }) => {
            ("length-overrun".into(), at as u64)
        }
        client::ClientError::Decode(d) => framing(d, at),
        client::ClientError::UnknownRequest { .. } | client::ClientError::Unexpected { .. } => {
            ("protocol-violation".into(), at as u64)
        }
        other => panic!("unmapped error {other:?}"),
    }
}

/// Plays the web server with `options.in_flight` requests sent.
fn run_client(v: &Value, data: &[u8], spans: &[(usize, usize)]) -> Result<Outcome, Failure> {
    let mut conn = client::Connection::new();
    for id in v["options"]["in_flight"].as_array().into_iter().flatten() {
        conn.begin(id.as_u64().unwrap() as u16, Role::RESPONDER, true)
            .unwrap();
    }
    let _ = conn.poll_transmit();
    let mut events = Vec::new();
    for &(start, end) in spans {
        conn.handle_bytes(&data[start..end])
            .map_err(|e| client_error(e, start))?;
        while let Some(ev) = conn.poll_event() {
            let (j, d) = match ev {
                client::Event::Stdout { id, data } => {
                    (json!({"event": "stdout", "id": id}), Some(data.to_vec()))
                }
                client::Event::Stderr { id, data } => {
                    (json!({"event": "stderr", "id": id}), Some(data.to_vec()))
                }
                client::Event::End { id, end } => (
                    json!({"event": "end", "id": id, "app_status": end.app_status,
                           "protocol_status": end.protocol_status.0}),
                    None,
                ),
                client::Event::Values(p) => (
                    json!({"event": "values", "pairs": hex_pairs(p.iter())}),
                    None,
                ),
                client::Event::UnknownType(t) => {
                    (json!({"event": "unknown-type", "type": t.0}), None)
                }
                other => panic!("unknown event {other:?}"),
            };
            push_event(&mut events, j, d.as_deref());
        }
    }
    if conn.input_buffered() > 0 {
        return Err(("truncated".into(), data.len() as u64));
    }
    Ok(Outcome {
        events: finish_events(events),
        replies: Vec::new(),
    })
}

/// Runs the connection, feeding the input record by record (error offsets
/// are record starts).
fn run(v: &Value, data: &[u8]) -> Result<Outcome, Failure> {
    run_split(v, data, &record_spans(data))
}

fn run_split(v: &Value, data: &[u8], spans: &[(usize, usize)]) -> Result<Outcome, Failure> {
    match v["direction"].as_str() {
        Some("request") => run_server(v, data, spans),
        _ => run_client(v, data, spans),
    }
}

fn check_connection(v: &Value, data: &[u8]) -> Result<(), String> {
    let e = &v["expect"];
    let got = run(v, data);
    if e["result"] == "error" {
        return check_error(got, e);
    }
    let got = got.map_err(|err| format!("unexpected error {err:?}"))?;
    let want_events = normalize(&e["events"]);
    if Value::Array(got.events.clone()) != want_events {
        return Err(format!(
            "events {}, expected {want_events}",
            Value::Array(got.events)
        ));
    }
    if !e["replies"].is_null() && Value::Array(got.replies.clone()) != e["replies"] {
        return Err(format!(
            "replies {}, expected {}",
            Value::Array(got.replies),
            e["replies"]
        ));
    }
    // Byte by byte, the connection sees the same (short inputs only).
    if data.len() <= 4096 {
        let bytes: Vec<(usize, usize)> = (0..data.len()).map(|i| (i, i + 1)).collect();
        let split = run_split(v, data, &bytes)
            .map_err(|err| format!("byte-by-byte feed fails: {err:?}"))?;
        if split.events != got.events || split.replies != got.replies {
            return Err("byte-by-byte feed gives other events".into());
        }
    }
    let recs: Vec<Value> = records(data)
        .map_err(|err| format!("records: {err:?}"))?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let want = e["records"].as_array().expect("records");
    if recs != *want {
        return Err("records differ".into());
    }
    let enc = encode_records(data, want);
    if v["canonical"] == true {
        if enc != data {
            return Err("re-encoded records differ from the input".into());
        }
    } else {
        let again = run(v, &enc).map_err(|err| format!("re-encoding fails: {err:?}"))?;
        if Value::Array(again.events) != want_events {
            return Err("re-encoding gives other events".into());
        }
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
        "layer",
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
    if !matches!(v["direction"].as_str(), Some("request" | "response")) {
        return Err(format!("direction {}", v["direction"]));
    }
    let data = input(v);
    match v["layer"].as_str() {
        Some("records") => check_records(v, &data),
        Some("params") => check_params(v, &data),
        Some("connection") => check_connection(v, &data),
        other => Err(format!("layer {other:?}")),
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
        assert!(id.starts_with("fastcgi."), "{id}");
        assert!(ids.insert(id.clone()), "duplicate id {id}");
        assert_eq!(v["protocol"], "fastcgi", "{id}");
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
        "vectors: fastcgi: {passed} passed, {} failed\n",
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
        "truncated",
        "too-large",
        "too-many",
        "length-overrun",
        "unexpected-data",
        "bad-version",
        "bad-record-body",
        "protocol-violation",
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
        for other in ["uwsgi-proto", "wsgi-environ"] {
            let theirs = std::fs::read(root.join(other).join("vectors/schema.json"))
                .unwrap_or_else(|e| panic!("{other}/vectors/schema.json: {e}"));
            assert_eq!(mine, theirs, "{other}/vectors/schema.json differs");
        }
    }
}
