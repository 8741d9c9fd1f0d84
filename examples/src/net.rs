//! Backend addresses, connections and listeners shared by the tools: one
//! [`Stream`] type for TCP and unix sockets, split into owned halves without
//! a lock, and one [`Listener`] for both.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream, tcp, unix};

/// The gateway protocol spoken with a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// uwsgi (`uwsgi://`, `uwsgi+unix://`).
    Uwsgi,
    /// FastCGI (`fcgi://`, `fcgi+unix://`).
    Fastcgi,
}

impl Protocol {
    /// The URL scheme of this protocol over TCP (`uwsgi` or `fcgi`).
    pub fn scheme(self) -> &'static str {
        match self {
            Self::Uwsgi => "uwsgi",
            Self::Fastcgi => "fcgi",
        }
    }
}

/// Where a socket lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP `host:port`.
    Tcp(String),
    /// A unix socket path.
    Unix(PathBuf),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(a) => f.write_str(a),
            Self::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

impl Endpoint {
    /// Connects, with `TCP_NODELAY` on TCP.
    pub async fn connect(&self) -> io::Result<Stream> {
        match self {
            Self::Tcp(a) => {
                let s = TcpStream::connect(a).await?;
                s.set_nodelay(true)?;
                Ok(Stream::Tcp(s))
            }
            Self::Unix(p) => Ok(Stream::Unix(UnixStream::connect(p).await?)),
        }
    }
}

/// A backend: protocol and endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The protocol.
    pub protocol: Protocol,
    /// The socket.
    pub endpoint: Endpoint,
}

impl Backend {
    /// Parses `uwsgi://HOST:PORT`, `fcgi://HOST:PORT`, `uwsgi+unix:///PATH`
    /// or `fcgi+unix:///PATH`. For the TCP forms, a path after the authority
    /// is returned as the request target (`/` when there is none, and just
    /// `?query` when only a query follows); the unix forms have target `/`.
    ///
    /// ```
    /// use examples::net::{Backend, Endpoint, Protocol};
    /// let (b, target) = Backend::parse("fcgi://127.0.0.1:9000/index.php?a=1").unwrap();
    /// assert_eq!(b.protocol, Protocol::Fastcgi);
    /// assert_eq!(b.endpoint, Endpoint::Tcp("127.0.0.1:9000".into()));
    /// assert_eq!(target, "/index.php?a=1");
    /// let (b, target) = Backend::parse("uwsgi+unix:///run/app.sock").unwrap();
    /// assert_eq!(b.endpoint, Endpoint::Unix("/run/app.sock".into()));
    /// assert_eq!(target, "/");
    /// assert!(Backend::parse("http://x").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<(Self, &str), String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("{url:?} is not a backend URL (uwsgi://, fcgi://, uwsgi+unix://, fcgi+unix://)")
        })?;
        let (protocol, unix) = match scheme {
            "uwsgi" => (Protocol::Uwsgi, false),
            "fcgi" | "fastcgi" => (Protocol::Fastcgi, false),
            "uwsgi+unix" => (Protocol::Uwsgi, true),
            "fcgi+unix" | "fastcgi+unix" => (Protocol::Fastcgi, true),
            s => {
                return Err(format!(
                    "unsupported scheme {s:?} in {url:?}: expected uwsgi, fcgi, uwsgi+unix or fcgi+unix"
                ));
            }
        };
        if unix {
            if rest.is_empty() {
                return Err(format!("{url:?} has no socket path"));
            }
            return Ok((
                Self {
                    protocol,
                    endpoint: Endpoint::Unix(rest.into()),
                },
                "/",
            ));
        }
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("{url:?} has no host:port"));
        }
        Ok((
            Self {
                protocol,
                endpoint: Endpoint::Tcp(authority.into()),
            },
            target,
        ))
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.endpoint {
            Endpoint::Tcp(a) => write!(f, "{}://{a}", self.protocol.scheme()),
            Endpoint::Unix(p) => write!(f, "{}+unix://{}", self.protocol.scheme(), p.display()),
        }
    }
}

/// A connected TCP or unix stream.
#[derive(Debug)]
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// Unix socket.
    Unix(UnixStream),
}

