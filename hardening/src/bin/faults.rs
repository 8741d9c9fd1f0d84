//! faults: drives a running example server (environ-dump) through network
//! faults and prints figures. Run by `scripts/faults.sh`, which starts the
//! server and nginx.
//!
//! ```text
//! faults disconnects --uwsgi ADDR --fastcgi ADDR --pid PID [--rounds N]
//! faults slowloris   --uwsgi ADDR --fastcgi ADDR --pid PID --conns N --idle-timeout SECS [--max-rss-mib M]
//! faults load        --http ADDR --path PATH --pid PID [--requests N] [--concurrency C]
//! ```
//!
//! Every subcommand exits non-zero, with the reason, when the server does
//! not behave: a request not served after a fault, the server gone, file
//! descriptors not released, memory over its bound or growing under load,
//! or any failed request.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use fastcgi_proto::client::{Connection, Event};
use fastcgi_proto::{ProtocolStatus, Role};
use hardening::{fd_count, mib, rss_of};
use uwsgi_proto::{Modifier1, VarsBuilder};

type Res<T> = Result<T, String>;

struct Args(Vec<String>);

impl Args {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1))
            .map(String::as_str)
    }
    fn req(&self, name: &str) -> Res<&str> {
        self.get(name).ok_or_else(|| format!("{name} is required"))
    }
    fn num(&self, name: &str, default: u64) -> Res<u64> {
        self.get(name).map_or(Ok(default), |v| {
            v.parse().map_err(|_| format!("{name} needs a number"))
        })
    }
}

fn alive(pid: u32) -> Res<()> {
    if std::path::Path::new(&format!("/proc/{pid}")).exists() {
        Ok(())
    } else {
        Err(format!("server process {pid} is gone"))
    }
}

fn connect(addr: &str) -> Res<TcpStream> {
    let s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(s)
}

/// A uwsgi request with `extra` bytes of vars and a body of `body` bytes.
fn uwsgi_request(extra: usize, body: usize) -> Vec<u8> {
    let mut b = VarsBuilder::new();
    b.var("REQUEST_METHOD", "POST")
        .var("PATH_INFO", "/faults")
        .var("QUERY_STRING", "")
        .var("SERVER_PROTOCOL", "HTTP/1.1")
        .var("SERVER_NAME", "localhost")
        .var("SERVER_PORT", "80")
        .var("REMOTE_ADDR", "127.0.0.1")
        .var("CONTENT_LENGTH", body.to_string());
    let mut left = extra;
    let mut i = 0;
    while left > 0 {
        let n = left.min(4000);
        b.var(format!("HTTP_X_FILL_{i}"), "f".repeat(n));
        left -= n;
        i += 1;
    }
    let mut v = Vec::new();
    b.packet(Modifier1::WSGI, 0)
        .expect("request packet")
        .encode(&mut v);
    v.resize(v.len() + body, b'b');
    v
}

/// A FastCGI request (id 1, no keep-conn) with `extra` bytes of params and
/// a body of `body` bytes; `end` adds the empty STDIN.
fn fcgi_request(extra: usize, body: usize, end: bool) -> Vec<u8> {
    let mut c = Connection::new();
    c.begin(1, Role::RESPONDER, false).expect("begin");
    let fill = "f".repeat(extra);
    let cl = body.to_string();
    let pairs: Vec<(&[u8], &[u8])> = vec![
        (b"REQUEST_METHOD", b"POST"),
        (b"SCRIPT_NAME", b"/faults"),
        (b"QUERY_STRING", b""),
        (b"SERVER_PROTOCOL", b"HTTP/1.1"),
        (b"SERVER_NAME", b"localhost"),
        (b"SERVER_PORT", b"80"),
        (b"REMOTE_ADDR", b"127.0.0.1"),
        (b"CONTENT_LENGTH", cl.as_bytes()),
        (b"HTTP_X_FILL", fill.as_bytes()),
    ];
    c.params(1, pairs).expect("params");
    if body > 0 {
        c.stdin(1, &vec![b'b'; body]).expect("stdin");
    }
    if end {
        c.stdin_end(1).expect("stdin end");
    }
    let mut v = Vec::new();
    while let Some(b) = c.poll_transmit() {
        v.extend_from_slice(&b);
    }
    v
}

/// One uwsgi request, answered in full with a 200.
fn uwsgi_ok(addr: &str) -> Res<()> {
    let mut s = connect(addr)?;
    s.write_all(&uwsgi_request(100, 1000))
        .map_err(|e| format!("uwsgi health write: {e}"))?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)
        .map_err(|e| format!("uwsgi health read: {e}"))?;
    if !resp.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "uwsgi health request not served: {:?}",
            String::from_utf8_lossy(&resp[..resp.len().min(80)])
        ));
    }
    Ok(())
}

