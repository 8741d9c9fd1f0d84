//! The edge-case checklist of the uwsgi digest, each with its exact outcome.

mod common;
use common::{WORKED, block, packet};
use uwsgi_proto::fuzzing;
use uwsgi_proto::fuzzing::{Event, request_events};
use uwsgi_proto::special::{self, GenericResponse, Subscription, SubscriptionAction};
use uwsgi_proto::*;

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn strict(b: &[u8]) -> Result<Pairs, DecodeError> {
    Vars::parse(b, &Limits::default(), Mode::Strict)
        .map(|v| v.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect())
}
fn compat(b: &[u8]) -> Result<Pairs, DecodeError> {
    Vars::parse(b, &Limits::default(), Mode::Compat)
        .map(|v| v.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect())
}
fn kv(k: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
    (k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

#[test]
fn worked_example_decodes_exactly() {
    let mut dec = RequestDecoder::new();
    let Status::Complete((RequestFrame::Head(h), used)) = dec.decode(WORKED).unwrap() else {
        panic!()
    };
    assert_eq!(used, 87);
    assert_eq!(h.header, PacketHeader::new(Modifier1::WSGI, 0x53, 0));
    assert_eq!(
        h.vars.iter().collect::<Vec<_>>(),
        [
            (&b"REQUEST_METHOD"[..], &b"POST"[..]),
            (b"PATH_INFO", b"/p"),
            (b"CONTENT_LENGTH", b"5"),
            (b"SERVER_PROTOCOL", b"HTTP/1.1")
        ]
    );
    assert_eq!(h.content_length, 5);
    assert_eq!(
        request_events(WORKED, &[], RequestDecoder::new()),
        [
            Event::Head(WORKED[..87].to_vec(), 5),
            Event::Body(b"hello".to_vec()),
            Event::End
        ]
    );
}

#[test]
fn worked_example_encodes_exactly() {
    let mut out = Vec::new();
    let n = encode_packet(
        Modifier1::WSGI,
        0,
        [
            ("REQUEST_METHOD", "POST"),
            ("PATH_INFO", "/p"),
            ("CONTENT_LENGTH", "5"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
        ],
        &mut out,
    )
    .unwrap();
    assert_eq!(n, 87);
    assert_eq!(out, WORKED[..87]);
}

// 2. EOF inside the header, the vars, the body.
#[test]
fn eof_inside_header_vars_and_body_is_truncated() {
    let e = |n: usize| request_events(&WORKED[..n], &[], RequestDecoder::new());
    assert_eq!(e(0), []);
    assert_eq!(
        e(2),
        [Event::Error(DecodeError::Truncated {
            what: Field::Header,
            offset: 2
        })]
    );
    assert_eq!(
        e(40),
        [Event::Error(DecodeError::Truncated {
            what: Field::Vars,
            offset: 40
        })]
    );
    assert_eq!(
        e(89),
        [
            Event::Head(WORKED[..87].to_vec(), 5),
            Event::Body(b"he".to_vec()),
            Event::Error(DecodeError::Truncated {
                what: Field::Body,
                offset: 89
            })
        ]
    );
}

// 3. datasize 0, 1, 2, 3, 65535.
#[test]
fn small_and_maximal_datasizes() {
    assert_eq!(
        request_events(&[0, 0, 0, 0], &[], RequestDecoder::new()),
        [Event::Head(vec![0, 0, 0, 0], 0), Event::End]
    );
    for (size, len) in [(1u16, 1usize), (2, 2)] {
        let mut p = vec![0, size as u8, 0, 0];
        p.extend(std::iter::repeat_n(7u8, len));
        assert_eq!(
            request_events(&p, &[], RequestDecoder::new()),
            [Event::Error(DecodeError::TrailingBytes { offset: 4, len })]
        );
    }
    // 3 bytes: a key length and a 1-byte key with no room for a value length.
    assert_eq!(
        request_events(&[0, 3, 0, 0, 1, 0, b'K'], &[], RequestDecoder::new()),
        [Event::Error(DecodeError::LengthOverrun {
            what: Field::Value,
            offset: 7
        })]
    );
    // 65535: one var of exactly the maximal size.
    let b = block(&[(b"K", &vec![b'v'; 65_535 - 5])]);
    assert_eq!(b.len(), 65_535);
    let p = packet(&b, b"");
    assert_eq!(&p[..4], [0, 0xff, 0xff, 0]);
    assert_eq!(
        request_events(&p, &[], RequestDecoder::new()),
        [Event::Head(p.clone(), 0), Event::End]
    );
}

// 4. datasize over the limit: an error before the block is buffered.
#[test]
fn datasize_over_limit_is_rejected_from_the_header_alone() {
    let mut dec = RequestDecoder::with_limits(Limits::default().max_vars_len(4096));
    assert_eq!(
        dec.decode(&[0, 0x01, 0x10, 0]),
        Err(DecodeError::TooLarge {
            what: Field::Vars,
            size: 4097,
            max: 4096
        })
    );
    // Terminal afterwards.
    assert!(dec.decode(&[0, 0, 0, 0]).is_err());
}

// 5. Body bytes in the same read; a pipelined second packet.
#[test]
fn pipelined_packet_is_rejected_by_default_and_decoded_when_enabled() {
    let mut two = WORKED.to_vec();
    two.extend_from_slice(WORKED);
    assert_eq!(
        request_events(&two, &[], RequestDecoder::new()),
        [
            Event::Head(WORKED[..87].to_vec(), 5),
            Event::Body(b"hello".to_vec()),
            Event::End,
            Event::Error(DecodeError::UnexpectedData {
                what: Field::Body,
                offset: 92
            })
        ]
    );
    let head = Event::Head(WORKED[..87].to_vec(), 5);
    let body = Event::Body(b"hello".to_vec());
    assert_eq!(
        request_events(&two, &[], RequestDecoder::new().pipelining(true)),
        [
            head.clone(),
            body.clone(),
            Event::End,
            head,
            body,
            Event::End
        ]
    );
}

// 6. Every modifier1 and modifier2 round-trips through the header.
#[test]
fn every_modifier_round_trips() {
    for m1 in 0..=255u8 {
        for m2 in [0u8, 1, 17, 128, 255] {
            let h = PacketHeader::new(Modifier1(m1), 0x1234, m2);
            assert_eq!(PacketHeader::from_bytes(h.to_bytes()), h);
            assert_eq!(h.to_bytes(), [m1, 0x34, 0x12, m2]);
        }
    }
    assert_eq!(format!("{:?}", Modifier1(42)), "Modifier1(0x2a)");
    assert_eq!(
        format!("{:?}", Modifier1::SUBSCRIPTION),
        "subscription(224)"
    );
}

// 7. HTTP on a uwsgi port.
#[test]
fn http_on_a_uwsgi_port_is_named() {
    for (req, prefix) in [
        (&b"GET / HTTP/1.1\r\n"[..], *b"GET "),
        (b"POST /x HTTP/1.1\r\n", *b"POST"),
        (b"PRI * HTTP/2.0\r\n", *b"PRI "),
    ] {
        assert_eq!(
            RequestDecoder::new().decode(req),
            Err(DecodeError::LooksLikeHttp { prefix })
        );
    }
    // "GET " read as a header is modifier1 71 with datasize 21573.
    assert_eq!(PacketHeader::from_bytes(*b"GET ").datasize, 21573);
}

// 8. modifier1 72 on a response stream.
#[test]
fn raw_http_response_reads_as_modifier1_72() {
    let h = PacketHeader::from_bytes(*b"HTTP");
    assert_eq!(
        (h.modifier1, h.datasize, h.modifier2),
        (Modifier1::RAW_HTTP, 0x5454, b'P')
    );
}

// 9-12. Malformed vars blocks.
#[test]
fn malformed_vars_table() {
    let ok = block(&[(b"A", b"1")]);
    let cases: Vec<(&str, Vec<u8>, DecodeError)> = vec![
        (
            "empty key first",
            block(&[(b"", b"x")]),
            DecodeError::EmptyKey { offset: 4 },
        ),
        (
            "empty key after a var",
            [ok.clone(), block(&[(b"", b"")])].concat(),
            DecodeError::EmptyKey { offset: 10 },
        ),
        (
            "one trailing byte",
            [ok.clone(), vec![1]].concat(),
            DecodeError::TrailingBytes { offset: 10, len: 1 },
        ),
        (
            "two trailing bytes",
            [ok.clone(), vec![1, 0]].concat(),
            DecodeError::TrailingBytes { offset: 10, len: 2 },
        ),
        (
            "key past the end",
            vec![9, 0, b'A', b'B', 0],
            DecodeError::LengthOverrun {
                what: Field::Key,
                offset: 4,
            },
        ),
        (
            "key reaching the end",
            vec![3, 0, b'A', b'B', b'C'],
            DecodeError::LengthOverrun {
                what: Field::Value,
                offset: 9,
            },
        ),
        (
            "value one byte short",
            vec![1, 0, b'A', 2, 0, b'x'],
            DecodeError::LengthOverrun {
                what: Field::Value,
                offset: 7,
            },
        ),
        (
            "Q1 overrun tail",
            hex_literal::hex!("ffff01004b0000").to_vec(),
            DecodeError::LengthOverrun {
                what: Field::Key,
                offset: 4,
            },
        ),
    ];
    for (name, b, err) in cases {
        assert_eq!(strict(&b), Err(err), "{name}");
        let mut lazy = VarsReader::new(&b, Mode::Strict);
        let first_err = lazy.by_ref().find_map(Result::err);
        assert_eq!(first_err, Some(err), "{name} (lazy)");
        assert_eq!(lazy.next(), None, "{name}: fused after the error");
    }
}

#[test]
fn compat_mode_accepts_the_q1_tail_like_uwsgi() {
    let b = hex_literal::hex!("ffff01004b0000");
    assert_eq!(compat(&b), Ok(vec![kv("K", "")]));
    // What uWSGI also rejects stays rejected.
    assert_eq!(
        compat(&block(&[(b"", b"x")])),
        Err(DecodeError::EmptyKey { offset: 4 })
    );
    assert_eq!(
        compat(&[1, 0, b'A', 2, 0, b'x']),
        Err(DecodeError::LengthOverrun {
            what: Field::Value,
            offset: 7
        })
    );
    assert_eq!(
        compat(&[1]),
        Err(DecodeError::TrailingBytes { offset: 4, len: 1 })
    );
}

// 10. Empty values in the middle and last.
#[test]
fn empty_values_in_the_middle_and_last() {
    let b = block(&[(b"A", b""), (b"B", b"2"), (b"C", b"")]);
    assert_eq!(strict(&b), Ok(vec![kv("A", ""), kv("B", "2"), kv("C", "")]));
}

// 13. Duplicates and policies.
#[test]
fn duplicate_keys_keep_order_and_follow_the_policy() {
    let b = block(&[
        (b"REMOTE_ADDR", b"1.1.1.1"),
        (b"X", b"x"),
        (b"REMOTE_ADDR", b"2.2.2.2"),
    ]);
    let v = Vars::parse(&b, &Limits::default(), Mode::Strict).unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(v.get(b"REMOTE_ADDR"), Some(&b"2.2.2.2"[..]));
    assert_eq!(
        v.get_with(b"REMOTE_ADDR", Duplicates::First),
        Ok(Some(&b"1.1.1.1"[..]))
    );
    assert_eq!(
        v.get_with(b"REMOTE_ADDR", Duplicates::Last),
        Ok(Some(&b"2.2.2.2"[..]))
    );
    assert_eq!(
        v.get_with(b"REMOTE_ADDR", Duplicates::Reject),
        Err(DuplicateKey)
    );
    assert_eq!(v.get_with(b"X", Duplicates::Reject), Ok(Some(&b"x"[..])));
    assert_eq!(
        v.get_all(b"REMOTE_ADDR").collect::<Vec<_>>(),
        [&b"1.1.1.1"[..], b"2.2.2.2"]
    );
    assert_eq!(v.get(b"MISSING"), None);
}

#[test]
fn conflicting_content_lengths_are_smuggling_and_rejected() {
    let b = block(&[(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"50")]);
    let v = Vars::parse(&b, &Limits::default(), Mode::Strict).unwrap();
    assert_eq!(
        body_length(&v, &Limits::default(), Mode::Strict),
        Err(DecodeError::ConflictingContentLength { offset: 41 })
    );
    // Equal duplicates are harmless; compat takes the last like uWSGI.
    let same = block(&[(b"CONTENT_LENGTH", b"5"), (b"CONTENT_LENGTH", b"5")]);
    let v2 = Vars::parse(&same, &Limits::default(), Mode::Strict).unwrap();
    assert_eq!(body_length(&v2, &Limits::default(), Mode::Strict), Ok(5));
    assert_eq!(body_length(&v, &Limits::default(), Mode::Compat), Ok(50));
}

// 14. Var count limits.
#[test]
fn var_count_limit_counts_exactly() {
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..129)
        .map(|i| (format!("K{i}").into_bytes(), b"v".to_vec()))
        .collect();
    let refs: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    let l = Limits::default().max_vars(128);
    assert!(Vars::parse(&block(&refs[..128]), &l, Mode::Strict).is_ok());
    let b = block(&refs);
    let off = block(&refs[..128]).len() + 4;
    assert_eq!(
        Vars::parse(&b, &l, Mode::Strict),
        Err(DecodeError::TooManyVars {
            offset: off,
            max: 128
        })
    );
    let many: Vec<(Vec<u8>, Vec<u8>)> = (0..1000)
        .map(|i| (format!("{i}").into_bytes(), Vec::new()))
        .collect();
    let mut bld = VarsBuilder::new();
    bld.vars(many.iter().map(|(k, v)| (k, v)));
    let owned = bld.finish().unwrap();
    assert_eq!(
        Vars::parse(
            owned.bytes(),
            &Limits::default().max_vars(1000),
            Mode::Strict
        )
        .unwrap()
        .len(),
        1000
    );
}

// 15-16. Bytes stay bytes; odd keys.
#[test]
fn keys_and_values_are_bytes() {
    let v = [0u8, b'\r', b'\n', 0x80, 0xff, 0xc3];
    let long_key = vec![b'k'; 300];
    let b = block(&[(b"http_host", &v), (b"X-Dash", b"1"), (&long_key, b"")]);
    let got = strict(&b).unwrap();
    assert_eq!(
        got,
        vec![
            (b"http_host".to_vec(), v.to_vec()),
            kv("X-Dash", "1"),
            (long_key, vec![])
        ]
    );
    // A 65535-byte key fits its field but no block holds it with a value
    // length: the encoder says so.
    assert_eq!(
        vars_encoded_len([(vec![b'k'; 65_535], b"")]),
        Err(EncodeError::TooLarge {
            what: Field::Vars,
            size: 65_539,
            max: 65_535
        })
    );
}

// 17, 28. Encoder size checks: never truncate, bytes not chars.
#[test]
fn encoder_rejects_every_oversize_and_writes_nothing() {
    let mut out = Vec::new();
    let big = vec![b'v'; 65_536];
    assert_eq!(
        encode_packet(Modifier1::WSGI, 0, [(&b"K"[..], &big[..])], &mut out),
        Err(EncodeError::TooLarge {
            what: Field::Value,
            size: 65_536,
            max: 65_535
        })
    );
    assert_eq!(
        encode_packet(Modifier1::WSGI, 0, [(&big[..], &b""[..])], &mut out),
        Err(EncodeError::TooLarge {
            what: Field::Key,
            size: 65_536,
            max: 65_535
        })
    );
    let fits = vec![b'v'; 65_535 - 5];
    assert_eq!(
        encode_packet(
            Modifier1::WSGI,
            0,
            [(&b"K"[..], &fits[..]), (b"L", b"")],
            &mut out
        ),
        Err(EncodeError::TooLarge {
            what: Field::Vars,
            size: 65_540,
            max: 65_535
        })
    );
    assert_eq!(
        encode_packet(Modifier1::WSGI, 0, [("", "v")], &mut out),
        Err(EncodeError::EmptyKey)
    );
    assert!(out.is_empty());
    // Non-ASCII: lengths are bytes.
    encode_packet(Modifier1::WSGI, 0, [("K", "café")], &mut out).unwrap();
    assert_eq!(out, b"\x00\x0a\x00\x00\x01\x00K\x05\x00caf\xc3\xa9");
    let mut b = VarsBuilder::new();
    b.var("K", &fits).var("L", "").var("M", "");
    assert_eq!(
        b.finish(),
        Err(EncodeError::TooLarge {
            what: Field::Vars,
            size: 65_540,
            max: 65_535
        })
    );
}

// 19. CONTENT_LENGTH values.
#[test]
fn content_length_table() {
    let table: &[(&[u8], Option<u64>, Option<u64>)] = &[
        (b"", Some(0), Some(0)),
        (b"0", Some(0), Some(0)),
        (b"5", Some(5), Some(5)),
        (b"05", Some(5), Some(5)),
        (b"+5", None, Some(0)),
        (b"-1", None, Some(0)),
        (b"12abc", None, Some(12)),
        (b" 5", None, Some(0)),
        (b"5 ", None, Some(5)),
        (b"1e3", None, Some(1)),
        (b"18446744073709551615", Some(u64::MAX), Some(u64::MAX)),
        (b"18446744073709551616", None, None),
        (b"99999999999999999999999", None, None),
    ];
    for (v, s, c) in table {
        assert_eq!(
            parse_content_length(v, Mode::Strict),
            *s,
            "strict {:?}",
            String::from_utf8_lossy(v)
        );
        assert_eq!(
            parse_content_length(v, Mode::Compat),
            *c,
            "compat {:?}",
            String::from_utf8_lossy(v)
        );
    }
    // In a request: the error names the value's offset.
    let p = packet(&block(&[(b"CONTENT_LENGTH", b"+5")]), b"");
    assert_eq!(
        RequestDecoder::new().decode(&p),
        Err(DecodeError::InvalidContentLength { offset: 22 })
    );
    // No CONTENT_LENGTH: the body is empty and trailing bytes are unexpected.
    let p = packet(&block(&[(b"A", b"1")]), b"x");
    assert_eq!(
        request_events(&p, &[], RequestDecoder::new()),
        [
            Event::Head(p[..10].to_vec(), 0),
            Event::End,
            Event::Error(DecodeError::UnexpectedData {
                what: Field::Body,
                offset: 10
            })
        ]
    );
}

// 20. Body limits, no pre-allocation.
#[test]
fn body_over_the_limit_is_rejected_at_the_head() {
    let p = packet(&block(&[(b"CONTENT_LENGTH", b"1000000000000")]), b"");
    let mut dec = RequestDecoder::with_limits(Limits::default().max_body_len(Some(1 << 20)));
    assert_eq!(
        dec.decode(&p),
        Err(DecodeError::TooLarge {
            what: Field::Body,
            size: 1_000_000_000_000,
            max: 1 << 20
        })
    );
    // Without a limit, a huge declared body is streamed: nothing is reserved.
    let mut dec = RequestDecoder::new();
    assert!(matches!(
        dec.decode(&p),
        Ok(Status::Complete((RequestFrame::Head(_), _)))
    ));
    assert_eq!(dec.body_remaining(), 1_000_000_000_000);
}

// 21. nginx sends TE chunked with a CONTENT_LENGTH: the length wins.
#[test]
fn transfer_encoding_var_does_not_change_framing() {
    let p = packet(
        &block(&[
            (b"HTTP_TRANSFER_ENCODING", b"chunked"),
            (b"CONTENT_LENGTH", b"2"),
        ]),
        b"ok",
    );
    let ev = request_events(&p, &[], RequestDecoder::new());
    assert_eq!(ev[1..], [Event::Body(b"ok".to_vec()), Event::End]);
}

// 23. Status line version from SERVER_PROTOCOL; no injection.
#[test]
fn status_line_version_never_echoes_the_var() {
    assert_eq!(
        HttpVersion::from_server_protocol(Some(b"HTTP/1.0")),
        HttpVersion::Http10
    );
    assert_eq!(
        HttpVersion::from_server_protocol(Some(b"HTTP/1.1")),
        HttpVersion::Http11
    );
    assert_eq!(HttpVersion::from_server_protocol(None), HttpVersion::Http10);
    assert_eq!(
        HttpVersion::from_server_protocol(Some(b"HTTP/1.1\r\nX: y")),
        HttpVersion::Http11
    );
}

// 24. Response encoder hygiene.
#[test]
fn response_head_encoder_rejects_splitting_and_chunked() {
    let mut out = Vec::new();
    let cases = [
        (
            ResponseHead::new(200, "OK").header("X", "a\r\nSet-Cookie: x"),
            EncodeError::InvalidHeaderValue,
        ),
        (
            ResponseHead::new(200, "OK").header("X", "a\0b"),
            EncodeError::InvalidHeaderValue,
        ),
        (
            ResponseHead::new(200, "OK\n"),
            EncodeError::InvalidHeaderValue,
        ),
        (
            ResponseHead::new(200, "OK").header("Bad Name", "v"),
            EncodeError::InvalidHeaderName,
        ),
        (
            ResponseHead::new(200, "OK").header("", "v"),
            EncodeError::InvalidHeaderName,
        ),
        (
            ResponseHead::new(200, "OK").header("Transfer-Encoding", "chunked"),
            EncodeError::TransferEncoding,
        ),
        (ResponseHead::new(99, "x"), EncodeError::InvalidStatus(99)),
        (
            ResponseHead::new(1000, "x"),
            EncodeError::InvalidStatus(1000),
        ),
    ];
    for (head, err) in cases {
        assert_eq!(head.encode(HttpVersion::Http11, &mut out), Err(err));
    }
    assert!(out.is_empty());
    let head = ResponseHead::new(200, "OK").header("Content-Length", "2");
    assert_eq!(head.encode_cgi(&mut out), Ok(head.encoded_len()));
    assert_eq!(out, b"Status: 200 OK\r\nContent-Length: 2\r\n\r\n");
}

fn response(wire: &[u8]) -> Vec<fuzzing::ResponseEvent> {
    fuzzing::response_events(wire, &[], ResponseDecoder::new())
}

// 25-26. Response decoder.
#[test]
fn response_decoder_table() {
    use fuzzing::ResponseEvent as R;
    let head = |status: u16, reason: &str, headers: &[(&str, &str)]| {
        R::Head(ResponseHead {
            status,
            reason: reason.as_bytes().to_vec(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
        })
    };
    assert_eq!(
        response(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"),
        [
            head(200, "OK", &[("A", "b")]),
            R::Body(b"body".to_vec()),
            R::End
        ]
    );
    assert_eq!(
        response(b"HTTP/1.0 204\r\n\r\n"),
        [head(204, "", &[]), R::End]
    );
    assert_eq!(
        response(b"Status: 404 Not Found\r\nX: 1\r\n\r\nnf"),
        [
            head(404, "Not Found", &[("X", "1")]),
            R::Body(b"nf".to_vec()),
            R::End
        ]
    );
    assert_eq!(
        response(b"Location: /x\r\n\r\n"),
        [head(302, "Found", &[("Location", "/x")]), R::End]
    );
    assert_eq!(
        response(b"Content-Type: text/plain\r\n\r\nhi"),
        [
            head(200, "OK", &[("Content-Type", "text/plain")]),
            R::Body(b"hi".to_vec()),
            R::End
        ]
    );
    assert_eq!(
        response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"),
        [
            head(200, "OK", &[("Content-Length", "2")]),
            R::Body(b"ok".to_vec()),
            R::End,
            R::Error(DecodeError::UnexpectedData {
                what: Field::Body,
                offset: 40
            })
        ]
    );
    assert_eq!(
        response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok"),
        [
            head(200, "OK", &[("Content-Length", "5")]),
            R::Body(b"ok".to_vec()),
            R::Error(DecodeError::Truncated {
                what: Field::Body,
                offset: 40
            })
        ]
    );
    assert_eq!(
        response(b"HTTP/1.1 200 O"),
        [R::Error(DecodeError::Truncated {
            what: Field::ResponseHead,
            offset: 14
        })]
    );
    let bad = |r: ResponseError| vec![R::Error(DecodeError::InvalidResponse { reason: r })];
    assert_eq!(
        response(b"Status: abc\r\n\r\n"),
        bad(ResponseError::InvalidStatus)
    );
    assert_eq!(
        response(b"Status: 99\r\n\r\n"),
        bad(ResponseError::InvalidStatus)
    );
    assert_eq!(
        response(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        bad(ResponseError::LengthAndTransferEncoding)
    );
    assert_eq!(
        response(b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n"),
        bad(ResponseError::InvalidContentLength)
    );
    assert_eq!(
        response(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        bad(ResponseError::InvalidContentLength)
    );
    assert_eq!(
        response(b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n"),
        bad(ResponseError::Syntax)
    );
    assert_eq!(
        response(b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n"),
        bad(ResponseError::Syntax)
    );
    assert_eq!(
        response(b"HTTP/1.1 200 OK\r\nBad Name: a\r\n\r\n"),
        bad(ResponseError::Syntax)
    );
    // HEAD and 304 have no body.
    let d = ResponseDecoder::new().head_request(true);
    assert_eq!(
        fuzzing::response_events(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", &[], d),
        [head(200, "OK", &[("Content-Length", "9")]), R::End]
    );
    assert_eq!(
        response(b"HTTP/1.1 304 Not Modified\r\n\r\n"),
        [head(304, "Not Modified", &[]), R::End]
    );
}

#[test]
fn response_head_over_the_limit_is_rejected() {
    let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
    wire.extend(std::iter::repeat_n(b"X-Pad: aaaaaaaaaaaaaaaa\r\n".as_slice(), 300).flatten());
    let mut dec = ResponseDecoder::new().max_head_len(4096).max_headers(1000);
    assert_eq!(
        dec.decode(&wire),
        Err(DecodeError::TooLarge {
            what: Field::ResponseHead,
            size: 4097,
            max: 4096
        })
    );
    let many: Vec<u8> = [
        b"HTTP/1.1 200 OK\r\n".to_vec(),
        b"A: b\r\n".repeat(101),
        b"\r\n".to_vec(),
    ]
    .concat();
    assert_eq!(
        ResponseDecoder::new().decode(&many),
        Err(DecodeError::InvalidResponse {
            reason: ResponseError::TooManyHeaders
        })
    );
}

// 27. Special packets.
#[test]
fn special_packets() {
    assert_eq!(special::PING, [0x64, 0, 0, 0]);
    let pong = special::pong(b"").unwrap();
    let mut out = Vec::new();
    pong.encode(&mut out);
    assert_eq!(out, [0x64, 0, 0, 1]);
    assert_eq!(special::pong_message(&pong.as_packet()), Some(&b""[..]));
    let ping = Packet::new(Modifier1::PING, 0, b"").unwrap();
    assert!(special::is_ping(&ping));
    assert_eq!(special::pong_message(&ping), None);
    assert_eq!(special::signal(17), [110, 0, 0, 17]);
    let ok = Packet::new(Modifier1::RESPONSE, 1, b"").unwrap();
    assert_eq!(
        GenericResponse::from_packet(&ok),
        Some(GenericResponse { result: 1 })
    );
    assert!(GenericResponse { result: 1 }.is_ok());
    assert_eq!(GenericResponse { result: 0 }.to_bytes(), [0xff, 0, 0, 0]);
    let sp = special::spooler_request([("ud_spool_func", "job"), ("arg", "1")]).unwrap();
    assert_eq!(sp.header().modifier1, Modifier1::SPOOLER);
    assert_eq!(sp.vars().unwrap().get(b"arg"), Some(&b"1"[..]));
    let sub = special::subscription_packet(
        SubscriptionAction::Unsubscribe,
        [
            ("key", "example.com"),
            ("address", "127.0.0.1:3031"),
            ("weight", "2"),
            ("load", "x"),
        ],
    )
    .unwrap();
    let p = sub.as_packet();
    let s = Subscription::parse(&p).unwrap().unwrap();
    assert_eq!(s.action, SubscriptionAction::Unsubscribe);
    assert_eq!(s.key(), Some(&b"example.com"[..]));
    assert_eq!(s.address(), Some(&b"127.0.0.1:3031"[..]));
    assert_eq!(s.number("weight"), Some(Ok(2)));
    assert!(matches!(
        s.number("load"),
        Some(Err(DecodeError::InvalidContentLength { .. }))
    ));
    assert_eq!(s.number("cores"), None);
    assert_eq!(Subscription::parse(&ping), Ok(None));
    assert_eq!(
        special::parse_array(b"\x01\x00a\x00\x00\x02\x00bc"),
        Ok(vec![&b"a"[..], b"", b"bc"])
    );
    assert_eq!(
        special::parse_array(b"\x05\x00ab"),
        Err(DecodeError::LengthOverrun {
            what: Field::Payload,
            offset: 4
        })
    );
}

#[test]
fn non_request_packets_have_no_body() {
    let mut wire = special::PING.to_vec();
    wire.extend_from_slice(b"junk");
    assert_eq!(
        request_events(&wire, &[], RequestDecoder::new()),
        [
            Event::Packet(special::PING.to_vec()),
            Event::End,
            Event::Error(DecodeError::UnexpectedData {
                what: Field::Body,
                offset: 4
            })
        ]
    );
}

#[test]
fn request_encoder_enforces_the_announced_length() {
    let mut enc = RequestEncoder::new();
    let mut out = Vec::new();
    assert_eq!(
        enc.body(b"x", &mut out),
        Err(EncodeError::OutOfOrder("body before the request head"))
    );
    let mut b = VarsBuilder::new();
    b.var("CONTENT_LENGTH", "3");
    let p = b.packet(Modifier1::WSGI, 0).unwrap();
    enc.head(&p, &mut out).unwrap();
    assert_eq!(enc.body_remaining(), 3);
    assert_eq!(
        enc.body(b"abcd", &mut out),
        Err(EncodeError::BodyOverrun { declared: 3 })
    );
    enc.body(b"abc", &mut out).unwrap();
    assert!(enc.is_complete());
    assert_eq!(out.len(), p.encoded_len() + 3);
    assert_eq!(
        enc.head(&p, &mut out),
        Err(EncodeError::OutOfOrder("a second request head"))
    );
}

#[test]
fn error_messages_name_what_and_where() {
    assert_eq!(
        DecodeError::EmptyKey { offset: 10 }.to_string(),
        "empty key at offset 10"
    );
    assert_eq!(
        DecodeError::TooLarge {
            what: Field::Vars,
            size: 5000,
            max: 4096
        }
        .to_string(),
        "vars block of 5000 bytes exceeds the limit of 4096"
    );
    assert_eq!(
        DecodeError::LengthOverrun {
            what: Field::Value,
            offset: 7
        }
        .to_string(),
        "value length at offset 7 runs past the end of the vars block"
    );
}
