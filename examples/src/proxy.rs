//! One request to a uwsgi or FastCGI backend with streaming bodies both
//! ways ([`exchange`]), and the HTTP → backend gateway built on it
//! ([`Gateway`]).
//!
//! The request body is written by its own task on the write half of the
//! connection while the response is read from the read half, so a backend
//! that answers before it has read the whole body cannot deadlock the
//! exchange (for FastCGI, the empty STDIN record that ends the body is
//! written by the reading side once that task is done). The response body
//! is handed out chunk by chunk as it arrives; nothing is buffered whole.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Body, Frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::net::{Backend, Protocol, ReadHalf, Stream, WriteHalf, describe_io};

/// A boxed error, as carried by bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A streamed response (or request) body.
pub type BoxBody = UnsyncBoxBody<Bytes, BoxError>;

/// Why an exchange failed before a response head was read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The backend could not be reached.
    Connect(io::Error),
    /// The connection failed (reset, closed) while the head was awaited.
    Io(io::Error),
    /// The backend's reply was malformed (the message names the offset),
    /// or the request could not be encoded.
    Protocol(String),
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connect: {}", describe_io(e)),
            Self::Io(e) => f.write_str(&describe_io(e)),
            Self::Protocol(m) => write!(f, "malformed reply: {m}"),
        }
    }
}

impl std::error::Error for ExchangeError {}

/// Something the backend reported besides the response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// FastCGI STDERR bytes.
    Stderr(Bytes),
    /// FastCGI END_REQUEST.
    End {
        /// The application status.
        app_status: u32,
        /// The protocol status.
        protocol_status: fastcgi_proto::ProtocolStatus,
    },
}

/// Receives [`Note`]s while the response streams.
pub type NoteSink = Arc<dyn Fn(Note) + Send + Sync>;

/// Options of one [`exchange`].
#[derive(Clone)]
pub struct ExchangeOptions {
    /// The request is `HEAD`: the response has no body.
    pub head_request: bool,
    /// Where FastCGI stderr and END_REQUEST go.
    pub notes: Option<NoteSink>,
    /// Longest wait for the next piece of the response body (nginx
    /// `uwsgi_read_timeout` / `fastcgi_read_timeout`); the body fails after
    /// it. `None`: no limit.
    pub read_timeout: Option<Duration>,
}

/// `fut`, failing with a timeout error after `limit`.
async fn within<T>(limit: Option<Duration>, fut: impl Future<Output = T>) -> Result<T, BoxError> {
    match limit {
        None => Ok(fut.await),
        Some(d) => tokio::time::timeout(d, fut)
            .await
            .map_err(|_| BoxError::from(format!("no response data within {}s", d.as_secs_f64()))),
    }
}

impl fmt::Debug for ExchangeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeOptions")
            .field("head_request", &self.head_request)
            .field("notes", &self.notes.is_some())
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

fn header_map(pairs: &[(Vec<u8>, Vec<u8>)]) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (n, v) in pairs {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(n), HeaderValue::from_bytes(v)) {
            map.append(n, v);
        }
    }
    map
}

/// Drops the hop-by-hop fields a backend must not decide for the client
/// connection.
fn strip_hop_by_hop(map: &mut HeaderMap) {
    for n in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        map.remove(n);
    }
}

/// Sends one request to `backend` over `stream`: `vars` as the uwsgi vars
/// block or FastCGI params, then `body`, streamed. Returns once the response
/// head has arrived; the response body streams from the connection.
pub async fn exchange<B>(
    protocol: Protocol,
    stream: Stream,
    vars: Vec<(Vec<u8>, Vec<u8>)>,
    body: B,
    opts: ExchangeOptions,
) -> Result<Response<BoxBody>, ExchangeError>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let pairs = vars.iter().map(|(k, v)| (&k[..], &v[..]));
    exchange_pairs(protocol, stream, pairs, body, opts).await
}

/// [`exchange`] with the vars as borrowed pairs (an environ's `iter()`),
/// encoded before anything is sent.
async fn exchange_pairs<'a, I, B>(
    protocol: Protocol,
    stream: Stream,
    pairs: I,
    body: B,
    opts: ExchangeOptions,
) -> Result<Response<BoxBody>, ExchangeError>
where
    I: Iterator<Item = (&'a [u8], &'a [u8])> + Clone,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    match protocol {
        Protocol::Uwsgi => {
            let head = uwsgi_head(pairs)?;
            uwsgi_exchange(stream, head, body, opts).await
        }
        Protocol::Fastcgi => {
            let bodiless = body.is_end_stream();
            let first = fastcgi_request(pairs, false, bodiless)?;
            fastcgi_exchange(stream, first, bodiless, body, opts).await
        }
    }
}