/// One FastCGI request, ended with REQUEST_COMPLETE after some STDOUT.
fn fcgi_ok(addr: &str) -> Res<()> {
    let mut s = connect(addr)?;
    s.write_all(&fcgi_request(100, 1000, true))
        .map_err(|e| format!("fastcgi health write: {e}"))?;
    let mut c = Connection::new();
    c.begin(1, Role::RESPONDER, false).expect("begin");
    let _ = c.poll_transmit();
    let mut stdout = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = s
            .read(&mut buf)
            .map_err(|e| format!("fastcgi health read: {e}"))?;
        if n == 0 {
            return Err("fastcgi health request: EOF before END_REQUEST".into());
        }
        c.handle_bytes(&buf[..n])
            .map_err(|e| format!("fastcgi health reply: {e}"))?;
        while let Some(ev) = c.poll_event() {
            match ev {
                Event::Stdout { data, .. } => stdout += data.len(),
                Event::End { end, .. } => {
                    if end.protocol_status != ProtocolStatus::REQUEST_COMPLETE || stdout == 0 {
                        return Err(format!(
                            "fastcgi health request: {end:?} after {stdout} STDOUT bytes"
                        ));
                    }
                    return Ok(());
                }
                _ => {}
            }
        }
    }
}

/// A connection whose receive buffer is as small as the kernel allows, so
/// that a reply of tens of KiB cannot be absorbed by it at once.
fn connect_small_window(addr: &str) -> Res<TcpStream> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| e.to_string())?;
    let sa: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let s = rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4()?;
        sock.set_recv_buffer_size(2048)?;
        sock.connect(sa).await?.into_std()
    });
    let s = s.map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_nonblocking(false).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// Writes `bytes` and closes; `read_first` reads that many response bytes
/// (over a small receive window) before closing: the rest stays unread and
/// the close resets the connection while the reply is being sent.
fn hang_up(addr: &str, bytes: &[u8], read_first: usize) -> Res<()> {
    let mut s = if read_first > 0 {
        connect_small_window(addr)?
    } else {
        connect(addr)?
    };
    s.write_all(bytes)
        .map_err(|e| format!("fault write: {e}"))?;
    if read_first > 0 {
        let mut b = vec![0u8; read_first];
        s.read_exact(&mut b)
            .map_err(|e| format!("fault read: {e}"))?;
    }
    drop(s);
    Ok(())
}

