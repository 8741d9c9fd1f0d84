//! Name-value pairs: checklist items 10–15, 29 and related defects.
#![allow(missing_docs)]

use fastcgi_proto::fuzzing::parse_all;
use fastcgi_proto::*;

fn pair(n: &[u8], v: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    encode_pair(&mut b, n, v).unwrap();
    b
}

#[test]
fn length_encodings() {
    assert_eq!(&pair(&[b'a'; 127], b"")[..2], [0x7f, 0]);
    assert_eq!(&pair(&[b'a'; 128], b"")[..5], [0x80, 0, 0, 0x80, 0]);
    assert_eq!(&pair(b"", &[b'a'; 200])[..5], [0, 0x80, 0, 0, 0xc8]);
    assert_eq!(pair(b"", b""), [0, 0]);
    // the mohtar defect (0x80000000 & n): a long length must keep its value
    assert_ne!(&pair(&[b'a'; 300], b"")[..4], [0x80, 0, 0, 0]);
}

#[test]
fn non_canonical_length_accepted() {
    let b = hex_literal::hex!("80000001 80000002 41 4243");
    let v: Vec<_> = Pairs::new(&b).collect::<Result<_, _>>().unwrap();
    assert_eq!(v, [(&b"A"[..], &b"BC"[..])]);
}

#[test]
fn max_length_declared_but_absent_allocates_nothing() {
    // 2^31-1 declared in a 13-byte record: error before any allocation
    let b = hex_literal::hex!("ffffffff ffffffff 4142 43 44 45");
    let mut d = ParamsDecoder::new(ParamsLimits::default());
    assert_eq!(
        d.push(&b),
        Err(DecodeError::PairTooLong {
            len: 0x7fff_ffff,
            limit: 1 << 20,
            offset: 0
        })
    );
    assert!(d.buffered() <= b.len());
    assert_eq!(
        Pairs::new(&b).next(),
        Some(Err(DecodeError::PairTruncated { offset: 0 }))
    );
}

#[test]
fn largest_length_encodes_as_ffffffff() {
    // 2^31-1 is the largest length; a value that size cannot be allocated in a
    // test, so the 4-byte form is checked on the length alone
    assert_eq!(MAX_PAIR_LEN, 0x7fff_ffff);
    assert_eq!(len_len(MAX_PAIR_LEN), 4);
    let b = hex_literal::hex!("ffffffff 00");
    assert_eq!(
        parse_pair(&b, usize::MAX, 0),
        Ok(Status::Incomplete {
            needed: core::num::NonZeroUsize::new(0x7fff_ffff)
        })
    );
}

#[test]
fn straddling_pairs_at_every_split() {
    let mut block = pair(b"SERVER_ADDR", b"127.0.0.1");
    block.extend(pair(&[b'n'; 130], &[b'v'; 300]));
    block.extend(pair(b"", b""));
    let whole = {
        let mut d = ParamsDecoder::new(ParamsLimits::default());
        d.push(&block).unwrap();
        d.finish().unwrap()
    };
    assert_eq!(whole.len(), 3);
    for i in 0..=block.len() {
        for j in i..=block.len() {
            if j > i + 3 && j < block.len() - 3 {
                continue; // keep runtime modest: all first cuts, nearby second cuts
            }
            let mut d = ParamsDecoder::new(ParamsLimits::default());
            d.push(&block[..i]).unwrap();
            d.push(&block[i..j]).unwrap();
            d.push(&block[j..]).unwrap();
            assert_eq!(d.finish().unwrap(), whole, "cuts {i} {j}");
        }
    }
    // pair spread over many 1-byte records
    let mut d = ParamsDecoder::new(ParamsLimits::default());
    for b in &block {
        d.push(core::slice::from_ref(b)).unwrap();
    }
    assert_eq!(d.finish().unwrap(), whole);
}

#[test]
fn truncated_stream_is_error() {
    let block = pair(b"NAME", b"VALUE");
    for cut in 1..block.len() {
        let mut d = ParamsDecoder::new(ParamsLimits::default());
        d.push(&block[..cut]).unwrap();
        assert_eq!(
            d.finish(),
            Err(DecodeError::PairTruncated { offset: 0 }),
            "cut {cut}"
        );
    }
}

#[test]
fn duplicates_empty_and_raw_bytes_kept() {
    let mut b = ParamsBuilder::new();
    b.pair("A", "1")
        .pair("", "")
        .pair("A", "2")
        .pair(b"=\0\xff", b"\0");
    let p = b.finish().unwrap();
    let v: Vec<_> = p.iter().collect();
    assert_eq!(
        v,
        [
            (&b"A"[..], &b"1"[..]),
            (&b""[..], &b""[..]),
            (&b"A"[..], &b"2"[..]),
            (&b"=\0\xff"[..], &b"\0"[..])
        ]
    );
    assert_eq!(p.get(b"A"), Some(&b"2"[..]));
    assert_eq!(p.get_bytes(b"A").unwrap(), &b"2"[..]);
}

