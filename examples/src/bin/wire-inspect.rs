//! wire-inspect: decodes the request bytes of one uwsgi or FastCGI
//! connection, read from a file or stdin, and prints every packet or record
//! with its vars/params, body lengths and any error with its offset.

use std::collections::HashMap;
use std::io::Read;
use std::process::ExitCode;

use examples::show;

const HELP: &str = "wire-inspect: decode a captured uwsgi or FastCGI request stream

usage: wire-inspect [--protocol uwsgi|fastcgi|auto] [FILE|-]

  --protocol P   protocol of the bytes (default auto: a first byte of 1 is
                 FastCGI version 1, anything else a uwsgi packet)
  -h, --help     this text

Exit codes: 0 decoded cleanly, 1 malformed or truncated input, 2 usage error.";

fn inspect_uwsgi(data: &[u8], out: &mut String) -> Result<(), String> {
    use uwsgi_proto::{Limits, Packet, Status};
    match Packet::parse(data, &Limits::default()) {
        Ok(Status::Complete((p, used))) => {
            let h = p.header();
            out.push_str(&format!(
                "offset 0: uwsgi packet modifier1={:?} modifier2={} payload={} bytes\n",
                h.modifier1,
                h.modifier2,
                p.payload().len()
            ));
            let vars = p.vars().map_err(|e| format!("vars: {e}"))?;
            for (k, v) in vars.iter() {
                out.push_str(&format!("  {}={}\n", show(k), show(v)));
            }
            out.push_str(&format!(
                "offset {used}: body {} bytes\n",
                data.len() - used
            ));
            Ok(())
        }
        Ok(Status::Incomplete { needed }) => Err(format!(
            "truncated uwsgi packet at offset 0: {} more bytes needed",
            needed.map_or(1, usize::from)
        )),
        Err(e) => Err(format!("malformed uwsgi packet: {e}")),
    }
}

fn inspect_fastcgi(data: &[u8], out: &mut String) -> Result<(), String> {
    use fastcgi_proto::{Params, Record, RecordType, Status};
    let mut pos = 0;
    let mut params: HashMap<u16, Vec<u8>> = HashMap::new();
    let mut stdin: HashMap<u16, u64> = HashMap::new();
    while pos < data.len() {
        let rest = data.get(pos..).unwrap_or_default();
        let (rec, used) = match Record::parse(rest, pos) {
            Ok(Status::Complete(r)) => r,
            Ok(Status::Incomplete { needed }) => {
                return Err(format!(
                    "truncated record at offset {pos}: {} more bytes needed",
                    needed.map_or(1, usize::from)
                ));
            }
            Err(e) => return Err(format!("malformed record: {e}")),
        };
        let h = rec.header;
        out.push_str(&format!(
            "offset {pos}: {:?} id={} content={} padding={}\n",
            h.record_type, h.request_id, h.content_len, h.padding_len
        ));
        match h.record_type {
            RecordType::BEGIN_REQUEST | RecordType::END_REQUEST => {
                out.push_str(&format!("  {:?}\n", rec.body()));
            }
            RecordType::PARAMS if rec.content.is_empty() => {
                let block = params.remove(&h.request_id).unwrap_or_default();
                let p = Params::decode(block.into())
                    .map_err(|e| format!("params of request {}: {e}", h.request_id))?;
                for (k, v) in p.iter() {
                    out.push_str(&format!("  {}={}\n", show(k), show(v)));
                }
            }
            RecordType::PARAMS => params
                .entry(h.request_id)
                .or_default()
                .extend_from_slice(rec.content),
            RecordType::STDIN if rec.content.is_empty() => {
                out.push_str(&format!(
                    "  end of stdin: {} bytes in all\n",
                    stdin.remove(&h.request_id).unwrap_or(0)
                ));
            }
            RecordType::STDIN => {
                *stdin.entry(h.request_id).or_default() += rec.content.len() as u64;
            }
            _ => {}
        }
        pos += used;
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut protocol = "auto".to_owned();
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
        println!("empty input: 0 bytes");
        return ExitCode::SUCCESS;
    }
    if protocol == "auto" {
        protocol = if data.first() == Some(&1) {
            "fastcgi"
        } else {
            "uwsgi"
        }
        .into();
    }
    let mut out = String::new();
    let r = if protocol == "fastcgi" {
        inspect_fastcgi(&data, &mut out)
    } else {
        inspect_uwsgi(&data, &mut out)
    };
    print!("{out}");
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wire-inspect: {e}");
            ExitCode::FAILURE
        }
    }
}
