//! Record framing: checklist items 1–9 and the defects of other crates.
#![allow(missing_docs)]

use fastcgi_proto::fuzzing::parse_all;
use fastcgi_proto::*;

const SPEC_REQUEST: &[u8] = &hex_literal::hex!(
    "01010001000800000001000000000000"
    "0104000100400000"
    "0e04524551554553545f4d4554484f44504f5354"
    "0e01434f4e54454e545f4c454e47544835"
    "0f0a5343524950545f46494c454e414d452f7372762f612e706870"
    "0104000100000000"
    "0105000100050300" "68656c6c6f000000"
    "0105000100000000"
);

fn parse_one(b: &[u8]) -> Result<Status<(Record<'_>, usize)>, DecodeError> {
    Record::parse(b, 0)
}

#[test]
fn spec_worked_example_decodes() {
    assert_eq!(SPEC_REQUEST.len(), 120);
    let (recs, err) = parse_all(SPEC_REQUEST);
    assert_eq!(err, None);
    let types: Vec<_> = recs.iter().map(|r| r.header.record_type).collect();
    assert_eq!(
        types,
        [
            RecordType::BEGIN_REQUEST,
            RecordType::PARAMS,
            RecordType::PARAMS,
            RecordType::STDIN,
            RecordType::STDIN
        ]
    );
    assert_eq!(
        recs[0].body(),
        Body::BeginRequest(BeginRequest::new(Role::RESPONDER, false))
    );
    let p = Params::decode(recs[1].content.clone()).unwrap();
    assert_eq!(p.get(b"SCRIPT_FILENAME"), Some(&b"/srv/a.php"[..]));
    assert_eq!(p.len(), 3);
    assert_eq!(&recs[3].content[..], b"hello");
}

#[test]
fn every_prefix_is_incomplete_and_every_split_agrees() {
    let (whole, _) = parse_all(SPEC_REQUEST);
    for cut in 0..SPEC_REQUEST.len() {
        let (a, err) = parse_all(&SPEC_REQUEST[..cut]);
        assert_eq!(err, None, "prefix {cut}");
        assert_eq!(&whole[..a.len()], &a[..]);
        // the record that straddles the cut is reported incomplete
        let used: usize = a.iter().map(OwnedRecord::encoded_len).sum();
        if used < cut {
            assert!(
                Record::parse(&SPEC_REQUEST[used..cut], used)
                    .unwrap()
                    .is_incomplete()
            );
        }
    }
}

#[test]
fn header_split_at_every_offset() {
    let rec = hex_literal::hex!("0103000100080300 00000000 00000000 000000");
    for cut in 0..rec.len() {
        let st = parse_one(&rec[..cut]).unwrap();
        let Status::Incomplete { needed } = st else {
            panic!("{cut}")
        };
        let needed = needed.unwrap().get();
        if cut < 8 {
            assert_eq!(needed, 8 - cut);
        } else {
            assert_eq!(needed, rec.len() - cut);
        }
    }
    let Status::Complete((r, used)) = parse_one(&rec).unwrap() else {
        panic!()
    };
    assert_eq!(used, 19);
    assert_eq!(
        r.body(),
        Body::EndRequest(EndRequest {
            app_status: 0,
            protocol_status: ProtocolStatus::REQUEST_COMPLETE
        })
    );
}

#[test]
fn zero_length_records_with_padding_are_skipped() {
    for ty in [6u8, 7, 4, 5, 2] {
        for pad in [1u8, 7, 255] {
            let mut b = vec![1, ty, 0, 1, 0, 0, pad, 0];
            b.extend(core::iter::repeat_n(0xAA, pad as usize));
            b.extend_from_slice(&[1, 6, 0, 1, 0, 0, 0, 0]);
            let (recs, err) = parse_all(&b);
            assert_eq!(err, None);
            assert_eq!(recs.len(), 2, "type {ty} pad {pad}");
            assert!(recs[0].content.is_empty());
            assert_eq!(recs[1].header.record_type, RecordType::STDOUT);
        }
    }
}

#[test]
fn max_content_and_padding_frame() {
    let mut b = vec![1, 6, 0, 1, 0xff, 0xff, 0xff, 0];
    b.extend(vec![b'x'; 65535 + 255]);
    let Status::Complete((r, used)) = parse_one(&b).unwrap() else {
        panic!()
    };
    assert_eq!(used, 8 + 65535 + 255);
    assert_eq!(r.content.len(), 65535);
}

#[test]
fn versions_other_than_one_are_errors_reserved_ignored() {
    for v in [0u8, 2, 255] {
        assert_eq!(
            parse_one(&[v, 6, 0, 1, 0, 0, 0, 0]),
            Err(DecodeError::Version {
                version: v,
                offset: 0
            })
        );
    }
    assert!(
        parse_one(&[1, 6, 0, 1, 0, 0, 0, 0xff])
            .unwrap()
            .is_complete()
    );
    assert_eq!(
        Record::parse(&[9, 6, 0, 1, 0, 0, 0, 0], 40),
        Err(DecodeError::Version {
            version: 9,
            offset: 40
        })
    );
}

