//! hello-server: a minimal uwsgi and FastCGI backend answering every request
//! with `200 text/plain "hello\n"`, for end-to-end benchmarks.
//!
//! Request bodies are read and discarded as they stream in (never buffered
//! whole). FastCGI connections honour KEEP_CONN. A connection that has sent
//! nothing yet holds no read buffer, so idle connections cost little memory.
//!
//! Usage: `hello-server [--uwsgi ADDR] [--fastcgi ADDR] [--uwsgi-unix PATH]
//! [--fastcgi-unix PATH] [--threads N] [--max-conns N]`

use std::future::Future;
use std::io;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use fastcgi_proto::server::{Config, Connection, Event};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UnixListener, UnixStream};
use tokio::sync::Semaphore;
use uwsgi_proto::{HttpVersion, RequestDecoder, RequestFrame, ResponseHead, Status, special};

const HELP: &str = "hello-server: uwsgi and FastCGI backend answering 200 \"hello\\n\"

usage: hello-server [--uwsgi ADDR] [--fastcgi ADDR] [--uwsgi-unix PATH]
                    [--fastcgi-unix PATH] [--threads N] [--max-conns N]

  --uwsgi ADDR         serve uwsgi on this TCP address
  --fastcgi ADDR       serve FastCGI (responder, KEEP_CONN honoured) on this TCP address
  --uwsgi-unix PATH    serve uwsgi on a unix socket
  --fastcgi-unix PATH  serve FastCGI on a unix socket
  --threads N          worker threads (default 1: a current-thread runtime)
  --max-conns N        FastCGI: serve at most N connections at a time (further
                       ones wait in the listen queue until one closes);
                       advertised as FCGI_MAX_CONNS (default: no limit)
  -h, --help           this text

At least one listener is needed. Prints `listening uwsgi://ADDR`,
`listening fcgi://ADDR`, `listening uwsgi+unix://PATH` and
`listening fcgi+unix://PATH` on stdout once each listener is bound.";

/// Read buffer of a connection, allocated once it has something to read.
const READ_BUF: usize = 64 * 1024;
/// How long a closing FastCGI connection drains unread input.
const LINGER: Duration = Duration::from_secs(2);
const BODY: &[u8] = b"hello\n";

#[derive(Default)]
struct Opts {
    uwsgi: Option<String>,
    fcgi: Option<String>,
    uwsgi_unix: Option<String>,
    fcgi_unix: Option<String>,
    threads: usize,
    max_conns: Option<usize>,
}

