//! PARAMS record layout for pairs of 65 529–65 535 encoded bytes.
//!
//! With 8-byte alignment a padded record holds at most 65 528 bytes, and
//! such a pair used to be split across two records. PHP-FPM parses each
//! PARAMS record on its own and resets the connection on a split pair
//! (seen against PHP-FPM 8.2 with one 65 522-byte header value); the pair
//! fits a single unpadded record, which PHP-FPM accepts (its limit is
//! content + padding ≤ 65 535).

use fastcgi_proto::{RecordLayout, RecordType, encode_pairs};

/// (content, padding) of each record in `wire`.
fn records(wire: &[u8]) -> Vec<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes([rest[4], rest[5]]));
        let pad = usize::from(rest[6]);
        out.push((rest[8..8 + len].to_vec(), pad));
        rest = &rest[8 + len + pad..];
    }
    out
}

/// The pairs of one record's content, failing on a pair cut by the record end.
fn whole_pairs(mut c: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    fn len(c: &mut &[u8]) -> usize {
        if c[0] < 0x80 {
            let n = usize::from(c[0]);
            *c = &c[1..];
            n
        } else {
            let n = u32::from_be_bytes([c[0] & 0x7f, c[1], c[2], c[3]]) as usize;
            *c = &c[4..];
            n
        }
    }
    let mut out = Vec::new();
    while !c.is_empty() {
        let n = len(&mut c);
        let v = len(&mut c);
        assert!(c.len() >= n + v, "a pair runs past its record");
        out.push((c[..n].to_vec(), c[n..n + v].to_vec()));
        c = &c[n + v..];
    }
    out
}

/// A pair `HTTP_X_E=hhh…` of exactly `size` encoded bytes (1 + 4 + 8 + v).
fn big(size: usize) -> (Vec<u8>, Vec<u8>) {
    (b"HTTP_X_E".to_vec(), vec![b'h'; size - 13])
}

#[test]
fn pairs_up_to_65535_bytes_stay_whole_and_records_stay_under_the_limit() {
    for size in 65_520..=65_535 {
        for before in 0..3 {
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..before)
                .map(|i| (format!("N{i}").into_bytes(), b"v".to_vec()))
                .collect();
            pairs.push(big(size));
            pairs.push((b"AFTER".to_vec(), b"x".to_vec()));
            let mut wire = Vec::new();
            encode_pairs(
                &mut wire,
                RecordType::PARAMS,
                1,
                pairs.iter().map(|(n, v)| (&n[..], &v[..])),
                RecordLayout::default(),
                true,
            )
            .unwrap();
            let recs = records(&wire);
            let mut got = Vec::new();
            for (content, pad) in &recs {
                assert!(
                    content.len() + pad <= 65_535,
                    "size {size}: record over 65535"
                );
                if content.len() % 8 != 0 {
                    // only an over-long whole pair may go unpadded
                    assert!(pad == &((8 - content.len() % 8) % 8) || content.len() > 65_528);
                }
                got.extend(whole_pairs(content));
            }
            assert_eq!(got, pairs, "size {size}, {before} before");
            assert_eq!(recs.last().unwrap().0.len(), 0, "terminator");
        }
    }
}

#[test]
fn a_65535_byte_pair_is_one_unpadded_record() {
    let (n, v) = big(65_535);
    let mut wire = Vec::new();
    encode_pairs(
        &mut wire,
        RecordType::PARAMS,
        1,
        [(&n[..], &v[..])],
        RecordLayout::default(),
        false,
    )
    .unwrap();
    assert_eq!(&wire[..8], b"\x01\x04\x00\x01\xff\xff\x00\x00");
    assert_eq!(wire.len(), 8 + 65_535);
}

#[test]
fn a_pair_over_65535_bytes_is_still_streamed_across_records() {
    let (n, v) = big(70_000);
    let mut wire = Vec::new();
    encode_pairs(
        &mut wire,
        RecordType::PARAMS,
        1,
        [(&b"A"[..], &b"1"[..]), (&n[..], &v[..])],
        RecordLayout::default(),
        false,
    )
    .unwrap();
    let recs = records(&wire);
    assert_eq!(recs.len(), 2);
    assert_eq!((recs[0].0.len(), recs[0].1), (65_528, 0));
    assert_eq!(recs[1].0.len(), 4 + 70_000 - 65_528);
    let joined: Vec<u8> = recs.iter().flat_map(|(c, _)| c.clone()).collect();
    assert_eq!(
        whole_pairs(&joined),
        vec![(b"A".to_vec(), b"1".to_vec()), (n, v)]
    );
}

#[test]
fn an_unpadded_whole_pair_is_not_cut_by_a_following_streamed_pair() {
    let (n1, v1) = big(65_530);
    let (n2, v2) = big(70_000);
    let mut wire = Vec::new();
    encode_pairs(
        &mut wire,
        RecordType::PARAMS,
        1,
        [(&n1[..], &v1[..]), (&n2[..], &v2[..])],
        RecordLayout::default(),
        false,
    )
    .unwrap();
    let recs = records(&wire);
    assert_eq!((recs[0].0.len(), recs[0].1), (65_530, 0));
    assert_eq!(whole_pairs(&recs[0].0), vec![(n1, v1)]);
    let rest: Vec<u8> = recs[1..].iter().flat_map(|(c, _)| c.clone()).collect();
    assert_eq!(whole_pairs(&rest), vec![(n2, v2)]);
}
