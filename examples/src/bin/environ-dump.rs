//! environ-dump: a uwsgi and FastCGI backend that answers every request with the decoded
//! environ and a body summary (length and sha256).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use examples::net::{Deadline, Endpoint, Listener};
use examples::{DumpOptions, serve_fastcgi_dump_opts, serve_uwsgi_dump_opts};
use tokio::sync::{Notify, Semaphore};

const HELP: &str = "environ-dump: uwsgi and FastCGI backend answering with the decoded environ

usage: environ-dump [--uwsgi ADDR] [--uwsgi-unix PATH] [--fastcgi ADDR]
                    [--fastcgi-unix PATH] [OPTIONS]

  --uwsgi ADDR          uwsgi TCP address (default 127.0.0.1:3031)
  --uwsgi-unix PATH     also serve uwsgi on a unix socket
  --fastcgi ADDR        also serve FastCGI on this TCP address
  --fastcgi-unix PATH   also serve FastCGI on a unix socket
  --format text|json    report format (default text)
  --idle-timeout SECS   close a connection that sends nothing, or leaves a
                        request incomplete, for SECS (default 30; each answer
                        opens a fresh window on a kept FastCGI connection)
  --max-connections N   connections served at once (default 10000); further
                        ones wait in the kernel's accept backlog, unaccepted,
                        until one ends
  --max-requests N      exit after N connections have been served
  --exit-after SECS     exit (gracefully) after SECS
  --quiet               no per-request log lines (errors only)
  -h, --help            this text

Each request is answered `200 OK` with every var in wire order (NAME=value
lines, or JSON {\"vars\":[[name,value],…],\"body_len\":N,\"body_sha256\":hex}
with bytes as latin-1), its body streamed through sha256, never buffered.
FastCGI connections are kept when the web server asks (KEEP_CONN).
Prints `listening uwsgi://ADDR` (and `listening fcgi://ADDR`,
`listening uwsgi+unix://PATH`, `listening fcgi+unix://PATH`) on stdout when
ready. On Ctrl-C or SIGTERM (or --exit-after, --max-requests) stops accepting, lets
connections in progress finish (up to 5 s) and exits 0.";

struct Opts {
    uwsgi: String,
    uwsgi_unix: Option<String>,
    fcgi: Option<String>,
    fcgi_unix: Option<String>,
    max_requests: Option<u64>,
    exit_after: Option<u64>,
    idle: u64,
    max_conns: usize,
    json: bool,
    quiet: bool,
}

fn parse() -> Result<Option<Opts>, String> {
    let mut o = Opts {
        uwsgi: "127.0.0.1:3031".into(),
        uwsgi_unix: None,
        fcgi: None,
        fcgi_unix: None,
        max_requests: None,
        exit_after: None,
        idle: 30,
        max_conns: 10_000,
        json: false,
        quiet: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |n: &str| args.next().ok_or_else(|| format!("{n} needs a value"));
        let num = |n: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{n} needs a whole number, not {v:?}"))
        };
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--uwsgi" => o.uwsgi = val("--uwsgi")?,
            "--uwsgi-unix" => o.uwsgi_unix = Some(val("--uwsgi-unix")?),
            "--fastcgi" => o.fcgi = Some(val("--fastcgi")?),
            "--fastcgi-unix" => o.fcgi_unix = Some(val("--fastcgi-unix")?),
            "--format" => {
                o.json = match val("--format")?.as_str() {
                    "json" => true,
                    "text" => false,
                    f => return Err(format!("unknown --format {f:?} (text or json)")),
                };
            }
            "--max-requests" => o.max_requests = Some(num(&a, val(&a)?)?),
            "--exit-after" => o.exit_after = Some(num(&a, val(&a)?)?),
            "--idle-timeout" => o.idle = num(&a, val(&a)?)?.max(1),
            "--max-connections" => {
                o.max_conns = usize::try_from(num(&a, val(&a)?)?.clamp(1, u64::from(u32::MAX)))
                    .unwrap_or(1 << 20);
            }
            "--quiet" => o.quiet = true,
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Some(o))
}

