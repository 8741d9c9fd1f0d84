//! Byte streams captured from real peers (nginx `fastcgi_pass`, PHP-FPM,
//! fcgiwrap, libfcgi; see `vectors/captures/manifest.json`) decode to the
//! records, params, bodies and events recorded in the manifest.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fastcgi_proto::client::{Connection as Client, Event as ClientEvent};
use fastcgi_proto::fuzzing::parse_all;
use fastcgi_proto::server::{Config, Connection as App, Event as AppEvent};
use fastcgi_proto::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/captures")
}

fn manifest() -> Vec<Value> {
    let m: Value =
        serde_json::from_slice(&std::fs::read(dir().join("manifest.json")).unwrap()).unwrap();
    let caps = m["captures"].as_array().unwrap().clone();
    assert!(caps.len() >= 10);
    caps
}

/// A manifest string, or `{"hex": ...}` for non-UTF-8 bytes.
fn json_bytes(v: &Value) -> Vec<u8> {
    match v.as_str() {
        Some(s) => s.as_bytes().to_vec(),
        None => hex::decode(v["hex"].as_str().unwrap()).unwrap(),
    }
}

fn hex_sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[test]
fn every_capture_decodes_to_the_manifest_records() {
    for c in manifest() {
        let file = c["file"].as_str().unwrap();
        let bytes = std::fs::read(dir().join(file)).unwrap();
        assert_eq!(bytes.len() as u64, c["len"].as_u64().unwrap(), "{file}");
        assert_eq!(hex_sha(&bytes), c["sha256"].as_str().unwrap(), "{file}");
        let (recs, err) = parse_all(&bytes);
        assert_eq!(err, None, "{file}");
        let used: usize = recs.iter().map(OwnedRecord::encoded_len).sum();
        assert_eq!(
            (bytes.len() - used) as u64,
            c["trailing_bytes"].as_u64().unwrap(),
            "{file}"
        );
        assert_eq!(
            recs.len() as u64,
            c["record_count"].as_u64().unwrap(),
            "{file}"
        );
        let mut hist = BTreeMap::new();
        for r in &recs {
            *hist
                .entry(r.header.record_type.0.to_string())
                .or_insert(0u64) += 1;
        }
        let want: BTreeMap<String, u64> = c["record_types"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        assert_eq!(hist, want, "{file}");
        let mut ids: Vec<u64> = recs
            .iter()
            .map(|r| u64::from(r.header.request_id))
            .collect();
        ids.sort();
        ids.dedup();
        let want_ids: Vec<u64> = c["request_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(ids, want_ids, "{file}");
    }
}

#[test]
fn nginx_requests_drive_the_application_side() {
    let mut checked = 0;
    for c in manifest() {
        if c["direction"] != "request" || c["record_count"] == 0 {
            continue;
        }
        let file = c["file"].as_str().unwrap();
        let bytes = std::fs::read(dir().join(file)).unwrap();
        let mut app = App::new(Config::default());
        let mut params = Vec::new();
        let mut stdin = Vec::new();
        let mut requests = 0;
        // one record at a time, as the peer sends the next request only
        // after END_REQUEST on a kept connection
        let (recs, _) = parse_all(&bytes);
        let mut pos = 0;
        for r in &recs {
            let end = pos + r.encoded_len();
            // events are drained after every record, so one record always fits
            assert_eq!(app.handle_bytes(&bytes[pos..end]).unwrap(), end - pos);
            pos = end;
            while let Some(e) = app.poll_event() {
                match e {
                    AppEvent::Request { keep_conn, .. } => {
                        requests += 1;
                        if file.contains("keep-conn") {
                            assert!(keep_conn);
                        }
                    }
                    AppEvent::Params { params: p, .. } => params.push(p),
                    AppEvent::Stdin { data, .. } => stdin.extend_from_slice(&data),
                    AppEvent::StdinEnd { id } => {
                        app.stdout(id, b"Status: 200 OK\r\n\r\n").unwrap();
                        app.end_request(id, 0).unwrap();
                    }
                    other => panic!("{file}: {other:?}"),
                }
            }
        }
        assert_eq!(pos, bytes.len(), "{file}");
        assert_eq!(requests, c["record_types"]["1"].as_u64().unwrap(), "{file}");
        if let Some(want) = c["params"].as_array() {
            // the manifest lists the pairs of every request on the connection in order
            let got: Vec<(Vec<u8>, Vec<u8>)> = params
                .iter()
                .flat_map(|p| {
                    p.iter()
                        .map(|(n, v)| (n.to_vec(), v.to_vec()))
                        .collect::<Vec<_>>()
                })
                .collect();
            let want: Vec<(Vec<u8>, Vec<u8>)> = want
                .iter()
                .map(|p| (json_bytes(&p[0]), json_bytes(&p[1])))
                .collect();
            assert_eq!(got, want, "{file}");
        }
        if let Some(n) = c["stdin_len"].as_u64() {
            assert_eq!(stdin.len() as u64, n, "{file}");
            assert_eq!(
                hex_sha(&stdin),
                c["stdin_sha256"].as_str().unwrap(),
                "{file}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 5);
}

#[test]
fn backend_replies_drive_the_web_server_side_at_every_split() {
    let mut checked = 0;
    for c in manifest() {
        if c["direction"] != "response" {
            continue;
        }
        let file = c["file"].as_str().unwrap();
        let bytes = std::fs::read(dir().join(file)).unwrap();
        let ids: Vec<u16> = c["request_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u16)
            .collect();
        let run = |cut: usize| {
            let mut cl = Client::new();
            for &id in ids.iter().filter(|&&i| i != 0) {
                cl.begin(id, Role::RESPONDER, true).unwrap();
            }
            cl.handle_bytes(&bytes[..cut]).unwrap();
            cl.handle_bytes(&bytes[cut..]).unwrap();
            let mut stdout = Vec::new();
            let mut ev = Vec::new();
            while let Some(e) = cl.poll_event() {
                match e {
                    ClientEvent::Stdout { data, .. } => stdout.extend_from_slice(&data),
                    other => ev.push(other),
                }
            }
            assert_eq!(cl.in_flight().count(), 0, "{file}");
            (stdout, ev)
        };
        let whole = run(bytes.len());
        let ends = whole
            .1
            .iter()
            .filter(|e| matches!(e, ClientEvent::End { .. }))
            .count();
        assert_eq!(ends, ids.iter().filter(|&&i| i != 0).count(), "{file}");
        if file.contains("get-values") {
            let ClientEvent::Values(p) = &whole.1[0] else {
                panic!("{file}")
            };
            assert!(p.get(FCGI_MPXS_CONNS.as_bytes()).is_some());
        } else {
            assert!(
                whole.0.starts_with(b"X-Powered-By")
                    || whole.0.starts_with(b"Content")
                    || whole.0.starts_with(b"Status"),
                "{file}: {:?}",
                String::from_utf8_lossy(&whole.0[..whole.0.len().min(40)])
            );
        }
        if file.contains("stderr") {
            assert!(
                whole
                    .1
                    .iter()
                    .any(|e| matches!(e, ClientEvent::Stderr { .. }))
            );
        }
        if bytes.len() < 4096 {
            for cut in 0..bytes.len() {
                assert_eq!(run(cut), whole, "{file} cut {cut}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 5);
}
