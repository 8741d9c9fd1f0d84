//! `handle_bytes` on both connections copies the complete records of the
//! caller's slice out in one piece and keeps only a cut record itself. These
//! tests hold it to the record-by-record behaviour: for every committed
//! capture, cut at every point (a stride for the large ones), and for
//! corrupted copies of them, feeding the pieces whole yields exactly what
//! feeding the same bytes one at a time yields (each one-byte call goes
//! through the path that completes a held record, which copies only what the
//! record lacks): the same `Result`s (counts taken, errors with their
//! offsets), the same events polled after each call, the same output.
//! `client::Connection::handle_buf` is held to the same trace.
#![allow(missing_docs)]

mod common;

use std::collections::BTreeSet;

use bytes::BytesMut;
use common::{
    AppTrace, ClientTrace, assert_valid_reply_trace, assert_valid_request_trace, capture, captures,
    pieces_at, record_starts,
};
use fastcgi_proto::client::{ClientError, Connection as Client, Event as ClientEvent};
use fastcgi_proto::server::{Config, Connection as App, Event as AppEvent, ServerError};
use fastcgi_proto::{DecodeError, RecordType};

/// Every cut of a stream up to 4 KiB; of a longer one, every 997th and the
/// ten bytes either side of each record start.
fn cuts(wire: &[u8]) -> Vec<usize> {
    common::cuts(wire, 997)
}

/// Corrupted copies: a bad version, and a type the receiver must reject
/// (`bad_type`), in the first, a middle and the last record.
fn corrupted(wire: &[u8], bad_type: u8) -> Vec<(String, Vec<u8>)> {
    let starts = record_starts(wire);
    let mut picks = vec![0, starts.len() / 2, starts.len() - 1];
    picks.dedup();
    let mut out = Vec::new();
    for k in picks {
        let at = starts[k];
        let mut w = wire.to_vec();
        w[at] = 2;
        out.push((format!("version of record {k}"), w));
        let mut w = wire.to_vec();
        w[at + 1] = bad_type;
        out.push((format!("type {bad_type} in record {k}"), w));
    }
    out
}

// ---------------------------------------------------------------- server

/// How a range of the wire is handed to `handle_bytes` in one (emulated)
/// call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Feed {
    /// One call with the whole range.
    Whole,
    /// One call per byte, until one takes nothing.
    Bytewise,
    /// One call per record (the range cut at record boundaries), until one
    /// takes less than given.
    Recordwise,
}

/// Record boundaries: where each record starts, and the end of the wire.
fn bounds(wire: &[u8]) -> Vec<usize> {
    let mut b = record_starts(wire);
    b.push(wire.len());
    b
}

/// Pieces `[from, to)` of `range` for `feed`.
fn split(feed: Feed, wire: &[u8], from: usize, to: usize) -> Vec<(usize, usize)> {
    let stops: Vec<usize> = match feed {
        Feed::Whole => vec![to],
        Feed::Bytewise => (from + 1..=to).collect(),
        Feed::Recordwise => bounds(wire)
            .into_iter()
            .filter(|&b| b > from && b < to)
            .chain([to])
            .collect(),
    };
    let mut pos = from;
    stops
        .into_iter()
        .filter(|&b| b > from)
        .map(|b| {
            let piece = (pos, b);
            pos = b;
            piece
        })
        .collect()
}

fn app_feed(
    conn: &mut App,
    feed: Feed,
    wire: &[u8],
    from: usize,
    to: usize,
) -> Result<usize, ServerError> {
    if from == to {
        return conn.handle_bytes(&[]);
    }
    let mut taken = 0;
    for (a, b) in split(feed, wire, from, to) {
        let n = conn.handle_bytes(&wire[a..b])?;
        taken += n;
        if n < b - a {
            break;
        }
    }
    Ok(taken)
}

/// [`common::run_app`] on `wire` cut at `cuts`, fed as `feed` says.
fn run_app(config: Config, respond: bool, wire: &[u8], cuts: &[usize], feed: Feed) -> AppTrace {
    common::run_app(
        config,
        respond,
        pieces_at(cuts, wire.len()),
        |conn, start, end| app_feed(conn, feed, wire, start, end),
    )
}

