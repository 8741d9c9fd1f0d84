//! Packets captured from real nginx `uwsgi_pass`, the uWSGI HTTP router and
//! replies of a real uWSGI server decode to exactly what the capture tool's
//! independent decoder recorded in `vectors/captures/manifest.json`.

mod common;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uwsgi_proto::fuzzing::{Event, ResponseEvent, request_events, response_events};
use uwsgi_proto::special::{self, GenericResponse};
use uwsgi_proto::*;

fn jbytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(o) => hex::decode(o["hex"].as_str().unwrap()).unwrap(),
        _ => panic!("bad byte string {v}"),
    }
}

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/vectors/captures/manifest.json"
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["captures"].as_array().unwrap().clone()
}

fn file(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("vectors/captures")
            .join(name),
    )
    .unwrap()
}

#[test]
fn request_captures_decode_to_the_recorded_vars_and_body() {
    let mut checked = 0;
    for c in manifest().iter().filter(|c| c["direction"] == "request") {
        let name = c["file"].as_str().unwrap();
        let data = file(name);
        assert_eq!(
            hex::encode(Sha256::digest(&data)),
            c["sha256"].as_str().unwrap(),
            "{name}"
        );
        let events = request_events(&data, &[], RequestDecoder::new());
        let Some(Event::Head(packet, cl)) = events.first() else {
            panic!("{name}: {events:?}")
        };
        let Status::Complete((p, _)) = Packet::parse(packet, &Limits::default()).unwrap() else {
            panic!()
        };
        assert_eq!(
            u64::from(p.header().modifier1.0),
            c["modifier1"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            u64::from(p.header().datasize),
            c["datasize"].as_u64().unwrap(),
            "{name}"
        );
        let got: Vec<(Vec<u8>, Vec<u8>)> = p
            .vars()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = c["vars"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| (jbytes(&kv[0]), jbytes(&kv[1])))
            .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(*cl, c["body_len"].as_u64().unwrap(), "{name}");
        let body: Vec<u8> = events
            .iter()
            .filter_map(|e| {
                if let Event::Body(b) = e {
                    Some(b.clone())
                } else {
                    None
                }
            })
            .flatten()
            .collect();
        assert_eq!(
            hex::encode(Sha256::digest(&body)),
            c["body_sha256"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(events.last(), Some(&Event::End), "{name}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} request captures");
}

#[test]
fn nginx_drops_underscore_headers_and_sends_duplicates() {
    let data = file("nginx-underscore-header.bin");
    let Status::Complete((p, _)) = Packet::parse(&data, &Limits::default()).unwrap() else {
        panic!()
    };
    let vars = p.vars().unwrap();
    assert_eq!(vars.get(b"HTTP_X_AUTH_USER"), Some(&b"good"[..]));
    assert_eq!(vars.get_all(b"HTTP_X_AUTH_USER").count(), 1);
    let data = file("nginx-dup-headers.bin");
    let Status::Complete((p, _)) = Packet::parse(&data, &Limits::default()).unwrap() else {
        panic!()
    };
    let vars = p.vars().unwrap();
    assert_eq!(
        vars.get_all(b"HTTP_X_DUP").collect::<Vec<_>>(),
        [&b"one"[..], b"two"]
    );
    assert_eq!(
        vars.get_with(b"HTTP_X_DUP", Duplicates::Reject),
        Err(DuplicateKey)
    );
    // nginx sends an empty CONTENT_LENGTH for a GET: an empty body.
    assert_eq!(vars.get(b"CONTENT_LENGTH"), Some(&b""[..]));
}

#[test]
fn uwsgi_server_replies_parse() {
    for (name, body_len) in [
        ("uwsgi-server-reply-get.bin", 0),
        ("uwsgi-server-reply-post.bin", 5),
    ] {
        let events = response_events(&file(name), &[], ResponseDecoder::new());
        let [
            ResponseEvent::Head(h),
            ResponseEvent::Body(b),
            ResponseEvent::End,
        ] = events.as_slice()
        else {
            panic!("{name}: {events:?}")
        };
        assert_eq!((h.status, h.reason.as_slice()), (200, &b"OK"[..]));
        assert_eq!(h.get("content-type"), Some(&b"application/json"[..]));
        assert_eq!(h.get("x-echo"), Some(&b"1"[..]));
        let v: Value = serde_json::from_slice(b).unwrap();
        assert_eq!(v["body_len"], body_len, "{name}");
        assert_eq!(v["environ"]["PATH_INFO"], "/echo");
    }
    let pong = file("uwsgi-server-reply-ping.bin");
    let Status::Complete((p, 4)) = Packet::parse(&pong, &Limits::default()).unwrap() else {
        panic!()
    };
    assert_eq!(special::pong_message(&p), Some(&b""[..]));
    let sig = file("uwsgi-server-reply-signal-unregistered.bin");
    let Status::Complete((p, 4)) = Packet::parse(&sig, &Limits::default()).unwrap() else {
        panic!()
    };
    assert_eq!(
        GenericResponse::from_packet(&p),
        Some(GenericResponse { result: 1 })
    );
}
