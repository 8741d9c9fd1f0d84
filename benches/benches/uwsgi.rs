//! uwsgi-proto: vars decode + iterate on a real nginx packet (26 vars), vars
//! encode, and the server codec over a request with a 1 MiB body; a naive
//! `Vec<(String, String)>` decoder on the same bytes as the baseline (there is
//! no other Rust uwsgi implementation).
#![allow(missing_docs)]

use std::hint::black_box;

use benches::{allocations, install_counting_allocator};
use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tokio_util::codec::Decoder;
use uwsgi_proto::codec::{RequestPart, ServerCodec};
use uwsgi_proto::{Limits, Mode, Packet, Status, Vars, VarsBuilder, VarsReader, encode_packet};

install_counting_allocator!();

const NGINX: &[u8] = include_bytes!("../../uwsgi-proto/vectors/captures/nginx-browser.bin");

/// The straightforward decoder most ports write: owned strings per var.
fn naive(buf: &[u8]) -> Option<Vec<(String, String)>> {
    let size = usize::from(u16::from_le_bytes([*buf.get(1)?, *buf.get(2)?]));
    let block = buf.get(4..4 + size)?;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < block.len() {
        let kl = usize::from(u16::from_le_bytes([*block.get(pos)?, *block.get(pos + 1)?]));
        let k = String::from_utf8_lossy(block.get(pos + 2..pos + 2 + kl)?).into_owned();
        pos += 2 + kl;
        let vl = usize::from(u16::from_le_bytes([*block.get(pos)?, *block.get(pos + 1)?]));
        let v = String::from_utf8_lossy(block.get(pos + 2..pos + 2 + vl)?).into_owned();
        pos += 2 + vl;
        out.push((k, v));
    }
    Some(out)
}

fn decode_iterate(buf: &[u8]) -> usize {
    let limits = Limits::default();
    let Ok(Status::Complete((p, _))) = Packet::parse(buf, &limits) else {
        return 0;
    };
    let Ok(vars) = Vars::parse(p.payload(), &limits, Mode::Strict) else {
        return 0;
    };
    vars.iter().map(|(k, v)| k.len() + v.len()).sum()
}

fn decode_iterate_lazy(buf: &[u8]) -> usize {
    let Ok(Status::Complete((p, _))) = Packet::parse(buf, &Limits::default()) else {
        return 0;
    };
    let mut sum = 0;
    for r in VarsReader::new(p.payload(), Mode::Strict) {
        let Ok((k, v)) = r else { return 0 };
        sum += k.len() + v.len();
    }
    sum
}

/// A small deterministic generator (xorshift64) for the packet sets below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn packet(vars: &[(Vec<u8>, usize)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (k, vl) in vars {
        b.extend_from_slice(&(k.len() as u16).to_le_bytes());
        b.extend_from_slice(k);
        b.extend_from_slice(&(*vl as u16).to_le_bytes());
        b.extend(std::iter::repeat_n(b'x', *vl));
    }
    let mut p = vec![0, 0, 0, 0];
    p[1..3].copy_from_slice(&(b.len() as u16).to_le_bytes());
    p.extend_from_slice(&b);
    p
}

