//! Fuzzing and test drivers. Not part of the stable API.
//!
//! Each function is an oracle: it panics when an invariant breaks, which is
//! what a fuzzer reports. The `fuzz/` targets and the corpus replay test call
//! the same functions.

use alloc::vec::Vec;

use crate::{
    DecodeError, Limits, Mode, Packet, RequestDecoder, RequestFrame, ResponseDecoder,
    ResponseFrame, ResponseHead, Status, Vars, VarsBuilder, VarsReader,
};

/// A normalised request-stream event; consecutive body chunks are merged, so
/// any split of the same input must give the same list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request head: the raw packet bytes and the announced body length.
    Head(Vec<u8>, u64),
    /// A non-request packet's raw bytes.
    Packet(Vec<u8>),
    /// Body bytes.
    Body(Vec<u8>),
    /// End of a request.
    End,
    /// The stream failed.
    Error(DecodeError),
}

fn push(events: &mut Vec<Event>, e: Event) {
    if let (Event::Body(new), Some(Event::Body(last))) = (&e, events.last_mut()) {
        last.extend_from_slice(new);
        return;
    }
    events.push(e);
}

/// The end offsets of the reads that deliver `len` bytes cut at `splits`
/// (any order; out-of-range and duplicate cuts ignored).
fn read_ends(len: usize, splits: &[usize]) -> Vec<usize> {
    let mut ends: Vec<usize> = splits
        .iter()
        .copied()
        .filter(|&c| c > 0 && c < len)
        .collect();
    ends.sort_unstable();
    ends.dedup();
    ends.push(len);
    ends
}

/// Feeds `data` to a [`RequestDecoder`] in pieces cut at `splits` (offsets,
/// any order, out-of-range ignored), as a network read loop would, and
/// returns the normalised events, ending with the EOF check.
pub fn request_events(data: &[u8], splits: &[usize], dec: RequestDecoder) -> Vec<Event> {
    let mut dec = dec;
    let cuts = read_ends(data.len(), splits);
    let mut events = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0usize;
    for cut in cuts {
        buf.extend_from_slice(&data[fed..cut]);
        fed = cut;
        loop {
            let before = buf.len();
            match dec.decode(&buf) {
                Err(e) => {
                    events.push(Event::Error(e));
                    return events;
                }
                Ok(Status::Incomplete { .. }) => break,
                Ok(Status::Complete((frame, used))) => {
                    assert!(used <= before, "decoder used more than it was given");
                    let ev = match frame {
                        RequestFrame::Head(h) => {
                            Event::Head(buf[..used].to_vec(), h.content_length)
                        }
                        RequestFrame::Packet(_) => Event::Packet(buf[..used].to_vec()),
                        RequestFrame::Body(b) => {
                            assert!(!b.is_empty() && b.len() == used);
                            Event::Body(b.to_vec())
                        }
                        RequestFrame::End => Event::End,
                    };
                    push(&mut events, ev);
                    buf.drain(..used);
                }
            }
        }
    }
    if let Err(e) = dec.finish(buf.len()) {
        events.push(Event::Error(e));
    }
    events
}

/// A normalised response-stream event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseEvent {
    /// The head.
    Head(ResponseHead),
    /// Body bytes.
    Body(Vec<u8>),
    /// End of the body.
    End,
    /// The stream failed.
    Error(DecodeError),
}