/// The uwsgi request packet head (header and vars block) for `pairs`.
fn uwsgi_head<'a>(
    pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<uwsgi_proto::OwnedRequestHead, ExchangeError> {
    let mut b = uwsgi_proto::VarsBuilder::new();
    for (k, v) in pairs {
        b.var(k, v);
    }
    b.packet(uwsgi_proto::Modifier1::WSGI, 0)
        .map_err(|e| ExchangeError::Protocol(format!("request vars: {e}")))
        .and_then(|p| {
            uwsgi_proto::OwnedRequestHead::from_packet(p)
                .map_err(|e| ExchangeError::Protocol(format!("request vars: {e}")))
        })
}

async fn uwsgi_exchange<B>(
    stream: Stream,
    head: uwsgi_proto::OwnedRequestHead,
    body: B,
    opts: ExchangeOptions,
) -> Result<Response<BoxBody>, ExchangeError>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    use tokio_util::codec::Encoder;
    use uwsgi_proto::codec::{ClientCodec, RequestPart, ResponsePart};
    let (r, mut w) = stream.into_split();
    // The write half stays open (no half-close) until the response is read.
    let guard = if body.is_end_stream() {
        // No body: the head goes out here, without a task.
        let mut wire = BytesMut::new();
        let mut codec = ClientCodec::new();
        codec
            .encode(RequestPart::Head(head), &mut wire)
            .and_then(|()| codec.encode(RequestPart::End, &mut wire))
            .map_err(|e| ExchangeError::Protocol(format!("request: {e}")))?;
        w.write_all(&wire).await.map_err(ExchangeError::Io)?;
        KeepOpen {
            _task: None,
            half: Some(w),
        }
    } else {
        let (guard, released) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut out = FramedWrite::new(w, ClientCodec::new());
            if out.send(RequestPart::Head(head)).await.is_err() {
                return;
            }
            let mut body = std::pin::pin!(body.map_err(Into::<BoxError>::into));
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else { return };
                if let Ok(data) = frame.into_data() {
                    if !data.is_empty() && out.send(RequestPart::Body(data)).await.is_err() {
                        return;
                    }
                }
            }
            if out.send(RequestPart::End).await.is_err() {
                return;
            }
            let _ = released.await;
            out.into_inner().forget();
        });
        KeepOpen {
            _task: Some(guard),
            half: None,
        }
    };
    let codec = ClientCodec::new()
        .decoder(uwsgi_proto::ResponseDecoder::new().head_request(opts.head_request));
    let mut input = FramedRead::with_capacity(r, codec, 16 * 1024);
    let head = match input.next().await {
        Some(Ok(ResponsePart::Head(h))) => h,
        Some(Ok(_)) => return Err(ExchangeError::Protocol("no response head".into())),
        Some(Err(uwsgi_proto::codec::CodecError::Io(e))) => return Err(ExchangeError::Io(e)),
        Some(Err(e)) => {
            let msg = e.to_string();
            // Head errors are about the bytes from offset 0 on.
            let msg = if msg.contains("offset") {
                msg
            } else {
                format!("{msg} (response head at offset 0)")
            };
            return Err(ExchangeError::Protocol(msg));
        }
        None => {
            return Err(ExchangeError::Protocol(
                "connection closed at offset 0 before a response head".into(),
            ));
        }
    };
    let status = StatusCode::from_u16(head.status)
        .map_err(|_| ExchangeError::Protocol(format!("status {} out of range", head.status)))?;
    let mut headers = header_map(&head.headers);
    strip_hop_by_hop(&mut headers);
    let limit = opts.read_timeout;
    let frames = futures_util::stream::unfold(Some((input, guard)), move |state| async move {
        let (mut input, guard) = state?;
        loop {
            let next = match within(limit, input.next()).await {
                Ok(next) => next,
                Err(e) => return Some((Err(e), None)),
            };
            return match next {
                Some(Ok(ResponsePart::Body(b))) => Some((Ok(Frame::data(b)), Some((input, guard)))),
                Some(Ok(ResponsePart::End)) | None => None,
                Some(Ok(_)) => continue,
                Some(Err(e)) => Some((Err(BoxError::from(e)), None)),
            };
        }
    });
    let mut resp = Response::new(StreamBody::new(frames).boxed_unsync());
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    Ok(resp)
}

/// What keeps a uwsgi request's write half open while its response is read.
struct KeepOpen {
    /// The task writing the body waits for this to be dropped.
    _task: Option<oneshot::Sender<()>>,
    /// The half itself (no body); dropped without a half-close.
    half: Option<WriteHalf>,
}

impl Drop for KeepOpen {
    fn drop(&mut self) {
        if let Some(w) = self.half.take() {
            w.forget();
        }
    }
}

/// The read side of a FastCGI exchange: records in, events out; once
/// END_REQUEST is in, the connection goes back to `pool` if it can.
struct FcgiReader {
    rd: ReadHalf,
    writer: Writer,
    pool: Option<Arc<Pool>>,
    conn: fastcgi_proto::client::Connection,
    /// Events parsed from what has been read, not yet handed out.
    pending: VecDeque<fastcgi_proto::client::Event>,
    buf: BytesMut,
    read: u64,
    ended: bool,
}