fn configs() -> [(&'static str, Config); 4] {
    let with = |max_buffered| Config {
        max_buffered,
        ..Config::default()
    };
    [
        ("default", Config::default()),
        ("max_buffered 100", with(100)),
        ("max_buffered 1", with(1)),
        ("unlimited", with(usize::MAX)),
    ]
}

/// Cuts near record boundaries (where the paths differ) and a stride: the
/// cuts at which the one-byte-at-a-time reference also runs.
fn sampled_cuts(wire: &[u8]) -> BTreeSet<usize> {
    let mut set: BTreeSet<usize> = (0..=wire.len()).step_by(61).collect();
    set.insert(wire.len());
    for s in record_starts(wire) {
        for d in 0..=9 {
            set.insert(s.saturating_sub(d));
            set.insert((s + d).min(wire.len()));
        }
    }
    set
}

/// Every cut against the record-by-record reference, for each config (or
/// two of them), with and without answering; the sampled cuts also against one byte at a time.
/// Returns the trace of the whole wire in one call (default config).
fn app_matches_reference(name: &str, wire: &[u8], all_configs: bool) -> AppTrace {
    let sampled = sampled_cuts(wire);
    for (cname, config) in configs() {
        if !all_configs && !matches!(cname, "default" | "max_buffered 1") {
            continue;
        }
        for respond in [false, true] {
            for cut in cuts(wire) {
                let got = run_app(config, respond, wire, &[cut], Feed::Whole);
                let want = run_app(config, respond, wire, &[cut], Feed::Recordwise);
                assert_eq!(
                    got, want,
                    "{name}, {cname}, respond {respond}, cut at {cut}"
                );
                if sampled.contains(&cut) && (cname == "default") == respond {
                    let want = run_app(config, respond, wire, &[cut], Feed::Bytewise);
                    assert_eq!(
                        got, want,
                        "{name}, {cname}, respond {respond}, cut at {cut}, bytewise"
                    );
                }
            }
        }
    }
    run_app(Config::default(), false, wire, &[], Feed::Whole)
}

#[test]
fn app_every_split_of_every_request_capture_matches_the_references() {
    for (name, wire) in captures(true) {
        if wire.len() > 100_000 {
            continue; // the 1 MiB POST has its own test
        }
        let t = app_matches_reference(&name, &wire, true);
        assert_valid_request_trace(&name, &t);
    }
}

#[test]
fn app_corrupted_request_captures_fail_alike_at_every_split() {
    let mut errors = 0;
    for (name, wire) in captures(true) {
        if wire.len() > 4096 {
            continue;
        }
        // STDOUT from the web server: Unexpected while its request is active
        for (what, bad) in corrupted(&wire, RecordType::STDOUT.0) {
            let t = app_matches_reference(&format!("{name}, {what}"), &bad, false);
            if let Some((Err(e), _)) = t.steps.last() {
                errors += 1;
                if what.starts_with("version") {
                    let offset = record_starts(&wire)
                        [what.rsplit(' ').next().unwrap().parse::<usize>().unwrap()];
                    // (in one call a kept connection fails earlier)
                    let earlier =
                        name.contains("keep-conn") && *e == ServerError::RequestActive { id: 1 };
                    assert!(
                        earlier
                            || *e
                                == ServerError::Decode(DecodeError::Version { version: 2, offset }),
                        "{name}, {what}: {e:?}"
                    );
                }
            } else {
                assert!(what.starts_with("type"), "{name}, {what}: {t:?}");
            }
        }
    }
    assert!(errors > 60, "{errors}");
}

#[test]
fn app_post_1mib_matches_the_references() {
    let wire = capture("nginx-post-1m.bin");
    for (cname, config) in configs() {
        let want = run_app(config, false, &wire, &[], Feed::Recordwise);
        let stdin: usize = want
            .steps
            .iter()
            .flat_map(|(_, e)| e)
            .map(|e| match e {
                AppEvent::Stdin { data, .. } => data.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(stdin, 1 << 20, "{cname}");
        let got = run_app(config, false, &wire, &[], Feed::Whole);
        assert_eq!(got, want, "{cname}, one slice");
        if cname == "default" {
            let bytewise = run_app(config, false, &wire, &[], Feed::Bytewise);
            assert_eq!(got, bytewise, "{cname}, one slice, bytewise");
        }
        for read in [1000, 32 * 1024 + 8, 65536, 65537] {
            let cuts: Vec<usize> = (read..wire.len()).step_by(read).collect();
            let got = run_app(config, false, &wire, &cuts, Feed::Whole);
            let want = run_app(config, false, &wire, &cuts, Feed::Recordwise);
            assert_eq!(got, want, "{cname}, reads of {read}");
            if cname == "max_buffered 100" && read == 65537 {
                let bytewise = run_app(config, false, &wire, &cuts, Feed::Bytewise);
                assert_eq!(got, bytewise, "{cname}, reads of {read}, bytewise");
            }
        }
    }
}

#[test]
fn app_one_slice_stops_at_max_buffered() {
    // 1 MiB POST in one slice, default 256 KiB limit: the first call takes
    // the head and STDIN records until their content reaches the limit.
    let wire = capture("nginx-post-1m.bin");
    let mut conn = App::new(Config::default());
    let taken = conn.handle_bytes(&wire).unwrap();
    assert!(conn.buffered() >= 256 * 1024, "{}", conn.buffered());
    assert!(conn.buffered() < 256 * 1024 + 65536, "{}", conn.buffered());
    assert_eq!(conn.input_buffered(), 0);
    assert!(record_starts(&wire).contains(&taken), "{taken}");
    assert_eq!(conn.handle_bytes(&wire[taken..]).unwrap(), 0);
}

#[test]
fn app_many_small_records_in_one_slice() {
    // BEGIN, PARAMS end, then 10 000 records of an unknown type (ignored),
    // then the empty STDIN, then half a record: all taken, the half held.
    let mut wire = vec![1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    wire.extend_from_slice(&[1, 4, 0, 1, 0, 0, 0, 0]);
    for i in 0..10_000u32 {
        wire.extend_from_slice(&[1, 42, 0, 1, 0, 1, 7, 0, i as u8, 0, 0, 0, 0, 0, 0, 0]);
    }
    wire.extend_from_slice(&[1, 5, 0, 1, 0, 0, 0, 0, 1, 5, 0]);
    let config = Config {
        max_buffered: 64,
        ..Config::default()
    };
    let t = run_app(config, false, &wire, &[], Feed::Whole);
    assert_eq!(t.steps.len(), 1);
    assert_eq!(t.steps[0].0, Ok(wire.len()));
    assert_eq!(t.input_buffered, Some(3));
    assert_eq!(t.steps[0].1.last(), Some(&AppEvent::StdinEnd { id: 1 }));
    assert_eq!(t, run_app(config, false, &wire, &[], Feed::Bytewise));
}

// ---------------------------------------------------------------- client

/// One (emulated) call: `handle_bytes` as `feed` says, or, for `buf`, one
/// `handle_buf` with the range in a fresh `BytesMut`.
fn client_feed(
    conn: &mut Client,
    feed: Feed,
    buf: bool,
    wire: &[u8],
    from: usize,
    to: usize,
) -> Result<(), ClientError> {
    if buf {
        let mut b = BytesMut::from(&wire[from..to]);
        conn.handle_buf(&mut b)?;
        assert!(b.is_empty());
        return Ok(());
    }
    if from == to {
        return conn.handle_bytes(&[]);
    }
    split(feed, wire, from, to)
        .into_iter()
        .try_for_each(|(a, b)| conn.handle_bytes(&wire[a..b]))
}

/// [`common::run_client`] on `wire` cut at `cuts`, fed as `feed` says
/// (through `handle_buf` if `buf`).
fn run_client(wire: &[u8], cuts: &[usize], feed: Feed, buf: bool) -> ClientTrace {
    common::run_client(wire, pieces_at(cuts, wire.len()), |conn, piece| {
        client_feed(conn, feed, buf, wire, piece.start, piece.end)
    })
}

/// Every cut against the record-by-record reference and `handle_buf`; the
/// sampled cuts also against one byte at a time. Returns the trace of the
/// whole wire in one call.
fn client_matches_reference(name: &str, wire: &[u8]) -> ClientTrace {
    let sampled = sampled_cuts(wire);
    for cut in cuts(wire) {
        let got = run_client(wire, &[cut], Feed::Whole, false);
        let want = run_client(wire, &[cut], Feed::Recordwise, false);
        assert_eq!(got, want, "{name}, cut at {cut}");
        let via_buf = run_client(wire, &[cut], Feed::Whole, true);
        assert_eq!(via_buf.steps, got.steps, "{name}, handle_buf, cut at {cut}");
        if sampled.contains(&cut) {
            let want = run_client(wire, &[cut], Feed::Bytewise, false);
            assert_eq!(got, want, "{name}, cut at {cut}, bytewise");
        }
    }
    run_client(wire, &[], Feed::Whole, false)
}

#[test]
fn client_every_split_of_every_reply_capture_matches_the_references() {
    for (name, wire) in captures(false) {
        let t = client_matches_reference(&name, &wire);
        assert_valid_reply_trace(&name, &t);
    }
}

#[test]
fn client_corrupted_reply_captures_fail_alike_at_every_split() {
    let mut errors = 0;
    for (name, wire) in captures(false) {
        // BEGIN_REQUEST from the application: a body-length error, or
        // Unexpected when its content is 8 bytes
        for (what, bad) in corrupted(&wire, RecordType::BEGIN_REQUEST.0) {
            let t = client_matches_reference(&format!("{name}, {what}"), &bad);
            let Some((Err(e), _)) = t.steps.last() else {
                panic!("{name}, {what}: no error: {t:?}");
            };
            errors += 1;
            if what.starts_with("version") {
                let k: usize = what.rsplit(' ').next().unwrap().parse().unwrap();
                let offset = record_starts(&wire)[k];
                // (in one call a kept connection fails earlier)
                let earlier = name.contains("keep-conn")
                    && matches!(e, ClientError::UnknownRequest { id: 1, .. });
                assert!(
                    earlier
                        || *e == ClientError::Decode(DecodeError::Version { version: 2, offset }),
                    "{name}, {what}: {e:?}"
                );
            }
        }
    }
    assert!(errors >= 40, "{errors}");
}

#[test]
fn client_one_mib_reply_in_one_slice_and_in_reads() {
    // CGI head, 1 MiB of STDOUT in 8-aligned records, END_REQUEST, and the
    // start of one more record left over.
    let mut wire = Vec::new();
    let head = b"Status: 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n";
    fastcgi_proto::encode_record(&mut wire, RecordType::STDOUT, 1, head, 8).unwrap();
    let body: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    fastcgi_proto::StreamWriter::new(RecordType::STDOUT, 1)
        .with_align(8)
        .write(&mut wire, &body);
    let end = fastcgi_proto::EndRequest {
        app_status: 0,
        protocol_status: fastcgi_proto::ProtocolStatus::REQUEST_COMPLETE,
    };
    fastcgi_proto::encode_record(&mut wire, RecordType::END_REQUEST, 1, &end.to_bytes(), 8)
        .unwrap();
    wire.extend_from_slice(&[1, 6, 0, 1, 0, 9]);
    let want = run_client(&wire, &[], Feed::Bytewise, false);
    let got = run_client(&wire, &[], Feed::Whole, false);
    assert_eq!(got, want);
    assert_eq!(got.input_buffered, Some(6));
    let stdout: Vec<u8> = got.steps[0]
        .1
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Stdout { data, .. } => Some(data.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(stdout.len(), head.len() + body.len());
    assert_eq!(&stdout[head.len()..], &body[..]);
    for read in [1000, 65536, 65537] {
        let cuts: Vec<usize> = (read..wire.len()).step_by(read).collect();
        let got = run_client(&wire, &cuts, Feed::Whole, false);
        assert_eq!(
            got,
            run_client(&wire, &cuts, Feed::Recordwise, false),
            "reads of {read}"
        );
        assert_eq!(got.steps, run_client(&wire, &cuts, Feed::Whole, true).steps);
    }
}