/// What every connection task shares: read-mostly, counters are atomics.
struct Shared {
    dump: DumpOptions,
    quiet: bool,
    idle: Duration,
    served: AtomicU64,
    max_requests: Option<u64>,
    done: Notify,
    slots: Arc<Semaphore>,
}

async fn accept_loop(listener: Listener, fastcgi: bool, shared: Arc<Shared>) {
    loop {
        // Take a slot before accepting: past the limit, connections wait
        // in the kernel's accept backlog.
        let Ok(permit) = shared.slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                eprintln!("environ-dump: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let stream = Deadline::new(stream, shared.idle);
            let what = if fastcgi { "fastcgi" } else { "uwsgi" };
            let label = move || {
                let peer = peer.map_or_else(|| "unix".to_owned(), |p| p.to_string());
                format!("{what} {peer}")
            };
            let mut opts = shared.dump.clone();
            if !shared.quiet {
                let label = label();
                opts.log = Some(Arc::new(move |l| eprintln!("environ-dump: {label}: {l}")));
            }
            let r = if fastcgi {
                serve_fastcgi_dump_opts(stream, &opts)
                    .await
                    .map_err(|e| e.to_string())
            } else {
                serve_uwsgi_dump_opts(stream, &opts)
                    .await
                    .map_err(|e| e.to_string())
            };
            drop(permit);
            if let Err(e) = r {
                eprintln!("environ-dump: {}: {e}", label());
            }
            let n = shared.served.fetch_add(1, Ordering::Relaxed) + 1;
            if shared.max_requests.is_some_and(|m| n >= m) {
                shared.done.notify_one();
            }
        });
    }
}

async fn run(o: Opts) -> Result<(), String> {
    let interrupted = examples::net::shutdown_signal().map_err(|e| format!("signals: {e}"))?;
    let shared = Arc::new(Shared {
        dump: DumpOptions {
            json: o.json,
            fastcgi: fastcgi_proto::server::Config {
                max_conns: o.max_conns,
                ..Default::default()
            },
            log: None,
        },
        quiet: o.quiet,
        idle: Duration::from_secs(o.idle),
        served: AtomicU64::new(0),
        max_requests: o.max_requests,
        done: Notify::new(),
        slots: Arc::new(Semaphore::new(o.max_conns.min(Semaphore::MAX_PERMITS))),
    });
    let mut endpoints = vec![(false, Endpoint::Tcp(o.uwsgi.clone()))];
    if let Some(p) = &o.uwsgi_unix {
        endpoints.push((false, Endpoint::Unix(p.into())));
    }
    if let Some(a) = &o.fcgi {
        endpoints.push((true, Endpoint::Tcp(a.clone())));
    }
    if let Some(p) = &o.fcgi_unix {
        endpoints.push((true, Endpoint::Unix(p.into())));
    }
    let mut tasks = Vec::new();
    for (fastcgi, ep) in &endpoints {
        let l = Listener::bind(ep)
            .await
            .map_err(|e| format!("cannot listen on {ep}: {e}"))?;
        println!(
            "listening {}",
            l.url(if *fastcgi { "fcgi" } else { "uwsgi" })
        );
        tasks.push(tokio::spawn(accept_loop(l, *fastcgi, shared.clone())));
    }
    let exit_after = async {
        match o.exit_after {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shared.done.notified() => {}
        _ = exit_after => {}
        () = interrupted => eprintln!("environ-dump: shutting down"),
    }
    // Stop accepting, then wait (bounded) for the connections in progress.
    for t in &tasks {
        t.abort();
    }
    let all = u32::try_from(o.max_conns.min(Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(5), shared.slots.acquire_many(all)).await;
    for (_, ep) in &endpoints {
        if let Endpoint::Unix(p) = ep {
            let _ = std::fs::remove_file(p);
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let o = match parse() {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("environ-dump: {e}");
            return ExitCode::from(2);
        }
    };
    match run(o).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("environ-dump: {e}");
            ExitCode::FAILURE
        }
    }
}
