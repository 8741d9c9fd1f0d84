//! wire-inspect: decodes the bytes of one direction of a uwsgi or FastCGI
//! connection, read from a file or stdin, and prints every packet or record
//! with its vars/params, body lengths and any error with its offset, as
//! text or JSON.

use std::collections::HashMap;
use std::io::Read;
use std::process::ExitCode;

use examples::show;
use serde_json::{Value, json};

const HELP: &str = "wire-inspect: decode a captured uwsgi or FastCGI byte stream

usage: wire-inspect [--protocol uwsgi|fastcgi|auto] [--direction request|response|auto]
                    [--json] [FILE|-]

  --protocol P    protocol of the bytes (default auto: a first byte of 1 is
                  FastCGI version 1, anything else uwsgi)
  --direction D   which side sent the bytes (default auto: for uwsgi, a
                  response starts with `HTTP/`, `Status:` or a header line,
                  or is a pong / generic-response packet; for FastCGI,
                  STDOUT, STDERR, END_REQUEST, GET_VALUES_RESULT and
                  UNKNOWN_TYPE records are the application's)
  --json          one JSON object per packet / record / body, and a final
                  {\"error\":…,\"offset\":N} object when the input is malformed
  -h, --help      this text

Request side: uwsgi packet header and vars, body length; FastCGI
BEGIN_REQUEST, PARAMS (decoded when the stream ends), STDIN totals,
GET_VALUES. Response side: uwsgi HTTP/CGI head (status, fields) and body
length, or a pong / generic response; FastCGI STDOUT (the CGI head decoded)
and STDERR lengths, END_REQUEST, GET_VALUES_RESULT, UNKNOWN_TYPE.

Exit codes: 0 decoded cleanly, 1 malformed or truncated input, 2 usage error.";

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

fn pairs_json<'a>(it: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Value {
    Value::Array(it.map(|(k, v)| json!([latin1(k), latin1(v)])).collect())
}

/// What was decoded: text lines and JSON objects side by side.
#[derive(Default)]
struct Out {
    text: String,
    json: Vec<Value>,
}

impl Out {
    fn item(&mut self, text: String, json: Value) {
        self.text.push_str(&text);
        self.json.push(json);
    }
}

/// A decoding failure: message and stream offset.
struct Failure {
    msg: String,
    offset: u64,
}

/// The stream offset named in an error message ("… offset N …"), else `at`.
fn offset_of(msg: &str, at: u64) -> u64 {
    msg.rsplit_once("offset ")
        .and_then(|(_, r)| {
            let d: String = r.chars().take_while(char::is_ascii_digit).collect();
            d.parse().ok()
        })
        .unwrap_or(at)
}

fn fail(msg: String, at: u64) -> Failure {
    Failure {
        offset: offset_of(&msg, at),
        msg,
    }
}

fn inspect_uwsgi_request(data: &[u8], out: &mut Out) -> Result<(), Failure> {
    use uwsgi_proto::{Limits, Packet, Status};
    match Packet::parse(data, &Limits::default()) {
        Ok(Status::Complete((p, used))) => {
            let h = p.header();
            let mut text = format!(
                "offset 0: uwsgi packet modifier1={:?} modifier2={} payload={} bytes\n",
                h.modifier1,
                h.modifier2,
                p.payload().len()
            );
            let mut obj = json!({
                "offset": 0, "kind": "packet", "modifier1": h.modifier1.0,
                "modifier2": h.modifier2, "payload_len": p.payload().len(),
            });
            if h.modifier1.is_request() {
                let vars = p.vars().map_err(|e| fail(format!("vars: {e}"), 4))?;
                for (k, v) in vars.iter() {
                    text.push_str(&format!("  {}={}\n", show(k), show(v)));
                }
                obj["vars"] = pairs_json(vars.iter());
            }
            out.item(text, obj);
            let body = data.len() - used;
            out.item(
                format!("offset {used}: body {body} bytes\n"),
                json!({"offset": used, "kind": "body", "len": body}),
            );
            Ok(())
        }
        Ok(Status::Incomplete { needed }) => Err(Failure {
            msg: format!(
                "truncated uwsgi packet at offset 0: {} more bytes needed",
                needed.map_or(1, usize::from)
            ),
            offset: 0,
        }),
        Err(e) => Err(fail(format!("malformed uwsgi packet: {e}"), 0)),
    }
}

fn inspect_uwsgi_response(data: &[u8], out: &mut Out) -> Result<(), Failure> {
    use uwsgi_proto::{Limits, Modifier1, Packet, ResponseDecoder, ResponseFrame, Status, special};
    if data.len() >= 4 && matches!(Modifier1(data[0]), Modifier1::PING | Modifier1::RESPONSE) {
        return match Packet::parse(data, &Limits::default()) {
            Ok(Status::Complete((p, used))) => {
                let h = p.header();
                let what = if let Some(msg) = special::pong_message(&p) {
                    format!("pong, message {:?}", latin1(msg))
                } else if let Some(g) = special::GenericResponse::from_packet(&p) {
                    format!("generic response, result {}", g.result)
                } else {
                    "packet".into()
                };
                out.item(
                    format!(
                        "offset 0: uwsgi packet modifier1={:?} modifier2={} payload={} bytes: {what}\n",
                        h.modifier1,
                        h.modifier2,
                        p.payload().len()
                    ),
                    json!({"offset": 0, "kind": "packet", "modifier1": h.modifier1.0,
                        "modifier2": h.modifier2, "payload_len": p.payload().len(),
                        "meaning": what}),
                );
                if used < data.len() {
                    return Err(Failure {
                        msg: format!(
                            "{} bytes after the packet at offset {used}",
                            data.len() - used
                        ),
                        offset: used as u64,
                    });
                }
                Ok(())
            }
            Ok(Status::Incomplete { needed }) => Err(Failure {
                msg: format!(
                    "truncated uwsgi packet at offset 0: {} more bytes needed",
                    needed.map_or(1, usize::from)
                ),
                offset: 0,
            }),
            Err(e) => Err(fail(format!("malformed uwsgi packet: {e}"), 0)),
        };
    }
    let mut dec = ResponseDecoder::new();
    let mut pos = 0usize;
    let mut body = 0u64;
    let mut body_at = None;
    loop {
        let rest = data.get(pos..).unwrap_or_default();
        match dec.decode(rest) {
            Ok(Status::Complete((ResponseFrame::Head(h), used))) => {
                let mut text = format!(
                    "offset 0: response head {} bytes: status {} {}\n",
                    used,
                    h.status,
                    show(&h.reason)
                );
                for (n, v) in &h.headers {
                    text.push_str(&format!("  {}: {}\n", show(n), show(v)));
                }
                out.item(
                    text,
                    json!({"offset": 0, "kind": "response_head", "len": used, "status": h.status,
                        "reason": latin1(&h.reason),
                        "headers": pairs_json(h.headers.iter().map(|(n, v)| (&n[..], &v[..])))}),
                );
                pos += used;
            }
            Ok(Status::Complete((ResponseFrame::Body(b), used))) => {
                body_at.get_or_insert(pos);
                body += b.len() as u64;
                pos += used;
            }
            Ok(Status::Complete((ResponseFrame::End, used))) => {
                pos += used;
                break;
            }
            Ok(Status::Complete(_)) => break,
            Ok(Status::Incomplete { .. }) => {
                // End of input: a close-delimited body ends here.
                if let Err(e) = dec.finish(0) {
                    let msg = format!("truncated response: {e}");
                    return Err(fail(msg, pos as u64));
                }
                break;
            }
            Err(e) => return Err(fail(format!("malformed response: {e}"), pos as u64)),
        }
    }
    let at = body_at.unwrap_or(pos);
    out.item(
        format!("offset {at}: body {body} bytes\n"),
        json!({"offset": at, "kind": "body", "len": body}),
    );
    if pos < data.len() {
        return Err(Failure {
            msg: format!(
                "{} bytes after the end of the response at offset {pos}",
                data.len() - pos
            ),
            offset: pos as u64,
        });
    }
    Ok(())
}

/// Per-request state of the FastCGI walk.
#[derive(Default)]
struct Stream {
    params: Vec<u8>,
    stdin: u64,
    stdout: Vec<u8>,
    stdout_total: u64,
    head_done: bool,
    stderr: u64,
}

fn inspect_fastcgi(data: &[u8], response: bool, out: &mut Out) -> Result<(), Failure> {
    use fastcgi_proto::{Body, Params, Record, RecordType, Status};
    let mut pos = 0;
    let mut reqs: HashMap<u16, Stream> = HashMap::new();
    let ropts = wsgi_environ::response::ResponseOptions::default();
    while pos < data.len() {
        let rest = data.get(pos..).unwrap_or_default();
        let (rec, used) = match Record::parse(rest, pos) {
            Ok(Status::Complete(r)) => r,
            Ok(Status::Incomplete { needed }) => {
                return Err(Failure {
                    msg: format!(
                        "truncated record at offset {pos}: {} more bytes needed",
                        needed.map_or(1, usize::from)
                    ),
                    offset: pos as u64,
                });
            }
            Err(e) => return Err(fail(format!("malformed record: {e}"), pos as u64)),
        };
        let h = rec.header;
        let mut text = format!(
            "offset {pos}: {:?} id={} content={} padding={}\n",
            h.record_type, h.request_id, h.content_len, h.padding_len
        );
        let mut obj = json!({
            "offset": pos, "type": h.record_type.name().unwrap_or("unknown"),
            "type_code": h.record_type.0, "request_id": h.request_id,
            "content_len": h.content_len, "padding_len": h.padding_len,
        });
        let s = reqs.entry(h.request_id).or_default();
        let perr = |e: fastcgi_proto::DecodeError, what: &str| {
            fail(
                format!("{what} of request {}: {e}", h.request_id),
                pos as u64,
            )
        };
        match (h.record_type, rec.body()) {
            (_, Body::BeginRequest(b)) => {
                text.push_str(&format!("  {:?}\n", rec.body()));
                obj["role"] = json!(b.role.0);
                obj["keep_conn"] = json!(b.keep_conn());
            }
            (_, Body::EndRequest(e)) => {
                text.push_str(&format!("  {:?}\n", rec.body()));
                obj["app_status"] = json!(e.app_status);
                obj["protocol_status"] = json!(e.protocol_status.0);
                text.push_str(&format!(
                    "  stdout {} bytes, stderr {} bytes\n",
                    s.stdout_total, s.stderr
                ));
                obj["stdout_total"] = json!(s.stdout_total);
                obj["stderr_total"] = json!(s.stderr);
                *s = Stream::default();
            }
            (_, Body::UnknownType(t)) => {
                text.push_str(&format!("  unknown type {:?}\n", t));
                obj["unknown_type"] = json!(t.0);
            }
            (RecordType::PARAMS, _) if rec.content.is_empty() => {
                let block = std::mem::take(&mut s.params);
                let p = Params::decode(block.into()).map_err(|e| perr(e, "params"))?;
                for (k, v) in p.iter() {
                    text.push_str(&format!("  {}={}\n", show(k), show(v)));
                }
                obj["params"] = pairs_json(p.iter());
            }
            (RecordType::PARAMS, _) => s.params.extend_from_slice(rec.content),
            (RecordType::GET_VALUES | RecordType::GET_VALUES_RESULT, _) => {
                let p = Params::decode(bytes::Bytes::copy_from_slice(rec.content))
                    .map_err(|e| perr(e, "values"))?;
                for (k, v) in p.iter() {
                    text.push_str(&format!("  {}={}\n", show(k), show(v)));
                }
                obj["values"] = pairs_json(p.iter());
            }
            (RecordType::STDIN, _) if rec.content.is_empty() => {
                text.push_str(&format!("  end of stdin: {} bytes in all\n", s.stdin));
                obj["stdin_total"] = json!(s.stdin);
                s.stdin = 0;
            }
            (RecordType::STDIN, _) => s.stdin += rec.content.len() as u64,
            (RecordType::STDOUT, _) if rec.content.is_empty() => {
                text.push_str(&format!(
                    "  end of stdout: {} bytes in all\n",
                    s.stdout_total
                ));
                obj["stdout_total"] = json!(s.stdout_total);
                s.stdout_total = 0;
                s.head_done = false;
                s.stdout.clear();
            }
            (RecordType::STDOUT, _) => {
                s.stdout_total += rec.content.len() as u64;
                if response && !s.head_done {
                    s.stdout.extend_from_slice(rec.content);
                    match wsgi_environ::parse_cgi_response(&s.stdout, &ropts) {
                        Ok(wsgi_environ::Status::Complete(r)) => {
                            s.head_done = true;
                            s.stdout = Vec::new();
                            text.push_str(&format!(
                                "  CGI head: status {}\n",
                                r.head.status.as_u16()
                            ));
                            for (n, v) in &r.head.headers {
                                text.push_str(&format!("    {}: {}\n", n, show(v.as_bytes())));
                            }
                            obj["cgi_status"] = json!(r.head.status.as_u16());
                            obj["cgi_headers"] = pairs_json(
                                r.head
                                    .headers
                                    .iter()
                                    .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes())),
                            );
                        }
                        Ok(_) => {}
                        Err(e) => {
                            return Err(fail(
                                format!("CGI head of request {}: {e}", h.request_id),
                                pos as u64,
                            ));
                        }
                    }
                }
            }
            (RecordType::STDERR, _) if rec.content.is_empty() => {
                text.push_str(&format!("  end of stderr: {} bytes in all\n", s.stderr));
                obj["stderr_total"] = json!(s.stderr);
                s.stderr = 0;
            }
            (RecordType::STDERR, _) => {
                s.stderr += rec.content.len() as u64;
                text.push_str(&format!("  stderr: {}\n", show(rec.content)));
                obj["stderr"] = json!(latin1(rec.content));
            }
            _ => {}
        }
        out.item(text, obj);
        pos += used;
    }
    Ok(())
}

