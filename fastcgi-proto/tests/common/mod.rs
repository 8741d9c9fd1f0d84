//! Committed captures and the cut points the split tests feed them at.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use fastcgi_proto::client::{ClientError, Connection as Client, Event as ClientEvent};
use fastcgi_proto::server::{Config, Connection as App, Event as AppEvent, ServerError};
use fastcgi_proto::{HEADER_LEN, Role};

/// `vectors/captures` of this crate.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/captures")
}

/// One capture's bytes.
pub fn capture(name: &str) -> Bytes {
    std::fs::read(dir().join(name)).unwrap().into()
}

/// `(name, bytes)` of the non-empty captures sent by web servers
/// (`requests`) or by applications, sorted by name.
pub fn captures(requests: bool) -> Vec<(String, Bytes)> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bin"))
        .filter(|n| {
            let from_web_server = n.ends_with(".request.bin")
                || ["nginx-", "apache-", "lighttpd-"]
                    .iter()
                    .any(|p| n.starts_with(p));
            from_web_server == requests
        })
        .collect();
    names.sort();
    let out: Vec<(String, Bytes)> = names
        .into_iter()
        .map(|n| {
            let b = capture(&n);
            (n, b)
        })
        .filter(|(_, b)| !b.is_empty())
        .collect();
    assert!(out.len() >= if requests { 20 } else { 9 }, "{}", out.len());
    out
}

/// Offsets of the record headers, read from the length fields.
pub fn record_starts(wire: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut pos = 0;
    while let Some(h) = wire.get(pos..pos + HEADER_LEN) {
        starts.push(pos);
        pos += HEADER_LEN + usize::from(u16::from_be_bytes([h[4], h[5]])) + usize::from(h[6]);
    }
    starts
}

/// Every cut of a stream up to 4 KiB; of a longer one, every `stride`-th
/// and the ten bytes either side of each record start.
pub fn cuts(wire: &[u8], stride: usize) -> Vec<usize> {
    if wire.len() <= 4096 {
        return (0..=wire.len()).collect();
    }
    let mut set: BTreeSet<usize> = (0..=wire.len()).step_by(stride).collect();
    set.insert(wire.len());
    for s in record_starts(wire) {
        set.extend((s.saturating_sub(10)..=s + 10).map(|c| c.min(wire.len())));
    }
    set.into_iter().collect()
}

/// What an application connection did with a fed stream.
#[derive(Debug, PartialEq)]
pub struct AppTrace {
    /// Per call: bytes taken or the error, and the events polled after it.
    pub steps: Vec<(Result<usize, ServerError>, Vec<AppEvent>)>,
    /// Everything it gave to send.
    pub output: Vec<u8>,
    /// What the connection holds, unless it failed (then it is closed).
    pub input_buffered: Option<usize>,
    /// Content queued in events not yet polled.
    pub buffered: usize,
    /// Whether it ended closed.
    pub closed: bool,
}

/// What a client connection did with a fed stream.
#[derive(Debug, PartialEq)]
pub struct ClientTrace {
    /// Per call: the result and the events polled after it.
    pub steps: Vec<(Result<(), ClientError>, Vec<ClientEvent>)>,
    /// What the connection holds, unless it failed (then it is closed).
    pub input_buffered: Option<usize>,
}

/// A valid request capture: no error in the end, except a kept
/// connection's next BEGIN_REQUEST when it came in the same call as the
/// first request (before the application could end it), and its params or
/// a management reply came through.
pub fn assert_valid_request_trace(name: &str, t: &AppTrace) {
    let want_err = name
        .starts_with("nginx-keep-conn")
        .then_some(ServerError::RequestActive { id: 1 });
    assert_eq!(t.steps.last().unwrap().0.err(), want_err, "{name}");
    assert!(
        t.steps
            .iter()
            .flat_map(|(_, e)| e)
            .any(|e| matches!(e, AppEvent::Params { .. } | AppEvent::Replied { .. })),
        "{name}"
    );
}

