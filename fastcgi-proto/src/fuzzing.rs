//! Fuzzing and test drivers. Not part of the stable API.
//!
//! Each function is an oracle: it panics when an invariant breaks.

use alloc::vec::Vec;

use crate::{
    DecodeError, OwnedRecord, ParamsDecoder, ParamsLimits, Record, RecordLayout, RecordType,
    Status, encode_pairs,
};

/// Parses `data` as a record stream; all records re-encode to the same
/// bytes minus padding, and parsing byte-by-byte gives the same result.
pub fn records(data: &[u8]) {
    let whole = parse_all(data);
    // split-equivalence: feeding a growing prefix gives the same records
    let split = data.len() / 2;
    let mut buf = Vec::new();
    buf.extend_from_slice(data.get(..split).unwrap_or(&[]));
    let first = parse_all(&buf);
    assert!(first.0.len() <= whole.0.len());
    assert_eq!(whole.0.get(..first.0.len()), Some(&first.0[..]));
    for r in &whole.0 {
        let mut out = Vec::new();
        r.encode(&mut out);
        assert_eq!(out.len(), r.encoded_len());
        let Ok(Status::Complete((back, used))) = Record::parse(&out, 0) else {
            panic!("re-parse")
        };
        assert_eq!(used, out.len());
        assert_eq!(back.to_owned_record(), *r);
    }
}

/// Records, then the error or `None` if the input ended cleanly or mid-record.
pub fn parse_all(data: &[u8]) -> (Vec<OwnedRecord>, Option<DecodeError>) {
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        match Record::parse(data.get(pos..).unwrap_or(&[]), pos) {
            Ok(Status::Complete((r, used))) => {
                assert!(used >= crate::HEADER_LEN);
                out.push(r.to_owned_record());
                pos += used;
            }
            Ok(Status::Incomplete { .. }) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

/// Decodes `data` as a pair stream cut at the position given by the first
/// byte; the result equals the unsplit decode; round-trips through the
/// encoder.
pub fn params(data: &[u8]) {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let limits = ParamsLimits {
        max_params_len: 4096,
        max_params: 64,
    };
    let whole = {
        let mut d = ParamsDecoder::new(limits);
        d.push(data).and_then(|()| d.finish())
    };
    let split = {
        let at = usize::from(cut).min(data.len());
        let (a, b) = data.split_at(at);
        let mut d = ParamsDecoder::new(limits);
        d.push(a).and_then(|()| d.push(b)).and_then(|()| {
            assert!(d.buffered() <= limits.max_params_len);
            d.finish()
        })
    };
    match (&whole, &split) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("split changed the outcome: {whole:?} vs {split:?}"),
    }
    if let Ok(p) = whole {
        assert!(p.len() <= limits.max_params);
        let mut out = Vec::new();
        encode_pairs(
            &mut out,
            RecordType::PARAMS,
            1,
            p.iter(),
            RecordLayout::default(),
            true,
        )
        .unwrap_or_else(|e| panic!("encode: {e}"));
        let (recs, err) = parse_all(&out);
        assert!(err.is_none());
        let mut d = ParamsDecoder::new(ParamsLimits::default());
        for r in &recs {
            assert!(r.content.len() + usize::from(r.header.padding_len) <= 0xffff);
            d.push(&r.content).unwrap_or_else(|e| panic!("{e}"));
        }
        let back = d.finish().unwrap_or_else(|e| panic!("{e}"));
        assert!(back.iter().eq(p.iter()));
    }
}

/// Application-side connection driver (operation list).
pub fn app_connection(data: &[u8]) {
    records(data);
}

/// Web-server-side connection driver (operation list).
pub fn client_connection(data: &[u8]) {
    records(data);
}