/// The write half of a FastCGI exchange: the task streaming the body
/// (its output is the write half once every body byte is written), then,
/// once the reader has written the end of STDIN after it, held. The reader
/// writes that last record itself so that, when END_REQUEST arrives, it
/// knows for certain whether the backend had the whole request.
enum Writer {
    Held(WriteHalf),
    Task(AbortOnDrop),
    /// The body could not be sent: the task ended and closed its half.
    Failed,
}

/// An empty STDIN record of request 1: the end of the body.
const STDIN_END: &[u8] = b"\x01\x05\x00\x01\x00\x00\x00\x00";

/// Ends the body-writing task when the exchange is dropped, so a backend
/// that stops reading cannot hold it.
struct AbortOnDrop(tokio::task::JoinHandle<Option<WriteHalf>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl FcgiReader {
    async fn next(&mut self) -> Result<Option<fastcgi_proto::client::Event>, ExchangeError> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                if matches!(e, fastcgi_proto::client::Event::End { .. }) {
                    self.ended = true;
                }
                return Ok(Some(e));
            }
            if self.ended {
                return Ok(None);
            }
            if self.buf.capacity() - self.buf.len() < 4 * 1024 {
                self.buf.reserve(16 * 1024);
            }
            let Self {
                rd, buf, writer, ..
            } = self;
            let n = if let Writer::Task(task) = writer {
                tokio::select! {
                    biased;
                    sent = &mut task.0 => {
                        *writer = match sent {
                            Ok(Some(mut w)) => {
                                w.write_all(STDIN_END).await.map_err(ExchangeError::Io)?;
                                Writer::Held(w)
                            }
                            _ => Writer::Failed,
                        };
                        continue;
                    }
                    n = rd.read_buf(buf) => n,
                }
            } else {
                rd.read_buf(buf).await
            };
            let n = n.map_err(ExchangeError::Io)?;
            if n == 0 {
                return Err(ExchangeError::Protocol(format!(
                    "connection closed at offset {} before END_REQUEST",
                    self.read
                )));
            }
            self.read += n as u64;
            self.conn
                .handle_buf(&mut self.buf)
                .map_err(|e| ExchangeError::Protocol(e.to_string()))?;
            while let Some(e) = self.conn.poll_event() {
                self.pending.push_back(e);
            }
        }
    }

    /// END_REQUEST has been read and no STDOUT comes before it: the body
    /// handed out so far is the whole body.
    fn only_end_left(&self) -> bool {
        use fastcgi_proto::client::Event;
        let mut end = false;
        for e in &self.pending {
            match e {
                Event::Stdout { .. } => return false,
                Event::End { .. } => end = true,
                _ => {}
            }
        }
        end
    }

    /// Hands out what is left when [`Self::only_end_left`] (stderr and
    /// END_REQUEST notes), then releases the connection.
    fn finish(mut self, note: &impl Fn(Note)) {
        use fastcgi_proto::client::Event;
        while let Some(e) = self.pending.pop_front() {
            match e {
                Event::Stderr { data, .. } => note(Note::Stderr(data)),
                Event::End { end, .. } => {
                    self.ended = true;
                    note(Note::End {
                        app_status: end.app_status,
                        protocol_status: end.protocol_status,
                    });
                    break;
                }
                _ => {}
            }
        }
        self.release();
    }

    /// After END_REQUEST: the connection goes back to the pool when the
    /// whole request was written and nothing follows END_REQUEST.
    fn release(mut self) {
        let Some(pool) = self.pool.take() else {
            return;
        };
        if !self.ended
            || !self.buf.is_empty()
            || self.conn.input_buffered() != 0
            || !self.pending.is_empty()
        {
            return;
        }
        // With the body task still running, the backend answered before it
        // had the whole request: closed.
        if let Writer::Held(wr) = self.writer {
            pool.put(self.rd, wr, self.buf);
        }
    }
}

/// Reads the rest of a reply whose body the client already has in full
/// (HEAD, or the announced Content-Length reached) up to END_REQUEST, then
/// keeps the connection; STDOUT past that point is discarded. Any error, a
/// silence longer than `limit` or more than 64 KiB of such STDOUT closes it
/// instead.
async fn drain(
    mut reader: FcgiReader,
    note: impl Fn(Note) + Send + 'static,
    limit: Option<Duration>,
) {
    use fastcgi_proto::client::Event;
    let mut discarded = 0usize;
    loop {
        match within(limit, reader.next()).await {
            Ok(Ok(Some(Event::End { end, .. }))) => {
                note(Note::End {
                    app_status: end.app_status,
                    protocol_status: end.protocol_status,
                });
                reader.release();
                return;
            }
            Ok(Ok(Some(Event::Stderr { data, .. }))) => note(Note::Stderr(data)),
            Ok(Ok(Some(Event::Stdout { data, .. }))) => {
                discarded += data.len();
                if discarded > 64 * 1024 {
                    return;
                }
            }
            Ok(Ok(Some(_))) => {}
            _ => return,
        }
    }
}