#[test]
fn params_len_cap_exact_and_plus_one() {
    let block = pair(b"ABCD", b"EFGH"); // 10 bytes
    let limits = ParamsLimits {
        max_params_len: 10,
        max_params: 10,
    };
    let mut d = ParamsDecoder::new(limits);
    d.push(&block).unwrap();
    assert_eq!(d.finish().unwrap().len(), 1);
    let mut d = ParamsDecoder::new(ParamsLimits {
        max_params_len: 9,
        ..limits
    });
    assert!(matches!(
        d.push(&block),
        Err(DecodeError::ParamsTooLong { limit: 9 })
    ));
    // the length check fires on the header, before the value arrives
    let mut d = ParamsDecoder::new(ParamsLimits {
        max_params_len: 9,
        ..limits
    });
    assert_eq!(
        d.push(&block[..2]),
        Err(DecodeError::PairTooLong {
            len: 4,
            limit: 9,
            offset: 1
        })
    );
}

#[test]
fn pair_count_cap() {
    let mut block = Vec::new();
    for _ in 0..5 {
        block.extend(pair(b"", b""));
    }
    let mut d = ParamsDecoder::new(ParamsLimits {
        max_params_len: 100,
        max_params: 5,
    });
    d.push(&block).unwrap();
    assert_eq!(d.finish().unwrap().len(), 5);
    let mut d = ParamsDecoder::new(ParamsLimits {
        max_params_len: 100,
        max_params: 4,
    });
    assert_eq!(d.push(&block), Err(DecodeError::TooManyPairs { limit: 4 }));
    // very many tiny pairs: no recursion, linear
    let many = vec![0u8; 2 * 100_000];
    let mut d = ParamsDecoder::new(ParamsLimits {
        max_params_len: 1 << 20,
        max_params: 100_000,
    });
    d.push(&many).unwrap();
    assert_eq!(d.finish().unwrap().len(), 100_000);
}

fn records_of(out: &[u8]) -> Vec<OwnedRecord> {
    let (recs, err) = parse_all(out);
    assert_eq!(err, None);
    recs
}

#[test]
fn encoding_keeps_pairs_whole_and_under_65535() {
    // > 64 KiB of params (the fastcgi-client / PHP-FPM defect)
    let values: Vec<(Vec<u8>, Vec<u8>)> = (0..40)
        .map(|i| (format!("HTTP_X_{i}").into_bytes(), vec![b'v'; 3000]))
        .collect();
    let mut out = Vec::new();
    let n = encode_pairs(
        &mut out,
        RecordType::PARAMS,
        1,
        values.iter().map(|(a, b)| (&a[..], &b[..])),
        RecordLayout::default(),
        true,
    )
    .unwrap();
    assert_eq!(n, out.len());
    let recs = records_of(&out);
    assert!(recs.len() >= 3);
    assert!(recs.last().unwrap().content.is_empty());
    assert_eq!(recs.iter().filter(|r| r.content.is_empty()).count(), 1);
    for r in &recs {
        assert!(r.content.len() + usize::from(r.header.padding_len) <= 65535);
        // each record parses alone (PHP-FPM parses records independently)
        assert!(Pairs::new(&r.content).all(|p| p.is_ok()));
    }
    let all: Vec<u8> = recs.iter().flat_map(|r| r.content.to_vec()).collect();
    let p = Params::decode(all.into()).unwrap();
    assert!(p.iter().eq(values.iter().map(|(a, b)| (&a[..], &b[..]))));
}

#[test]
fn oversized_single_pair_is_split_not_truncated() {
    // rama-fastcgi defect: a pair > 65535 written with a truncated length
    let big = vec![b'x'; 70_000];
    let mut out = Vec::new();
    encode_pairs(
        &mut out,
        RecordType::PARAMS,
        1,
        [(&b"BIG"[..], &big[..])],
        RecordLayout::default(),
        true,
    )
    .unwrap();
    let recs = records_of(&out);
    for r in &recs {
        assert!(r.content.len() + usize::from(r.header.padding_len) <= 65535);
    }
    let mut d = ParamsDecoder::new(ParamsLimits::default());
    for r in &recs[..recs.len() - 1] {
        d.push(&r.content).unwrap();
    }
    assert_eq!(d.finish().unwrap().get(b"BIG"), Some(&big[..]));
}

#[test]
fn empty_params_sends_one_empty_record() {
    let mut out = Vec::new();
    encode_pairs(
        &mut out,
        RecordType::PARAMS,
        1,
        [],
        RecordLayout::default(),
        true,
    )
    .unwrap();
    assert_eq!(out, [1, 4, 0, 1, 0, 0, 0, 0]);
    assert_eq!(
        encoded_pairs_len(RecordType::PARAMS, [], RecordLayout::default(), true),
        Ok(8)
    );
}
