//! backend-client: sends one HTTP-style request to a uwsgi backend and
//! prints the response.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use examples::{fastcgi_request, request_head, uwsgi_request};
use tokio::net::{TcpStream, UnixStream};

const HELP: &str = "backend-client: send one request to a uwsgi backend

usage: backend-client [OPTIONS] uwsgi://HOST:PORT/PATH?QUERY
       backend-client [OPTIONS] fcgi://HOST:PORT/PATH?QUERY
       backend-client [OPTIONS] --unix SOCKET uwsgi://localhost/PATH?QUERY

  -X METHOD        request method (default GET, POST with -d)
  -H 'Name: value' add a request header (as HTTP_* var)
  -d @FILE | @- | DATA  request body (file, stdin or literal)
  --var K=V        add or override a var
  --unix PATH      connect to a unix socket instead of HOST:PORT
  --timeout SECS   whole-exchange timeout (default 30)
  -h, --help       this text

Exit codes: 0 response < 400, 1 response >= 400, 2 usage error,
3 protocol error, 4 connect error, 5 timeout.";

struct Opts {
    url: String,
    method: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    vars: Vec<(String, String)>,
    unix: Option<String>,
    timeout: u64,
}

fn parse() -> Result<Option<Opts>, String> {
    let mut o = Opts {
        url: String::new(),
        method: None,
        headers: vec![],
        body: vec![],
        vars: vec![],
        unix: None,
        timeout: 30,
    };
    let mut args = std::env::args().skip(1);
    let mut has_body = false;
    while let Some(a) = args.next() {
        let mut val = |n: &str| args.next().ok_or_else(|| format!("{n} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "-X" => o.method = Some(val("-X")?),
            "-H" => {
                let h = val("-H")?;
                let (n, v) = h
                    .split_once(':')
                    .ok_or_else(|| format!("header {h:?} has no ':'"))?;
                o.headers.push((n.trim().to_owned(), v.trim().to_owned()));
            }
            "-d" => {
                let d = val("-d")?;
                has_body = true;
                o.body = match d.strip_prefix('@') {
                    Some("-") => {
                        let mut b = vec![];
                        std::io::stdin()
                            .read_to_end(&mut b)
                            .map_err(|e| format!("reading stdin: {e}"))?;
                        b
                    }
                    Some(f) => std::fs::read(f).map_err(|e| format!("reading {f}: {e}"))?,
                    None => d.into_bytes(),
                };
            }
            "--var" => {
                let kv = val("--var")?;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("--var {kv:?} has no '='"))?;
                o.vars.push((k.to_owned(), v.to_owned()));
            }
            "--unix" => o.unix = Some(val("--unix")?),
            "--timeout" => {
                o.timeout = val("--timeout")?
                    .parse()
                    .map_err(|_| "--timeout needs whole seconds".to_owned())?;
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s:?} (try --help)")),
            _ => o.url = a,
        }
    }
    if o.url.is_empty() {
        return Err("missing URL (try --help)".into());
    }
    if o.method.is_none() && has_body {
        o.method = Some("POST".into());
    }
    Ok(Some(o))
}

async fn run(o: Opts) -> Result<u8, (u8, String)> {
    let (fcgi, rest) = match (
        o.url.strip_prefix("uwsgi://"),
        o.url.strip_prefix("fcgi://"),
    ) {
        (Some(r), _) => (false, r),
        (_, Some(r)) => (true, r),
        _ => {
            return Err((
                2,
                format!("unsupported URL {:?}: expected uwsgi:// or fcgi://", o.url),
            ));
        }
    };
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let head = request_head(
        o.method.as_deref().unwrap_or("GET"),
        path,
        query,
        authority,
        &o.headers,
        &o.vars,
        &o.body,
    )
    .map_err(|e| (2, format!("cannot build request: {e}")))?;
    if fcgi {
        let pairs: Vec<(Bytes, Bytes)> = head
            .vars
            .iter()
            .map(|(k, v)| (Bytes::copy_from_slice(k), Bytes::copy_from_slice(v)))
            .collect();
        let exchange = async {
            let reply = match &o.unix {
                Some(p) => {
                    let s = UnixStream::connect(p)
                        .await
                        .map_err(|e| (4, format!("connect {p}: {e}")))?;
                    fastcgi_request(s, pairs, &o.body).await
                }
                None => {
                    let s = TcpStream::connect(authority)
                        .await
                        .map_err(|e| (4, format!("connect {authority}: {e}")))?;
                    fastcgi_request(s, pairs, &o.body).await
                }
            };
            reply.map_err(|e| (3, format!("protocol error: {e}")))
        };
        let reply = tokio::time::timeout(Duration::from_secs(o.timeout), exchange)
            .await
            .map_err(|_| (5, format!("timed out after {}s", o.timeout)))??;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&reply.stdout);
        let _ = out.flush();
        if !reply.stderr.is_empty() {
            eprint!("{}", String::from_utf8_lossy(&reply.stderr));
        }
        let status = reply
            .stdout
            .strip_prefix(b"Status: ")
            .and_then(|r| r.get(..3))
            .and_then(|d| std::str::from_utf8(d).ok()?.parse::<u16>().ok())
            .unwrap_or(200);
        return Ok(u8::from(status >= 400));
    }
    let exchange = async {
        let reply = match &o.unix {
            Some(p) => {
                let s = UnixStream::connect(p)
                    .await
                    .map_err(|e| (4, format!("connect {p}: {e}")))?;
                uwsgi_request(s, head, &o.body).await
            }
            None => {
                let s = TcpStream::connect(authority)
                    .await
                    .map_err(|e| (4, format!("connect {authority}: {e}")))?;
                uwsgi_request(s, head, &o.body).await
            }
        };
        reply.map_err(|e| (3, format!("protocol error: {e}")))
    };
    let reply = tokio::time::timeout(Duration::from_secs(o.timeout), exchange)
        .await
        .map_err(|_| (5, format!("timed out after {}s", o.timeout)))??;
    let mut out = std::io::stdout().lock();
    let mut text = format!(
        "HTTP/1.1 {} {}\r\n",
        reply.head.status,
        String::from_utf8_lossy(&reply.head.reason)
    );
    for (n, v) in &reply.head.headers {
        text.push_str(&format!(
            "{}: {}\r\n",
            String::from_utf8_lossy(n),
            String::from_utf8_lossy(v)
        ));
    }
    text.push_str("\r\n");
    let _ = out.write_all(text.as_bytes());
    let _ = out.write_all(&reply.body);
    let _ = out.flush();
    Ok(u8::from(reply.head.status >= 400))
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
            eprintln!("backend-client: {e}");
            return ExitCode::from(2);
        }
    };
    match run(o).await {
        Ok(c) => ExitCode::from(c),
        Err((c, e)) => {
            eprintln!("backend-client: {e}");
            ExitCode::from(c)
        }
    }
}
