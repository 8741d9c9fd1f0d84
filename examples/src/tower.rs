//! Serve any `tower::Service<http::Request<Body>>` (an axum `Router`, for
//! one) over uwsgi or FastCGI, so a Rust web application can sit behind
//! nginx `uwsgi_pass` / `fastcgi_pass`.
//!
//! The environ becomes an `http::Request` with
//! [`wsgi_environ::environ_to_request`] (its [`RequestFacts`] — remote
//! address, `SCRIPT_NAME`, extension variables — ride in the request
//! extensions); the request body streams into the service as it arrives and
//! the response body streams out frame by frame, each frame flushed. FastCGI
//! connections are kept open between requests when the web server asks
//! (`fastcgi_keep_conn on`).
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello\n" }));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3031").await?;
//! examples::tower::serve_uwsgi(listener, app).await
//! # }
//! ```

use std::io;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http::header::{CONTENT_LENGTH, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;
use tower::{Service, ServiceExt};
use wsgi_environ::{ParseOptions, RequestFacts, environ_to_request};

use crate::net::Listener;
use crate::proxy::BoxError;

/// The request body handed to the service: the bytes as they arrive.
pub type Body = axum::body::Body;

/// How many body chunks may wait for the service before reading pauses.
const BODY_QUEUE: usize = 4;

/// Bounds every served service meets.
pub trait HttpService<B>:
    Service<Request<Body>, Response = Response<B>, Error: Into<BoxError>, Future: Send>
    + Clone
    + Send
    + 'static
{
}

impl<S, B> HttpService<B> for S where
    S: Service<Request<Body>, Response = Response<B>, Error: Into<BoxError>, Future: Send>
        + Clone
        + Send
        + 'static
{
}

/// A body stream fed by the connection task.
fn channel_body() -> (mpsc::Sender<Result<Bytes, BoxError>>, Body) {
    let (tx, rx) = mpsc::channel::<Result<Bytes, BoxError>>(BODY_QUEUE);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (tx, Body::from_stream(stream))
}

fn to_request<'a>(
    vars: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<(Request<()>, RequestFacts), String> {
    environ_to_request(vars, &ParseOptions::default()).map_err(|e| e.to_string())
}

/// The request with `body` and the facts in its extensions.
fn with_body(req: Request<()>, facts: RequestFacts, body: Body) -> Request<Body> {
    let (mut parts, ()) = req.into_parts();
    parts.extensions.insert(facts);
    Request::from_parts(parts, body)
}

/// Splits `resp` into its head and body. `Content-Length` is added when the
/// body size is known and the service set none, except on 204 and 304; on
/// 1xx and 204 it is removed (RFC 9110 8.6: never sent there; frameworks
/// such as axum add `Content-Length: 0` to every empty body). A 304 keeps
/// what the service set, as hyper does.
fn split_response(resp: Response<Body>) -> (wsgi_environ::ResponseHead, Body) {
    let (parts, body) = resp.into_parts();
    let status = parts.status;
    let mut head = wsgi_environ::ResponseHead::new(status);
    head.headers = parts.headers;
    if status.is_informational() || status == StatusCode::NO_CONTENT {
        head.headers.remove(CONTENT_LENGTH);
    } else if status != StatusCode::NOT_MODIFIED && !head.headers.contains_key(CONTENT_LENGTH) {
        if let Some(n) = hyper::body::Body::size_hint(&body).exact() {
            head.headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
        }
    }
    (head, body)
}

fn error_response(status: StatusCode, msg: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(format!("{msg}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn call<S, B>(service: S, req: Request<Body>) -> Response<Body>
where
    S: HttpService<B>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    match service.oneshot(req).await {
        Ok(resp) => resp.map(|b| Body::new(b.map_err(Into::<BoxError>::into))),
        Err(e) => {
            let e: BoxError = e.into();
            eprintln!("service error: {e}");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
        }
    }
}

/// The sending side of a request body channel.
type BodyTx = mpsc::Sender<Result<Bytes, BoxError>>;

/// Room for one more chunk in the body channel; `None` once the service
/// has dropped the body (or there is none).
async fn reserve(tx: &Option<BodyTx>) -> Option<mpsc::Permit<'_, Result<Bytes, BoxError>>> {
    match tx {
        Some(tx) => tx.reserve().await.ok(),
        None => None,
    }
}

/// The next frame of the response body, once there is one.
async fn next_frame(
    body: &mut Option<Body>,
) -> Option<Result<hyper::body::Frame<Bytes>, axum::Error>> {
    match body {
        Some(b) => b.frame().await,
        None => std::future::pending().await,
    }
}

/// Serves one uwsgi connection (one request; a ping gets a pong).
///
/// The request body flows into the service while the response flows out:
/// a service may answer (and stream its answer) before it has read the
/// whole body. The connection ends once both are complete.
pub async fn serve_uwsgi_connection<T, S, B>(stream: T, service: S) -> Result<(), BoxError>
where
    T: AsyncRead + AsyncWrite + Unpin,
    S: HttpService<B>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    use uwsgi_proto::codec::{RequestPart, ResponsePart, ServerCodec};
    use uwsgi_proto::special;
    let mut framed = Framed::new(stream, ServerCodec::new());
    let head = match framed.next().await {
        Some(Ok(RequestPart::Head(h))) => h,
        Some(Ok(RequestPart::Packet(p))) if special::is_ping(&p.as_packet()) => {
            framed
                .send(ResponsePart::Packet(special::pong(b"")?))
                .await?;
            return Ok(());
        }
        Some(Ok(_)) | None => return Ok(()),
        Some(Err(e)) => return Err(e.into()),
    };
    let (mut tx, call): (Option<BodyTx>, _) = match to_request(head.vars.iter()) {
        Err(e) => (
            None,
            futures_util::future::Either::Left(std::future::ready(error_response(
                StatusCode::BAD_REQUEST,
                &format!("bad request: {e}"),
            ))),
        ),
        Ok((req, facts)) if head.content_length == 0 => (
            None,
            futures_util::future::Either::Right(call(
                service,
                with_body(req, facts, Body::empty()),
            )),
        ),
        Ok((req, facts)) => {
            let (tx, body) = channel_body();
            (
                Some(tx),
                futures_util::future::Either::Right(call(service, with_body(req, facts, body))),
            )
        }
    };
    let mut call = std::pin::pin!(call);
    let mut pending: Option<Result<Bytes, BoxError>> = None;
    let mut body: Option<Body> = None;
    // A body of known size goes out in as few writes as possible; a
    // streamed one is flushed frame by frame.
    let mut flush_each = true;
    let (mut in_done, mut out_done) = (false, false);
    while !(in_done && out_done) {
        let mut close_tx = false;
        tokio::select! {
            resp = &mut call, if body.is_none() && !out_done => {
                let (head, b) = split_response(resp);
                let mut buf = BytesMut::with_capacity(head.http1_encoded_len());
                head.encode_http1(&mut buf)?;
                flush_each = hyper::body::Body::size_hint(&b).exact().is_none();
                if flush_each {
                    framed.send(ResponsePart::Body(buf.freeze())).await?;
                } else {
                    framed.feed(ResponsePart::Body(buf.freeze())).await?;
                }
                body = Some(b);
            }
            frame = next_frame(&mut body), if body.is_some() => match frame {
                Some(frame) => {
                    if let Ok(data) = frame?.into_data() {
                        if !data.is_empty() {
                            if flush_each {
                                framed.send(ResponsePart::Body(data)).await?;
                            } else {
                                framed.feed(ResponsePart::Body(data)).await?;
                            }
                        }
                    }
                }
                None => {
                    body = None;
                    out_done = true;
                    // The whole answer leaves now, even if the request body
                    // is still arriving.
                    framed.flush().await?;
                }
            },
            permit = reserve(&tx), if pending.is_some() => match (permit, pending.take()) {
                (Some(p), Some(item)) => p.send(item),
                // The service dropped the body: the rest is read and dropped.
                _ => close_tx = true,
            },
            part = framed.next(), if pending.is_none() && !in_done => match part {
                Some(Ok(RequestPart::Body(b))) => {
                    if tx.is_some() {
                        pending = Some(Ok(b));
                    }
                }
                Some(Ok(RequestPart::End)) | None => {
                    in_done = true;
                    close_tx = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    let msg = e.to_string();
                    if let Some(tx) = &tx {
                        let _ = tx.try_send(Err(msg.clone().into()));
                    }
                    return Err(msg.into());
                }
            },
        }
        if close_tx {
            // The end of the body, or a service that no longer reads it.
            tx = None;
        }
    }
    framed.flush().await?;
    Ok(())
}

/// How one FastCGI request ended.
enum Ended {
    /// Response and STDIN complete.
    Done,
    /// The web server aborted the request.
    Aborted,
    /// The connection closed.
    Closed,
}

/// Serves one FastCGI connection: requests one after another while the web
/// server keeps the connection. As for uwsgi, the request body flows in
/// while the response flows out.
pub async fn serve_fastcgi_connection<T, S, B>(stream: T, service: S) -> Result<(), BoxError>
where
    T: AsyncRead + AsyncWrite + Unpin,
    S: HttpService<B>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    use fastcgi_proto::codec::{AppCodec, AppOutput};
    use fastcgi_proto::server::{Config, Event};
    let mut framed = Framed::new(stream, AppCodec::new(Config::default()));
    loop {
        // BEGIN_REQUEST, then the params.
        let (id, params) = loop {
            match framed.next().await {
                Some(Ok(Event::Params { id, params })) => break (id, params),
                Some(Ok(Event::Replied { .. })) => framed.send(AppOutput::Flush).await?,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            }
        };
        let (mut tx, call): (Option<BodyTx>, _) = match to_request(params.iter()) {
            Err(e) => (
                None,
                futures_util::future::Either::Left(std::future::ready(error_response(
                    StatusCode::BAD_REQUEST,
                    &format!("bad request: {e}"),
                ))),
            ),
            // CONTENT_LENGTH 0: nothing to stream (STDIN is still drained).
            // Without CONTENT_LENGTH the body is whatever STDIN carries.
            Ok((req, facts)) if facts.content_length == Some(0) => (
                None,
                futures_util::future::Either::Right(call(
                    service.clone(),
                    with_body(req, facts, Body::empty()),
                )),
            ),
            Ok((req, facts)) => {
                let (tx, body) = channel_body();
                (
                    Some(tx),
                    futures_util::future::Either::Right(call(
                        service.clone(),
                        with_body(req, facts, body),
                    )),
                )
            }
        };
        let mut call = std::pin::pin!(call);
        let mut pending: Option<Result<Bytes, BoxError>> = None;
        let mut body: Option<Body> = None;
        let mut flush_each = true;
        let (mut in_done, mut out_done) = (false, false);
        let ended = loop {
            if in_done && out_done {
                break Ended::Done;
            }
            let mut close_tx = false;
            tokio::select! {
                resp = &mut call, if body.is_none() && !out_done => {
                    let (head, b) = split_response(resp);
                    let mut buf = BytesMut::with_capacity(head.cgi_encoded_len());
                    head.encode_cgi(&mut buf)?;
                    flush_each = hyper::body::Body::size_hint(&b).exact().is_none();
                    if flush_each {
                        framed.send(AppOutput::Stdout(id, buf.freeze())).await?;
                    } else {
                        framed.feed(AppOutput::Stdout(id, buf.freeze())).await?;
                    }
                    body = Some(b);
                }
                frame = next_frame(&mut body), if body.is_some() => match frame {
                    Some(frame) => {
                        if let Ok(data) = frame?.into_data() {
                            if !data.is_empty() {
                                if flush_each {
                                    framed.send(AppOutput::Stdout(id, data)).await?;
                                } else {
                                    framed.feed(AppOutput::Stdout(id, data)).await?;
                                }
                            }
                        }
                    }
                    None => {
                        body = None;
                        out_done = true;
                        if !in_done {
                            SinkExt::<AppOutput>::flush(&mut framed).await?;
                        }
                    }
                },
                permit = reserve(&tx), if pending.is_some() => match (permit, pending.take()) {
                    (Some(p), Some(item)) => p.send(item),
                    // The service dropped the body: the rest is read and dropped.
                    _ => close_tx = true,
                },
                ev = framed.next(), if pending.is_none() && !in_done => match ev {
                    Some(Ok(Event::Replied { .. })) => framed.send(AppOutput::Flush).await?,
                    Some(Ok(Event::Stdin { id: i, data })) if i == id => {
                        if tx.is_some() {
                            pending = Some(Ok(data));
                        }
                    }
                    Some(Ok(Event::StdinEnd { id: i })) if i == id => {
                        in_done = true;
                        close_tx = true;
                    }
                    Some(Ok(Event::Abort { id: i })) if i == id => {
                        if let Some(tx) = &tx {
                            let _ = tx.try_send(Err("request aborted by the web server".into()));
                        }
                        break Ended::Aborted;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        let msg = e.to_string();
                        if let Some(tx) = &tx {
                            let _ = tx.try_send(Err(msg.clone().into()));
                        }
                        return Err(msg.into());
                    }
                    None => break Ended::Closed,
                },
            }
            if close_tx {
                tx = None;
            }
        };
        match ended {
            Ended::Done => framed.send(AppOutput::End(id, 0)).await?,
            Ended::Aborted => framed.send(AppOutput::End(id, 1)).await?,
            Ended::Closed => return Ok(()),
        }
        if framed.codec().connection().is_closed() {
            return Ok(());
        }
    }
}

