//! `handle_shared` on both connections takes input held in a `Bytes` without
//! copying it. These tests hold it to `handle_bytes`: for every committed
//! capture fed whole, cut in two at every point (a stride plus the bytes
//! around each record boundary for the two large ones) and one byte at a
//! time, and for corrupted copies of them, each call gives the same result
//! (bytes taken, errors with their offsets) and the same events, and the
//! connection ends in the same state. What is not taken stays in the
//! caller's `Bytes`, exactly; the STDIN / STDOUT events of a whole-input
//! feed are slices of the input's own memory.
#![allow(missing_docs)]

mod common;

use std::ops::Range;

use bytes::Bytes;
use common::{
    AppTrace, ClientTrace, assert_valid_reply_trace, assert_valid_request_trace, capture, captures,
    record_starts,
};
use fastcgi_proto::client::{ClientError, Connection as Client, Event as ClientEvent};
use fastcgi_proto::server::{Config, Connection as App, Event as AppEvent, ServerError};
use fastcgi_proto::{DecodeError, RecordType, Role};

/// Every cut of a stream up to 4 KiB; of a longer one, every 499th and the
/// ten bytes either side of each record start.
fn cuts(wire: &[u8]) -> Vec<usize> {
    common::cuts(wire, 499)
}

/// The pieces a wire is fed in.
fn pieces(len: usize, how: Feed) -> Vec<Range<usize>> {
    match how {
        Feed::Whole => std::iter::once(0..len).collect(),
        Feed::Cut(c) => vec![0..c, c..len],
        Feed::Bytewise => (0..len).map(|i| i..i + 1).collect(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Feed {
    Whole,
    Cut(usize),
    Bytewise,
}

/// A copy of `wire` with a bad version (`bad_type == None`) or a bad type
/// in record `k`, and the offset of that record.
fn corrupt(wire: &[u8], k: usize, bad_type: Option<u8>) -> (Bytes, usize) {
    let at = record_starts(wire)[k];
    let mut w = wire.to_vec();
    match bad_type {
        None => w[at] = 2,
        Some(t) => w[at + 1] = t,
    }
    (w.into(), at)
}

/// The first, a middle and the last record.
fn picks(wire: &[u8]) -> Vec<usize> {
    let n = record_starts(wire).len();
    let mut p = vec![0, n / 2, n - 1];
    p.dedup();
    p
}

// ---------------------------------------------------------------- server

/// [`common::run_app`] on the pieces of `how`: with `shared` through
/// `handle_shared` on slices of `wire` (checking that what is left is
/// exactly the untaken rest of the piece, in place), else through
/// `handle_bytes`.
fn run_app(config: Config, respond: bool, wire: &Bytes, how: Feed, shared: bool) -> AppTrace {
    common::run_app(
        config,
        respond,
        pieces(wire.len(), how),
        |conn, pos, end| {
            if !shared {
                return conn.handle_bytes(&wire[pos..end]);
            }
            let mut src = wire.slice(pos..end);
            let r = conn.handle_shared(&mut src).map(|()| end - pos - src.len());
            if let Ok(n) = r {
                assert_eq!(src, wire[pos + n..end], "{how:?}");
                if !src.is_empty() {
                    assert_eq!(src.as_ptr(), wire[pos + n..].as_ptr(), "{how:?}");
                }
            }
            r
        },
    )
}

fn small(max_buffered: usize) -> Config {
    Config {
        max_buffered,
        ..Config::default()
    }
}

/// `handle_shared` against `handle_bytes` for one way of feeding; returns
/// the trace.
fn app_same(name: &str, config: Config, respond: bool, wire: &Bytes, how: Feed) -> AppTrace {
    let got = run_app(config, respond, wire, how, true);
    let want = run_app(config, respond, wire, how, false);
    assert_eq!(
        got, want,
        "{name}, max_buffered {}, respond {respond}, {how:?}",
        config.max_buffered
    );
    got
}

/// Whole, every cut and one byte at a time, with the default limit and
/// not answering, and with a 100-byte limit and answering. Returns the
/// whole-input trace with the default limit.
fn app_all_feeds(name: &str, wire: &Bytes) -> AppTrace {
    for (config, respond) in [(Config::default(), false), (small(100), true)] {
        for cut in cuts(wire) {
            app_same(name, config, respond, wire, Feed::Cut(cut));
        }
        if wire.len() <= 100_000 {
            app_same(name, config, respond, wire, Feed::Bytewise);
        }
    }
    app_same(name, small(1), true, wire, Feed::Whole);
    app_same(name, Config::default(), false, wire, Feed::Whole)
}

#[test]
fn app_request_captures_alike_at_every_split() {
    for (name, wire) in captures(true) {
        let t = app_all_feeds(&name, &wire);
        assert_valid_request_trace(&name, &t);
    }
}

#[test]
fn app_corrupted_request_captures_fail_alike_at_every_split() {
    let mut versions = 0;
    for (name, wire) in captures(true) {
        if wire.len() > 4096 {
            continue;
        }
        for k in picks(&wire) {
            let (bad, offset) = corrupt(&wire, k, None);
            let t = app_all_feeds(&format!("{name}, version of record {k}"), &bad);
            let err = t.steps.last().unwrap().0.unwrap_err();
            // (in one call a kept connection fails earlier)
            if !(name.contains("keep-conn") && err == ServerError::RequestActive { id: 1 }) {
                assert_eq!(
                    err,
                    ServerError::Decode(DecodeError::Version { version: 2, offset }),
                    "{name}, record {k}"
                );
                versions += 1;
            }
            // STDOUT from the web server: Unexpected while its request is active
            let (bad, _) = corrupt(&wire, k, Some(RecordType::STDOUT.0));
            app_all_feeds(&format!("{name}, type of record {k}"), &bad);
        }
    }
    assert!(versions >= 55, "{versions}");
}

#[test]
fn app_back_pressure_leaves_the_untaken_rest_in_place_and_resumes() {
    // The 1 MiB POST in one Bytes under the default 256 KiB limit: the
    // first call stops at the record that reaches the limit, and the rest
    // stays in the caller's Bytes; a call without polling takes nothing.
    let wire = capture("nginx-post-1m.bin");
    let starts = record_starts(&wire);
    let mut reference = App::new(Config::default());
    let want = reference.handle_bytes(&wire).unwrap();
    let mut conn = App::new(Config::default());
    let mut src = wire.clone();
    conn.handle_shared(&mut src).unwrap();
    let taken = wire.len() - src.len();
    assert_eq!(taken, want);
    assert!(starts.contains(&taken), "{taken}");
    assert_eq!(src.as_ptr(), wire[taken..].as_ptr());
    assert_eq!(conn.buffered(), reference.buffered());
    assert!((256 * 1024..256 * 1024 + 65536).contains(&conn.buffered()));
    assert_eq!(conn.input_buffered(), 0);
    conn.handle_shared(&mut src).unwrap();
    assert_eq!(wire.len() - src.len(), taken);
    // polling resumes it, taking what handle_bytes takes, call by call,
    // always up to a record boundary
    let mut stdin = Vec::new();
    let mut pos = taken;
    let mut calls = 1;
    while !src.is_empty() {
        while let Some(e) = conn.poll_event() {
            if let AppEvent::Stdin { data, .. } = e {
                stdin.extend_from_slice(&data);
            }
        }
        while reference.poll_event().is_some() {}
        conn.handle_shared(&mut src).unwrap();
        pos += reference.handle_bytes(&wire[pos..]).unwrap();
        assert_eq!(wire.len() - src.len(), pos);
        assert!(starts.contains(&pos) || pos == wire.len(), "{pos}");
        calls += 1;
    }
    assert_eq!(calls, 5);
    let rest: Vec<AppEvent> = std::iter::from_fn(|| conn.poll_event()).collect();
    assert_eq!(rest.last(), Some(&AppEvent::StdinEnd { id: 1 }));
    for e in rest {
        if let AppEvent::Stdin { data, .. } = e {
            stdin.extend_from_slice(&data);
        }
    }
    assert_eq!(stdin.len(), 1 << 20);
    // the captured body is the bytes 0..=255 over and over
    assert!(stdin.iter().enumerate().all(|(i, &b)| b == i as u8));

    // A 1-byte limit: each call takes one STDIN record; a call under
    // back-pressure that also holds a cut record keeps the rest in `src`.
    let wire = capture("nginx-post-1k.bin");
    let starts = record_starts(&wire);
    let first_stdin = starts
        .iter()
        .copied()
        .find(|&s| wire[s + 1] == RecordType::STDIN.0)
        .unwrap();
    let mut conn = App::new(small(1));
    let mut src = wire.slice(..first_stdin + 3);
    conn.handle_shared(&mut src).unwrap();
    assert!(src.is_empty());
    assert_eq!(conn.input_buffered(), 3);
    let mut src = wire.slice(first_stdin + 3..);
    conn.handle_shared(&mut src).unwrap();
    let next = starts.iter().copied().find(|&s| s > first_stdin).unwrap();
    assert_eq!(src, wire[next..]);
    assert_eq!(src.as_ptr(), wire[next..].as_ptr());
    assert_eq!(conn.input_buffered(), 0);
}

#[test]
fn app_closed_connection_takes_nothing_more() {
    // Two requests on one Bytes without KEEP_CONN: once the first is ended
    // the connection is closed and the second stays in `src`, untouched.
    let one = capture("nginx-get-query.bin");
    let mut both = one.to_vec();
    both.extend_from_slice(&one);
    let both = Bytes::from(both);
    let mut conn = App::new(Config::default());
    let mut src = both.slice(..one.len());
    conn.handle_shared(&mut src).unwrap();
    assert!(src.is_empty());
    let events: Vec<AppEvent> = std::iter::from_fn(|| conn.poll_event()).collect();
    assert_eq!(events.last(), Some(&AppEvent::StdinEnd { id: 1 }));
    conn.end_request(1, 0).unwrap();
    assert!(conn.is_closed());
    let mut src = both.slice(one.len()..);
    conn.handle_shared(&mut src).unwrap();
    assert_eq!(src, one);
    assert_eq!(conn.input_buffered(), 0);
    assert_eq!(conn.poll_event(), None);
}

#[test]
fn app_stdin_events_point_into_the_input() {
    let wire = capture("nginx-post-1m.bin");
    let mut conn = App::new(small(usize::MAX));
    let mut src = wire.clone();
    conn.handle_shared(&mut src).unwrap();
    assert!(src.is_empty());
    let input = wire.as_ptr_range();
    let mut total = 0;
    while let Some(e) = conn.poll_event() {
        if let AppEvent::Stdin { data, .. } = e {
            let r = data.as_ptr_range();
            assert!(
                input.start <= r.start && r.end <= input.end,
                "STDIN {r:?} outside the input {input:?}"
            );
            total += data.len();
        }
    }
    assert_eq!(total, 1 << 20);
}

// ---------------------------------------------------------------- client

/// [`common::run_client`] on the pieces of `how`, through `handle_shared`
/// on slices of `wire` (each left empty unless an error is returned) if
/// `shared`, else through `handle_bytes`.
fn run_client(wire: &Bytes, how: Feed, shared: bool) -> ClientTrace {
    common::run_client(wire, pieces(wire.len(), how), |conn, piece| {
        if !shared {
            return conn.handle_bytes(&wire[piece]);
        }
        let mut src = wire.slice(piece);
        let r = conn.handle_shared(&mut src);
        assert!(r.is_err() || src.is_empty());
        r
    })
}

/// Whole, every cut and one byte at a time against `handle_bytes`; returns
/// the whole-input trace.
fn client_all_feeds(name: &str, wire: &Bytes) -> ClientTrace {
    let feeds = cuts(wire)
        .into_iter()
        .map(Feed::Cut)
        .chain([Feed::Bytewise, Feed::Whole]);
    let mut last = None;
    for how in feeds {
        let got = run_client(wire, how, true);
        assert_eq!(got, run_client(wire, how, false), "{name}, {how:?}");
        last = Some(got);
    }
    last.unwrap()
}

#[test]
fn client_reply_captures_alike_at_every_split() {
    for (name, wire) in captures(false) {
        let t = client_all_feeds(&name, &wire);
        assert_valid_reply_trace(&name, &t);
    }
}

#[test]
fn client_corrupted_reply_captures_fail_alike_at_every_split() {
    let mut versions = 0;
    for (name, wire) in captures(false) {
        for k in picks(&wire) {
            let (bad, offset) = corrupt(&wire, k, None);
            let t = client_all_feeds(&format!("{name}, version of record {k}"), &bad);
            let err = t.steps.last().unwrap().0.unwrap_err();
            // (in one call a kept connection fails earlier)
            if !(name.contains("keep-conn")
                && matches!(err, ClientError::UnknownRequest { id: 1, .. }))
            {
                assert_eq!(
                    err,
                    ClientError::Decode(DecodeError::Version { version: 2, offset }),
                    "{name}, record {k}"
                );
                versions += 1;
            }
            // BEGIN_REQUEST from the application: a body-length error, or
            // Unexpected when its content is 8 bytes
            let (bad, _) = corrupt(&wire, k, Some(RecordType::BEGIN_REQUEST.0));
            let t = client_all_feeds(&format!("{name}, type of record {k}"), &bad);
            assert!(t.steps.last().unwrap().0.is_err(), "{name}, record {k}");
        }
    }
    assert!(versions >= 20, "{versions}");
}

#[test]
fn client_bad_header_of_a_cut_record_is_reported_at_once() {
    // A good record, then 8 bytes of a header with version 2: the error
    // comes with this call, not when the record would be complete.
    let mut src = Bytes::from_static(
        b"\x01\x06\x00\x01\x00\x01\x07\x00h\0\0\0\0\0\0\0\x02\x06\x00\x01\x00\x10\x00\x00ab",
    );
    let mut conn = Client::new();
    conn.begin(1, Role::RESPONDER, false).unwrap();
    assert_eq!(
        conn.handle_shared(&mut src),
        Err(ClientError::Decode(DecodeError::Version {
            version: 2,
            offset: 16
        }))
    );
    assert!(matches!(conn.poll_event(), Some(ClientEvent::Stdout { id: 1, data }) if data == "h"));
}

/// CGI head, 1 MiB of STDOUT in 8-aligned records, END_REQUEST.
fn one_mib_reply() -> (Bytes, Vec<u8>) {
    let mut wire = Vec::new();
    let head = b"Status: 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n";
    let mut body: Vec<u8> = head.to_vec();
    body.extend((0..1u32 << 20).map(|i| (i % 251) as u8));
    fastcgi_proto::StreamWriter::new(RecordType::STDOUT, 1)
        .with_align(8)
        .write(&mut wire, &body);
    let end = fastcgi_proto::EndRequest {
        app_status: 0,
        protocol_status: fastcgi_proto::ProtocolStatus::REQUEST_COMPLETE,
    };
    fastcgi_proto::encode_record(&mut wire, RecordType::END_REQUEST, 1, &end.to_bytes(), 8)
        .unwrap();
    (wire.into(), body)
}

#[test]
fn client_stdout_events_point_into_the_input() {
    let (wire, body) = one_mib_reply();
    let mut conn = Client::new();
    conn.begin(1, Role::RESPONDER, false).unwrap();
    let mut src = wire.clone();
    conn.handle_shared(&mut src).unwrap();
    assert!(src.is_empty());
    assert_eq!(conn.input_buffered(), 0);
    let input = wire.as_ptr_range();
    let mut stdout = Vec::new();
    let mut ended = false;
    while let Some(e) = conn.poll_event() {
        match e {
            ClientEvent::Stdout { data, .. } => {
                let r = data.as_ptr_range();
                assert!(
                    input.start <= r.start && r.end <= input.end,
                    "STDOUT {r:?} outside the input {input:?}"
                );
                stdout.extend_from_slice(&data);
            }
            ClientEvent::End { id: 1, .. } => ended = true,
            other => panic!("{other:?}"),
        }
    }
    assert!(ended);
    assert_eq!(stdout, body);
}

#[test]
fn client_one_mib_reply_in_reads_alike() {
    let (wire, _) = one_mib_reply();
    let mut wire = wire.to_vec();
    wire.extend_from_slice(&[1, 6, 0, 1, 0, 9]); // the start of one more record
    let wire = Bytes::from(wire);
    let got = run_client(&wire, Feed::Whole, true);
    assert_eq!(got, run_client(&wire, Feed::Whole, false));
    assert_eq!(got.input_buffered, Some(6));
    for read in [1000, 65536, 65537] {
        let mut a = Client::new();
        let mut b = Client::new();
        a.begin(1, Role::RESPONDER, false).unwrap();
        b.begin(1, Role::RESPONDER, false).unwrap();
        for at in (0..wire.len()).step_by(read) {
            let piece = at..(at + read).min(wire.len());
            let mut src = wire.slice(piece.clone());
            a.handle_shared(&mut src).unwrap();
            assert!(src.is_empty());
            b.handle_bytes(&wire[piece]).unwrap();
            assert_eq!(a.input_buffered(), b.input_buffered(), "reads of {read}");
            let ea: Vec<ClientEvent> = std::iter::from_fn(|| a.poll_event()).collect();
            let eb: Vec<ClientEvent> = std::iter::from_fn(|| b.poll_event()).collect();
            assert_eq!(ea, eb, "reads of {read} at {at}");
        }
        assert_eq!(a.input_buffered(), 6);
    }
}
