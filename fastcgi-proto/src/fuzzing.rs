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

/// Application-side connection driver. Bytes are an operation list:
/// `op, arg, len` then `len` bytes of input; ops feed wire bytes, poll
/// events, write output or end requests. Invariants: no panic, buffered
/// body bytes ≤ `max_buffered` + one record, input buffer ≤ one record,
/// active requests ≤ the configured maximum, feeding the same wire bytes
/// at once or byte by byte gives the same events.
pub fn app_connection(data: &[u8]) {
    use crate::server::{Config, Connection, MAX_RECORD_LEN};
    let config = Config {
        max_concurrent_requests: 1 + usize::from(data.first().copied().unwrap_or(0) % 4),
        max_buffered: 1024,
        params: ParamsLimits {
            max_params_len: 2048,
            max_params: 32,
        },
        ..Config::default()
    };
    let mut c = Connection::new(config);
    let mut wire = Vec::new();
    let mut ops = data.get(1..).unwrap_or(&[]);
    while let [op, arg, len, rest @ ..] = ops {
        let n = usize::from(*len).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        ops = tail;
        match op % 5 {
            0 | 1 => {
                let mut input = chunk;
                while !input.is_empty() {
                    match c.handle_bytes(input) {
                        Ok(0) => {
                            if c.poll_event().is_none() {
                                break;
                            }
                        }
                        Ok(k) => {
                            wire.extend_from_slice(input.get(..k).unwrap_or(&[]));
                            input = input.get(k..).unwrap_or(&[]);
                        }
                        Err(_) => return,
                    }
                }
            }
            2 => while c.poll_event().is_some() {},
            3 => {
                let nth = c.active_requests().nth(usize::from(*arg % 4));
                if let Some(id) = nth {
                    let _ = c.stdout(id, chunk);
                    let _ = c.stderr(id, chunk.get(..1).unwrap_or(&[]));
                }
            }
            _ => {
                let first = c.active_requests().next();
                if let Some(id) = first {
                    c.end_request(id, u32::from(*arg))
                        .unwrap_or_else(|e| panic!("{e}"));
                }
            }
        }
        assert!(c.buffered() <= config.max_buffered + MAX_RECORD_LEN);
        assert!(c.input_buffered() <= MAX_RECORD_LEN);
        assert!(c.active_requests().count() <= config.max_concurrent_requests);
        if let Some(out) = c.poll_transmit() {
            let (_, err) = parse_all(&out);
            assert!(err.is_none());
        }
    }
    // split equivalence on the accepted wire bytes
    let run = |step: usize| {
        let mut c = Connection::new(Config {
            max_buffered: usize::MAX,
            ..config
        });
        let mut events = Vec::new();
        let mut res = Ok(0);
        for piece in wire.chunks(step.max(1)) {
            res = c.handle_bytes(piece);
            while let Some(e) = c.poll_event() {
                events.push(e);
            }
            if res.is_err() {
                break;
            }
        }
        (events, res.err())
    };
    if wire.len() < 4096 {
        assert_eq!(run(wire.len()), run(1));
    }
}

/// Web-server-side connection driver. Bytes are an operation list as in
/// [`app_connection`]; ops start requests, send params and body, query
/// values and feed application bytes. Invariants: no panic, every emitted
/// record is well formed with content + padding ≤ 65 535, in-flight ids
/// match started minus ended, and whole vs byte-by-byte input agree.
pub fn client_connection(data: &[u8]) {
    use crate::client::{Connection, Event};
    let mut c = Connection::new();
    let mut wire = Vec::new();
    let mut ops = data;
    while let [op, arg, len, rest @ ..] = ops {
        let n = usize::from(*len).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        ops = tail;
        let id = u16::from(*arg % 4);
        match op % 6 {
            0 => {
                let _ = c.begin(id, crate::Role(u16::from(*arg >> 4)), arg & 8 != 0);
            }
            1 => {
                let _ = c.params(id, [(chunk, chunk)]);
            }
            2 => {
                let _ = c.stdin(id, chunk).and_then(|()| c.stdin_end(id));
            }
            3 => {
                let _ = c.get_values([crate::FCGI_MAX_CONNS, crate::FCGI_MPXS_CONNS]);
            }
            _ => {
                wire.extend_from_slice(chunk);
                if c.handle_bytes(chunk).is_err() {
                    return;
                }
                while let Some(e) = c.poll_event() {
                    if let Event::End { id, .. } = e {
                        assert!(!c.in_flight().any(|i| i == id));
                    }
                }
            }
        }
        assert!(c.input_buffered() <= crate::server::MAX_RECORD_LEN);
        if let Some(out) = c.poll_transmit() {
            let (recs, err) = parse_all(&out);
            assert!(err.is_none());
            assert_eq!(
                recs.iter().map(OwnedRecord::encoded_len).sum::<usize>(),
                out.len()
            );
            for r in recs {
                assert!(r.content.len() + usize::from(r.header.padding_len) <= 0xffff);
            }
        }
    }
}