async fn accept_loop<F, Fut>(
    listener: Listener,
    serve: F,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    F: Fn(crate::net::Stream) -> Fut,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    let tracker = crate::net::Tracker::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((s, _)) => {
                let fut = serve(s);
                let tracked = tracker.track();
                tokio::spawn(async move {
                    if let Err(e) = fut.await {
                        eprintln!("connection: {e}");
                    }
                    drop(tracked);
                });
            }
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    // Connections in progress finish (a kept FastCGI connection ends when
    // the web server closes it), bounded.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), tracker.idle()).await;
    Ok(())
}

/// Accepts uwsgi connections on `listener` forever, each served by a clone
/// of `service`.
pub async fn serve_uwsgi<S, B>(listener: impl Into<Listener>, service: S) -> io::Result<()>
where
    S: HttpService<B>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    serve_uwsgi_until(listener, service, std::future::pending()).await
}

/// [`serve_uwsgi`] until `shutdown` completes; then stops accepting and
/// waits (at most 5 s) for the connections in progress.
pub async fn serve_uwsgi_until<S, B>(
    listener: impl Into<Listener>,
    service: S,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    S: HttpService<B>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    accept_loop(
        listener.into(),
        move |s| serve_uwsgi_connection(s, service.clone()),
        shutdown,
    )
    .await
}

/// Accepts FastCGI connections on `listener` forever, each served by a
/// clone of `service`.
pub async fn serve_fastcgi<S, B>(listener: impl Into<Listener>, service: S) -> io::Result<()>
where
    S: HttpService<B>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    serve_fastcgi_until(listener, service, std::future::pending()).await
}

/// [`serve_fastcgi`] until `shutdown` completes; then stops accepting and
/// waits (at most 5 s) for the connections in progress.
pub async fn serve_fastcgi_until<S, B>(
    listener: impl Into<Listener>,
    service: S,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    S: HttpService<B>,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    accept_loop(
        listener.into(),
        move |s| serve_fastcgi_connection(s, service.clone()),
        shutdown,
    )
    .await
}
