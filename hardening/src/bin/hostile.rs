//! hostile: pushes adversarial byte streams through every decoder and
//! connection state machine of the workspace and checks the promise of the
//! crates as figures.
//!
//! Every scenario states how each of its streams must end — a typed error
//! (matched on its `Debug` form), a clean close (EOF at a point where the
//! stream may end, or the state machine closing by itself), or either for
//! random input — and the harness fails when a stream ends otherwise, when a
//! scenario panics (`catch_unwind`), when a decoder stops making progress,
//! or when the peak RSS of the process (`VmHWM`) exceeds [`RSS_BOUND`].
//!
//! `HOSTILE_BIG_MIB` (default 1024) sets the size of the large streams;
//! `HOSTILE_ONLY` runs only the scenarios whose name contains it.

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::time::Instant;

use bytes::{Buf, BytesMut};
use fastcgi_proto::codec::{AppCodec, AppOutput, ClientCodec as FcgiClientCodec, ClientInput};
use fastcgi_proto::server::{self, Config};
use fastcgi_proto::{
    ParamsDecoder, ParamsLimits, RecordType, Role, client, codec::RecordCodec, encode_pair,
};
use hardening::{Rng, mib, peak_rss};
use tokio_util::codec::{Decoder, Encoder};
use uwsgi_proto::codec::{ClientCodec, RequestPart, ServerCodec};
use uwsgi_proto::{Limits, Modifier1, RequestDecoder, ResponseDecoder, Status, VarsBuilder};
use wsgi_environ::response::{ResponseOptions, parse_cgi_response, parse_cgi_response_at_eof};
use wsgi_environ::{ParseOptions, environ_to_request};

/// The documented bound on the peak resident set size of the harness.
const RSS_BOUND: u64 = 64 << 20;
const KIB: usize = 1024;
const MIB: u64 = 1 << 20;
/// Largest chunk a generator appends at once.
const GEN_CHUNK: usize = 256 * KIB;
/// Decoder calls without new input after which a stream counts as hung.
const MAX_SPINS: u64 = 50_000_000;
/// Streams per random-bytes scenario.
const RANDOM_STREAMS: u64 = 4096;

/// How a stream ended.
#[derive(Debug)]
enum End {
    /// EOF where the stream may end, or the state machine closed itself.
    Close,
    /// A typed error, in its `Debug` form.
    Error(String),
}

/// How every stream of a scenario must end.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Close,
    /// A typed error whose `Debug` form starts with this.
    Error(&'static str),
    /// Random input: a typed error or a clean close.
    Either,
}

impl Expect {
    fn describe(self) -> String {
        match self {
            Self::Close => "clean close".into(),
            Self::Error(p) => format!("typed error {p}…"),
            Self::Either => "typed error or clean close".into(),
        }
    }
}

/// Figures of one scenario.
struct Tally {
    expect: Expect,
    streams: u64,
    pushed: u64,
    closes: u64,
    errors: u64,
    sample: Option<String>,
    bad: Option<String>,
    max_buffered: usize,
}

impl Tally {
    fn new(expect: Expect) -> Self {
        Self {
            expect,
            streams: 0,
            pushed: 0,
            closes: 0,
            errors: 0,
            sample: None,
            bad: None,
            max_buffered: 0,
        }
    }

    fn end(&mut self, pushed: u64, end: End) {
        self.streams += 1;
        self.pushed += pushed;
        let ok = match (&end, self.expect) {
            (End::Close, Expect::Close | Expect::Either) => true,
            (End::Error(s), Expect::Error(p)) => s.starts_with(p),
            (End::Error(_), Expect::Either) => true,
            _ => false,
        };
        if !ok && self.bad.is_none() {
            self.bad = Some(format!("stream {} ended with {end:?}", self.streams));
        }
        match end {
            End::Close => self.closes += 1,
            End::Error(s) => {
                self.errors += 1;
                if self.sample.is_none() {
                    self.sample = Some(s);
                }
            }
        }
    }

    fn buffered(&mut self, n: usize) {
        self.max_buffered = self.max_buffered.max(n);
    }
}

fn err(e: impl Debug) -> End {
    End::Error(format!("{e:?}"))
}

/// Hands out a generator's bytes `step` at a time, counting them.
struct Feed<G: FnMut(&mut Vec<u8>) -> bool> {
    gen_fn: G,
    pending: Vec<u8>,
    pos: usize,
    step: usize,
    pushed: u64,
    done: bool,
}

impl<G: FnMut(&mut Vec<u8>) -> bool> Feed<G> {
    fn new(step: usize, gen_fn: G) -> Self {
        Self {
            gen_fn,
            pending: Vec::new(),
            pos: 0,
            step,
            pushed: 0,
            done: false,
        }
    }

    fn next_chunk(&mut self) -> Option<&[u8]> {
        while self.pos >= self.pending.len() {
            self.pending.clear();
            self.pos = 0;
            if self.done || !(self.gen_fn)(&mut self.pending) {
                self.done = true;
                return None;
            }
        }
        let n = self.step.min(self.pending.len() - self.pos);
        let s = &self.pending[self.pos..self.pos + n];
        self.pos += n;
        self.pushed += n as u64;
        Some(s)
    }
}

/// `prefix`, then `unit` repeated until `total` bytes of units, then `suffix`.
fn stream(
    prefix: Vec<u8>,
    unit: Vec<u8>,
    total: u64,
    suffix: Vec<u8>,
) -> impl FnMut(&mut Vec<u8>) -> bool {
    let mut prefix = Some(prefix);
    let mut suffix = Some(suffix);
    let mut left = if unit.is_empty() { 0 } else { total };
    move |out| {
        if let Some(p) = prefix.take() {
            out.extend_from_slice(&p);
            return true;
        }
        if left > 0 {
            while left > 0 && out.len() < GEN_CHUNK {
                let take = unit.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                out.extend_from_slice(&unit[..take]);
                left -= take as u64;
            }
            return true;
        }
        if let Some(s) = suffix.take() {
            out.extend_from_slice(&s);
            return true;
        }
        false
    }
}

fn once(bytes: Vec<u8>) -> impl FnMut(&mut Vec<u8>) -> bool {
    stream(bytes, Vec::new(), 0, Vec::new())
}

/// `total` random bytes.
fn random(seed: u64, total: u64) -> impl FnMut(&mut Vec<u8>) -> bool {
    let mut rng = Rng::new(seed);
    let mut left = total;
    move |out| {
        if left == 0 {
            return false;
        }
        let n = usize::try_from(left).unwrap_or(GEN_CHUNK).min(GEN_CHUNK);
        out.resize(n, 0);
        rng.fill(out);
        left -= n as u64;
        true
    }
}