#[test]
fn fixed_size_bodies_of_wrong_length_are_errors_not_panics() {
    let cases: &[(u8, u16, u16)] = &[
        (1, 0, 8),
        (1, 7, 8),
        (1, 9, 8),
        (1, 65535, 8),
        (3, 0, 8),
        (3, 4, 8),
        (3, 7, 8),
        (11, 9, 8),
        (2, 1, 0),
    ];
    for &(ty, len, expected) in cases {
        let [a, b] = len.to_be_bytes();
        let mut rec = vec![1, ty, 0, 1, a, b, 0, 0];
        rec.extend(vec![0; len as usize]);
        assert_eq!(
            parse_one(&rec),
            Err(DecodeError::BodyLength {
                record_type: RecordType(ty),
                len,
                expected,
                offset: 0
            }),
            "type {ty} len {len}"
        );
        // also reported from the header alone
        assert!(parse_one(&rec[..8]).is_err());
    }
}

#[test]
fn unknown_types_round_trip() {
    for ty in [0u8, 12, 200, 255] {
        let rec = OwnedRecord::new(RecordType(ty), 7, &b"abc"[..]).unwrap();
        let mut out = Vec::new();
        rec.encode(&mut out);
        let Status::Complete((back, _)) = parse_one(&out).unwrap() else {
            panic!()
        };
        assert_eq!(back.header.record_type, RecordType(ty));
        assert_eq!(RecordType(ty).name(), None);
        assert_eq!(back.body(), Body::Raw(b"abc"));
    }
    assert_eq!(format!("{:?}", RecordType(12)), "RecordType(0x0c)");
    assert_eq!(Role(65535).0, 65535);
    assert_eq!(ProtocolStatus(4).name(), None);
}

#[test]
fn management_names_exact_bytes() {
    assert_eq!(FCGI_MAX_CONNS.as_bytes(), b"FCGI_MAX_CONNS");
    assert_eq!(FCGI_MAX_REQS.as_bytes(), b"FCGI_MAX_REQS");
    assert_eq!(FCGI_MPXS_CONNS.as_bytes(), b"FCGI_MPXS_CONNS");
}

#[test]
fn stream_writer_sizes() {
    for len in [0usize, 1, 7, 8, 65527, 65528, 65529, 65535, 65536, 1 << 20] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        for align in [8u16, 0] {
            let w = StreamWriter::new(RecordType::STDOUT, 3).with_align(align);
            let mut out = Vec::new();
            let n = w.write(&mut out, &payload);
            assert_eq!(n, out.len());
            assert_eq!(w.encoded_len(len), n);
            let (recs, err) = parse_all(&out);
            assert_eq!(err, None);
            let mut joined = Vec::new();
            let mut pos = 0;
            for r in &recs {
                assert!(!r.content.is_empty(), "no empty record inside a stream");
                assert!(r.content.len() + usize::from(r.header.padding_len) <= 65535);
                if align == 8 {
                    assert_eq!(r.encoded_len() % 8, 0);
                }
                pos += 8 + r.content.len();
                let pad = &out[pos..pos + usize::from(r.header.padding_len)];
                assert!(pad.iter().all(|&b| b == 0));
                pos += pad.len();
                joined.extend_from_slice(&r.content);
            }
            assert_eq!(joined, payload);
            // zero-copy path gives identical bytes
            let pieces = w.pieces(bytes::Bytes::from(payload.clone()));
            assert_eq!(pieces.concat(), out);
            let mut chain = w.chunks(bytes::Bytes::from(payload.clone()));
            let mut v = Vec::new();
            while bytes::Buf::has_remaining(&chain) {
                let c = bytes::Buf::chunk(&chain).to_vec();
                bytes::Buf::advance(&mut chain, c.len());
                v.extend(c);
            }
            assert_eq!(v, out);
        }
    }
    let mut end = Vec::new();
    StreamWriter::new(RecordType::STDIN, 1).finish(&mut end);
    assert_eq!(end, [1, 5, 0, 1, 0, 0, 0, 0]);
}

#[test]
fn short_end_request_is_typed_error_fastcgi_client_defect() {
    // fastcgi-client slices buf[0..8] of a short END_REQUEST and panics
    let b = [1, 3, 0, 1, 0, 3, 0, 0, 0, 0, 0];
    assert_eq!(
        parse_one(&b),
        Err(DecodeError::BodyLength {
            record_type: RecordType::END_REQUEST,
            len: 3,
            expected: 8,
            offset: 0
        })
    );
}

#[test]
fn type_12_does_not_panic_async_fcgi_defect() {
    let (recs, err) = parse_all(&[1, 12, 0, 1, 0, 0, 0, 0]);
    assert_eq!(err, None);
    assert_eq!(recs[0].header.record_type, RecordType(12));
}
