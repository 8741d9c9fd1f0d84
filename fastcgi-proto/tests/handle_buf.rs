//! `client::Connection::handle_buf` (zero-copy ingest) yields exactly the
//! events of `handle_bytes`, for every split of a captured PHP-FPM reply.

use bytes::BytesMut;
use fastcgi_proto::{Role, client};

fn events(conn: &mut client::Connection) -> Vec<client::Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

#[test]
fn handle_buf_matches_handle_bytes_at_every_split() {
    let wire = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/vectors/captures/php-fpm-get-echo.bin"
    ))
    .unwrap();
    let mut reference = client::Connection::new();
    reference.begin(1, Role::RESPONDER, false).unwrap();
    reference.handle_bytes(&wire).unwrap();
    let want = events(&mut reference);
    assert!(
        matches!(want.last(), Some(client::Event::End { id: 1, .. })),
        "{want:?}"
    );
    let stdout = |evs: &[client::Event]| -> Vec<u8> {
        evs.iter()
            .filter_map(|e| {
                if let client::Event::Stdout { data, .. } = e {
                    Some(data.to_vec())
                } else {
                    None
                }
            })
            .flatten()
            .collect()
    };
    for cut in 0..=wire.len() {
        let mut conn = client::Connection::new();
        conn.begin(1, Role::RESPONDER, false).unwrap();
        let mut got = Vec::new();
        for piece in [&wire[..cut], &wire[cut..]] {
            let mut buf = BytesMut::from(piece);
            conn.handle_buf(&mut buf).unwrap();
            assert!(buf.is_empty());
            got.extend(events(&mut conn));
        }
        assert_eq!(stdout(&got), stdout(&want), "cut at {cut}");
        assert_eq!(got.last(), want.last(), "cut at {cut}");
    }
}
