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