impl Stream {
    /// Splits into owned halves (no lock between them).
    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Self::Tcp(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Tcp(r), WriteHalf::Tcp(w))
            }
            Self::Unix(s) => {
                let (r, w) = s.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
        }
    }
}

/// The read half of a [`Stream`].
#[derive(Debug)]
pub enum ReadHalf {
    /// TCP.
    Tcp(tcp::OwnedReadHalf),
    /// Unix socket.
    Unix(unix::OwnedReadHalf),
}

/// The write half of a [`Stream`].
#[derive(Debug)]
pub enum WriteHalf {
    /// TCP.
    Tcp(tcp::OwnedWriteHalf),
    /// Unix socket.
    Unix(unix::OwnedWriteHalf),
}

impl WriteHalf {
    /// Drops this half without shutting the write direction down: the
    /// connection is closed once the read half is dropped as well (one
    /// system call fewer than a half-close followed by the close).
    pub fn forget(self) {
        match self {
            Self::Tcp(w) => w.forget(),
            Self::Unix(w) => w.forget(),
        }
    }
}

macro_rules! delegate_read {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
                    Self::Unix(s) => Pin::new(s).poll_read(cx, buf),
                }
            }
        }
    };
}

macro_rules! delegate_write {
    ($t:ty) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    Self::Tcp(s) => Pin::new(s).poll_write(cx, buf),
                    Self::Unix(s) => Pin::new(s).poll_write(cx, buf),
                }
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    Self::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
                    Self::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
                }
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    Self::Tcp(s) => Pin::new(s).poll_flush(cx),
                    Self::Unix(s) => Pin::new(s).poll_flush(cx),
                }
            }
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
                    Self::Unix(s) => Pin::new(s).poll_shutdown(cx),
                }
            }
        }
    };
}

delegate_read!(Stream);
delegate_read!(ReadHalf);
delegate_write!(Stream);
delegate_write!(WriteHalf);

/// A TCP or unix listener.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix socket.
    Unix(UnixListener),
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Self {
        Self::Tcp(l)
    }
}

impl From<UnixListener> for Listener {
    fn from(l: UnixListener) -> Self {
        Self::Unix(l)
    }
}

impl Listener {
    /// Binds `endpoint`; a stale unix socket file is removed first.
    pub async fn bind(endpoint: &Endpoint) -> io::Result<Self> {
        match endpoint {
            Endpoint::Tcp(a) => Ok(Self::Tcp(TcpListener::bind(a).await?)),
            Endpoint::Unix(p) => {
                let _ = std::fs::remove_file(p);
                Ok(Self::Unix(UnixListener::bind(p)?))
            }
        }
    }

    /// Accepts one connection (`TCP_NODELAY` on TCP), with the peer address
    /// for TCP.
    pub async fn accept(&self) -> io::Result<(Stream, Option<SocketAddr>)> {
        match self {
            Self::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Ok((Stream::Tcp(s), Some(peer)))
            }
            Self::Unix(l) => {
                let (s, _) = l.accept().await?;
                Ok((Stream::Unix(s), None))
            }
        }
    }

    /// The bound address as `scheme://ADDR` or `scheme+unix://PATH`.
    pub fn url(&self, scheme: &str) -> String {
        match self {
            Self::Tcp(l) => match l.local_addr() {
                Ok(a) => format!("{scheme}://{a}"),
                Err(_) => format!("{scheme}://?"),
            },
            Self::Unix(l) => match l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(PathBuf::from))
            {
                Some(p) => format!("{scheme}+unix://{}", p.display()),
                None => format!("{scheme}+unix://?"),
            },
        }
    }
}

/// Whether an I/O error means the connection was refused, reset or closed
/// early, as a short phrase for messages.
pub fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".into(),
        io::ErrorKind::BrokenPipe => "connection closed by peer (broken pipe)".into(),
        io::ErrorKind::UnexpectedEof => "connection closed early".into(),
        io::ErrorKind::NotFound => "no such socket".into(),
        _ => e.to_string(),
    }
}