/// Runs a tokio-util decoder the way `FramedRead` does: decode until `None`,
/// read more, and at EOF call `decode_eof` until `None`.
fn drive_codec<D, G>(
    t: &mut Tally,
    dec: &mut D,
    mut feed: Feed<G>,
    mut on_item: impl FnMut(&mut D, D::Item),
) where
    D: Decoder,
    D::Error: Debug,
    G: FnMut(&mut Vec<u8>) -> bool,
{
    let mut buf = BytesMut::new();
    let end = 'outer: loop {
        let mut spins = 0u64;
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(item)) => on_item(dec, item),
                Ok(None) => break,
                Err(e) => break 'outer err(e),
            }
            spins += 1;
            if spins > MAX_SPINS {
                break 'outer End::Error("harness: decoder makes no progress".into());
            }
        }
        t.buffered(buf.len());
        if let Some(chunk) = feed.next_chunk() {
            buf.extend_from_slice(chunk);
        } else {
            loop {
                match dec.decode_eof(&mut buf) {
                    Ok(Some(item)) => on_item(dec, item),
                    Ok(None) => break 'outer End::Close,
                    Err(e) => break 'outer err(e),
                }
                spins += 1;
                if spins > MAX_SPINS {
                    break 'outer End::Error("harness: decoder makes no progress".into());
                }
            }
        }
    };
    t.end(feed.pushed, end);
}

/// uwsgi sans-IO request decoder over a buffer; EOF → `finish`.
fn drive_request<G: FnMut(&mut Vec<u8>) -> bool>(
    t: &mut Tally,
    mut dec: RequestDecoder,
    mut feed: Feed<G>,
) {
    let mut buf = BytesMut::new();
    let end = 'outer: loop {
        loop {
            match dec.decode(&buf) {
                Ok(Status::Complete((_, used))) => {
                    if used == 0 && buf.is_empty() && dec.is_idle() {
                        break;
                    }
                    buf.advance(used);
                }
                Ok(Status::Incomplete { .. }) => break,
                Err(e) => break 'outer err(e),
            }
        }
        t.buffered(buf.len());
        match feed.next_chunk() {
            Some(chunk) => buf.extend_from_slice(chunk),
            None => {
                break match dec.finish(buf.len()) {
                    Ok(()) => End::Close,
                    Err(e) => err(e),
                };
            }
        }
    };
    t.end(feed.pushed, end);
}

/// uwsgi sans-IO response decoder; EOF → `finish`.
fn drive_response<G: FnMut(&mut Vec<u8>) -> bool>(
    t: &mut Tally,
    mut dec: ResponseDecoder,
    mut feed: Feed<G>,
) {
    let mut buf = BytesMut::new();
    let end = 'outer: loop {
        loop {
            match dec.decode(&buf) {
                Ok(Status::Complete((uwsgi_proto::ResponseFrame::End, _))) => {}
                Ok(Status::Complete((_, used))) => buf.advance(used),
                Ok(Status::Incomplete { .. }) => break,
                Err(e) => break 'outer err(e),
            }
        }
        t.buffered(buf.len());
        match feed.next_chunk() {
            Some(chunk) => buf.extend_from_slice(chunk),
            None => {
                break match dec.finish(buf.len()) {
                    Ok(_) => End::Close,
                    Err(e) => err(e),
                };
            }
        }
    };
    t.end(feed.pushed, end);
}

/// What the application does with events in [`drive_app`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum AppPolicy {
    /// Answer and end a request when its STDIN ends.
    Answer,
    /// Never end a request.
    Ignore,
}

fn app_react(conn: &mut server::Connection, ev: server::Event, policy: AppPolicy) {
    if let (server::Event::StdinEnd { id }, AppPolicy::Answer) = (ev, policy) {
        let _ = conn.stdout(id, b"Status: 204\r\n\r\n");
        let _ = conn.end_request(id, 0);
    }
}

/// FastCGI application-side connection: feed, poll events, drain output.
fn drive_app<G: FnMut(&mut Vec<u8>) -> bool>(
    t: &mut Tally,
    config: Config,
    policy: AppPolicy,
    mut feed: Feed<G>,
) {
    let mut conn = server::Connection::new(config);
    let end = 'outer: loop {
        let Some(chunk) = feed.next_chunk() else {
            break End::Close;
        };
        let mut input = chunk;
        while !input.is_empty() {
            let n = match conn.handle_bytes(input) {
                Ok(n) => n,
                Err(e) => break 'outer err(e),
            };
            input = &input[n..];
            t.buffered(conn.input_buffered() + conn.buffered());
            let mut polled = 0;
            while let Some(ev) = conn.poll_event() {
                polled += 1;
                app_react(&mut conn, ev, policy);
            }
            while conn.poll_transmit().is_some() {}
            assert!(conn.active_requests().count() <= config.max_concurrent_requests);
            if conn.is_closed() {
                break 'outer End::Close;
            }
            if n == 0 && polled == 0 {
                break 'outer End::Error("harness: connection takes no input".into());
            }
        }
    };
    t.end(feed.pushed, end);
}

/// FastCGI web-server-side connection with `ids` begun; EOF → clean close.
fn drive_client<G: FnMut(&mut Vec<u8>) -> bool>(t: &mut Tally, ids: &[u16], mut feed: Feed<G>) {
    let mut conn = client::Connection::new();
    for &id in ids {
        conn.begin(id, Role::RESPONDER, true).expect("begin");
        conn.params(id, [(&b"REQUEST_METHOD"[..], &b"GET"[..])])
            .expect("params");
        conn.stdin_end(id).expect("stdin");
    }
    while conn.poll_transmit().is_some() {}
    let end = loop {
        let Some(chunk) = feed.next_chunk() else {
            break End::Close;
        };
        if let Err(e) = conn.handle_bytes(chunk) {
            break err(e);
        }
        t.buffered(conn.input_buffered());
        while conn.poll_event().is_some() {}
    };
    t.end(feed.pushed, end);
}

fn record(ty: RecordType, id: u16, content: &[u8], padding: u8) -> Vec<u8> {
    let len = u16::try_from(content.len()).expect("record content ≤ 65535");
    let mut h = fastcgi_proto::Header::new(ty, id, len);
    h.padding_len = padding;
    let mut v = h.to_bytes().to_vec();
    v.extend_from_slice(content);
    v.resize(v.len() + usize::from(padding), 0);
    v
}

fn begin(id: u16, keep_conn: bool) -> Vec<u8> {
    let b = fastcgi_proto::BeginRequest::new(Role::RESPONDER, keep_conn).to_bytes();
    record(RecordType::BEGIN_REQUEST, id, &b, 0)
}

/// A complete FastCGI request (keep-conn) with a few params and an empty body.
fn fcgi_request(id: u16) -> Vec<u8> {
    let mut params = Vec::new();
    for (n, v) in [
        ("REQUEST_METHOD", "GET"),
        ("SCRIPT_NAME", "/index.php"),
        ("QUERY_STRING", "a=1&b=2"),
        ("HTTP_HOST", "example.test"),
    ] {
        encode_pair(&mut params, n.as_bytes(), v.as_bytes()).expect("pair");
    }
    let mut v = begin(id, true);
    v.extend(record(RecordType::PARAMS, id, &params, 0));
    v.extend(record(RecordType::PARAMS, id, &[], 0));
    v.extend(record(RecordType::STDIN, id, &[], 0));
    v
}