fn wait_fds(pid: u32, target: usize, within: Duration) -> (usize, Duration) {
    let t0 = Instant::now();
    loop {
        let n = fd_count(pid);
        if n <= target || t0.elapsed() > within {
            return (n, t0.elapsed());
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn disconnects(a: &Args) -> Res<()> {
    let (u, f) = (a.req("--uwsgi")?, a.req("--fastcgi")?);
    let pid: u32 = a.num("--pid", 0)? as u32;
    let rounds = a.num("--rounds", 200)?;
    uwsgi_ok(u)?;
    fcgi_ok(f)?;
    thread::sleep(Duration::from_millis(300));
    let base_fds = fd_count(pid);
    let base_rss = rss_of(pid);
    let big_u = uwsgi_request(60_000, 0);
    let big_f = fcgi_request(60_000, 0, true);
    let req_u = uwsgi_request(2000, 1 << 20);
    let req_f = fcgi_request(2000, 0, false);
    let cases: Vec<(&str, &str, Vec<u8>, usize, bool)> = vec![
        (
            "uwsgi",
            "mid-request (inside the vars block)",
            req_u[..1000].to_vec(),
            0,
            false,
        ),
        (
            "uwsgi",
            "mid-body (64 KiB of a 1 MiB body)",
            req_u[..req_u.len() - (1 << 20) + 65536].to_vec(),
            0,
            false,
        ),
        (
            "uwsgi",
            "mid-response (100 bytes of a 60 KiB reply read)",
            big_u.clone(),
            100,
            false,
        ),
        (
            "fastcgi",
            "mid-request (inside PARAMS)",
            req_f[..1000].to_vec(),
            0,
            true,
        ),
        (
            "fastcgi",
            "mid-body (64 KiB of STDIN, no end)",
            {
                let mut v = req_f.clone();
                let mut c = Connection::new();
                c.begin(1, Role::RESPONDER, false).expect("begin");
                let _ = c.poll_transmit();
                c.stdin(1, &[b'b'; 65536]).expect("stdin");
                while let Some(b) = c.poll_transmit() {
                    v.extend_from_slice(&b);
                }
                v
            },
            0,
            true,
        ),
        (
            "fastcgi",
            "mid-response (100 bytes of a 60 KiB reply read)",
            big_f.clone(),
            100,
            true,
        ),
    ];
    for (proto, what, bytes, read_first, fcgi) in &cases {
        let t0 = Instant::now();
        for i in 0..rounds {
            let addr = if *fcgi { f } else { u };
            hang_up(addr, bytes, *read_first)
                .map_err(|e| format!("{proto} {what}, round {i}: {e}"))?;
            if *fcgi { fcgi_ok(f) } else { uwsgi_ok(u) }
                .map_err(|e| format!("after {proto} {what}, round {i}: {e}"))?;
        }
        alive(pid)?;
        println!(
            "faults: {proto:<7} peer hangs up {what}: {rounds} times, next request served every time ({:.1}s)",
            t0.elapsed().as_secs_f64()
        );
    }
    let (fds, waited) = wait_fds(pid, base_fds, Duration::from_secs(10));
    println!(
        "faults: disconnects: server fds {base_fds} before, {fds} after ({:.1}s), RSS {} before, {} after",
        waited.as_secs_f64(),
        mib(base_rss),
        mib(rss_of(pid))
    );
    if fds > base_fds {
        return Err(format!(
            "server holds {fds} fds after the faults, {base_fds} before"
        ));
    }
    Ok(())
}

fn slowloris(a: &Args) -> Res<()> {
    let (u, f) = (a.req("--uwsgi")?, a.req("--fastcgi")?);
    let pid: u32 = a.num("--pid", 0)? as u32;
    let conns = a.num("--conns", 10_000)? as usize;
    let idle = a.num("--idle-timeout", 5)?;
    let max_rss = a.num("--max-rss-mib", 256)? << 20;
    uwsgi_ok(u)?;
    fcgi_ok(f)?;
    thread::sleep(Duration::from_millis(300));
    let base_fds = fd_count(pid);
    let base_rss = rss_of(pid);
    // Partial uwsgi header (2 of 4 bytes); partial FastCGI PARAMS (the
    // record header and 10 of its 100 content bytes).
    let partial_u = uwsgi_request(0, 0)[..2].to_vec();
    let mut partial_f = fcgi_request(0, 0, false)[..16].to_vec();
    partial_f.extend_from_slice(&[1, 4, 0, 1, 0, 100, 0, 0]);
    partial_f.extend_from_slice(&[b'p'; 10]);
    let t0 = Instant::now();
    let mut held = Vec::with_capacity(conns);
    for i in 0..conns {
        let (addr, bytes) = if i % 2 == 0 {
            (u, &partial_u)
        } else {
            (f, &partial_f)
        };
        let mut s = TcpStream::connect(addr).map_err(|e| format!("connection {i}: {e}"))?;
        s.write_all(bytes)
            .map_err(|e| format!("connection {i}: {e}"))?;
        held.push(s);
    }
    let opened = t0.elapsed();
    // let the server accept and read everything
    let (mut peak_fds, mut peak_rss) = (0, 0);
    let t1 = Instant::now();
    while t1.elapsed() < Duration::from_secs(2) {
        peak_fds = peak_fds.max(fd_count(pid));
        peak_rss = peak_rss.max(rss_of(pid));
        thread::sleep(Duration::from_millis(100));
    }
    alive(pid)?;
    let per_conn = peak_rss.saturating_sub(base_rss) / conns as u64;
    println!(
        "faults: slowloris: {conns} half-open connections ({} partial uwsgi headers, {} partial FastCGI PARAMS) opened in {:.1}s",
        conns.div_ceil(2),
        conns / 2,
        opened.as_secs_f64()
    );
    println!(
        "faults: slowloris: server fds {base_fds} -> {peak_fds}, RSS {} -> {} (+{} B per connection, bound {})",
        mib(base_rss),
        mib(peak_rss),
        per_conn,
        mib(max_rss)
    );
    if peak_fds < base_fds + conns * 9 / 10 {
        return Err(format!(
            "server accepted only {} of {conns} connections",
            peak_fds - base_fds
        ));
    }
    if peak_rss > max_rss {
        return Err(format!(
            "server RSS {} over the bound {}",
            mib(peak_rss),
            mib(max_rss)
        ));
    }
    let within = Duration::from_secs(idle + 20);
    let (fds, _) = wait_fds(pid, base_fds, within);
    let freed_after = t0.elapsed();
    let after_rss = rss_of(pid);
    // the server closed our side too
    let mut eof = 0;
    for s in held.iter_mut().step_by(97) {
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let mut b = [0u8; 64];
        match s.read(&mut b) {
            Ok(0) => eof += 1,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => eof += 1,
            _ => {}
        }
    }
    let sampled = held.iter().step_by(97).count();
    println!(
        "faults: slowloris: freed {:.1}s after the first connection (idle timeout {idle}s): server fds {fds} (baseline {base_fds}), RSS {}; {eof}/{sampled} sampled clients saw the close",
        freed_after.as_secs_f64(),
        mib(after_rss)
    );
    drop(held);
    if fds > base_fds {
        return Err(format!(
            "{} half-open connections still held after {}s",
            fds - base_fds,
            within.as_secs()
        ));
    }
    if eof != sampled {
        return Err("some half-open connections were not closed by the server".into());
    }
    uwsgi_ok(u)?;
    fcgi_ok(f)?;
    alive(pid)
}

/// Reads one HTTP/1.1 response; returns its status.
fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<u16> {
    let mut filled = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = r
            .parse(&buf[..filled])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
        {
            let code = r.code.unwrap_or(0);
            let len: usize = r
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Content-Length"))?;
            let total = head + len;
            if buf.len() < total {
                buf.resize(total, 0);
            }
            while filled < total {
                let n = s.read(&mut buf[filled..])?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                filled += n;
            }
            if filled != total {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "pipelined bytes",
                ));
            }
            return Ok(code);
        }
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = s.read(&mut buf[filled..])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
    }
}

