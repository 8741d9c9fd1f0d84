//! Demo: starts uwsgi and FastCGI environ-dump backends on loopback ports, sends each a
//! GET and a POST with the uwsgi client, prints the bytes that crossed the
//! wire and the decoded answer, and exits 0. No external server needed.

use std::process::ExitCode;

use bytes::Bytes;
use examples::{fastcgi_request, hexdump, serve_fastcgi_dump, serve_uwsgi_dump, uwsgi_request};
use tokio::net::{TcpListener, TcpStream};
use uwsgi_proto::{Modifier1, OwnedRequestHead, VarsBuilder};

fn request(
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
) -> Result<OwnedRequestHead, Box<dyn std::error::Error>> {
    let mut vars = VarsBuilder::new();
    vars.var("REQUEST_METHOD", method)
        .var(
            "REQUEST_URI",
            if query.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{query}")
            },
        )
        .var("PATH_INFO", path)
        .var("QUERY_STRING", query)
        .var("SERVER_PROTOCOL", "HTTP/1.1")
        .var("SERVER_NAME", "localhost")
        .var("SERVER_PORT", "80")
        .var("REMOTE_ADDR", "127.0.0.1")
        .var("HTTP_HOST", "localhost")
        .var("CONTENT_LENGTH", body.len().to_string());
    Ok(OwnedRequestHead::from_packet(
        vars.packet(Modifier1::WSGI, 0)?,
    )?)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("environ-dump backend listening on uwsgi://{addr}");
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let (stream, _) = listener.accept().await?;
            serve_uwsgi_dump(stream).await?;
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    for (method, path, query, body) in [
        ("GET", "/hello", "name=world", &b""[..]),
        ("POST", "/submit", "", &b"field=value&other=1"[..]),
    ] {
        let head = request(method, path, query, body)?;
        let mut wire = Vec::new();
        head.encode(&mut wire);
        wire.extend_from_slice(body);
        println!(
            "\n>>> {method} {path}: {} bytes on the wire (4-byte header, vars, body)",
            wire.len()
        );
        print!("{}", hexdump(&wire));
        let reply = uwsgi_request(TcpStream::connect(addr).await?, head, body).await?;
        println!(
            "<<< {} {}",
            reply.head.status,
            String::from_utf8_lossy(&reply.head.reason)
        );
        for (n, v) in &reply.head.headers {
            println!(
                "<<< {}: {}",
                String::from_utf8_lossy(n),
                String::from_utf8_lossy(v)
            );
        }
        for line in String::from_utf8_lossy(&reply.body).lines() {
            println!("    {line}");
        }
        if reply.head.status != 200 {
            return Err(format!("unexpected status {}", reply.head.status).into());
        }
    }
    server.await?.map_err(|e| e.to_string())?;

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("\nenviron-dump backend listening on fcgi://{addr}");
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let (stream, _) = listener.accept().await?;
            serve_fastcgi_dump(stream).await?;
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    for (method, path, query, body) in [
        ("GET", "/hello", "name=world", &b""[..]),
        ("POST", "/submit", "", &b"field=value&other=1"[..]),
    ] {
        let head = request(method, path, query, body)?;
        let pairs: Vec<(Bytes, Bytes)> = head
            .vars
            .iter()
            .map(|(k, v)| (Bytes::copy_from_slice(k), Bytes::copy_from_slice(v)))
            .collect();
        let mut wire = Vec::new();
        let mut b = fastcgi_proto::ParamsBuilder::new();
        for (k, v) in &pairs {
            b.pair(k, v);
        }
        let params = b.finish()?;
        fastcgi_proto::encode_record(
            &mut wire,
            fastcgi_proto::RecordType::BEGIN_REQUEST,
            1,
            &[0, 1, 0, 0, 0, 0, 0, 0],
            8,
        )?;
        fastcgi_proto::encode_record(
            &mut wire,
            fastcgi_proto::RecordType::PARAMS,
            1,
            params.as_bytes(),
            8,
        )?;
        fastcgi_proto::encode_record(&mut wire, fastcgi_proto::RecordType::PARAMS, 1, b"", 8)?;
        if !body.is_empty() {
            fastcgi_proto::encode_record(&mut wire, fastcgi_proto::RecordType::STDIN, 1, body, 8)?;
        }
        fastcgi_proto::encode_record(&mut wire, fastcgi_proto::RecordType::STDIN, 1, b"", 8)?;
        println!(
            "\n>>> FastCGI {method} {path}: {} bytes of records (BEGIN_REQUEST, PARAMS, STDIN)",
            wire.len()
        );
        print!("{}", hexdump(&wire));
        let reply = fastcgi_request(TcpStream::connect(addr).await?, pairs, body).await?;
        println!("<<< app_status {}", reply.app_status);
        for line in String::from_utf8_lossy(&reply.stdout).lines() {
            println!("    {line}");
        }
        if !reply.stdout.starts_with(b"Status: 200") {
            return Err("unexpected FastCGI reply".into());
        }
    }
    server.await?.map_err(|e| e.to_string())?;
    println!("\ndemo: ok");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}