fn parse() -> Result<Option<Opts>, String> {
    let mut o = Opts {
        threads: 1,
        ..Opts::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |n: &str| args.next().ok_or_else(|| format!("{n} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--uwsgi" => o.uwsgi = Some(val("--uwsgi")?),
            "--fastcgi" => o.fcgi = Some(val("--fastcgi")?),
            "--uwsgi-unix" => o.uwsgi_unix = Some(val("--uwsgi-unix")?),
            "--fastcgi-unix" => o.fcgi_unix = Some(val("--fastcgi-unix")?),
            "--threads" => {
                o.threads = val("--threads")?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--threads needs a positive number")?;
            }
            "--max-conns" => {
                o.max_conns = Some(
                    val("--max-conns")?
                        .parse()
                        .ok()
                        .filter(|&n| n > 0 && n <= Semaphore::MAX_PERMITS)
                        .ok_or("--max-conns needs a positive number")?,
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    if o.uwsgi.is_none() && o.fcgi.is_none() && o.uwsgi_unix.is_none() && o.fcgi_unix.is_none() {
        return Err("no listener given (try --help)".into());
    }
    Ok(Some(o))
}

/// The two canned answers, encoded once by the protocol crates.
#[derive(Clone, Copy)]
struct Replies {
    /// `HTTP/1.1 200 OK` head and body, what a uwsgi backend sends.
    uwsgi: &'static [u8],
    /// `Status: 200 OK` CGI head and body, the STDOUT of a FastCGI request.
    cgi: &'static [u8],
    /// The uwsgi pong packet answering a ping.
    pong: &'static [u8],
    /// What FastCGI GET_VALUES answers for `FCGI_MAX_CONNS`.
    max_conns: usize,
}

/// `FCGI_MAX_CONNS` advertised when no `--max-conns` is given: no limit,
/// said with the largest number a C `int` holds.
const NO_CONN_LIMIT: usize = i32::MAX as usize;

fn replies(max_conns: Option<usize>) -> Result<Replies, String> {
    let head = ResponseHead::new(200, "OK")
        .header("Content-Type", "text/plain")
        .header("Content-Length", BODY.len().to_string());
    let mut uwsgi = Vec::new();
    head.encode(HttpVersion::Http11, &mut uwsgi)
        .map_err(|e| e.to_string())?;
    uwsgi.extend_from_slice(BODY);
    let mut cgi = Vec::new();
    head.encode_cgi(&mut cgi).map_err(|e| e.to_string())?;
    cgi.extend_from_slice(BODY);
    let mut pong = Vec::new();
    special::pong(b"")
        .map_err(|e| e.to_string())?
        .encode(&mut pong);
    Ok(Replies {
        uwsgi: uwsgi.leak(),
        cgi: cgi.leak(),
        pong: pong.leak(),
        max_conns: max_conns.unwrap_or(NO_CONN_LIMIT),
    })
}

/// A byte stream whose first read needs no buffer while the peer is silent.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {
    /// Waits for the first bytes (or EOF) and appends them to `buf`,
    /// allocating it only then; returns how many were read.
    fn read_first(&mut self, buf: &mut BytesMut) -> impl Future<Output = io::Result<usize>> + Send;
}

/// Size of the stack buffer of the first read (not part of an idle task).
const FIRST_READ: usize = 4096;

macro_rules! stream_with_try_read {
    ($t:ty) => {
        impl Stream for $t {
            async fn read_first(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
                loop {
                    self.readable().await?;
                    let mut first = [0u8; FIRST_READ];
                    match self.try_read(&mut first) {
                        Ok(n) => {
                            // A short read (a whole GET, typically) gets a
                            // buffer of its size; a full one, room for more.
                            if n == FIRST_READ {
                                buf.reserve(READ_BUF);
                            }
                            buf.extend_from_slice(first.get(..n).unwrap_or_default());
                            return Ok(n);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    };
}
stream_with_try_read!(TcpStream);
stream_with_try_read!(UnixStream);

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Nothing to answer yet (head or body bytes consumed).
    Next,
    /// The request is complete: answer hello.
    Reply,
    /// A ping: answer pong.
    Pong,
    /// Another kind of packet: close without an answer.
    Close,
}

/// Decodes everything `buf` holds; returns what to do and how many bytes
/// were used (`Step::Next` when more input is needed).
fn uwsgi_steps(dec: &mut RequestDecoder, buf: &[u8]) -> io::Result<(Step, usize)> {
    let mut used = 0;
    while let Status::Complete((frame, n)) = dec
        .decode(buf.get(used..).unwrap_or_default())
        .map_err(invalid)?
    {
        used += n;
        let step = match frame {
            RequestFrame::End => Step::Reply,
            RequestFrame::Packet(p) if special::is_ping(&p) => Step::Pong,
            RequestFrame::Packet(_) => Step::Close,
            _ => Step::Next,
        };
        if step != Step::Next {
            return Ok((step, used));
        }
    }
    Ok((Step::Next, used))
}

/// Serves one uwsgi connection: one request (or ping), then close.
async fn serve_uwsgi<S: Stream>(mut s: S, r: Replies) -> io::Result<()> {
    let mut buf = BytesMut::new();
    let n = s.read_first(&mut buf).await?;
    serve_uwsgi_from(s, r, buf, RequestDecoder::new(), n).await
}

/// Goes on serving a uwsgi connection whose decoder has seen everything
/// before `buf`; `n` is the size of the last read (0: end of input).
async fn serve_uwsgi_from<S: Stream>(
    mut s: S,
    r: Replies,
    mut buf: BytesMut,
    mut dec: RequestDecoder,
    mut n: usize,
) -> io::Result<()> {
    loop {
        if n == 0 {
            return dec.finish(buf.len()).map_err(invalid);
        }
        let (step, used) = uwsgi_steps(&mut dec, &buf)?;
        buf.advance(used);
        match step {
            Step::Next => {}
            Step::Reply | Step::Pong => {
                // The whole request has been read, so dropping the stream
                // closes it with a FIN (no shutdown call needed).
                return s
                    .write_all(if step == Step::Reply { r.uwsgi } else { r.pong })
                    .await;
            }
            Step::Close => return Ok(()),
        }
        if buf.is_empty() {
            // Everything decoded (body bytes discarded): reuse the whole buffer.
            buf.clear();
        }
        n = if n < FIRST_READ && buf.capacity() < READ_BUF {
            // A head arriving in pieces (or a peer gone quiet): wait without
            // growing the buffer; a full first read reserves the big one.
            s.read_first(&mut buf).await?
        } else {
            if buf.capacity() - buf.len() < READ_BUF / 4 {
                buf.reserve(READ_BUF);
            }
            s.read_buf(&mut buf).await?
        };
    }
}

/// The uwsgi TCP listener: deferred accept (uwsgi clients speak first, so it
/// loses nothing), registered for readiness only (see [`accept_uwsgi`]).
/// One request, one answer, then close: Nagle never delays the answer.
fn uwsgi_listener(l: TcpListener) -> io::Result<AsyncFd<socket2::Socket>> {
    sys::defer_accept(&l, DEFER_ACCEPT_SECS)?;
    sys::register(socket2::Socket::from(l.into_std()?))
}

/// Connections the uwsgi listener accepts in a row before other tasks get
/// a turn.
const ACCEPT_BATCH: usize = 64;

/// Accepts uwsgi connections without registering them with the runtime:
/// a request already complete in the socket when it is accepted (the usual
/// case with deferred accept, see [`uwsgi_listener`]) is answered on the spot, with
/// one read and one write; anything else goes on as a task.
async fn accept_uwsgi(l: AsyncFd<socket2::Socket>, r: Replies) {
    loop {
        let mut ready = match l.readable().await {
            Ok(g) => g,
            Err(e) => {
                accept_error(e).await;
                continue;
            }
        };
        let mut drained = false;
        for _ in 0..ACCEPT_BATCH {
            // Non-blocking from the start: no extra call before the read.
            match l
                .get_ref()
                .accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
            {
                Ok((s, _)) => report("uwsgi", answer_now(s.into(), r)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready.clear_ready();
                    drained = true;
                    break;
                }
                Err(e) => {
                    accept_error(e).await;
                    break;
                }
            }
        }
        drop(ready);
        if !drained {
            // A steady stream of connections must not starve the other
            // tasks (FastCGI connections, request bodies still arriving).
            tokio::task::yield_now().await;
        }
    }
}

/// Answers a freshly accepted uwsgi connection if its request is all there,
/// else hands it to a task.
fn answer_now(s: std::net::TcpStream, r: Replies) -> io::Result<()> {
    use std::io::{Read, Write};
    let mut first = [0u8; FIRST_READ];
    let n = match (&s).read(&mut first) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            let s = TcpStream::from_std(s)?;
            tokio::spawn(async move { report("uwsgi", serve_uwsgi(s, r).await) });
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let mut dec = RequestDecoder::new();
    if n == 0 {
        return dec.finish(0).map_err(invalid);
    }
    let got = first.get(..n).unwrap_or_default();
    let (step, used) = uwsgi_steps(&mut dec, got)?;
    let reply = match step {
        Step::Reply => r.uwsgi,
        Step::Pong => r.pong,
        Step::Close => return Ok(()),
        Step::Next => {
            let mut buf = BytesMut::with_capacity(if n == FIRST_READ { READ_BUF } else { n });
            buf.extend_from_slice(got.get(used..).unwrap_or_default());
            let s = TcpStream::from_std(s)?;
            tokio::spawn(async move { report("uwsgi", serve_uwsgi_from(s, r, buf, dec, n).await) });
            return Ok(());
        }
    };
    // The whole request has been read: closing after the answer sends a FIN.
    let sent = match (&s).write(reply) {
        Ok(w) => w,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    if let Some(rest) = reply.get(sent..).filter(|rest| !rest.is_empty()) {
        let mut s = TcpStream::from_std(s)?;
        tokio::spawn(async move { report("uwsgi", s.write_all(rest).await) });
    }
    Ok(())
}

/// Serves one FastCGI connection: any number of requests with KEEP_CONN.
async fn serve_fastcgi<S: Stream>(mut s: S, r: Replies) -> io::Result<()> {
    let stdout = r.cgi;
    let mut buf = BytesMut::new();
    let mut conn = Connection::new(Config {
        max_conns: r.max_conns,
        ..Config::default()
    });
    let mut n = s.read_first(&mut buf).await?;
    loop {
        if n == 0 {
            return Ok(());
        }
        loop {
            // Complete records are taken over without a copy; an incomplete
            // one stays at the end of `buf` for the next read to complete.
            let before = buf.len();
            conn.handle_buf(&mut buf).map_err(invalid)?;
            let mut events = 0;
            while let Some(ev) = conn.poll_event() {
                events += 1;
                match ev {
                    Event::StdinEnd { id } | Event::Abort { id } => {
                        conn.stdout(id, stdout).map_err(invalid)?;
                        conn.end_request(id, 0).map_err(invalid)?;
                    }
                    _ => {}
                }
            }
            if let Some(out) = conn.poll_transmit() {
                s.write_all(&out).await?;
            }
            if conn.is_closed() {
                return linger(s, buf).await;
            }
            if buf.len() == before && events == 0 {
                break;
            }
        }
        n = if buf.is_empty() {
            // Between requests of a kept connection: wait without a buffer,
            // so idle kept connections hold no read memory.
            buf = BytesMut::new();
            s.read_first(&mut buf).await?
        } else {
            if buf.capacity() - buf.len() < READ_BUF / 4 {
                // The records handed out are dropped by now, so this takes the
                // same memory back (moving the incomplete tail to its start).
                buf.reserve(READ_BUF);
            }
            s.read_buf(&mut buf).await?
        };
    }
}

/// Accepts FastCGI connections while a permit is free; each connection
/// holds its permit until it ends.
async fn accept_fastcgi(l: TcpListener, r: Replies, permits: Arc<Semaphore>) {
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        match l.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                tokio::spawn(async move {
                    report("fastcgi", serve_fastcgi(s, r).await);
                    drop(permit);
                });
            }
            Err(e) => accept_error(e).await,
        }
    }
}

/// Closes after the last answer without resetting a peer still sending:
/// shut the write half, then read and drop input until EOF or [`LINGER`].
async fn linger<S: Stream>(mut s: S, mut buf: BytesMut) -> io::Result<()> {
    s.shutdown().await?;
    let drain = async {
        buf.clear();
        while s.read_buf(&mut buf).await? > 0 {
            buf.clear();
        }
        Ok::<(), io::Error>(())
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
    Ok(())
}

fn report(what: &str, r: io::Result<()>) {
    if let Err(e) = r {
        // Peers hanging up early are routine under load; anything else is worth a line.
        if !matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ) {
            eprintln!("hello-server: {what}: {e}");
        }
    }
}

async fn accept_error(e: io::Error) {
    // Out of descriptors or a transient error: keep the listener alive.
    eprintln!("hello-server: accept: {e}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// How long the kernel holds a connection that has sent nothing before
/// handing it to `accept` anyway.
const DEFER_ACCEPT_SECS: libc::c_int = 4;

/// Listen queue of the TCP listeners: room for a burst of a thousand
/// connections from the front server.
const BACKLOG: u32 = 4096;

/// A TCP listener on `addr` (SO_REUSEADDR, [`BACKLOG`]).
fn listen(addr: &str) -> io::Result<TcpListener> {
    use std::net::ToSocketAddrs;
    let sa = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
    let sock = if sa.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(sa)?;
    sock.listen(BACKLOG)
}

/// The two calls this server makes that std (stable), tokio and socket2 offer
/// no safe wrapper for. Both act on a descriptor the caller owns and keeps
/// open; the gain is measured in BENCHMARKS.md (uwsgi behind nginx).
#[allow(unsafe_code)]
mod sys {
    use std::io;
    use std::os::fd::AsRawFd;

    use socket2::Socket;
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// Sets `TCP_DEFER_ACCEPT`: the kernel hands a connection to `accept`
    /// only once its first bytes have arrived (or after about `secs`
    /// seconds), so a uwsgi request is usually complete when accepted.
    pub(super) fn defer_accept(l: &impl AsRawFd, secs: libc::c_int) -> io::Result<()> {
        let len = libc::socklen_t::try_from(size_of::<libc::c_int>())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: `l` is an open socket for the duration of the call, and the
        // option value points to a live `c_int` of `len` bytes.
        let rc = unsafe {
            libc::setsockopt(
                l.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_DEFER_ACCEPT,
                (&raw const secs).cast(),
                len,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Registers a non-blocking listener with the runtime for readiness
    /// only, so that the connections it accepts are not registered.
    pub(super) fn register(l: Socket) -> io::Result<AsyncFd<Socket>> {
        // SAFETY: the `AsyncFd` owns `l`, so the descriptor stays open and
        // refers to the same socket for as long as it is registered.
        unsafe { AsyncFd::register_with_interest(l, Interest::READABLE) }.map_err(io::Error::from)
    }
}

async fn run(o: Opts) -> Result<(), String> {
    let r = replies(o.max_conns)?;
    // Shared by the FastCGI listeners: a connection holds a permit until it
    // ends, and no connection is accepted without one.
    let permits = Arc::new(Semaphore::new(
        o.max_conns.unwrap_or(Semaphore::MAX_PERMITS),
    ));
    if let Some(a) = &o.uwsgi {
        let l = listen(a).map_err(|e| format!("cannot listen on {a}: {e}"))?;
        println!(
            "listening uwsgi://{}",
            l.local_addr().map_err(|e| e.to_string())?
        );
        let l = uwsgi_listener(l).map_err(|e| format!("{a}: {e}"))?;
        tokio::spawn(accept_uwsgi(l, r));
    }
    if let Some(a) = &o.fcgi {
        let l = listen(a).map_err(|e| format!("cannot listen on {a}: {e}"))?;
        println!(
            "listening fcgi://{}",
            l.local_addr().map_err(|e| e.to_string())?
        );
        tokio::spawn(accept_fastcgi(l, r, Arc::clone(&permits)));
    }
    for (path, fcgi) in [(&o.uwsgi_unix, false), (&o.fcgi_unix, true)] {
        let Some(path) = path else { continue };
        let _ = std::fs::remove_file(path);
        let l = UnixListener::bind(path).map_err(|e| format!("cannot listen on {path}: {e}"))?;
        println!(
            "listening {}+unix://{path}",
            if fcgi { "fcgi" } else { "uwsgi" }
        );
        let permits = Arc::clone(&permits);
        tokio::spawn(async move {
            loop {
                let permit = if fcgi {
                    let Ok(p) = Arc::clone(&permits).acquire_owned().await else {
                        return;
                    };
                    Some(p)
                } else {
                    None
                };
                match l.accept().await {
                    Ok((s, _)) if fcgi => {
                        tokio::spawn(async move {
                            report("fastcgi unix", serve_fastcgi(s, r).await);
                            drop(permit);
                        });
                    }
                    Ok((s, _)) => {
                        tokio::spawn(async move { report("uwsgi unix", serve_uwsgi(s, r).await) });
                    }
                    Err(e) => accept_error(e).await,
                }
            }
        });
    }
    let _ = tokio::signal::ctrl_c().await;
    for path in [&o.uwsgi_unix, &o.fcgi_unix].into_iter().flatten() {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("hello-server: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = if o.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(o.threads)
            .enable_all()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hello-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hello-server: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{DuplexStream, duplex};

    impl Stream for DuplexStream {
        async fn read_first(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
            self.read_buf(buf).await
        }
    }

    /// A uwsgi request packet (head only) with these vars.
    fn request(vars: &[(&str, &str)]) -> Vec<u8> {
        let mut b = uwsgi_proto::VarsBuilder::new();
        b.vars(vars.iter().copied());
        let mut wire = Vec::new();
        b.packet(uwsgi_proto::Modifier1::WSGI, 0)
            .unwrap()
            .encode(&mut wire);
        wire
    }

    #[tokio::test]
    async fn uwsgi_post_is_drained_and_answered() {
        let r = replies(None).unwrap();
        let (mut client, server) = duplex(1 << 16);
        let task = tokio::spawn(async move { serve_uwsgi(server, r).await });
        let mut wire = request(&[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "300000")]);
        wire.extend(std::iter::repeat_n(b'x', 300_000));
        client.write_all(&wire).await.unwrap();
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n"
        );
        task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn uwsgi_ping_gets_pong() {
        let r = replies(None).unwrap();
        let (mut client, server) = duplex(1 << 10);
        let task = tokio::spawn(async move { serve_uwsgi(server, r).await });
        client.write_all(&[100, 0, 0, 0]).await.unwrap();
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, [100, 0, 0, 1]);
        task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn uwsgi_truncated_body_is_an_error() {
        let r = replies(None).unwrap();
        let (mut client, server) = duplex(1 << 10);
        let task = tokio::spawn(async move { serve_uwsgi(server, r).await });
        let mut wire = request(&[("CONTENT_LENGTH", "10")]);
        wire.extend_from_slice(b"short");
        client.write_all(&wire).await.unwrap();
        client.shutdown().await.unwrap();
        let err = task.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    /// A uwsgi listener on a free loopback port, served as `run` does.
    async fn uwsgi_server() -> std::net::SocketAddr {
        let l = uwsgi_listener(listen("127.0.0.1:0").unwrap()).unwrap();
        let addr = l.get_ref().local_addr().unwrap().as_socket().unwrap();
        tokio::spawn(accept_uwsgi(l, replies(None).unwrap()));
        addr
    }

    fn get_request() -> Vec<u8> {
        request(&[("REQUEST_METHOD", "GET"), ("PATH_INFO", "/")])
    }

    /// Sends `parts` with a pause between them, returns all the server said.
    async fn exchange(addr: std::net::SocketAddr, parts: &[&[u8]]) -> Vec<u8> {
        let mut c = TcpStream::connect(addr).await.unwrap();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            c.write_all(part).await.unwrap();
        }
        let mut out = Vec::new();
        c.read_to_end(&mut out).await.unwrap();
        out
    }

    const HELLO: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";

    #[tokio::test]
    async fn tcp_uwsgi_whole_request_is_answered_on_accept() {
        let addr = uwsgi_server().await;
        for _ in 0..3 {
            assert_eq!(exchange(addr, &[&get_request()]).await, HELLO);
        }
        assert_eq!(exchange(addr, &[&[100, 0, 0, 0]]).await, [100, 0, 0, 1]);
    }

    #[tokio::test]
    async fn tcp_uwsgi_request_in_pieces_is_answered() {
        let addr = uwsgi_server().await;
        let wire = get_request();
        // header only, then the vars; then a vars block cut in two
        assert_eq!(exchange(addr, &[&wire[..4], &wire[4..]]).await, HELLO);
        assert_eq!(exchange(addr, &[&wire[..9], &wire[9..]]).await, HELLO);
        // a ping in two pieces
        assert_eq!(exchange(addr, &[&[100, 0], &[0, 0]]).await, [100, 0, 0, 1]);
    }

    #[tokio::test]
    async fn tcp_uwsgi_post_body_is_drained_and_answered() {
        let addr = uwsgi_server().await;
        let wire = request(&[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "1048576")]);
        let body = vec![b'x'; 1 << 20];
        assert_eq!(
            exchange(addr, &[&wire, &body[..1000], &body[1000..]]).await,
            HELLO
        );
    }

    #[tokio::test]
    async fn tcp_uwsgi_peer_gone_mid_head_leaves_the_server_serving() {
        let addr = uwsgi_server().await;
        let wire = get_request();
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(&wire[..6]).await.unwrap();
        drop(c);
        // a packet kind hello-server does not serve: closed without an answer
        assert_eq!(exchange(addr, &[&[224, 0, 0, 0]]).await, b"");
        assert_eq!(exchange(addr, &[&wire]).await, HELLO);
    }

    #[tokio::test]
    async fn fastcgi_post_gets_hello_and_end_request() {
        let r = replies(None).unwrap();
        let (client, server) = duplex(1 << 16);
        let task = tokio::spawn(serve_fastcgi(server, r));
        let params = vec![
            ("REQUEST_METHOD".into(), "POST".into()),
            ("CONTENT_LENGTH".into(), "200000".into()),
        ];
        let reply = examples::fastcgi_request(client, params, &[7u8; 200_000])
            .await
            .unwrap();
        assert_eq!(
            reply.stdout,
            b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n"
        );
        assert_eq!((reply.stderr.len(), reply.app_status), (0, 0));
        task.await.unwrap().unwrap();
    }

    /// A kept FastCGI connection's request; returns the reply's STDOUT.
    async fn kept_request(c: &mut TcpStream, id: u16) -> Vec<u8> {
        let mut conn = fastcgi_proto::client::Connection::new();
        conn.begin(id, fastcgi_proto::Role::RESPONDER, true)
            .unwrap();
        conn.params(id, [(&b"REQUEST_METHOD"[..], &b"GET"[..])])
            .unwrap();
        conn.stdin_end(id).unwrap();
        while let Some(out) = conn.poll_transmit() {
            c.write_all(&out).await.unwrap();
        }
        let mut stdout = Vec::new();
        let mut buf = BytesMut::new();
        loop {
            while let Some(ev) = conn.poll_event() {
                match ev {
                    fastcgi_proto::client::Event::Stdout { data, .. } => stdout.extend(data),
                    fastcgi_proto::client::Event::End { .. } => return stdout,
                    _ => {}
                }
            }
            assert!(c.read_buf(&mut buf).await.unwrap() > 0, "closed early");
            conn.handle_buf(&mut buf).unwrap();
        }
    }

    const CGI_HELLO: &[u8] =
        b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";

    #[tokio::test]
    async fn fastcgi_max_conns_holds_further_connections_in_the_queue() {
        let l = listen("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let permits = Arc::new(Semaphore::new(1));
        tokio::spawn(accept_fastcgi(l, replies(Some(1)).unwrap(), permits));
        let mut first = TcpStream::connect(addr).await.unwrap();
        assert_eq!(kept_request(&mut first, 1).await, CGI_HELLO);
        // The second connection is made by the kernel but not served while
        // the first, kept, one holds the only permit.
        let mut second = TcpStream::connect(addr).await.unwrap();
        let waiting =
            tokio::time::timeout(Duration::from_millis(300), kept_request(&mut second, 1));
        assert!(waiting.await.is_err(), "served beyond --max-conns 1");
        // Once the first ends, the queued one is served (and then ends as
        // well), and so is a new one after it.
        drop((first, second));
        let mut third = TcpStream::connect(addr).await.unwrap();
        for id in [2, 3] {
            let reply = tokio::time::timeout(Duration::from_secs(10), kept_request(&mut third, id));
            assert_eq!(reply.await.expect("a freed permit is taken"), CGI_HELLO);
        }
    }

    #[tokio::test]
    async fn fastcgi_get_values_advertises_max_conns() {
        for (limit, want) in [(Some(64), &b"64"[..]), (None, b"2147483647")] {
            let (mut client, server) = duplex(1 << 12);
            let task = tokio::spawn(serve_fastcgi(server, replies(limit).unwrap()));
            let mut conn = fastcgi_proto::client::Connection::new();
            conn.get_values([fastcgi_proto::FCGI_MAX_CONNS]).unwrap();
            let out = conn.poll_transmit().unwrap();
            client.write_all(&out).await.unwrap();
            let mut buf = BytesMut::new();
            let values = loop {
                if let Some(fastcgi_proto::client::Event::Values(p)) = conn.poll_event() {
                    break p;
                }
                assert!(client.read_buf(&mut buf).await.unwrap() > 0);
                conn.handle_buf(&mut buf).unwrap();
            };
            let got: Vec<(&[u8], &[u8])> = values.iter().collect();
            assert_eq!(got, [(&b"FCGI_MAX_CONNS"[..], want)]);
            drop(client);
            task.await.unwrap().unwrap();
        }
    }
}