/// Idle FastCGI connections kept for reuse (KEEP_CONN), most recently used
/// on top.
struct Pool {
    idle: Mutex<Vec<Idle>>,
    max: usize,
    timeout: Duration,
    /// The task closing expired idle connections is running.
    reaping: AtomicBool,
}

struct Idle {
    rd: ReadHalf,
    wr: WriteHalf,
    /// The connection's read buffer, empty, kept to be reused.
    buf: BytesMut,
    since: Instant,
}

impl Pool {
    fn new(max: usize, timeout: Duration) -> Self {
        Self {
            idle: Mutex::new(Vec::with_capacity(max)),
            max,
            timeout,
            reaping: AtomicBool::new(false),
        }
    }

    /// Closes the idle connections older than the timeout.
    fn expire(&self) {
        let expired: Vec<Idle> = {
            let mut idle = self.lock();
            let n = idle
                .iter()
                .take_while(|i| i.since.elapsed() > self.timeout)
                .count();
            idle.drain(..n).collect()
        };
        drop(expired);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The most recently used idle connection that is younger than the
    /// timeout and still open (a non-blocking read finds neither EOF, an
    /// error nor stray bytes). Closed and expired ones are dropped.
    fn take(&self) -> Option<(ReadHalf, WriteHalf, BytesMut)> {
        loop {
            let mut idle = self.lock();
            let top = idle.pop()?;
            if top.since.elapsed() > self.timeout {
                // Pushed in time order: everything below is older still.
                let expired = std::mem::take(&mut *idle);
                drop(idle);
                drop((top, expired));
                return None;
            }
            drop(idle);
            let mut probe = [0u8; 1];
            let state = match &top.rd {
                ReadHalf::Tcp(r) => r.try_read(&mut probe),
                ReadHalf::Unix(r) => r.try_read(&mut probe),
            };
            if matches!(&state, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                return Some((top.rd, top.wr, top.buf));
            }
        }
    }

    /// Keeps a connection; when full, the oldest one is closed. The first
    /// call starts a task that closes expired idle connections every half
    /// timeout (at least every 100 ms) until the pool is dropped.
    fn put(self: &Arc<Self>, rd: ReadHalf, wr: WriteHalf, buf: BytesMut) {
        if !self.reaping.swap(true, Ordering::Relaxed) {
            let pool = Arc::downgrade(self);
            let every = (self.timeout / 2).max(Duration::from_millis(100));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(pool) = pool.upgrade() else { return };
                    pool.expire();
                }
            });
        }
        let since = Instant::now();
        let mut idle = self.lock();
        let evicted = (idle.len() >= self.max).then(|| idle.remove(0));
        idle.push(Idle { rd, wr, buf, since });
        drop(idle);
        drop(evicted);
    }

    fn idle(&self) -> usize {
        self.lock().len()
    }
}

/// A FastCGI exchange that failed.
struct FcgiFailure {
    error: ExchangeError,
    /// Nothing of the response was received (the write failed, or the
    /// connection was reset or closed before the first byte).
    nothing_received: bool,
}

/// BEGIN_REQUEST (id 1, responder, `keep_conn`) and the params, plus the
/// end of STDIN for a request without a body.
fn fastcgi_request<'a>(
    vars: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone,
    keep_conn: bool,
    bodiless: bool,
) -> Result<Bytes, ExchangeError> {
    use fastcgi_proto::{BeginRequest, RecordLayout, RecordType, Role};
    let proto = |e: fastcgi_proto::EncodeError| ExchangeError::Protocol(e.to_string());
    let pairs = || vars.clone();
    let params_len: usize = pairs().map(|(k, v)| fastcgi_proto::pair_len(k, v)).sum();
    // BEGIN_REQUEST, the params' records (header and padding each), the
    // empty PARAMS, the empty STDIN.
    let mut out = BytesMut::with_capacity(params_len + params_len / 65_528 * 16 + 64);
    let begin = BeginRequest::new(Role::RESPONDER, keep_conn).to_bytes();
    fastcgi_proto::encode_record(&mut out, RecordType::BEGIN_REQUEST, 1, &begin, 8)
        .map_err(proto)?;
    let layout = RecordLayout::default();
    fastcgi_proto::encode_pairs(&mut out, RecordType::PARAMS, 1, pairs(), layout, true)
        .map_err(proto)?;
    if bodiless {
        out.extend_from_slice(STDIN_END);
    }
    Ok(out.freeze())
}

async fn fastcgi_exchange<B>(
    stream: Stream,
    first: Bytes,
    bodiless: bool,
    body: B,
    opts: ExchangeOptions,
) -> Result<Response<BoxBody>, ExchangeError>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (rd, wr) = stream.into_split();
    let body = (!bodiless).then_some(body);
    fastcgi_attempt((rd, wr, BytesMut::new()), first, body, None, &opts)
        .await
        .map_err(|f| f.error)
}

