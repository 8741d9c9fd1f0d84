//! `server::Connection::handle_buf` (zero-copy ingest) yields exactly the
//! events of `handle_bytes`, for every split of captured nginx request
//! streams, and keeps what it does not take in the caller's buffer.

use bytes::BytesMut;
use fastcgi_proto::DecodeError;
use fastcgi_proto::server::{Config, Connection, Event, ServerError};

fn capture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/vectors/captures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Events with STDIN merged into one, so differently cut streams compare equal.
fn normalized(events: Vec<Event>) -> (Vec<Event>, Vec<u8>) {
    let mut stdin = Vec::new();
    let mut rest = Vec::new();
    for e in events {
        match e {
            Event::Stdin { data, .. } => stdin.extend_from_slice(&data),
            other => rest.push(other),
        }
    }
    (rest, stdin)
}

fn drain(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn reference(wire: &[u8]) -> (Vec<Event>, Vec<u8>) {
    let mut conn = Connection::new(Config::default());
    let mut all = Vec::new();
    let mut pos = 0;
    while pos < wire.len() {
        pos += conn.handle_bytes(&wire[pos..]).unwrap();
        all.extend(drain(&mut conn));
    }
    normalized(all)
}

/// Feeds `wire` in the given pieces the way an IO loop does: each piece is
/// appended to what the connection left in the buffer.
fn via_handle_buf(pieces: &[&[u8]]) -> (Vec<Event>, Vec<u8>, usize) {
    let mut conn = Connection::new(Config::default());
    let mut buf = BytesMut::new();
    let mut all = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            conn.handle_buf(&mut buf).unwrap();
            let evs = drain(&mut conn);
            let progressed = buf.len() < before || !evs.is_empty();
            all.extend(evs);
            if !progressed {
                break;
            }
        }
    }
    let (evs, stdin) = normalized(all);
    (evs, stdin, buf.len())
}

#[test]
fn every_split_of_a_get_matches_handle_bytes() {
    let wire = capture("nginx-get-query.bin");
    let want = reference(&wire);
    assert!(
        matches!(want.0.last(), Some(Event::StdinEnd { id: 1 })),
        "{want:?}"
    );
    for cut in 0..=wire.len() {
        let (evs, stdin, left) = via_handle_buf(&[&wire[..cut], &wire[cut..]]);
        assert_eq!((evs, stdin), want, "cut at {cut}");
        assert_eq!(left, 0, "cut at {cut}");
    }
}

#[test]
fn post_1mib_in_64k_reads_matches_handle_bytes() {
    let wire = capture("nginx-post-1m.bin");
    let want = reference(&wire);
    assert_eq!(want.1.len(), 1 << 20);
    for read in [1000, 4096, 65536, 65537] {
        let pieces: Vec<&[u8]> = wire.chunks(read).collect();
        let (evs, stdin, left) = via_handle_buf(&pieces);
        assert_eq!((&evs, &stdin), (&want.0, &want.1), "reads of {read}");
        assert_eq!(left, 0, "reads of {read}");
    }
}

#[test]
fn back_pressure_leaves_records_in_the_buffer() {
    let wire = capture("nginx-post-1m.bin");
    let config = Config {
        max_buffered: 16 * 1024,
        ..Config::default()
    };
    let mut conn = Connection::new(config);
    let mut buf = BytesMut::from(&wire[..]);
    conn.handle_buf(&mut buf).unwrap();
    // Taken: up to the first STDIN record that reaches the limit, no further.
    assert!(conn.buffered() >= 16 * 1024, "{}", conn.buffered());
    assert!(!buf.is_empty());
    let taken = wire.len() - buf.len();
    conn.handle_buf(&mut buf).unwrap();
    assert_eq!(
        wire.len() - buf.len(),
        taken,
        "nothing more without polling"
    );
    let mut stdin = 0;
    loop {
        let evs = drain(&mut conn);
        if evs.is_empty() && buf.is_empty() {
            break;
        }
        for e in evs {
            if let Event::Stdin { data, .. } = e {
                stdin += data.len();
            }
        }
        conn.handle_buf(&mut buf).unwrap();
    }
    assert_eq!(stdin, 1 << 20);
}

#[test]
fn a_record_begun_by_handle_bytes_is_completed_first() {
    let wire = capture("nginx-get-query.bin");
    let want = reference(&wire);
    let mut conn = Connection::new(Config::default());
    // 3 bytes: an incomplete record header held by the connection itself
    assert_eq!(conn.handle_bytes(&wire[..3]).unwrap(), 3);
    let mut buf = BytesMut::from(&wire[3..]);
    conn.handle_buf(&mut buf).unwrap();
    assert!(buf.is_empty());
    assert_eq!(normalized(drain(&mut conn)), want);
}

#[test]
fn a_bad_version_is_an_error_with_its_offset() {
    let wire = capture("nginx-get-query.bin");
    let mut buf = BytesMut::from(&wire[..]);
    // corrupt the version byte of the second record (after the 16-byte BEGIN)
    buf[16] = 2;
    let mut conn = Connection::new(Config::default());
    let err = conn.handle_buf(&mut buf).unwrap_err();
    assert_eq!(
        err,
        ServerError::Decode(DecodeError::Version {
            version: 2,
            offset: 16
        })
    );
}
