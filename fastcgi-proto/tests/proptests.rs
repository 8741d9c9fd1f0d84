//! Property tests: record and pair round-trips, `encoded_len`, split
//! equivalence, and arbitrary input into both connection sides.
#![allow(missing_docs)]

use fastcgi_proto::fuzzing::{app_connection, client_connection, parse_all, records};
use fastcgi_proto::*;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
    )
}

fn record() -> impl Strategy<Value = OwnedRecord> {
    (
        any::<u8>(),
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..300),
        any::<u8>(),
    )
        .prop_map(|(ty, id, content, pad)| {
            let ty = RecordType(ty);
            let content = match ty.fixed_len() {
                Some(n) => vec![0xAB; n as usize],
                None => content,
            };
            let mut r = OwnedRecord::new(ty, id, content).unwrap();
            r.header.padding_len = pad;
            r
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn records_round_trip_any_chunking(recs in proptest::collection::vec(record(), 0..8), cut in any::<usize>()) {
        let mut wire = Vec::new();
        for r in &recs {
            let before = wire.len();
            r.encode(&mut wire);
            prop_assert_eq!(wire.len() - before, r.encoded_len());
        }
        let (back, err) = parse_all(&wire);
        prop_assert_eq!(err, None);
        let norm: Vec<_> = recs.iter().map(|r| {
            let mut r = r.clone();
            r.header.content_len = r.content.len() as u16;
            r
        }).collect();
        prop_assert_eq!(&back, &norm);
        let cut = if wire.is_empty() { 0 } else { cut % wire.len() };
        let (first, _) = parse_all(&wire[..cut]);
        prop_assert_eq!(&back[..first.len()], &first[..]);
        records(&wire);
    }

    #[test]
    fn pairs_round_trip(pairs in proptest::collection::vec(
        (proptest::collection::vec(any::<u8>(), 0..200), proptest::collection::vec(any::<u8>(), 0..300)), 0..20),
        align in prop_oneof![Just(0u16), Just(8u16)], whole in any::<bool>(), cut in any::<usize>())
    {
        let layout = RecordLayout { align, keep_pairs_whole: whole };
        let it = || pairs.iter().map(|(a, b)| (&a[..], &b[..]));
        let mut out = Vec::new();
        let n = encode_pairs(&mut out, RecordType::PARAMS, 1, it(), layout, true).unwrap();
        prop_assert_eq!(n, out.len());
        prop_assert_eq!(encoded_pairs_len(RecordType::PARAMS, it(), layout, true), Ok(n));
        let (recs, err) = parse_all(&out);
        prop_assert_eq!(err, None);
        let mut block = Vec::new();
        for r in &recs {
            prop_assert!(r.content.len() + usize::from(r.header.padding_len) <= 65535);
            block.extend_from_slice(&r.content);
        }
        let cut = if block.is_empty() { 0 } else { cut % block.len() };
        let mut d = ParamsDecoder::new(ParamsLimits::default());
        d.push(&block[..cut]).unwrap();
        d.push(&block[cut..]).unwrap();
        let p = d.finish().unwrap();
        prop_assert!(p.iter().eq(it()));
        let mut b = ParamsBuilder::new();
        for (n, v) in it() { b.pair(n, v); }
        prop_assert_eq!(b.finish().unwrap(), p);
    }

    #[test]
    fn app_connection_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        app_connection(&data);
    }

    #[test]
    fn app_connection_on_valid_records(recs in proptest::collection::vec(record(), 0..12), first in any::<u8>()) {
        let mut wire = Vec::new();
        for r in &recs { r.encode(&mut wire); }
        let mut ops = vec![first];
        for c in wire.chunks(255) {
            ops.extend([0, 0, c.len() as u8]);
            ops.extend_from_slice(c);
            ops.extend([2, 0, 0]);
        }
        app_connection(&ops);
    }

    #[test]
    fn client_connection_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        client_connection(&data);
    }

    #[test]
    fn params_oracle(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        fuzzing::params(&data);
    }
}