/// One FastCGI request on a connection: `first` (from [`fastcgi_request`]),
/// then `body` (`None`: `first` already ends STDIN). With `pool`, the
/// connection goes back to it after END_REQUEST.
async fn fastcgi_attempt<B>(
    (rd, mut wr, buf): (ReadHalf, WriteHalf, BytesMut),
    first: Bytes,
    body: Option<B>,
    pool: Option<Arc<Pool>>,
    opts: &ExchangeOptions,
) -> Result<Response<BoxBody>, FcgiFailure>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    use fastcgi_proto::Role;
    use fastcgi_proto::client::{Connection, Event};
    let keep_conn = pool.is_some();
    let fail = |error: ExchangeError, nothing_received: bool| FcgiFailure {
        error,
        nothing_received,
    };
    let writer = match body {
        None => {
            if let Err(e) = wr.write_all(&first).await {
                return Err(fail(ExchangeError::Io(e), true));
            }
            Writer::Held(wr)
        }
        Some(body) => {
            let mut wconn = Connection::new();
            let _ = wconn.begin(1, Role::RESPONDER, keep_conn);
            let _ = wconn.poll_transmit();
            Writer::Task(AbortOnDrop(tokio::spawn(async move {
                wr.write_all(&first).await.ok()?;
                let mut body = std::pin::pin!(body.map_err(Into::<BoxError>::into));
                while let Some(frame) = body.frame().await {
                    if let Ok(data) = frame.ok()?.into_data() {
                        wconn.stdin(1, &data).ok()?;
                        if let Some(out) = wconn.poll_transmit() {
                            wr.write_all(&out).await.ok()?;
                        }
                    }
                }
                // The end of STDIN is the reader's to write; the write half
                // stays open (no half-close) until the exchange is over.
                Some(wr)
            })))
        }
    };
    let mut rconn = Connection::new();
    let _ = rconn.begin(1, Role::RESPONDER, keep_conn);
    let _ = rconn.poll_transmit();
    let mut reader = FcgiReader {
        rd,
        writer,
        pool,
        conn: rconn,
        pending: VecDeque::new(),
        buf,
        read: 0,
        ended: false,
    };
    let notes = opts.notes.clone();
    let note = move |n: Note| {
        if let Some(s) = &notes {
            s(n);
        }
    };
    let ropts = wsgi_environ::response::ResponseOptions::default();
    // STDOUT so far while the head is incomplete; a head that comes whole
    // in the first STDOUT record is parsed in place.
    let mut head_buf = BytesMut::new();
    let (cgi, seen) = loop {
        let next = match reader.next().await {
            Ok(next) => next,
            Err(e) => {
                let nothing = reader.read == 0;
                return Err(fail(e, nothing));
            }
        };
        match next {
            Some(Event::Stdout { data, .. }) => {
                let parsed = if head_buf.is_empty() {
                    wsgi_environ::parse_cgi_response(&data, &ropts)
                } else {
                    head_buf.extend_from_slice(&data);
                    wsgi_environ::parse_cgi_response(&head_buf, &ropts)
                };
                match parsed {
                    Ok(wsgi_environ::Status::Complete(r)) if head_buf.is_empty() => {
                        break (r, data);
                    }
                    Ok(wsgi_environ::Status::Complete(r)) => break (r, head_buf.split().freeze()),
                    Ok(_) if head_buf.is_empty() => head_buf.extend_from_slice(&data),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(fail(
                            ExchangeError::Protocol(format!("CGI head: {e}")),
                            false,
                        ));
                    }
                }
            }
            Some(Event::Stderr { data, .. }) => note(Note::Stderr(data)),
            Some(Event::End { end, .. }) => {
                note(Note::End {
                    app_status: end.app_status,
                    protocol_status: end.protocol_status,
                });
                return Err(fail(
                    ExchangeError::Protocol(format!(
                        "END_REQUEST ({:?}, app status {}) before a complete CGI head ({} bytes of STDOUT)",
                        end.protocol_status,
                        end.app_status,
                        head_buf.len()
                    )),
                    false,
                ));
            }
            Some(_) => {}
            None => {
                return Err(fail(ExchangeError::Protocol("no response".into()), false));
            }
        }
    };
    let rest = seen.slice(cgi.body_offset.min(seen.len())..);
    let mut headers = cgi.head.headers;
    strip_hop_by_hop(&mut headers);
    let mut status = cgi.head.status;
    if let wsgi_environ::ResponseKind::LocalRedirect { location } = cgi.kind {
        // A local redirect (`Location: /path` alone) is never followed here:
        // the client is sent there instead.
        if let Ok(v) = HeaderValue::from_bytes(&location) {
            headers.insert(http::header::LOCATION, v);
            status = StatusCode::FOUND;
        }
    }
    // The connection is released before the last piece of the body is
    // handed out: the client side stops polling the body once it has the
    // length the backend announced (Content-Length), or at once for HEAD.
    let limit = opts.read_timeout;
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let complete = |sent: usize| opts.head_request || length == Some(sent as u64);
    if reader.only_end_left() || complete(rest.len()) {
        // The whole body is in (the usual case for short replies): one
        // piece of known length. What is left of the reply is read in the
        // background before the connection is kept.
        if reader.only_end_left() {
            reader.finish(&note);
        } else {
            tokio::spawn(drain(reader, note, limit));
        }
        let mut resp = Response::new(
            Full::new(rest)
                .map_err(|e: Infallible| match e {})
                .boxed_unsync(),
        );
        *resp.status_mut() = status;
        *resp.headers_mut() = headers;
        return Ok(resp);
    }
    let sent = rest.len();
    let state = (reader, (!rest.is_empty()).then_some(rest), note, sent);
    let frames = futures_util::stream::unfold(Some(state), move |state| async move {
        let (mut reader, first, note, mut sent) = state?;
        if let Some(b) = first {
            return Some((Ok(Frame::data(b)), Some((reader, None, note, sent))));
        }
        loop {
            let next = match within(limit, reader.next()).await {
                Ok(next) => next,
                Err(e) => return Some((Err(e), None)),
            };
            return match next {
                Ok(Some(Event::Stdout { data, .. })) => {
                    sent += data.len();
                    if reader.only_end_left() {
                        reader.finish(&note);
                        return Some((Ok(Frame::data(data)), None));
                    }
                    if length == Some(sent as u64) {
                        tokio::spawn(drain(reader, note, limit));
                        return Some((Ok(Frame::data(data)), None));
                    }
                    Some((Ok(Frame::data(data)), Some((reader, None, note, sent))))
                }
                Ok(Some(Event::Stderr { data, .. })) => {
                    note(Note::Stderr(data));
                    continue;
                }
                Ok(Some(Event::End { end, .. })) => {
                    note(Note::End {
                        app_status: end.app_status,
                        protocol_status: end.protocol_status,
                    });
                    // Every byte of the body has been handed out.
                    reader.release();
                    None
                }
                Ok(Some(_)) => continue,
                Ok(None) => None,
                Err(e) => Some((Err(BoxError::from(e)), None)),
            };
        }
    });
    let mut resp = Response::new(StreamBody::new(frames).boxed_unsync());
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    Ok(resp)
}