/// A uwsgi request packet with `vars` and the given CONTENT_LENGTH.
fn uwsgi_request(extra: &[(&str, &str)], content_length: &str) -> Vec<u8> {
    let mut b = VarsBuilder::new();
    b.var("REQUEST_METHOD", "POST")
        .var("PATH_INFO", "/upload")
        .var("SERVER_PROTOCOL", "HTTP/1.1")
        .var("CONTENT_LENGTH", content_length);
    for (k, v) in extra {
        b.var(k, v);
    }
    let p = b.packet(Modifier1::WSGI, 0).expect("packet");
    let mut v = Vec::new();
    p.encode(&mut v);
    v
}

/// Runs `streams` streams of `per_stream` random bytes (seeds 1, 2, …).
fn random_streams(
    t: &mut Tally,
    streams: u64,
    per_stream: u64,
    mut run: impl FnMut(&mut Tally, u64, u64),
) {
    for seed in 1..=streams {
        run(t, seed, per_stream);
    }
}

/// The largest multiple of `unit` bytes not above `total`.
fn whole(total: u64, unit: usize) -> u64 {
    total / unit as u64 * unit as u64
}

/// Whole FastCGI requests for ids 1, 2, … 65535, 1, … until `total` bytes.
fn fcgi_requests(total: u64, make: fn(u16) -> Vec<u8>) -> impl FnMut(&mut Vec<u8>) -> bool {
    let mut id = 0u16;
    let mut left = total;
    move |out| {
        if left == 0 {
            return false;
        }
        while out.len() < GEN_CHUNK && left > 0 {
            id = id.checked_add(1).unwrap_or(1);
            let r = make(id);
            left = left.saturating_sub(r.len() as u64);
            out.extend(r);
        }
        true
    }
}

/// A scenario body: pushes its streams into the tally, given the size of
/// the large streams in MiB.
type Run = Box<dyn Fn(&mut Tally, u64)>;

struct Scenario {
    target: &'static str,
    name: &'static str,
    expect: Expect,
    run: Run,
}

