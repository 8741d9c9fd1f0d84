//! environ-dump: a uwsgi and FastCGI backend that answers every request with the decoded
//! environ and a body summary (length and sha256).
//!
//! Usage: `environ-dump [--uwsgi ADDR] [--uwsgi-unix PATH] [--max-requests N]`

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use examples::{serve_fastcgi_dump_as, serve_uwsgi_dump_as};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Notify;

const HELP: &str = "environ-dump: uwsgi backend answering with the decoded environ

usage: environ-dump [--uwsgi ADDR] [--uwsgi-unix PATH] [--max-requests N]

  --uwsgi ADDR        TCP address to listen on (default 127.0.0.1:3031)
  --uwsgi-unix PATH   also listen on a unix socket
  --fastcgi ADDR      also serve FastCGI on this TCP address
  --fastcgi-unix PATH also serve FastCGI on a unix socket
  --format text|json  report format (default text)
  --max-requests N    exit after N connections have been served
  -h, --help          this text

Prints `listening uwsgi://ADDR` (and `listening uwsgi+unix://PATH`) on stdout
when ready, logs each connection to stderr, exits 0 on Ctrl-C.";

struct Opts {
    tcp: String,
    unix: Option<String>,
    fcgi: Option<String>,
    fcgi_unix: Option<String>,
    max: Option<u64>,
    json: bool,
}

fn parse() -> Result<Option<Opts>, String> {
    let mut o = Opts {
        tcp: "127.0.0.1:3031".into(),
        unix: None,
        fcgi: None,
        fcgi_unix: None,
        max: None,
        json: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |n: &str| args.next().ok_or_else(|| format!("{n} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--uwsgi" => o.tcp = val("--uwsgi")?,
            "--uwsgi-unix" => o.unix = Some(val("--uwsgi-unix")?),
            "--format" => {
                o.json = match val("--format")?.as_str() {
                    "json" => true,
                    "text" => false,
                    f => return Err(format!("unknown --format {f:?} (text or json)")),
                };
            }
            "--fastcgi" => o.fcgi = Some(val("--fastcgi")?),
            "--fastcgi-unix" => o.fcgi_unix = Some(val("--fastcgi-unix")?),
            "--max-requests" => {
                o.max = Some(
                    val("--max-requests")?
                        .parse()
                        .map_err(|_| "--max-requests needs a number".to_owned())?,
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Some(o))
}

async fn run(o: Opts) -> Result<(), String> {
    let json = o.json;
    let done = Arc::new(Notify::new());
    let served = Arc::new(AtomicU64::new(0));
    let tcp = TcpListener::bind(&o.tcp)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", o.tcp))?;
    let addr = tcp.local_addr().map_err(|e| e.to_string())?;
    println!("listening uwsgi://{addr}");
    let finish = {
        let (done, served, max) = (done.clone(), served.clone(), o.max);
        move |what: String, r: Result<(), String>| {
            match r {
                Ok(()) => eprintln!("environ-dump: served {what}"),
                Err(e) => eprintln!("environ-dump: {what}: {e}"),
            }
            let n = served.fetch_add(1, Ordering::SeqCst) + 1;
            if max.is_some_and(|m| n >= m) {
                done.notify_one();
            }
        }
    };
    let f = finish.clone();
    tokio::spawn(async move {
        while let Ok((s, peer)) = tcp.accept().await {
            let f = f.clone();
            tokio::spawn(async move {
                f(
                    format!("uwsgi {peer}"),
                    serve_uwsgi_dump_as(s, json)
                        .await
                        .map_err(|e| e.to_string()),
                )
            });
        }
    });
    if let Some(path) = &o.unix {
        let _ = std::fs::remove_file(path);
        let ul = UnixListener::bind(path).map_err(|e| format!("cannot listen on {path}: {e}"))?;
        println!("listening uwsgi+unix://{path}");
        let f = finish.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = ul.accept().await {
                let f = f.clone();
                tokio::spawn(async move {
                    f(
                        "uwsgi unix".into(),
                        serve_uwsgi_dump_as(s, json)
                            .await
                            .map_err(|e| e.to_string()),
                    )
                });
            }
        });
    }
    if let Some(a) = &o.fcgi {
        let l = TcpListener::bind(a)
            .await
            .map_err(|e| format!("cannot listen on {a}: {e}"))?;
        println!(
            "listening fcgi://{}",
            l.local_addr().map_err(|e| e.to_string())?
        );
        let f = finish.clone();
        tokio::spawn(async move {
            while let Ok((s, peer)) = l.accept().await {
                let f = f.clone();
                tokio::spawn(async move {
                    f(
                        format!("fastcgi {peer}"),
                        serve_fastcgi_dump_as(s, json)
                            .await
                            .map_err(|e| e.to_string()),
                    )
                });
            }
        });
    }
    if let Some(path) = &o.fcgi_unix {
        let _ = std::fs::remove_file(path);
        let ul = UnixListener::bind(path).map_err(|e| format!("cannot listen on {path}: {e}"))?;
        println!("listening fcgi+unix://{path}");
        let f = finish.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = ul.accept().await {
                let f = f.clone();
                tokio::spawn(async move {
                    f(
                        "fastcgi unix".into(),
                        serve_fastcgi_dump_as(s, json)
                            .await
                            .map_err(|e| e.to_string()),
                    )
                });
            }
        });
    }
    tokio::select! {
        _ = done.notified() => {}
        _ = tokio::signal::ctrl_c() => eprintln!("environ-dump: shutting down"),
    }
    for path in [&o.unix, &o.fcgi_unix].into_iter().flatten() {
        let _ = std::fs::remove_file(path);
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