/// Guesses the direction of a byte stream.
fn guess_response(fastcgi: bool, data: &[u8]) -> bool {
    use fastcgi_proto::RecordType as T;
    if fastcgi {
        return data.get(1).is_some_and(|&t| {
            matches!(
                T(t),
                T::STDOUT | T::STDERR | T::END_REQUEST | T::GET_VALUES_RESULT | T::UNKNOWN_TYPE
            )
        });
    }
    let first = data.first().copied().unwrap_or(0);
    // Pong (100) and generic responses (255), or text: a response head.
    first == 100 || first == 255 || first.is_ascii_alphabetic()
}

fn main() -> ExitCode {
    let mut protocol = "auto".to_owned();
    let mut direction = "auto".to_owned();
    let mut json_out = false;
    let mut file = "-".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "--protocol" => match args.next() {
                Some(p) if ["uwsgi", "fastcgi", "auto"].contains(&p.as_str()) => protocol = p,
                _ => {
                    eprintln!("wire-inspect: --protocol needs uwsgi, fastcgi or auto");
                    return ExitCode::from(2);
                }
            },
            "--direction" => match args.next() {
                Some(d) if ["request", "response", "auto"].contains(&d.as_str()) => direction = d,
                _ => {
                    eprintln!("wire-inspect: --direction needs request, response or auto");
                    return ExitCode::from(2);
                }
            },
            "--json" => json_out = true,
            s if s.starts_with('-') && s != "-" => {
                eprintln!("wire-inspect: unknown option {s:?} (try --help)");
                return ExitCode::from(2);
            }
            _ => file = a,
        }
    }
    let data = if file == "-" {
        let mut b = vec![];
        std::io::stdin().read_to_end(&mut b).map(|_| b)
    } else {
        std::fs::read(&file)
    };
    let data = match data {
        Ok(d) => d,
        Err(e) => {
            eprintln!("wire-inspect: reading {file}: {e}");
            return ExitCode::from(2);
        }
    };
    if data.is_empty() {
        if json_out {
            println!("{}", json!({"offset": 0, "kind": "empty"}));
        } else {
            println!("empty input: 0 bytes");
        }
        return ExitCode::SUCCESS;
    }
    let fastcgi = match protocol.as_str() {
        "auto" => data.first() == Some(&1),
        p => p == "fastcgi",
    };
    let response = match direction.as_str() {
        "auto" => guess_response(fastcgi, &data),
        d => d == "response",
    };
    let mut out = Out::default();
    let r = match (fastcgi, response) {
        (true, r) => inspect_fastcgi(&data, r, &mut out),
        (false, false) => inspect_uwsgi_request(&data, &mut out),
        (false, true) => inspect_uwsgi_response(&data, &mut out),
    };
    if json_out {
        let mut s = String::new();
        for v in &out.json {
            s.push_str(&v.to_string());
            s.push('\n');
        }
        if let Err(f) = &r {
            s.push_str(&json!({"error": f.msg, "offset": f.offset}).to_string());
            s.push('\n');
        }
        out.text = s;
    }
    if let Err(e) = examples::write_stdout(out.text.as_bytes()) {
        eprintln!("wire-inspect: writing the output: {e}");
        return ExitCode::FAILURE;
    }
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("wire-inspect: {}", f.msg);
            ExitCode::FAILURE
        }
    }
}