/// Configuration of a [`Gateway`].
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The backend.
    pub backend: Backend,
    /// `DOCUMENT_ROOT` (and the base of `SCRIPT_FILENAME` for FastCGI).
    pub document_root: Option<String>,
    /// A fixed `SCRIPT_FILENAME` for FastCGI (else document root + script name).
    pub script_filename: Option<String>,
    /// Appended to a FastCGI script name ending in `/` (nginx `fastcgi_index`).
    pub index: String,
    /// `SERVER_NAME` (nginx `server_name`); `None`: the request's host.
    pub server_name: Option<String>,
    /// Time allowed for connecting and receiving the response head (504
    /// after), and between two pieces of the response body (the response is
    /// cut off after).
    pub timeout: Duration,
    /// Largest request body without `Content-Length` (chunked) buffered to
    /// learn its length (413 above).
    pub max_chunked_body: usize,
    /// FastCGI: idle backend connections kept for reuse (requests carry
    /// FCGI_KEEP_CONN; nginx `keepalive` with `fastcgi_keep_conn on`). 0:
    /// no KEEP_CONN, one connection per request. Not used for uwsgi, which
    /// has no keep-alive.
    pub keepalive: usize,
    /// FastCGI: an idle connection older than this is closed instead of
    /// reused (within half this time, at least every 100 ms).
    pub keepalive_timeout: Duration,
}

impl GatewayConfig {
    /// Defaults for `backend`: no document root, index `index.php`, 60 s
    /// timeout, 16 MiB chunked-body limit, up to 64 idle FastCGI
    /// connections kept for 60 s.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            document_root: None,
            script_filename: None,
            index: "index.php".into(),
            server_name: None,
            timeout: Duration::from_secs(60),
            max_chunked_body: 16 * 1024 * 1024,
            keepalive: 64,
            keepalive_timeout: Duration::from_secs(60),
        }
    }
}