/// Feeds `data` to a [`ResponseDecoder`] in pieces cut at `splits`, then EOF.
pub fn response_events(data: &[u8], splits: &[usize], dec: ResponseDecoder) -> Vec<ResponseEvent> {
    let mut dec = dec;
    let cuts = read_ends(data.len(), splits);
    let mut events: Vec<ResponseEvent> = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0usize;
    for cut in cuts {
        buf.extend_from_slice(&data[fed..cut]);
        fed = cut;
        loop {
            match dec.decode(&buf) {
                Err(e) => {
                    events.push(ResponseEvent::Error(e));
                    return events;
                }
                Ok(Status::Incomplete { .. }) => break,
                Ok(Status::Complete((frame, used))) => {
                    let ev = match frame {
                        ResponseFrame::Head(h) => ResponseEvent::Head(h),
                        ResponseFrame::Body(b) => ResponseEvent::Body(b.to_vec()),
                        ResponseFrame::End => ResponseEvent::End,
                    };
                    match (&ev, events.last_mut()) {
                        (ResponseEvent::Body(new), Some(ResponseEvent::Body(last))) => {
                            last.extend_from_slice(new)
                        }
                        _ => events.push(ev),
                    }
                    buf.drain(..used);
                }
            }
        }
    }
    match dec.finish(buf.len()) {
        Err(e) => events.push(ResponseEvent::Error(e)),
        Ok(true) => events.push(ResponseEvent::End),
        Ok(false) => {}
    }
    events
}

/// Packet and vars parser oracle: a parsed packet re-encodes to the bytes it
/// used; a strictly valid vars block re-encodes to itself through the builder
/// and is accepted identically by compat mode; the lazy reader agrees with the
/// validating parser; nothing panics.
pub fn packet(data: &[u8]) {
    let limits = Limits::default();
    if let Ok(Status::Complete((p, used))) = Packet::parse(data, &limits) {
        assert!(used <= data.len());
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(out, &data[..used]);
        assert_eq!(p.encoded_len(), used);
    }
    // The whole input as a vars block, both modes.
    let strict = Vars::parse(data, &Limits::default().max_vars(usize::MAX), Mode::Strict);
    let lazy: Result<Vec<_>, _> = VarsReader::new(data, Mode::Strict).collect();
    match (&strict, &lazy) {
        (Ok(v), Ok(l)) => assert_eq!(v.iter().collect::<Vec<_>>(), *l),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("validating parser and lazy reader disagree"),
    }
    if let Ok(v) = strict {
        let mut b = VarsBuilder::new();
        b.vars(v.iter());
        let owned = b.finish().expect("a parsed block re-encodes");
        assert_eq!(owned.bytes().as_ref(), data);
        let compat = Vars::parse(data, &Limits::default().max_vars(usize::MAX), Mode::Compat)
            .expect("compat accepts strict");
        assert!(compat.iter().eq(v.iter()));
    } else if let Ok(c) = Vars::parse(data, &Limits::default().max_vars(usize::MAX), Mode::Compat) {
        // Compat output is still well-formed pairs.
        let mut b = VarsBuilder::new();
        b.vars(c.iter());
        let _ = b.finish();
    }
    let _ = crate::parse_content_length(data, Mode::Strict);
    let _ = crate::parse_content_length(data, Mode::Compat);
    let _ = crate::special::parse_array(data);
}

/// Stream oracle: the first two bytes choose split points; the request and
/// response decoders must give the same events for the whole input, for the
/// split input and for a byte-by-byte feed (short inputs only).
pub fn stream(data: &[u8]) {
    let (seed, rest) = match data {
        [a, b, rest @ ..] => (usize::from(*a) | (usize::from(*b) << 8), rest),
        _ => return,
    };
    let mut splits = Vec::new();
    let mut x = seed.max(1);
    while splits.len() < 8 {
        splits.push(x % (rest.len() + 1));
        x = x.wrapping_mul(31).wrapping_add(7) % 65_521;
    }
    for mode in [Mode::Strict, Mode::Compat] {
        let mk = || {
            RequestDecoder::with_limits(Limits::default().max_vars(64))
                .mode(mode)
                .pipelining(seed & 1 == 1)
        };
        let whole = request_events(rest, &[], mk());
        assert_eq!(request_events(rest, &splits, mk()), whole);
        if rest.len() <= 512 {
            let every: Vec<usize> = (1..rest.len()).collect();
            assert_eq!(request_events(rest, &every, mk()), whole);
        }
    }
    let whole = response_events(rest, &[], ResponseDecoder::new().max_head_len(4096));
    assert_eq!(
        response_events(rest, &splits, ResponseDecoder::new().max_head_len(4096)),
        whole
    );
}