/// A stream whose reads fail with [`io::ErrorKind::TimedOut`] once `period`
/// has passed since it was made or since its last write, whichever is
/// later: a peer that sends nothing, or drips an incomplete request, for
/// that long is cut off (the slowloris defence), while each answer written
/// opens a fresh window for the next request on a kept connection.
#[derive(Debug)]
pub struct Deadline<S> {
    inner: S,
    period: std::time::Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl<S> Deadline<S> {
    /// Wraps `inner` with a window of `period`.
    pub fn new(inner: S, period: std::time::Duration) -> Self {
        Self {
            inner,
            period,
            sleep: Box::pin(tokio::time::sleep(period)),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deadline<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no complete request within {}s (idle timeout)",
                        this.period.as_secs_f64()
                    ),
                ))),
                Poll::Pending => Poll::Pending,
            },
            ready => ready,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deadline<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            if *n > 0 {
                let at = tokio::time::Instant::now() + this.period;
                this.sleep.as_mut().reset(at);
            }
        }
        r
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Counts connections in progress so a server can wait for them to finish
/// on shutdown. Cloning shares the count.
#[derive(Debug, Clone, Default)]
pub struct Tracker(std::sync::Arc<TrackerInner>);

#[derive(Debug, Default)]
struct TrackerInner {
    active: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// One tracked connection; dropping it ends the connection's count.
#[derive(Debug)]
pub struct Tracked(std::sync::Arc<TrackerInner>);

impl Tracker {
    /// A tracker with nothing in progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one more connection until the returned guard drops.
    pub fn track(&self) -> Tracked {
        self.0
            .active
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Tracked(self.0.clone())
    }

    /// Connections in progress.
    pub fn active(&self) -> usize {
        self.0.active.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Waits until no connection is in progress.
    pub async fn idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            if self.active() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if self
            .0
            .active
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel)
            == 1
        {
            self.0.idle.notify_waiters();
        }
    }
}

/// Registers for SIGINT (Ctrl-C) and SIGTERM at once, so a signal that
/// arrives before the server awaits it is not lost (nor kills the process);
/// the returned future completes at the first of them.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn backend_urls() {
        let ok = [
            (
                "uwsgi://127.0.0.1:3031",
                Protocol::Uwsgi,
                Endpoint::Tcp("127.0.0.1:3031".into()),
                "/",
            ),
            (
                "fcgi://h:9000/a/b?c",
                Protocol::Fastcgi,
                Endpoint::Tcp("h:9000".into()),
                "/a/b?c",
            ),
            (
                "fastcgi://h:1?q",
                Protocol::Fastcgi,
                Endpoint::Tcp("h:1".into()),
                "?q",
            ),
            (
                "fcgi+unix:///run/php.sock",
                Protocol::Fastcgi,
                Endpoint::Unix("/run/php.sock".into()),
                "/",
            ),
        ];
        for (url, protocol, endpoint, target) in ok {
            let (b, t) = Backend::parse(url).unwrap();
            assert_eq!(
                (b.protocol, b.endpoint, t),
                (protocol, endpoint, target),
                "{url}"
            );
        }
        assert_eq!(
            Backend::parse("uwsgi+unix:///s").unwrap().0.to_string(),
            "uwsgi+unix:///s"
        );
        for bad in [
            "127.0.0.1:3031",
            "http://x",
            "uwsgi://",
            "fcgi+unix://",
            "uwsgi:///path",
        ] {
            assert!(Backend::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn deadline_cuts_a_silent_peer_and_each_write_reopens_the_window() {
        let (a, mut b) = tokio::io::duplex(1024);
        let mut d = Deadline::new(a, Duration::from_millis(200));
        let t = Instant::now();
        let mut buf = [0u8; 8];
        let e = d.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(t.elapsed() >= Duration::from_millis(190));
        // A write opens a new window; data within it is read normally.
        d.write_all(b"x").await.unwrap();
        b.write_all(b"hi").await.unwrap();
        assert_eq!(d.read(&mut buf).await.unwrap(), 2);
        // The window was reopened by the write, not left expired.
        let t = Instant::now();
        assert!(d.read(&mut buf).await.is_err());
        assert!(
            t.elapsed() >= Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn tracker_waits_for_every_connection() {
        let t = Tracker::new();
        t.idle().await;
        let a = t.track();
        let b = t.track();
        assert_eq!(t.active(), 2);
        let waiter = tokio::spawn({
            let t = t.clone();
            async move { t.idle().await }
        });
        drop(a);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(b);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(t.active(), 0);
    }
}