/// A valid reply capture: the first call succeeds and ends a request or
/// answers GET_VALUES.
pub fn assert_valid_reply_trace(name: &str, t: &ClientTrace) {
    let (r, events) = &t.steps[0];
    assert_eq!(*r, Ok(()), "{name}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ClientEvent::End { .. } | ClientEvent::Values(_))),
        "{name}: {events:?}"
    );
}

/// Feeds the `pieces` of a stream to an application connection the way an
/// IO loop does: `feed(conn, start, end)` offers `start..end` and returns
/// how much was taken; what is left of a piece is offered again after
/// polling events, until it is taken or nothing moves. With `respond`,
/// every request is answered and ended as soon as its STDIN ends.
pub fn run_app(
    config: Config,
    respond: bool,
    pieces: impl IntoIterator<Item = Range<usize>>,
    mut feed: impl FnMut(&mut App, usize, usize) -> Result<usize, ServerError>,
) -> AppTrace {
    let mut conn = App::new(config);
    let mut steps = Vec::new();
    let mut output = Vec::new();
    'pieces: for piece in pieces {
        let mut pos = piece.start;
        loop {
            let r = feed(&mut conn, pos, piece.end);
            let events: Vec<AppEvent> = std::iter::from_fn(|| conn.poll_event()).collect();
            if respond {
                for e in &events {
                    if let AppEvent::StdinEnd { id } = e {
                        conn.stdout(*id, b"Status: 200\r\n\r\nok").unwrap();
                        conn.end_request(*id, 0).unwrap();
                    }
                }
            }
            while let Some(out) = conn.poll_transmit() {
                output.extend_from_slice(&out);
            }
            let stuck = events.is_empty();
            steps.push((r, events));
            match r {
                Err(_) => break 'pieces,
                Ok(n) => {
                    pos += n;
                    if pos == piece.end || (n == 0 && stuck) {
                        break;
                    }
                }
            }
        }
    }
    // after an error the connection is closed: what it holds does not count
    let failed = matches!(steps.last(), Some((Err(_), _)));
    AppTrace {
        steps,
        output,
        input_buffered: (!failed).then(|| conn.input_buffered()),
        buffered: conn.buffered(),
        closed: conn.is_closed(),
    }
}

/// Starts every request id `wire` uses, feeds its `pieces` to a client
/// connection through `feed(conn, piece)`, and starts an id again once its
/// END_REQUEST is polled.
pub fn run_client(
    wire: &[u8],
    pieces: impl IntoIterator<Item = Range<usize>>,
    mut feed: impl FnMut(&mut Client, Range<usize>) -> Result<(), ClientError>,
) -> ClientTrace {
    let mut conn = Client::new();
    let ids: BTreeSet<u16> = record_starts(wire)
        .into_iter()
        .map(|s| u16::from_be_bytes([wire[s + 2], wire[s + 3]]))
        .filter(|&id| id != 0)
        .collect();
    for &id in &ids {
        conn.begin(id, Role::RESPONDER, true).unwrap();
    }
    let mut steps = Vec::new();
    for piece in pieces {
        let r = feed(&mut conn, piece);
        let events: Vec<ClientEvent> = std::iter::from_fn(|| conn.poll_event()).collect();
        for e in &events {
            if let ClientEvent::End { id, .. } = e {
                conn.begin(*id, Role::RESPONDER, true).unwrap();
            }
        }
        let failed = r.is_err();
        steps.push((r, events));
        if failed {
            break;
        }
    }
    // after an error the connection is closed: what it holds does not count
    let failed = matches!(steps.last(), Some((Err(_), _)));
    ClientTrace {
        steps,
        input_buffered: (!failed).then(|| conn.input_buffered()),
    }
}

/// `0..c1, c1..c2, …, cn..len`: the pieces of a stream of `len` bytes cut at
/// the ascending offsets `cuts`.
pub fn pieces_at(cuts: &[usize], len: usize) -> Vec<Range<usize>> {
    let mut start = 0;
    cuts.iter()
        .copied()
        .chain([len])
        .map(|end| {
            let piece = start..end;
            start = end;
            piece
        })
        .collect()
}