/// An HTTP → uwsgi / FastCGI reverse proxy: nginx's `uwsgi_pass` /
/// `fastcgi_pass` with the `uwsgi_params` / `fastcgi_params` presets.
///
/// uwsgi: each request opens its own backend connection.
///
/// FastCGI, with [`GatewayConfig::keepalive`] above 0 (nginx
/// `fastcgi_keep_conn on` + `keepalive`): every request is sent as request
/// id 1 with FCGI_KEEP_CONN, one request per connection at a time, on the
/// most recently used idle connection of a pool shared by all client
/// connections, or on a new one when the pool is empty. The connection goes
/// back to the pool once END_REQUEST has been read, the whole request
/// (body included) was written, nothing follows END_REQUEST in the read
/// buffer and the response body has been handed to the client in full.
/// When the client has the whole body before END_REQUEST arrives (the
/// reply's `Content-Length` reached, or a HEAD request), the rest of the
/// reply is read in the background up to END_REQUEST (STDOUT past that
/// point discarded, at most 64 KiB) and the connection kept after it.
/// Otherwise it is closed: on any error, timeout or malformed reply; when
/// the client goes away before the response body is sent (the backend
/// connection is dropped, not drained); when the backend answered before
/// reading the whole request body. A backend that ignores KEEP_CONN and
/// closes after END_REQUEST works: its closed connection is found and
/// dropped when next taken. When full, the pool closes its oldest
/// connection; idle ones older than [`GatewayConfig::keepalive_timeout`]
/// are never reused, and are closed by a background task within half that
/// time (at least every 100 ms) so that they do not hold backend processes
/// (PHP-FPM, libfcgi: one connection per process) for long.
///
/// Stale connections (the backend closed a kept connection while it was
/// idle, as PHP-FPM and libfcgi may):
/// * before reuse, a non-blocking read checks the connection: EOF, an error
///   or unexpected bytes drop it, and the next idle one (or a new one) is
///   used. Nothing of the request has been sent at that point. (The check
///   sees a close once the runtime has been told of it; a close that races
///   with the reuse is left to the next rule.)
/// * a request without a body (no `Content-Length` and no chunked body, or
///   an empty one) that fails on a reused connection before the first byte
///   of the response arrives (write error, reset, EOF) is sent again, once,
///   on a new connection. A request with a body is never sent twice (its
///   body is streamed from the client and cannot be replayed): such a
///   failure is a 502.
#[derive(Clone)]
pub struct Gateway {
    config: Arc<GatewayConfig>,
    notes: NoteSink,
    pool: Option<Arc<Pool>>,
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.config)
            .field("idle_connections", &self.idle_connections())
            .finish_non_exhaustive()
    }
}

/// Logs FastCGI stderr, one line per chunk.
fn log_stderr(n: Note) {
    if let Note::Stderr(b) = n {
        eprintln!(
            "gateway: backend stderr: {}",
            String::from_utf8_lossy(&b).trim_end()
        );
    }
}