/// 256 packets as nginx sends them for a mix of clients: nginx's
/// `uwsgi_params` in their fixed order, then one of six header sets (two
/// browsers' navigations, a browser's subresource fetch, curl, an API client,
/// a request through a proxy) with random value lengths, the client picked at
/// random per packet.
fn mixed_clients() -> Vec<Vec<u8>> {
    const FIXED: &[&str] = &[
        "QUERY_STRING",
        "REQUEST_METHOD",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "REQUEST_URI",
        "PATH_INFO",
        "DOCUMENT_ROOT",
        "SERVER_PROTOCOL",
        "REQUEST_SCHEME",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "SERVER_PORT",
        "SERVER_NAME",
    ];
    const CLIENTS: &[&[&str]] = &[
        &[
            "HOST",
            "CONNECTION",
            "SEC_CH_UA",
            "SEC_CH_UA_MOBILE",
            "SEC_CH_UA_PLATFORM",
            "UPGRADE_INSECURE_REQUESTS",
            "USER_AGENT",
            "ACCEPT",
            "SEC_FETCH_SITE",
            "SEC_FETCH_MODE",
            "SEC_FETCH_USER",
            "SEC_FETCH_DEST",
            "ACCEPT_ENCODING",
            "ACCEPT_LANGUAGE",
            "COOKIE",
        ],
        &[
            "HOST",
            "USER_AGENT",
            "ACCEPT",
            "ACCEPT_LANGUAGE",
            "ACCEPT_ENCODING",
            "REFERER",
            "CONNECTION",
            "COOKIE",
            "UPGRADE_INSECURE_REQUESTS",
            "SEC_FETCH_DEST",
            "SEC_FETCH_MODE",
            "SEC_FETCH_SITE",
            "PRIORITY",
        ],
        &["HOST", "USER_AGENT", "ACCEPT"],
        &[
            "HOST",
            "ACCEPT",
            "SEC_FETCH_SITE",
            "COOKIE",
            "SEC_FETCH_DEST",
            "ACCEPT_LANGUAGE",
            "SEC_FETCH_MODE",
            "USER_AGENT",
            "REFERER",
            "ACCEPT_ENCODING",
            "CONNECTION",
        ],
        &[
            "HOST",
            "USER_AGENT",
            "ACCEPT_ENCODING",
            "ACCEPT",
            "CONNECTION",
            "AUTHORIZATION",
            "X_FORWARDED_FOR",
            "X_REAL_IP",
        ],
        &[
            "HOST",
            "X_FORWARDED_FOR",
            "X_FORWARDED_PROTO",
            "USER_AGENT",
            "ACCEPT",
            "ACCEPT_LANGUAGE",
            "COOKIE",
            "REFERER",
        ],
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..256)
        .map(|_| {
            let client = CLIENTS[(rng.next() % CLIENTS.len() as u64) as usize];
            let mut vars: Vec<(Vec<u8>, usize)> = FIXED
                .iter()
                .map(|k| (k.as_bytes().to_vec(), 3 + (rng.next() % 30) as usize))
                .collect();
            for h in client {
                vars.push((
                    format!("HTTP_{h}").into_bytes(),
                    3 + (rng.next() % 60) as usize,
                ));
            }
            packet(&vars)
        })
        .collect()
}

/// 256 packets holding the vars of the nginx capture, each in its own random
/// order: the key lengths follow no pattern from one var to the next, which
/// no front server does, but a client choosing header names can.
fn shuffled_order() -> Vec<Vec<u8>> {
    let vars: Vec<(Vec<u8>, usize)> = Vars::parse(&NGINX[4..], &Limits::default(), Mode::Strict)
        .unwrap()
        .iter()
        .map(|(k, v)| (k.to_vec(), v.len()))
        .collect();
    let mut rng = Rng(0x1234_5678);
    (0..256)
        .map(|_| {
            let mut v = vars.clone();
            for i in (1..v.len()).rev() {
                v.swap(i, (rng.next() % (i as u64 + 1)) as usize);
            }
            packet(&v)
        })
        .collect()
}

fn count_vars(packets: &[Vec<u8>]) -> u64 {
    packets
        .iter()
        .map(|p| VarsReader::new(&p[4..], Mode::Strict).count() as u64)
        .sum()
}

fn request_1mib() -> Vec<u8> {
    let body = vec![0x5au8; 1 << 20];
    let mut b = VarsBuilder::new();
    let vars = Vars::parse(&NGINX[4..], &Limits::default(), Mode::Strict).unwrap();
    b.vars(vars.iter().filter(|(k, _)| *k != b"CONTENT_LENGTH"));
    b.var("CONTENT_LENGTH", body.len().to_string());
    let mut wire = Vec::new();
    b.packet(uwsgi_proto::Modifier1::WSGI, 0)
        .unwrap()
        .encode(&mut wire);
    wire.extend_from_slice(&body);
    wire
}