fn scenarios() -> Vec<Scenario> {
    let mut v: Vec<Scenario> = Vec::new();
    let mut add = |target, name, expect, run: Run| {
        v.push(Scenario {
            target,
            name,
            expect,
            run,
        });
    };
    let body_unit = {
        let mut b = vec![0u8; 64 * KIB];
        Rng::new(99).fill(&mut b);
        b
    };

    // ---------------------------------------------------------------- uwsgi, server side
    add(
        "uwsgi ServerCodec",
        "random bytes (64 KiB streams, 1 KiB reads)",
        Expect::Either,
        Box::new(|t, _| {
            random_streams(t, RANDOM_STREAMS, 64 * 1024, |t, seed, n| {
                let mut c = ServerCodec::new();
                drive_codec(t, &mut c, Feed::new(KIB, random(seed, n)), |_, _| {});
            });
        }),
    );
    add(
        "uwsgi RequestDecoder",
        "random bytes (64 KiB streams, 1 KiB reads)",
        Expect::Either,
        Box::new(|t, _| {
            random_streams(t, RANDOM_STREAMS, 64 * 1024, |t, seed, n| {
                drive_request(t, RequestDecoder::new(), Feed::new(KIB, random(seed, n)));
            });
        }),
    );
    add(
        "uwsgi ServerCodec",
        "datasize 65535 over a 4096-byte limit, then endless bytes",
        Expect::Error("Decode(TooLarge { what: Vars, size: 65535, max: 4096 })"),
        Box::new(|t, _| {
            let mut c = ServerCodec::with_limits(Limits::new().max_vars_len(4096));
            let feed = Feed::new(
                64 * KIB,
                stream(vec![0, 0xff, 0xff, 0], vec![0xff; 4096], 64 * MIB, vec![]),
            );
            drive_codec(t, &mut c, feed, |_, _| {});
        }),
    );
    add(
        "uwsgi ServerCodec",
        "maximal datasize, key length 65535 overrunning the block",
        Expect::Error("Decode(LengthOverrun { what: Key, offset: 4 })"),
        Box::new(|t, _| {
            let mut c = ServerCodec::new();
            let feed = Feed::new(
                64 * KIB,
                stream(vec![0, 0xff, 0xff, 0], vec![0xff; 65535], 65535, vec![]),
            );
            drive_codec(t, &mut c, feed, |_, _| {});
        }),
    );
    add(
        "uwsgi ServerCodec",
        "endless vars (13 107 one-byte vars in one block)",
        Expect::Error("Decode(TooManyVars { offset: 2564, max: 512 })"),
        Box::new(|t, _| {
            let mut c = ServerCodec::new();
            let feed = Feed::new(
                4 * KIB,
                stream(
                    vec![0, 0xff, 0xff, 0],
                    b"\x01\x00K\x00\x00".to_vec(),
                    65535,
                    vec![],
                ),
            );
            drive_codec(t, &mut c, feed, |_, _| {});
        }),
    );
    let body_unit1 = body_unit.clone();
    add(
        "uwsgi ServerCodec",
        "huge body: CONTENT_LENGTH 2^64-1, EOF after the big stream",
        Expect::Error("Decode(Truncated { what: Body"),
        Box::new(move |t, big| {
            let mut c = ServerCodec::new();
            let head = uwsgi_request(&[], "18446744073709551615");
            let unit = body_unit1.clone();
            drive_codec(
                t,
                &mut c,
                Feed::new(64 * KIB, stream(head, unit, big * MIB, vec![])),
                |_, _| {},
            );
        }),
    );
    let body_unit2 = body_unit.clone();
    add(
        "uwsgi RequestDecoder",
        "huge body: CONTENT_LENGTH 2^64-1, EOF after the big stream",
        Expect::Error("Truncated { what: Body"),
        Box::new(move |t, big| {
            let head = uwsgi_request(&[], "18446744073709551615");
            let feed = Feed::new(
                64 * KIB,
                stream(head, body_unit2.clone(), big * MIB, vec![]),
            );
            drive_request(t, RequestDecoder::new(), feed);
        }),
    );
    add(
        "uwsgi ServerCodec",
        "slow drip: 60 KiB head and 1 MiB body, 1 byte per read",
        Expect::Close,
        Box::new(|t, _| {
            let long = "v".repeat(60_000);
            let head = uwsgi_request(&[("HTTP_X_LONG", &long)], "1048576");
            let feed = Feed::new(1, stream(head, vec![b'b'; 4096], MIB, vec![]));
            let mut c = ServerCodec::new();
            let mut ended = false;
            drive_codec(t, &mut c, feed, |_, p| ended |= p == RequestPart::End);
            assert!(ended, "request not ended");
        }),
    );
    add(
        "uwsgi ServerCodec",
        "pipelined requests (persistent uwsgi), 30 vars and 1 KiB body each",
        Expect::Close,
        Box::new(|t, big| {
            let vars: Vec<(String, String)> = (0..30)
                .map(|i| (format!("HTTP_X_H{i}"), "x".repeat(40)))
                .collect();
            let refs: Vec<(&str, &str)> =
                vars.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let mut req = uwsgi_request(&refs, "1024");
            req.extend(std::iter::repeat_n(b'q', 1024));
            let dec = RequestDecoder::new().pipelining(true);
            let mut c = ServerCodec::new().decoder(dec);
            let mut heads = 0u64;
            drive_codec(
                t,
                &mut c,
                Feed::new(
                    64 * KIB,
                    stream(vec![], req.clone(), whole(big / 4 * MIB, req.len()), vec![]),
                ),
                |_, p| {
                    heads += u64::from(matches!(p, RequestPart::Head(_)));
                },
            );
            assert!(heads > 1000, "only {heads} requests decoded");
        }),
    );
    add(
        "uwsgi ServerCodec",
        "bytes after a complete request (no pipelining)",
        Expect::Error("Decode(UnexpectedData { what: Body"),
        Box::new(|t, _| {
            let mut req = uwsgi_request(&[], "3");
            req.extend_from_slice(b"abc");
            let feed = Feed::new(4 * KIB, stream(req, vec![0x55; 4096], 16 * MIB, vec![]));
            drive_codec(t, &mut ServerCodec::new(), feed, |_, _| {});
        }),
    );
    add(
        "uwsgi ServerCodec",
        "an HTTP request sent to the uwsgi socket",
        Expect::Error("Decode(LooksLikeHttp"),
        Box::new(|t, _| {
            let feed = Feed::new(
                4 * KIB,
                stream(
                    b"GET / HTTP/1.1\r\n".to_vec(),
                    b"X: y\r\n".to_vec(),
                    MIB,
                    vec![],
                ),
            );
            drive_codec(t, &mut ServerCodec::new(), feed, |_, _| {});
        }),
    );
    add(
        "uwsgi RequestDecoder",
        "EOF inside the vars block",
        Expect::Error("Truncated { what: Vars"),
        Box::new(|t, _| {
            let req = uwsgi_request(&[("HTTP_A", "b")], "0");
            let cut = req[..req.len() - 3].to_vec();
            drive_request(t, RequestDecoder::new(), Feed::new(1, once(cut)));
        }),
    );

    // ---------------------------------------------------------------- uwsgi, client side
    add(
        "uwsgi ClientCodec",
        "random bytes as a response (64 KiB streams)",
        Expect::Either,
        Box::new(|t, _| {
            random_streams(t, RANDOM_STREAMS, 64 * 1024, |t, seed, n| {
                drive_codec(
                    t,
                    &mut ClientCodec::new(),
                    Feed::new(KIB, random(seed, n)),
                    |_, _| {},
                );
            });
        }),
    );
    add(
        "uwsgi ResponseDecoder",
        "random bytes as a response (64 KiB streams)",
        Expect::Either,
        Box::new(|t, _| {
            random_streams(t, RANDOM_STREAMS, 64 * 1024, |t, seed, n| {
                drive_response(t, ResponseDecoder::new(), Feed::new(KIB, random(seed, n)));
            });
        }),
    );
    add(
        "uwsgi ClientCodec",
        "endless header lines",
        Expect::Error("Decode(InvalidResponse { reason: TooManyHeaders })"),
        Box::new(|t, _| {
            let feed = Feed::new(
                4 * KIB,
                stream(
                    b"HTTP/1.1 200 OK\r\n".to_vec(),
                    b"X-A: b\r\n".to_vec(),
                    16 * MIB,
                    vec![],
                ),
            );
            drive_codec(t, &mut ClientCodec::new(), feed, |_, _| {});
        }),
    );
    add(
        "uwsgi ClientCodec",
        "endless first line, no newline",
        Expect::Error("Decode(TooLarge { what: ResponseHead"),
        Box::new(|t, _| {
            let feed = Feed::new(
                4 * KIB,
                stream(
                    b"HTTP/1.1 200 ".to_vec(),
                    b"a".repeat(4096),
                    16 * MIB,
                    vec![],
                ),
            );
            drive_codec(t, &mut ClientCodec::new(), feed, |_, _| {});
        }),
    );
    let unit = body_unit.clone();
    add(
        "uwsgi ClientCodec",
        "huge close-delimited body",
        Expect::Close,
        Box::new(move |t, big| {
            let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
            let feed = Feed::new(64 * KIB, stream(head, unit.clone(), big * MIB, vec![]));
            drive_codec(t, &mut ClientCodec::new(), feed, |_, _| {});
        }),
    );
    let unit = body_unit.clone();
    add(
        "uwsgi ResponseDecoder",
        "Content-Length 2^64-1, EOF after the big stream",
        Expect::Error("Truncated { what: Body"),
        Box::new(move |t, big| {
            let head = b"Status: 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n".to_vec();
            let feed = Feed::new(64 * KIB, stream(head, unit.clone(), big * MIB, vec![]));
            drive_response(t, ResponseDecoder::new(), feed);
        }),
    );
    add(
        "uwsgi ClientCodec",
        "slow drip: 8 KiB head and 256 KiB body, 1 byte per read",
        Expect::Close,
        Box::new(|t, _| {
            let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..90 {
                head.extend_from_slice(format!("X-Header-{i}: {}\r\n", "v".repeat(70)).as_bytes());
            }
            head.extend_from_slice(b"Content-Length: 262144\r\n\r\n");
            let feed = Feed::new(1, stream(head, vec![b'z'; 4096], 256 * 1024, vec![]));
            drive_codec(t, &mut ClientCodec::new(), feed, |_, _| {});
        }),
    );
    add(
        "uwsgi ClientCodec",
        "slow drip: 63 KiB head (just under the limit), 1 byte per read",
        Expect::Close,
        Box::new(|t, _| {
            let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
            for i in 0..99 {
                head.extend_from_slice(
                    format!("X-Header-{i:02}: {}\r\n", "v".repeat(630)).as_bytes(),
                );
            }
            head.extend_from_slice(b"Content-Length: 0\r\n\r\n");
            assert!(head.len() < 64 * 1024, "{}", head.len());
            drive_codec(
                t,
                &mut ClientCodec::new(),
                Feed::new(1, once(head)),
                |_, _| {},
            );
        }),
    );
    add(
        "uwsgi ClientCodec",
        "bytes past Content-Length",
        Expect::Error("Decode(UnexpectedData { what: Body"),
        Box::new(|t, _| {
            let feed = Feed::new(
                4 * KIB,
                stream(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
                    vec![b'!'; 4096],
                    4 * MIB,
                    vec![],
                ),
            );
            drive_codec(t, &mut ClientCodec::new(), feed, |_, _| {});
        }),
    );

    // ---------------------------------------------------------------- FastCGI records
    add(
        "fastcgi RecordCodec",
        "random bytes (64 KiB streams)",
        Expect::Either,
        Box::new(|t, _| {
            random_streams(t, RANDOM_STREAMS, 64 * 1024, |t, seed, n| {
                drive_codec(
                    t,
                    &mut RecordCodec::default(),
                    Feed::new(KIB, random(seed, n)),
                    |_, _| {},
                );
            });
        }),
    );
    let unit = body_unit.clone();
    add(
        "fastcgi RecordCodec",
        "maximal records: content 65535 + padding 255",
        Expect::Close,
        Box::new(move |t, big| {
            let rec = record(RecordType::STDIN, 7, &unit[..0xffff.min(unit.len())], 255);
            let n = whole(big * MIB, rec.len());
            let feed = Feed::new(64 * KIB, stream(vec![], rec, n, vec![]));
            let mut n = 0u64;
            drive_codec(t, &mut RecordCodec::default(), feed, |_, r| {
                n += r.content.len() as u64
            });
            assert!(n > 0);
        }),
    );
    add(
        "fastcgi RecordCodec",
        "END_REQUEST with a 2-byte body",
        Expect::Error("Decode(BodyLength { record_type: END_REQUEST(3), len: 2, expected: 8"),
        Box::new(|t, _| {
            let rec = record(RecordType::END_REQUEST, 1, &[0, 0], 0);
            drive_codec(
                t,
                &mut RecordCodec::default(),
                Feed::new(KIB, once(rec)),
                |_, _| {},
            );
        }),
    );
    add(
        "fastcgi RecordCodec",
        "slow drip of maximal records, 1 byte per read",
        Expect::Close,
        Box::new(|t, _| {
            let rec = record(RecordType::STDOUT, 1, &[b's'; 0xffff], 255);
            let feed = Feed::new(1, stream(vec![], rec, 2 * MIB, vec![]));
            // 2 MiB of whole records is not a record boundary: cut to whole records
            let _ = feed;
            let rec = record(RecordType::STDOUT, 1, &[b's'; 0xffff], 255);
            let whole = (2 * MIB as usize / rec.len()) * rec.len();
            let feed = Feed::new(1, stream(vec![], rec, whole as u64, vec![]));
            drive_codec(t, &mut RecordCodec::default(), feed, |_, _| {});
        }),
    );

    // ---------------------------------------------------------------- FastCGI, application side
    add(
        "fastcgi server::Connection",
        "random bytes (64 KiB streams)",
        Expect::Either,
        Box::new(|t, _| {
            random_streams(t, RANDOM_STREAMS, 64 * 1024, |t, seed, n| {
                drive_app(
                    t,
                    Config::default(),
                    AppPolicy::Answer,
                    Feed::new(KIB, random(seed, n)),
                );
            });
        }),
    );
    add(
        "fastcgi server::Connection",
        "random records: version 1, random type, id, lengths and content",
        Expect::Either,
        Box::new(|t, big| {
            let mut seed = 1000;
            let mut done = 0;
            while done < big / 8 * MIB {
                let mut rng = Rng::new(seed);
                seed += 1;
                let mut left = 4 * MIB;
                let gen_fn = move |out: &mut Vec<u8>| {
                    if left == 0 {
                        return false;
                    }
                    while out.len() < GEN_CHUNK {
                        let ty = RecordType(rng.below(13) as u8);
                        let id = rng.below(4) as u16;
                        let len = match ty {
                            RecordType::BEGIN_REQUEST
                            | RecordType::END_REQUEST
                            | RecordType::UNKNOWN_TYPE => 8,
                            RecordType::ABORT_REQUEST => 0,
                            _ => rng.below(2048) as usize,
                        };
                        let mut content = vec![0u8; len];
                        rng.fill(&mut content);
                        if ty == RecordType::BEGIN_REQUEST {
                            content[0] = 0;
                            content[1] = 1 + rng.below(3) as u8;
                        }
                        out.extend(record(ty, id, &content, rng.below(8) as u8));
                    }
                    left = left.saturating_sub(out.len() as u64);
                    true
                };
                let config = Config {
                    max_concurrent_requests: 4,
                    ..Config::default()
                };
                let feed = Feed::new(16 * KIB, gen_fn);
                let before = t.pushed;
                drive_app(t, config, AppPolicy::Answer, feed);
                done += (t.pushed - before).max(1);
            }
        }),
    );
    let unit = body_unit.clone();
    add(
        "fastcgi server::Connection",
        "records for ids never begun (STDIN, PARAMS, DATA, type 0x20; content 65535, padding 255)",
        Expect::Close,
        Box::new(move |t, big| {
            let mut unit_recs = Vec::new();
            for (i, ty) in [
                RecordType::STDIN,
                RecordType::PARAMS,
                RecordType::DATA,
                RecordType(0x20),
            ]
            .into_iter()
            .enumerate()
            {
                unit_recs.extend(record(ty, 100 + i as u16, &unit[..0xffff], 255));
            }
            unit_recs.extend(record(RecordType::ABORT_REQUEST, 9, &[], 0));
            let feed = Feed::new(64 * KIB, stream(vec![], unit_recs, big * MIB, vec![]));
            drive_app(t, Config::default(), AppPolicy::Answer, feed);
        }),
    );
    add(
        "fastcgi server::Connection",
        "PARAMS pair declaring a 2^31-1 byte value",
        Expect::Error("Params { id: 1, error: PairTooLong { len: 2147483647"),
        Box::new(|t, _| {
            let mut s = begin(1, true);
            s.extend(record(RecordType::PARAMS, 1, b"\x01\xff\xff\xff\xffN", 0));
            let feed = Feed::new(
                KIB,
                stream(
                    s,
                    record(RecordType::PARAMS, 1, &[b'v'; 0xffff], 1),
                    64 * MIB,
                    vec![],
                ),
            );
            drive_app(t, Config::default(), AppPolicy::Answer, feed);
        }),
    );
    add(
        "fastcgi server::Connection",
        "endless PARAMS of large pairs",
        Expect::Error("Params { id: 1, error: ParamsTooLong { limit: 1048576 }"),
        Box::new(|t, _| {
            let mut pair = Vec::new();
            encode_pair(&mut pair, b"HTTP_X", &[b'v'; 60_000]).expect("pair");
            let feed = Feed::new(
                64 * KIB,
                stream(
                    begin(1, true),
                    record(RecordType::PARAMS, 1, &pair, 0),
                    64 * MIB,
                    vec![],
                ),
            );
            drive_app(t, Config::default(), AppPolicy::Answer, feed);
        }),
    );
    add(
        "fastcgi server::Connection",
        "endless PARAMS of tiny pairs",
        Expect::Error("Params { id: 1, error: TooManyPairs { limit: 4096 }"),
        Box::new(|t, _| {
            let feed = Feed::new(
                4 * KIB,
                stream(
                    begin(1, true),
                    record(RecordType::PARAMS, 1, &b"\x01\x00A".repeat(1000), 0),
                    64 * MIB,
                    vec![],
                ),
            );
            drive_app(t, Config::default(), AppPolicy::Answer, feed);
        }),
    );
    add(
        "fastcgi server::Connection",
        "many request ids: 65 535 ids in turn, keep-conn, answered",
        Expect::Close,
        Box::new(|t, big| {
            let feed = Feed::new(64 * KIB, fcgi_requests(big / 8 * MIB, fcgi_request));
            drive_app(t, Config::default(), AppPolicy::Answer, feed);
        }),
    );
    add(
        "fastcgi server::Connection",
        "BEGIN_REQUEST for ids 1..=65535 beyond max_concurrent_requests (8), then id 1 again",
        Expect::Error("RequestActive { id: 1 }"),
        Box::new(|t, _| {
            let config = Config {
                max_concurrent_requests: 8,
                ..Config::default()
            };
            let feed = Feed::new(
                64 * KIB,
                fcgi_requests(16 * (65535 + 1), |id| begin(id, true)),
            );
            drive_app(t, config, AppPolicy::Ignore, feed);
        }),
    );
    let unit = body_unit.clone();
    add(
        "fastcgi server::Connection",
        "huge body: endless maximal STDIN, EOF mid-request",
        Expect::Close,
        Box::new(move |t, big| {
            let mut head = fcgi_request(1);
            head.truncate(head.len() - 8); // without the empty STDIN
            let feed = Feed::new(
                64 * KIB,
                stream(
                    head,
                    record(RecordType::STDIN, 1, &unit[..0xffff], 1),
                    big * MIB,
                    vec![],
                ),
            );
            drive_app(t, Config::default(), AppPolicy::Answer, feed);
        }),
    );
    add(
        "fastcgi server::Connection",
        "slow drip: keep-conn requests with 2 KiB params, 1 byte per read",
        Expect::Close,
        Box::new(|t, _| {
            let mut params = Vec::new();
            for i in 0..40 {
                encode_pair(&mut params, format!("HTTP_X_{i}").as_bytes(), &[b'p'; 40])
                    .expect("pair");
            }
            let mut req = begin(1, true);
            req.extend(record(RecordType::PARAMS, 1, &params, 3));
            req.extend(record(RecordType::PARAMS, 1, &[], 0));
            req.extend(record(RecordType::STDIN, 1, b"body", 4));
            req.extend(record(RecordType::STDIN, 1, &[], 0));
            let whole = (2 * MIB / req.len() as u64) * req.len() as u64;
            drive_app(
                t,
                Config::default(),
                AppPolicy::Answer,
                Feed::new(1, stream(vec![], req, whole, vec![])),
            );
        }),
    );
    add(
        "fastcgi server::Connection",
        "endless ABORT_REQUEST for an active request",
        Expect::Close,
        Box::new(|t, big| {
            let feed = Feed::new(
                64 * KIB,
                stream(
                    fcgi_request(1),
                    record(RecordType::ABORT_REQUEST, 1, &[], 0),
                    big / 16 * MIB,
                    vec![],
                ),
            );
            drive_app(t, Config::default(), AppPolicy::Ignore, feed);
        }),
    );
    add(
        "fastcgi server::Connection",
        "endless GET_VALUES and unknown management records",
        Expect::Close,
        Box::new(|t, big| {
            let mut q = Vec::new();
            for n in [
                "FCGI_MAX_CONNS",
                "FCGI_MAX_REQS",
                "FCGI_MPXS_CONNS",
                "OTHER",
            ] {
                encode_pair(&mut q, n.as_bytes(), b"").expect("pair");
            }
            let mut unit = record(RecordType::GET_VALUES, 0, &q, 0);
            unit.extend(record(RecordType(0x40), 0, &[1; 100], 0));
            let feed = Feed::new(64 * KIB, stream(vec![], unit, big / 16 * MIB, vec![]));
            drive_app(t, Config::default(), AppPolicy::Answer, feed);
        }),
    );
    add(
        "fastcgi server::Connection",
        "BEGIN_REQUEST twice for an active id",
        Expect::Error("RequestActive { id: 5 }"),
        Box::new(|t, _| {
            let mut s = begin(5, true);
            s.extend(begin(5, true));
            drive_app(
                t,
                Config::default(),
                AppPolicy::Answer,
                Feed::new(1, once(s)),
            );
        }),
    );
    let unit = body_unit.clone();
    add(
        "fastcgi AppCodec",
        "huge body: endless maximal STDIN through the codec",
        Expect::Close,
        Box::new(move |t, big| {
            let mut head = fcgi_request(1);
            head.truncate(head.len() - 8);
            let feed = Feed::new(
                64 * KIB,
                stream(
                    head,
                    record(RecordType::STDIN, 1, &unit[..0xffff], 1),
                    big * MIB,
                    vec![],
                ),
            );
            drive_codec(t, &mut AppCodec::new(Config::default()), feed, |_, _| {});
        }),
    );
    add(
        "fastcgi AppCodec",
        "peer keeps sending after the application closed the connection",
        Expect::Close,
        Box::new(|t, big| {
            let mut req = fcgi_request(1);
            req[10] = 0; // BEGIN_REQUEST flags: no KEEP_CONN
            let feed = Feed::new(
                64 * KIB,
                stream(
                    req,
                    record(RecordType::STDIN, 1, &[b'x'; 0xffff], 1),
                    big / 4 * MIB,
                    vec![],
                ),
            );
            let mut out = BytesMut::new();
            drive_codec(t, &mut AppCodec::new(Config::default()), feed, |c, ev| {
                if let server::Event::StdinEnd { id } = ev {
                    c.encode(
                        AppOutput::Stdout(id, "Status: 204\r\n\r\n".into()),
                        &mut out,
                    )
                    .expect("stdout");
                    c.encode(AppOutput::End(id, 0), &mut out).expect("end");
                }
            });
            assert!(
                t.max_buffered < 8 << 20,
                "read buffer grew to {} bytes",
                t.max_buffered
            );
        }),
    );
    add(
        "fastcgi AppCodec",
        "endless GET_VALUES and unknown management records, replies flushed as announced",
        Expect::Close,
        Box::new(|t, big| {
            let mut q = Vec::new();
            for n in ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"] {
                encode_pair(&mut q, n.as_bytes(), b"").expect("pair");
            }
            let mut unit = record(RecordType::GET_VALUES, 0, &q, 0);
            unit.extend(record(RecordType(0x40), 0, &[1; 100], 0));
            let feed = Feed::new(64 * KIB, stream(vec![], unit, big / 8 * MIB, vec![]));
            let mut out = BytesMut::new();
            let mut written = 0u64;
            drive_codec(t, &mut AppCodec::new(Config::default()), feed, |c, ev| {
                if let server::Event::Replied { .. } = ev {
                    c.encode(AppOutput::Flush, &mut out).expect("flush");
                    written += out.len() as u64;
                    out.clear();
                }
            });
            assert!(written > 0, "no reply was flushed");
        }),
    );
    add(
        "fastcgi AppCodec",
        "random bytes (64 KiB streams)",
        Expect::Either,
        Box::new(|t, _| {
            random_streams(t, RANDOM_STREAMS, 64 * 1024, |t, seed, n| {
                drive_codec(
                    t,
                    &mut AppCodec::new(Config::default()),
                    Feed::new(KIB, random(seed, n)),
                    |_, _| {},
                );
            });
        }),
    );

    // ---------------------------------------------------------------- FastCGI, web-server side
    add(
        "fastcgi client::Connection",
        "random bytes (64 KiB streams)",
        Expect::Either,
        Box::new(|t, _| {
            random_streams(t, RANDOM_STREAMS, 64 * 1024, |t, seed, n| {
                drive_client(t, &[1], Feed::new(KIB, random(seed, n)));
            });
        }),
    );
    add(
        "fastcgi client::Connection",
        "STDOUT for an id never begun",
        Expect::Error("UnknownRequest { id: 2, record_type: STDOUT(6) }"),
        Box::new(|t, _| {
            let feed = Feed::new(
                KIB,
                stream(vec![], record(RecordType::STDOUT, 2, b"hi", 6), MIB, vec![]),
            );
            drive_client(t, &[1], feed);
        }),
    );
    let unit = body_unit.clone();
    add(
        "fastcgi client::Connection",
        "endless STDERR (maximal records)",
        Expect::Close,
        Box::new(move |t, big| {
            let feed = Feed::new(
                64 * KIB,
                stream(
                    vec![],
                    record(RecordType::STDERR, 1, &unit[..0xffff], 255),
                    big * MIB,
                    vec![],
                ),
            );
            drive_client(t, &[1], feed);
        }),
    );
    add(
        "fastcgi client::Connection",
        "END_REQUEST with a short body",
        Expect::Error("Decode(BodyLength { record_type: END_REQUEST(3), len: 3, expected: 8"),
        Box::new(|t, _| {
            drive_client(
                t,
                &[1],
                Feed::new(KIB, once(record(RecordType::END_REQUEST, 1, &[0, 0, 0], 0))),
            );
        }),
    );
    add(
        "fastcgi client::Connection",
        "slow drip: STDOUT and END_REQUEST for 256 ids, 1 byte per read",
        Expect::Close,
        Box::new(|t, _| {
            let ids: Vec<u16> = (1..=256).collect();
            let mut s = Vec::new();
            for &id in &ids {
                s.extend(record(RecordType::STDOUT, id, &[b'o'; 2000], 0));
                s.extend(record(RecordType::STDERR, id, b"warn", 4));
                s.extend(record(RecordType::END_REQUEST, id, &[0; 8], 0));
            }
            drive_client(t, &ids, Feed::new(1, once(s)));
        }),
    );
    let unit = body_unit.clone();
    add(
        "fastcgi ClientCodec",
        "huge STDOUT through the codec",
        Expect::Close,
        Box::new(move |t, big| {
            let mut c = FcgiClientCodec::default();
            let mut out = BytesMut::new();
            c.encode(
                ClientInput::Begin {
                    id: 1,
                    role: Role::RESPONDER,
                    keep_conn: true,
                },
                &mut out,
            )
            .expect("begin");
            let feed = Feed::new(
                64 * KIB,
                stream(
                    vec![],
                    record(RecordType::STDOUT, 1, &unit[..0xfff8], 0),
                    big * MIB,
                    vec![],
                ),
            );
            drive_codec(t, &mut c, feed, |_, _| {});
        }),
    );

    // ---------------------------------------------------------------- FastCGI params
    add(
        "fastcgi ParamsDecoder",
        "random pair streams (1 MiB budget)",
        Expect::Either,
        Box::new(|t, _| {
            random_streams(t, RANDOM_STREAMS, 256 * 1024, |t, seed, n| {
                let mut d = ParamsDecoder::new(ParamsLimits::default());
                let mut feed = Feed::new(4 * KIB, random(seed, n));
                let end = loop {
                    match feed.next_chunk() {
                        Some(c) => {
                            if let Err(e) = d.push(c) {
                                break err(e);
                            }
                        }
                        None => break d.finish().map_or_else(err, |_| End::Close),
                    }
                };
                t.end(feed.pushed, end);
            });
        }),
    );

    add(
        "fastcgi ParamsDecoder",
        "maximal params streams: 4096 pairs filling the 1 MiB budget, 1 KiB records",
        Expect::Close,
        Box::new(|t, big| {
            let mut block = Vec::new();
            for i in 0..4096 {
                encode_pair(
                    &mut block,
                    format!("HTTP_X_{i:04}").as_bytes(),
                    &[b'v'; 240],
                )
                .expect("pair");
            }
            assert!(block.len() <= 1 << 20);
            let mut done = 0;
            while done < big * MIB {
                let mut d = ParamsDecoder::new(ParamsLimits::default());
                let mut feed = Feed::new(KIB, once(block.clone()));
                let end = loop {
                    match feed.next_chunk() {
                        Some(c) => {
                            if let Err(e) = d.push(c) {
                                break err(e);
                            }
                        }
                        None => {
                            break d.finish().map_or_else(err, |p| {
                                assert_eq!(p.len(), 4096);
                                End::Close
                            });
                        }
                    }
                };
                done += feed.pushed;
                t.end(feed.pushed, end);
            }
        }),
    );

    // ---------------------------------------------------------------- environ and CGI responses
    add(
        "wsgi-environ environ_to_request",
        "endless vars",
        Expect::Error("TooManyVars { max: 1000 }"),
        Box::new(|t, _| {
            let names: Vec<Vec<u8>> = (0..2000)
                .map(|i| format!("HTTP_X_{i}").into_bytes())
                .collect();
            let value = vec![b'v'; 100];
            let mut pushed = 0u64;
            let vars = names.iter().map(|n| {
                pushed += (n.len() + value.len()) as u64;
                (n.as_slice(), value.as_slice())
            });
            let end =
                environ_to_request(vars, &ParseOptions::default()).map_or_else(err, |_| End::Close);
            t.end(pushed, end);
        }),
    );
    add(
        "wsgi-environ environ_to_request",
        "random vars (names and values of random bytes)",
        Expect::Either,
        Box::new(|t, big| {
            let mut rng = Rng::new(4242);
            let mut done = 0;
            while done < big / 16 * MIB {
                let n = 1 + rng.below(64) as usize;
                let mut vars: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(n);
                let mut size = 0;
                for _ in 0..n {
                    let mut k = vec![0u8; 1 + rng.below(24) as usize];
                    let mut v = vec![0u8; rng.below(2048) as usize];
                    rng.fill(&mut k);
                    rng.fill(&mut v);
                    if rng.below(2) == 0 {
                        let names: [&[u8]; 5] = [
                            b"REQUEST_METHOD",
                            b"PATH_INFO",
                            b"HTTP_HOST",
                            b"CONTENT_LENGTH",
                            b"REQUEST_URI",
                        ];
                        k = names[rng.below(5) as usize].to_vec();
                    }
                    size += k.len() + v.len();
                    vars.push((k, v));
                }
                let end = environ_to_request(
                    vars.iter().map(|(k, v)| (k.as_slice(), v.as_slice())),
                    &ParseOptions::default(),
                )
                .map_or_else(err, |_| End::Close);
                t.end(size as u64, end);
                done += size as u64;
            }
        }),
    );
    add(
        "wsgi-environ environ_to_request",
        "vars of maximal uwsgi blocks (503 vars, 64 KiB) from the decoder",
        Expect::Close,
        Box::new(|t, big| {
            let mut b = VarsBuilder::new();
            b.var("REQUEST_METHOD", "GET")
                .var("PATH_INFO", "/")
                .var("HTTP_HOST", "h.test");
            for i in 0..500 {
                b.var(format!("HTTP_X_{i:03}"), "x".repeat(110));
            }
            let mut wire = Vec::new();
            b.packet(Modifier1::WSGI, 0)
                .expect("packet")
                .encode(&mut wire);
            let mut done = 0;
            while done < big * MIB {
                let Ok(Status::Complete((uwsgi_proto::RequestFrame::Head(h), _))) =
                    RequestDecoder::new().decode(&wire)
                else {
                    panic!("maximal block rejected");
                };
                let end = environ_to_request(h.vars.iter(), &ParseOptions::default())
                    .map_or_else(err, |_| End::Close);
                t.end(wire.len() as u64, end);
                done += wire.len() as u64;
            }
        }),
    );
    let cgi = |buf: &[u8], eof: bool| -> Option<End> {
        let opts = ResponseOptions::default();
        if eof {
            return Some(parse_cgi_response_at_eof(buf, &opts).map_or_else(err, |_| End::Close));
        }
        match parse_cgi_response(buf, &opts) {
            Ok(wsgi_environ::Status::Complete(_)) => Some(End::Close),
            Ok(wsgi_environ::Status::Incomplete) => None,
            Err(e) => Some(err(e)),
        }
    };
    /// Feeds a CGI response head parser until it decides.
    fn drive_cgi<G: FnMut(&mut Vec<u8>) -> bool>(
        t: &mut Tally,
        mut feed: Feed<G>,
        cgi: &dyn Fn(&[u8], bool) -> Option<End>,
    ) {
        let mut buf = Vec::new();
        let end = loop {
            match feed.next_chunk() {
                Some(c) => buf.extend_from_slice(c),
                None => break cgi(&buf, true).expect("eof decides"),
            }
            t.buffered(buf.len());
            if let Some(e) = cgi(&buf, false) {
                break e;
            }
        };
        t.end(feed.pushed, end);
    }
    add(
        "wsgi-environ parse_cgi_response",
        "endless header lines (repeated streams)",
        Expect::Error("TooManyHeaders { max: 100 }"),
        Box::new(move |t, big| {
            let mut done = 0;
            while done < big / 16 * MIB {
                let before = t.pushed;
                drive_cgi(
                    t,
                    Feed::new(
                        4 * KIB,
                        stream(
                            b"Status: 200\n".to_vec(),
                            b"X-A: b\r\n".to_vec(),
                            64 * MIB,
                            vec![],
                        ),
                    ),
                    &cgi,
                );
                done += t.pushed - before;
            }
        }),
    );
    add(
        "wsgi-environ parse_cgi_response",
        "endless line without a newline (repeated streams)",
        Expect::Error("HeadTooLarge { max: 32768 }"),
        Box::new(move |t, big| {
            let mut done = 0;
            while done < big * MIB {
                let before = t.pushed;
                drive_cgi(
                    t,
                    Feed::new(
                        4 * KIB,
                        stream(
                            b"Status: 200 ".to_vec(),
                            b"a".repeat(4096),
                            64 * MIB,
                            vec![],
                        ),
                    ),
                    &cgi,
                );
                done += t.pushed - before;
            }
        }),
    );
    add(
        "wsgi-environ parse_cgi_response",
        "slow drip: 8 KiB head, 1 byte per read",
        Expect::Close,
        Box::new(move |t, _| {
            let mut head = b"Status: 404 Not Found\r\nContent-Type: text/html\r\n".to_vec();
            for i in 0..90 {
                head.extend_from_slice(format!("X-H{i}: {}\r\n", "v".repeat(80)).as_bytes());
            }
            head.extend_from_slice(b"\r\nbody");
            drive_cgi(t, Feed::new(1, once(head)), &cgi);
        }),
    );
    add(
        "wsgi-environ parse_cgi_response",
        "slow drip: 31 KiB head of 100 lines (just under both limits), 1 byte per read",
        Expect::Close,
        Box::new(move |t, _| {
            let mut head = b"Status: 200\r\n".to_vec();
            for i in 0..99 {
                head.extend_from_slice(format!("X-H{i:02}: {}\r\n", "v".repeat(310)).as_bytes());
            }
            head.extend_from_slice(b"\r\n");
            assert!(head.len() < 32 * 1024, "{}", head.len());
            drive_cgi(t, Feed::new(1, once(head)), &cgi);
        }),
    );
    add(
        "wsgi-environ parse_cgi_response",
        "random bytes (8 KiB streams)",
        Expect::Either,
        Box::new(move |t, _| {
            random_streams(t, RANDOM_STREAMS, 8 * 1024, |t, seed, n| {
                drive_cgi(t, Feed::new(KIB, random(seed, n)), &cgi);
            });
        }),
    );
    v
}

