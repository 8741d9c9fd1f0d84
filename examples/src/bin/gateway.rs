//! gateway: an HTTP/1.1 reverse proxy to a uwsgi or FastCGI backend.

use std::process::ExitCode;
use std::time::Duration;

use examples::net::Backend;
use examples::proxy::{Gateway, GatewayConfig};
use tokio::net::TcpListener;

const HELP: &str = "gateway: HTTP/1.1 reverse proxy to a uwsgi or FastCGI backend

usage: gateway [--listen ADDR] --backend URL [OPTIONS]

  --listen ADDR            HTTP address (default 127.0.0.1:8080; port 0 picks one)
  --backend URL            uwsgi://HOST:PORT, fcgi://HOST:PORT,
                           uwsgi+unix:///PATH or fcgi+unix:///PATH
  --document-root DIR      DOCUMENT_ROOT, and the base of SCRIPT_FILENAME
  --script-filename PATH   fixed SCRIPT_FILENAME (FastCGI)
  --index NAME             appended to a script name ending in / (default index.php)
  --server-name NAME       SERVER_NAME (default: the request's host)
  --timeout SECS           connect + response head deadline, 504 after (default 60)
  --keepalive N            FastCGI: idle backend connections kept for reuse,
                           requests sent with FCGI_KEEP_CONN (default 64;
                           0: no KEEP_CONN, one connection per request)
  --keepalive-timeout SECS FastCGI: idle connections older than this are
                           closed (default 60)
  --threads N              worker threads (default: one per CPU the process
                           may run on; 1: a current-thread runtime)
  -h, --help               this text

The environ is built with nginx's uwsgi_params (uwsgi) or fastcgi_params plus
SCRIPT_FILENAME (FastCGI). Bodies stream both ways; a chunked request body is
buffered (up to 16 MiB) to learn its CONTENT_LENGTH. Answers 502 when the
backend is down or its reply malformed, 504 on timeout; FastCGI stderr is
logged. A kept FastCGI connection that the backend closed while idle is
detected before reuse; a request without a body that fails on a reused
connection before any response byte is sent again once on a new
connection. Prints `listening http://ADDR` on stdout when ready. On Ctrl-C or SIGTERM stops
accepting, lets requests in progress finish (up to 5 s) and exits 0.";

/// What the command line asks for.
struct Opts {
    listen: String,
    config: GatewayConfig,
    /// Runtime worker threads; `None`: one per available CPU.
    threads: Option<usize>,
}

fn parse() -> Result<Option<Opts>, String> {
    let mut listen = "127.0.0.1:8080".to_owned();
    let mut backend = None;
    let (mut root, mut script, mut index, mut timeout) = (None, None, None, None);
    let mut server_name = None;
    let (mut keepalive, mut keepalive_timeout, mut threads) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |n: &str| args.next().ok_or_else(|| format!("{n} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => listen = val("--listen")?,
            "--backend" => {
                let url = val("--backend")?;
                backend = Some(Backend::parse(&url)?.0);
            }
            "--document-root" => root = Some(val("--document-root")?),
            "--script-filename" => script = Some(val("--script-filename")?),
            "--index" => index = Some(val("--index")?),
            "--server-name" => server_name = Some(val("--server-name")?),
            "--timeout" => {
                timeout = Some(
                    val("--timeout")?
                        .parse::<u64>()
                        .map_err(|_| "--timeout needs whole seconds".to_owned())?,
                );
            }
            "--keepalive" => {
                keepalive = Some(
                    val("--keepalive")?
                        .parse::<usize>()
                        .map_err(|_| "--keepalive needs a whole number".to_owned())?,
                );
            }
            "--keepalive-timeout" => {
                keepalive_timeout = Some(
                    val("--keepalive-timeout")?
                        .parse::<u64>()
                        .map_err(|_| "--keepalive-timeout needs whole seconds".to_owned())?,
                );
            }
            "--threads" => {
                threads = Some(
                    val("--threads")?
                        .parse::<usize>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or("--threads needs a positive number")?,
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    let backend = backend.ok_or("missing --backend (try --help)")?;
    let mut c = GatewayConfig::new(backend);
    c.document_root = root;
    c.script_filename = script;
    c.server_name = server_name;
    if let Some(i) = index {
        c.index = i;
    }
    if let Some(t) = timeout {
        c.timeout = Duration::from_secs(t);
    }
    if let Some(n) = keepalive {
        c.keepalive = n;
    }
    if let Some(t) = keepalive_timeout {
        c.keepalive_timeout = Duration::from_secs(t);
    }
    Ok(Some(Opts {
        listen,
        config: c,
        threads,
    }))
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("gateway: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match o.threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    match runtime {
        Ok(rt) => rt.block_on(run(o.listen, o.config)),
        Err(e) => {
            eprintln!("gateway: runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(listen: String, config: GatewayConfig) -> ExitCode {
    let interrupted = match examples::net::shutdown_signal() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("gateway: signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gateway: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(a) => println!("listening http://{a}"),
        Err(e) => {
            eprintln!("gateway: {e}");
            return ExitCode::FAILURE;
        }
    }
    let gateway = Gateway::new(config);
    let ctrl_c = async {
        interrupted.await;
        eprintln!("gateway: shutting down");
    };
    match gateway.serve_until(listener, ctrl_c).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