fn codec_drain(wire: &[u8], read: usize) -> usize {
    let mut codec = ServerCodec::new();
    let mut buf = BytesMut::with_capacity(read);
    let mut fed = 0;
    let mut body = 0;
    loop {
        match codec.decode(&mut buf).unwrap() {
            Some(RequestPart::Body(b)) => body += b.len(),
            Some(RequestPart::End) => return body,
            Some(_) => {}
            None => {
                let n = read.min(wire.len() - fed);
                buf.extend_from_slice(&wire[fed..fed + n]);
                fed += n;
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let vars = Vars::parse(&NGINX[4..], &Limits::default(), Mode::Strict).unwrap();
    let n = vars.len();
    let pairs: Vec<(Vec<u8>, Vec<u8>)> =
        vars.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
    let (_, a_ours) = allocations(GLOBAL, || {
        decode_iterate(black_box(NGINX)) + decode_iterate_lazy(black_box(NGINX))
    });
    let (_, a_naive) = allocations(GLOBAL, || naive(black_box(NGINX)));
    let mut scratch = Vec::with_capacity(1024);
    let (_, a_enc) = allocations(GLOBAL, || {
        encode_packet(
            uwsgi_proto::Modifier1::WSGI,
            0,
            pairs.iter().map(|(k, v)| (k, v)),
            &mut scratch,
        )
    });
    eprintln!(
        "uwsgi: {n} vars, {} bytes; heap allocations per op: decode+iterate {a_ours}, naive {a_naive}, encode into a reused buffer {a_enc}",
        NGINX.len()
    );

    let mut g = c.benchmark_group("uwsgi/vars");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("decode+iterate, lazy single pass (elements = vars)", |b| {
        b.iter(|| decode_iterate_lazy(black_box(NGINX)))
    });
    g.bench_function("validate then iterate (elements = vars)", |b| {
        b.iter(|| decode_iterate(black_box(NGINX)))
    });
    g.bench_function("naive Vec<(String,String)> (elements = vars)", |b| {
        b.iter(|| naive(black_box(NGINX)))
    });
    g.bench_function("lookup HTTP_COOKIE (elements = vars)", |b| {
        b.iter(|| black_box(&vars).get(black_box(b"HTTP_COOKIE")))
    });
    g.bench_function("encode (elements = vars)", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(1024),
            |out| {
                encode_packet(
                    uwsgi_proto::Modifier1::WSGI,
                    0,
                    pairs.iter().map(|(k, v)| (k, v)),
                    out,
                )
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    // Packet sets: how the vars loop does when the order of key lengths
    // changes from packet to packet.
    for (name, set) in [
        ("mixed clients", mixed_clients()),
        ("shuffled order", shuffled_order()),
    ] {
        let (_, a_lazy) = allocations(GLOBAL, || {
            set.iter()
                .map(|p| decode_iterate_lazy(black_box(p)))
                .sum::<usize>()
        });
        let (_, a_naive) = allocations(GLOBAL, || {
            set.iter()
                .map(|p| naive(black_box(p)).map_or(0, |v| v.len()))
                .sum::<usize>()
        });
        eprintln!(
            "uwsgi: {name}: {} packets, {} vars; heap allocations per set: decode+iterate {a_lazy}, naive {a_naive}",
            set.len(),
            count_vars(&set)
        );
        let mut g = c.benchmark_group("uwsgi/vars, 256 packets");
        g.throughput(Throughput::Elements(count_vars(&set)));
        g.bench_function(
            format!("{name}: decode+iterate lazy (elements = vars)"),
            |b| {
                b.iter(|| {
                    set.iter()
                        .map(|p| decode_iterate_lazy(black_box(p)))
                        .sum::<usize>()
                })
            },
        );
        g.bench_function(format!("{name}: naive (elements = vars)"), |b| {
            b.iter(|| {
                set.iter()
                    .map(|p| naive(black_box(p)).map_or(0, |v| v.len()))
                    .sum::<usize>()
            })
        });
        g.finish();
    }

    let wire = request_1mib();
    let mut g = c.benchmark_group("uwsgi/codec");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("server codec, 1 MiB body, 64 KiB reads", |b| {
        b.iter(|| codec_drain(black_box(&wire), 64 * 1024))
    });
    g.finish();
    let _ = Bytes::new();
}

criterion_group!(benches, bench);
criterion_main!(benches);
