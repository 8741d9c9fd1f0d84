//! tokio-util codecs over in-memory streams.

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::{Decoder, Encoder, FramedRead, FramedWrite};
use uwsgi_proto::codec::{ClientCodec, CodecError, RequestPart, ResponsePart, ServerCodec};
use uwsgi_proto::*;

fn post(body: &[u8]) -> OwnedRequestHead {
    let mut b = VarsBuilder::new();
    b.var("REQUEST_METHOD", "POST")
        .var("SERVER_PROTOCOL", "HTTP/1.0")
        .var("CONTENT_LENGTH", body.len().to_string());
    OwnedRequestHead::from_packet(b.packet(Modifier1::WSGI, 0).unwrap()).unwrap()
}

#[tokio::test]
async fn client_to_server_with_a_1_mib_body_streams_in_chunks() {
    let body: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let head = post(&body);
    let (client, server) = tokio::io::duplex(64 * 1024);
    let writer = {
        let head = head.clone();
        let body = body.clone();
        tokio::spawn(async move {
            let mut w = FramedWrite::new(client, ClientCodec::new());
            w.send(RequestPart::Head(head)).await.unwrap();
            for c in body.chunks(10_000) {
                w.send(RequestPart::Body(Bytes::copy_from_slice(c)))
                    .await
                    .unwrap();
            }
            w.send(RequestPart::End).await.unwrap();
        })
    };
    let mut r = FramedRead::new(server, ServerCodec::new());
    assert_eq!(r.next().await.unwrap().unwrap(), RequestPart::Head(head));
    let mut got = Vec::new();
    let mut chunks = 0;
    loop {
        match r.next().await.unwrap().unwrap() {
            RequestPart::Body(b) => {
                assert!(b.len() <= 64 * 1024 + 8192);
                got.extend_from_slice(&b);
                chunks += 1;
            }
            RequestPart::End => break,
            other => panic!("{other:?}"),
        }
    }
    writer.await.unwrap();
    assert_eq!(got, body);
    assert!(chunks > 1);
    assert!(r.next().await.is_none());
}

#[test]
fn server_encodes_the_version_of_the_request() {
    let mut codec = ServerCodec::new();
    let mut src = BytesMut::new();
    let mut w = Vec::new();
    post(b"").encode(&mut w);
    src.extend_from_slice(&w);
    assert!(matches!(
        codec.decode(&mut src).unwrap(),
        Some(RequestPart::Head(_))
    ));
    assert_eq!(codec.decode(&mut src).unwrap(), Some(RequestPart::End));
    let mut out = BytesMut::new();
    codec
        .encode(ResponsePart::Head(ResponseHead::new(200, "OK")), &mut out)
        .unwrap();
    codec
        .encode(ResponsePart::Body(Bytes::from_static(b"hi")), &mut out)
        .unwrap();
    assert_eq!(&out[..], b"HTTP/1.0 200 OK\r\n\r\nhi");
    let bad = codec.encode(
        ResponsePart::Head(ResponseHead::new(200, "OK").header("X", "a\nb")),
        &mut out,
    );
    assert!(matches!(
        bad,
        Err(CodecError::Encode(EncodeError::InvalidHeaderValue))
    ));
}

#[test]
fn server_decode_eof_reports_truncation() {
    let mut codec = ServerCodec::new();
    let mut w = Vec::new();
    post(b"12345").encode(&mut w);
    w.extend_from_slice(b"12");
    let mut src = BytesMut::from(&w[..]);
    assert!(matches!(
        codec.decode(&mut src).unwrap(),
        Some(RequestPart::Head(_))
    ));
    assert_eq!(
        codec.decode(&mut src).unwrap(),
        Some(RequestPart::Body(Bytes::from_static(b"12")))
    );
    let err = codec.decode_eof(&mut src).unwrap_err();
    assert!(
        matches!(
            err,
            CodecError::Decode(DecodeError::Truncated {
                what: Field::Body,
                offset: _
            })
        ),
        "{err:?}"
    );
}

#[test]
fn server_answers_ping_with_a_packet() {
    let mut codec = ServerCodec::new();
    let mut src = BytesMut::from(&special::PING[..]);
    let Some(RequestPart::Packet(p)) = codec.decode(&mut src).unwrap() else {
        panic!()
    };
    assert!(special::is_ping(&p.as_packet()));
    let mut out = BytesMut::new();
    codec
        .encode(ResponsePart::Packet(special::pong(b"").unwrap()), &mut out)
        .unwrap();
    assert_eq!(&out[..], [0x64, 0, 0, 1]);
}

#[test]
fn client_decodes_response_and_eof_ends_the_body() {
    let mut codec = ClientCodec::new();
    let mut dst = BytesMut::new();
    codec
        .encode(RequestPart::Head(post(b"")), &mut dst)
        .unwrap();
    codec.encode(RequestPart::End, &mut dst).unwrap();
    let mut src = BytesMut::from(&b"HTTP/1.1 200 OK\r\nX: y\r\n\r\nabc"[..]);
    let Some(ResponsePart::Head(h)) = codec.decode(&mut src).unwrap() else {
        panic!()
    };
    assert_eq!(h.status, 200);
    assert_eq!(
        codec.decode(&mut src).unwrap(),
        Some(ResponsePart::Body(Bytes::from_static(b"abc")))
    );
    assert_eq!(codec.decode(&mut src).unwrap(), None);
    assert_eq!(codec.decode_eof(&mut src).unwrap(), Some(ResponsePart::End));
}

#[test]
fn client_ping_expects_a_packet_reply() {
    let mut codec = ClientCodec::new();
    let mut dst = BytesMut::new();
    codec
        .encode(
            RequestPart::Packet(OwnedPacket::new(Modifier1::PING, 0, Bytes::new()).unwrap()),
            &mut dst,
        )
        .unwrap();
    assert_eq!(&dst[..], special::PING);
    let mut src = BytesMut::from(&[0x64u8, 0, 0][..]);
    assert_eq!(codec.decode(&mut src).unwrap(), None);
    src.extend_from_slice(&[1]);
    let Some(ResponsePart::Packet(p)) = codec.decode(&mut src).unwrap() else {
        panic!()
    };
    assert_eq!(special::pong_message(&p.as_packet()), Some(&b""[..]));
}

#[test]
fn client_refuses_to_end_a_short_body() {
    let mut codec = ClientCodec::new();
    let mut dst = BytesMut::new();
    codec
        .encode(RequestPart::Head(post(b"abc")), &mut dst)
        .unwrap();
    codec
        .encode(RequestPart::Body(Bytes::from_static(b"ab")), &mut dst)
        .unwrap();
    assert!(matches!(
        codec.encode(RequestPart::End, &mut dst),
        Err(CodecError::Encode(EncodeError::OutOfOrder(_)))
    ));
    assert!(matches!(
        codec.encode(RequestPart::Body(Bytes::from_static(b"cd")), &mut dst),
        Err(CodecError::Encode(EncodeError::BodyOverrun { declared: 3 }))
    ));
}
