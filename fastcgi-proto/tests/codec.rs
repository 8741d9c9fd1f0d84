//! tokio-util codecs over in-memory streams.
#![cfg(feature = "codec")]
#![allow(missing_docs)]

use bytes::{Bytes, BytesMut};
use fastcgi_proto::codec::{
    AppCodec, AppOutput, ClientCodec, ClientInput, CodecError, RecordCodec,
};
use fastcgi_proto::server::{Config, Event};
use fastcgi_proto::*;
use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::{Decoder, Framed};

#[test]
fn record_codec_every_split_and_zero_copy() {
    let mut wire = Vec::new();
    StreamWriter::new(RecordType::STDOUT, 1).write(&mut wire, &[7u8; 100]);
    encode_record(&mut wire, RecordType::END_REQUEST, 1, &[0; 8], 8).unwrap();
    for cut in 0..=wire.len() {
        let mut c = RecordCodec::default();
        let mut buf = BytesMut::from(&wire[..cut]);
        let mut got = Vec::new();
        while let Some(r) = c.decode(&mut buf).unwrap() {
            got.push(r);
        }
        buf.extend_from_slice(&wire[cut..]);
        while let Some(r) = c.decode_eof(&mut buf).unwrap() {
            got.push(r);
        }
        assert_eq!(got.len(), 2, "cut {cut}");
        assert_eq!(&got[0].content[..], &[7u8; 100][..]);
    }
}

#[test]
fn record_codec_truncation_at_eof() {
    let wire = [1u8, 6, 0, 1, 0, 4, 4, 0, 1, 2, 3, 4, 0];
    let mut c = RecordCodec::default();
    let mut buf = BytesMut::from(&wire[..]);
    match c.decode_eof(&mut buf) {
        Err(CodecError::Decode(DecodeError::Truncated {
            have: 13,
            need: 16,
            offset: 0,
        })) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn one_mib_stdin_and_stdout_over_duplex() {
    let body: Bytes = (0..1u32 << 20)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<_>>()
        .into();
    let (a, b) = tokio::io::duplex(16 * 1024);
    let mut web = Framed::new(a, ClientCodec::default());
    let mut app = Framed::new(
        b,
        AppCodec::new(Config {
            max_buffered: 64 * 1024,
            ..Config::default()
        }),
    );
    let body2 = body.clone();
    let writer = tokio::spawn(async move {
        web.send(ClientInput::Begin {
            id: 1,
            role: Role::RESPONDER,
            keep_conn: false,
        })
        .await
        .unwrap();
        web.send(ClientInput::Params {
            id: 1,
            pairs: vec![("CONTENT_LENGTH".into(), "1048576".into())],
        })
        .await
        .unwrap();
        web.send(ClientInput::Stdin { id: 1, data: body2 })
            .await
            .unwrap();
        web.send(ClientInput::StdinEnd { id: 1 }).await.unwrap();
        let mut out = Vec::new();
        while let Some(ev) = web.next().await {
            match ev.unwrap() {
                client::Event::Stdout { data, .. } => out.extend_from_slice(&data),
                client::Event::End { end, .. } => {
                    assert_eq!(end.app_status, 0);
                    break;
                }
                _ => {}
            }
        }
        out
    });
    let mut got = Vec::new();
    while let Some(ev) = app.next().await {
        match ev.unwrap() {
            Event::Stdin { data, .. } => got.extend_from_slice(&data),
            Event::StdinEnd { id } => {
                app.send(AppOutput::Stdout(id, got.clone().into()))
                    .await
                    .unwrap();
                app.send(AppOutput::End(id, 0)).await.unwrap();
                break;
            }
            _ => {}
        }
    }
    assert_eq!(got, body);
    assert!(app.codec().connection().is_closed());
    assert_eq!(writer.await.unwrap(), body);
}

/// Regression: after the application ended a request without KEEP_CONN, a peer
/// that kept sending made the read buffer grow by everything it sent (the
/// decoder returned `None` without consuming, so `FramedRead` kept reading).
#[test]
fn app_codec_discards_input_after_close() {
    let mut wire = Vec::new();
    encode_record(
        &mut wire,
        RecordType::BEGIN_REQUEST,
        1,
        &BeginRequest::new(Role::RESPONDER, false).to_bytes(),
        0,
    )
    .unwrap();
    encode_record(&mut wire, RecordType::PARAMS, 1, &[], 0).unwrap();
    encode_record(&mut wire, RecordType::STDIN, 1, &[], 0).unwrap();
    let mut c = AppCodec::new(Config::default());
    let mut buf = BytesMut::from(&wire[..]);
    let mut out = BytesMut::new();
    while let Some(ev) = c.decode(&mut buf).unwrap() {
        if let Event::StdinEnd { id } = ev {
            tokio_util::codec::Encoder::encode(&mut c, AppOutput::End(id, 0), &mut out).unwrap();
        }
    }
    assert!(c.connection().is_closed());
    let mut junk = Vec::new();
    encode_record(&mut junk, RecordType::STDIN, 1, &[b'x'; 1000], 0).unwrap();
    for _ in 0..100 {
        buf.extend_from_slice(&junk);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert_eq!(buf.len(), 0);
    }
    assert_eq!(c.decode_eof(&mut buf).unwrap(), None);
    assert_eq!(
        &out[out.len() - 16..],
        b"\x01\x03\x00\x01\x00\x08\x00\x00\0\0\0\0\0\0\0\0"
    );
}

/// Regression: a GET_VALUES on an idle connection produced no event, so an
/// application reading events never wrote and the query waited forever. The
/// codec now yields `Event::Replied`; answering it with `Flush` sends the
/// GET_VALUES_RESULT.
#[tokio::test]
async fn get_values_on_an_idle_connection_is_answered() {
    let (a, b) = tokio::io::duplex(4096);
    let mut web = Framed::new(a, ClientCodec::default());
    let mut app = Framed::new(b, AppCodec::new(Config::default()));
    let server = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(ev) = app.next().await {
            let ev = ev.unwrap();
            if matches!(ev, Event::Replied { .. }) {
                app.send(AppOutput::Flush).await.unwrap();
            }
            seen.push(ev);
        }
        seen
    });
    web.send(ClientInput::GetValues).await.unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(10), web.next())
        .await
        .expect("GET_VALUES_RESULT arrives without any other traffic")
        .unwrap()
        .unwrap();
    let client::Event::Values(v) = got else {
        panic!("{got:?}");
    };
    let v: Vec<_> = v.iter().collect();
    assert_eq!(
        v,
        [
            (&b"FCGI_MAX_CONNS"[..], &b"1"[..]),
            (&b"FCGI_MAX_REQS"[..], &b"1"[..]),
            (&b"FCGI_MPXS_CONNS"[..], &b"0"[..])
        ]
    );
    drop(web);
    assert_eq!(
        server.await.unwrap(),
        [Event::Replied {
            id: 0,
            record_type: RecordType::GET_VALUES_RESULT
        }]
    );
}