fn main() -> ExitCode {
    let big: u64 = std::env::var("HOSTILE_BIG_MIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let only = std::env::var("HOSTILE_ONLY").unwrap_or_default();
    let start = Instant::now();
    let (mut total, mut streams, mut panics, mut failures) = (0u64, 0u64, 0u32, 0u32);
    let mut per_target: Vec<(&'static str, u64)> = Vec::new();
    for s in scenarios()
        .into_iter()
        .filter(|s| s.name.contains(&only) || s.target.contains(&only))
    {
        let t0 = Instant::now();
        let mut t = Tally::new(s.expect);
        let r = catch_unwind(AssertUnwindSafe(|| (s.run)(&mut t, big)));
        let status = match (&r, &t.bad) {
            (Err(_), _) => {
                panics += 1;
                "PANIC"
            }
            (Ok(()), Some(_)) => {
                failures += 1;
                "FAIL"
            }
            (Ok(()), None) if t.streams == 0 => {
                failures += 1;
                "FAIL (no stream ran)"
            }
            (Ok(()), None) => "ok",
        };
        total += t.pushed;
        streams += t.streams;
        match per_target.iter_mut().find(|(n, _)| *n == s.target) {
            Some((_, b)) => *b += t.pushed,
            None => per_target.push((s.target, t.pushed)),
        }
        println!(
            "[{status}] {}: {}\n      {} pushed in {} stream(s), {:.1}s; expected {}; got {} error(s), {} close(s){}{}; max buffered {} B; peak RSS {}",
            s.target,
            s.name,
            mib(t.pushed),
            t.streams,
            t0.elapsed().as_secs_f64(),
            s.expect.describe(),
            t.errors,
            t.closes,
            t.sample
                .as_deref()
                .map(|e| format!(", e.g. {e}"))
                .unwrap_or_default(),
            t.bad
                .as_deref()
                .map(|b| format!("; UNEXPECTED: {b}"))
                .unwrap_or_default(),
            t.max_buffered,
            mib(peak_rss()),
        );
    }
    println!("per state machine:");
    for (target, bytes) in &per_target {
        println!(
            "  {target:<34} {:>8.2} GiB",
            *bytes as f64 / (1u64 << 30) as f64
        );
    }
    let peak = peak_rss();
    println!(
        "hostile: {:.2} GiB pushed in {streams} streams, peak RSS {} (bound {}), {panics} panics, {failures} failures, {:.0}s",
        total as f64 / (1u64 << 30) as f64,
        mib(peak),
        mib(RSS_BOUND),
        start.elapsed().as_secs_f64(),
    );
    if panics > 0 || failures > 0 || peak > RSS_BOUND {
        if peak > RSS_BOUND {
            println!("hostile: FAILED: peak RSS over the bound");
        }
        println!("hostile: FAILED");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
