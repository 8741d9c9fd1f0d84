//! Fuzzing and test drivers. Not part of the stable API.
//!
//! Each function is an oracle: it panics when an invariant breaks.

use alloc::vec::Vec;

use bytes::Bytes;

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
/// at once or byte by byte gives the same events. A second connection
/// driven alike but fed through `handle_shared` (each offer as a `Bytes`)
/// takes the same bytes and gives the same events, errors and output.
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
    let mut shared = Connection::new(config);
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
                    let mut src = Bytes::copy_from_slice(input);
                    let got = shared
                        .handle_shared(&mut src)
                        .map(|()| input.len() - src.len());
                    let want = c.handle_bytes(input);
                    assert_eq!(got, want);
                    match want {
                        Ok(0) => {
                            let e = c.poll_event();
                            assert_eq!(shared.poll_event(), e);
                            if e.is_none() {
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
            2 => {
                while let Some(e) = c.poll_event() {
                    assert_eq!(shared.poll_event(), Some(e));
                }
                assert_eq!(shared.poll_event(), None);
            }
            3 => {
                let nth = c.active_requests().nth(usize::from(*arg % 4));
                if let Some(id) = nth {
                    let one = chunk.get(..1).unwrap_or(&[]);
                    assert_eq!(c.stdout(id, chunk), shared.stdout(id, chunk));
                    assert_eq!(c.stderr(id, one), shared.stderr(id, one));
                }
            }
            _ => {
                let first = c.active_requests().next();
                if let Some(id) = first {
                    c.end_request(id, u32::from(*arg))
                        .unwrap_or_else(|e| panic!("{e}"));
                    shared
                        .end_request(id, u32::from(*arg))
                        .unwrap_or_else(|e| panic!("{e}"));
                }
            }
        }
        assert!(c.buffered() <= config.max_buffered + MAX_RECORD_LEN);
        assert!(c.input_buffered() <= MAX_RECORD_LEN);
        assert!(c.active_requests().count() <= config.max_concurrent_requests);
        assert_eq!(
            (
                shared.buffered(),
                shared.input_buffered(),
                shared.is_closed()
            ),
            (c.buffered(), c.input_buffered(), c.is_closed())
        );
        let out = c.poll_transmit();
        assert_eq!(shared.poll_transmit(), out);
        if let Some(out) = out {
            let (_, err) = parse_all(&out);
            assert!(err.is_none());
        }
    }
    // split equivalence on the accepted wire bytes, through either path
    let run = |step: usize, zero_copy: bool| {
        let mut c = Connection::new(Config {
            max_buffered: usize::MAX,
            ..config
        });
        let mut events = Vec::new();
        let mut res = Ok(());
        for piece in wire.chunks(step.max(1)) {
            res = if zero_copy {
                c.handle_shared(&mut Bytes::copy_from_slice(piece))
            } else {
                c.handle_bytes(piece).map(drop)
            };
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
        let whole = run(wire.len(), false);
        assert_eq!(run(1, false), whole);
        assert_eq!(run(wire.len(), true), whole);
        assert_eq!(run(1, true), whole);
    }
}

/// Web-server-side connection driver. Bytes are an operation list as in
/// [`app_connection`]; ops start requests, send params and body, query
/// values and feed application bytes. Invariants: no panic, every emitted
/// record is well formed with content + padding ≤ 65 535, in-flight ids
/// match started minus ended, and a second connection driven alike but fed
/// through `handle_shared` (each chunk as a `Bytes`) gives the same
/// results, events and output.
pub fn client_connection(data: &[u8]) {
    use crate::client::{Connection, Event};
    let mut c = Connection::new();
    let mut shared = Connection::new();
    let mut ops = data;
    while let [op, arg, len, rest @ ..] = ops {
        let n = usize::from(*len).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        ops = tail;
        let id = u16::from(*arg % 4);
        match op % 6 {
            0 => {
                let (role, keep) = (crate::Role(u16::from(*arg >> 4)), arg & 8 != 0);
                assert_eq!(c.begin(id, role, keep), shared.begin(id, role, keep));
            }
            1 => {
                let pairs = [(chunk, chunk)];
                assert_eq!(c.params(id, pairs), shared.params(id, pairs));
            }
            2 => {
                let want = c.stdin(id, chunk).and_then(|()| c.stdin_end(id));
                let got = shared.stdin(id, chunk).and_then(|()| shared.stdin_end(id));
                assert_eq!(got, want);
            }
            3 => {
                let names = [crate::FCGI_MAX_CONNS, crate::FCGI_MPXS_CONNS];
                assert_eq!(c.get_values(names), shared.get_values(names));
            }
            _ => {
                let mut src = Bytes::copy_from_slice(chunk);
                let got = shared.handle_shared(&mut src);
                let want = c.handle_bytes(chunk);
                assert_eq!(got, want);
                if want.is_err() {
                    return;
                }
                assert!(src.is_empty());
                while let Some(e) = c.poll_event() {
                    if let Event::End { id, .. } = e {
                        assert!(!c.in_flight().any(|i| i == id));
                    }
                    assert_eq!(shared.poll_event(), Some(e));
                }
                assert_eq!(shared.poll_event(), None);
            }
        }
        assert_eq!(shared.input_buffered(), c.input_buffered());
        assert!(c.input_buffered() <= crate::server::MAX_RECORD_LEN);
        let out = c.poll_transmit();
        assert_eq!(shared.poll_transmit(), out);
        if let Some(out) = out {
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