fn load(a: &Args) -> Res<()> {
    let addr = a.req("--http")?.to_owned();
    let path = a.req("--path")?.to_owned();
    let pid: u32 = a.num("--pid", 0)? as u32;
    let total = a.num("--requests", 1_000_000)?;
    let conc = a.num("--concurrency", 256)?;
    let window = total / 10;
    let issued = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let t0 = Instant::now();
    let workers: Vec<_> = (0..conc)
        .map(|_| {
            let (addr, path) = (addr.clone(), path.clone());
            let (issued, done, errors, first_error) = (
                issued.clone(),
                done.clone(),
                errors.clone(),
                first_error.clone(),
            );
            thread::spawn(move || {
                let mut buf = vec![0u8; 16 * 1024];
                let mut conn: Option<TcpStream> = None;
                loop {
                    let i = issued.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return;
                    }
                    let r = (|| -> io::Result<u16> {
                        if conn.is_none() {
                            let s = TcpStream::connect(&addr)?;
                            s.set_nodelay(true)?;
                            s.set_read_timeout(Some(Duration::from_secs(30)))?;
                            conn = Some(s);
                        }
                        let s = conn.as_mut().expect("connected");
                        let req = format!(
                            "GET {path}?n={i} HTTP/1.1\r\nHost: localhost\r\nX-Load: {i}\r\n\r\n"
                        );
                        s.write_all(req.as_bytes())?;
                        read_response(s, &mut buf)
                    })();
                    match r {
                        Ok(200) => {}
                        other => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            let mut f = first_error.lock().expect("lock");
                            if f.is_none() {
                                *f = Some(format!("request {i}: {other:?}"));
                            }
                            if let Some(s) = conn.take() {
                                let _ = s.shutdown(Shutdown::Both);
                            }
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Server RSS at the end of each window of `total / 10` requests.
    let mut samples = Vec::new();
    let mut next = window;
    while samples.len() < 10 {
        let d = done.load(Ordering::Relaxed);
        if d >= next {
            samples.push(rss_of(pid));
            next += window;
            continue;
        }
        if workers.iter().all(thread::JoinHandle::is_finished) {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    for w in workers {
        w.join().map_err(|_| "load worker panicked".to_owned())?;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    alive(pid)?;
    let served = done.load(Ordering::Relaxed);
    let errs = errors.load(Ordering::Relaxed);
    let first = samples.first().copied().unwrap_or(0);
    let last = samples.last().copied().unwrap_or(0);
    println!(
        "faults: load {path}: {served} requests at concurrency {conc} in {elapsed:.1}s ({:.0}/s), {errs} errors",
        served as f64 / elapsed
    );
    println!(
        "faults: load {path}: server RSS after the first {window}: {}, after the last {window}: {} (per window: {})",
        mib(first),
        mib(last),
        samples
            .iter()
            .map(|r| format!("{:.1}", *r as f64 / f64::from(1 << 20)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if let Some(e) = first_error.lock().expect("lock").as_ref() {
        println!("faults: load {path}: first error: {e}");
    }
    if errs > 0 || served < total {
        return Err(format!(
            "{errs} errors, {served} of {total} requests served"
        ));
    }
    // no growth: allow allocator noise of 5% or 2 MiB, whichever is larger
    let slack = (first / 20).max(2 << 20);
    if last > first + slack {
        return Err(format!(
            "server RSS grew from {} to {} under load",
            mib(first),
            mib(last)
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args(std::env::args().skip(1).collect());
    let r = match args.0.first().map(String::as_str) {
        Some("disconnects") => disconnects(&args),
        Some("slowloris") => slowloris(&args),
        Some("load") => load(&args),
        _ => Err("usage: faults disconnects|slowloris|load … (see the source header)".into()),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("faults: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