fn plain(status: StatusCode, msg: String) -> Response<BoxBody> {
    let mut r = Response::new(
        Full::new(Bytes::from(msg + "\n"))
            .map_err(|e: Infallible| match e {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

impl Gateway {
    /// A gateway with `config`.
    pub fn new(config: GatewayConfig) -> Self {
        let pool = (config.backend.protocol == Protocol::Fastcgi && config.keepalive > 0)
            .then(|| Arc::new(Pool::new(config.keepalive, config.keepalive_timeout)));
        Self {
            config: Arc::new(config),
            notes: Arc::new(log_stderr),
            pool,
        }
    }

    /// Idle FastCGI connections in the pool now (0 for uwsgi or without
    /// keep-alive).
    pub fn idle_connections(&self) -> usize {
        self.pool.as_ref().map_or(0, |p| p.idle())
    }

    /// A FastCGI request on a pooled connection, retried once on a new
    /// connection when it is bodiless and failed before any response byte
    /// on a reused one (see [`Gateway`]).
    async fn fastcgi_pooled<B>(
        &self,
        pool: &Arc<Pool>,
        vars: &wsgi_environ::Environ,
        body: B,
        opts: &ExchangeOptions,
    ) -> Result<Response<BoxBody>, ExchangeError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let bodiless = body.is_end_stream();
        let first = fastcgi_request(vars.iter(), true, bodiless)?;
        let mut body = (!bodiless).then_some(body);
        if let Some(conn) = pool.take() {
            let attempt =
                fastcgi_attempt(conn, first.clone(), body.take(), Some(pool.clone()), opts);
            match attempt.await {
                Ok(resp) => return Ok(resp),
                Err(f) if bodiless && f.nothing_received => {}
                Err(f) => return Err(f.error),
            }
        }
        let (rd, wr) = self
            .config
            .backend
            .endpoint
            .connect()
            .await
            .map_err(ExchangeError::Connect)?
            .into_split();
        let conn = (rd, wr, BytesMut::new());
        fastcgi_attempt(conn, first, body, Some(pool.clone()), opts)
            .await
            .map_err(|f| f.error)
    }

    /// The environ for a request head: the protocol's nginx preset, then for
    /// FastCGI the index and `SCRIPT_FILENAME`.
    pub fn environ(
        &self,
        parts: &http::request::Parts,
        remote: Option<SocketAddr>,
        local: Option<SocketAddr>,
        body_len: Option<u64>,
    ) -> Result<wsgi_environ::Environ, wsgi_environ::BuildError> {
        use wsgi_environ::{BuildOptions, Connection, Preset, build_environ};
        let c = &self.config;
        let fcgi = c.backend.protocol == Protocol::Fastcgi;
        let conn = Connection {
            remote,
            local,
            document_root: c.document_root.clone().unwrap_or_default().into_bytes(),
            server_name: c.server_name.clone().unwrap_or_default().into_bytes(),
            server_software: b"gateway".to_vec(),
            body_len,
            ..Connection::default()
        };
        let preset = if fcgi {
            Preset::FastcgiParams
        } else {
            Preset::UwsgiParams
        };
        let mut env = build_environ(parts, &conn, &BuildOptions::new(preset))?;
        if fcgi {
            let mut script = env.get(b"SCRIPT_NAME").unwrap_or_default().to_vec();
            if script.ends_with(b"/") && !c.index.is_empty() {
                script.extend_from_slice(c.index.as_bytes());
                env.set(b"SCRIPT_NAME", &script);
            }
            let filename = match &c.script_filename {
                Some(f) => f.clone().into_bytes(),
                None => [conn.document_root.as_slice(), &script].concat(),
            };
            env.set(b"SCRIPT_FILENAME", filename);
        }
        Ok(env)
    }

    /// Serves one request: 400 when no environ can be built (smuggling-prone
    /// framing, bad path), 413 for an over-long chunked body, 502 when the
    /// backend is unreachable or its reply malformed, 504 on timeout.
    pub async fn handle<B>(
        &self,
        req: Request<B>,
        remote: Option<SocketAddr>,
        local: Option<SocketAddr>,
    ) -> Response<BoxBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let c = &self.config;
        let (parts, body) = req.into_parts();
        let (body, body_len) = if parts.headers.contains_key(CONTENT_LENGTH) || body.is_end_stream()
        {
            (body.map_err(Into::into).boxed_unsync(), None)
        } else {
            match Limited::new(body, c.max_chunked_body).collect().await {
                Ok(all) => {
                    let all = all.to_bytes();
                    let n = all.len() as u64;
                    (
                        Full::new(all)
                            .map_err(|e: Infallible| match e {})
                            .boxed_unsync(),
                        Some(n),
                    )
                }
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    return plain(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("request body over {} bytes", c.max_chunked_body),
                    );
                }
                Err(e) => return plain(StatusCode::BAD_REQUEST, format!("request body: {e}")),
            }
        };
        let vars = match self.environ(&parts, remote, local, body_len) {
            Ok(v) => v,
            Err(e) => return plain(StatusCode::BAD_REQUEST, format!("bad request: {e}")),
        };
        let backend = &c.backend;
        let opts = ExchangeOptions {
            head_request: parts.method == http::Method::HEAD,
            notes: Some(self.notes.clone()),
            read_timeout: Some(c.timeout),
        };
        let work = async {
            if let (Protocol::Fastcgi, Some(pool)) = (backend.protocol, &self.pool) {
                return self.fastcgi_pooled(pool, &vars, body, &opts).await;
            }
            let stream = backend
                .endpoint
                .connect()
                .await
                .map_err(ExchangeError::Connect)?;
            exchange_pairs(backend.protocol, stream, vars.iter(), body, opts).await
        };
        match tokio::time::timeout(c.timeout, work).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => {
                eprintln!("gateway: {backend}: {e}");
                plain(
                    StatusCode::BAD_GATEWAY,
                    format!("bad gateway: {backend}: {e}"),
                )
            }
            Err(_) => {
                eprintln!(
                    "gateway: {backend}: no response head within {:?}",
                    c.timeout
                );
                plain(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!("gateway timeout: {backend}"),
                )
            }
        }
    }

    /// Accepts HTTP/1.1 connections on `listener` forever.
    pub async fn serve(self, listener: TcpListener) -> io::Result<()> {
        self.serve_until(listener, std::future::pending()).await
    }

    /// Accepts HTTP/1.1 connections on `listener` until `shutdown`
    /// completes, then stops accepting, lets requests in progress finish
    /// (idle keep-alive connections are closed) and returns, waiting at most
    /// 5 s. A client has 30 s to send a request head.
    pub async fn serve_until(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        self.serve_graceful(listener, shutdown, Duration::from_secs(5))
            .await
    }

    async fn serve_graceful(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> io::Result<()> {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                r = listener.accept() => r,
                () = &mut shutdown => break,
            };
            let (s, remote) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors and the like: back off, keep serving.
                    eprintln!("gateway: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = s.set_nodelay(true);
            let local = s.local_addr().ok();
            let gw = self.clone();
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let gw = gw.clone();
                async move { Ok::<_, Infallible>(gw.handle(req, Some(remote), local).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(hyper_util::rt::TokioIo::new(s), svc);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
        drop(listener);
        let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
        Ok(())
    }
}
