//! fastcgi-proto: PARAMS decode of an nginx `fastcgi_params` set (borrowed
//! iterator and streaming decoder), pairs encode, and 1 MiB of STDIN and
//! STDOUT through the record codec.
#![allow(missing_docs)]

use core::hint::black_box;

use benches::{allocations, install_counting_allocator};
use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use fastcgi_proto::codec::RecordCodec;
use fastcgi_proto::{
    Pairs, ParamsDecoder, ParamsLimits, RecordLayout, RecordType, StreamWriter, encode_pairs,
};
use tokio_util::codec::Decoder;

install_counting_allocator!();

/// The variables nginx's stock `fastcgi_params` + `SCRIPT_FILENAME` send for a
/// browser GET, with typical browser headers.
fn nginx_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("QUERY_STRING", "q=rust&page=2"),
        ("REQUEST_METHOD", "GET"),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("SCRIPT_NAME", "/index.php"),
        ("REQUEST_URI", "/index.php?q=rust&page=2"),
        ("DOCUMENT_URI", "/index.php"),
        ("DOCUMENT_ROOT", "/var/www/html"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_SOFTWARE", "nginx/1.22.1"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "53412"),
        ("SERVER_ADDR", "127.0.0.1"),
        ("SERVER_PORT", "8080"),
        ("SERVER_NAME", "localhost"),
        ("REDIRECT_STATUS", "200"),
        ("SCRIPT_FILENAME", "/var/www/html/index.php"),
        ("HTTP_HOST", "localhost:8080"),
        ("HTTP_CONNECTION", "keep-alive"),
        (
            "HTTP_USER_AGENT",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        ),
        (
            "HTTP_ACCEPT",
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        ),
        ("HTTP_ACCEPT_ENCODING", "gzip, deflate, br"),
        ("HTTP_ACCEPT_LANGUAGE", "en-US,en;q=0.9"),
        (
            "HTTP_COOKIE",
            "session=0123456789abcdef0123456789abcdef; theme=dark",
        ),
        ("HTTP_UPGRADE_INSECURE_REQUESTS", "1"),
        ("HTTP_SEC_FETCH_DEST", "document"),
        ("HTTP_SEC_FETCH_MODE", "navigate"),
        ("HTTP_SEC_FETCH_SITE", "none"),
    ]
}

fn encoded_block() -> Vec<u8> {
    let p = nginx_params();
    let mut out = Vec::new();
    let layout = RecordLayout {
        align: 0,
        keep_pairs_whole: true,
    };
    encode_pairs(
        &mut out,
        RecordType::PARAMS,
        1,
        p.iter().map(|(a, b)| (a.as_bytes(), b.as_bytes())),
        layout,
        false,
    )
    .unwrap();
    out[8..].to_vec()
}

fn params(c: &mut Criterion) {
    let block = encoded_block();
    let mut g = c.benchmark_group("fastcgi/params");
    g.throughput(Throughput::Bytes(block.len() as u64));
    g.bench_function("decode_borrowed_iter", |b| {
        b.iter(|| {
            Pairs::new(black_box(&block))
                .filter_map(Result::ok)
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
        })
    });
    g.bench_function("decode_streaming_owned", |b| {
        b.iter(|| {
            let mut d = ParamsDecoder::new(ParamsLimits::default());
            d.push(black_box(&block)).unwrap();
            d.finish().unwrap().len()
        })
    });
    let p = nginx_params();
    g.bench_function("encode_records", |b| {
        let mut out = BytesMut::with_capacity(4096);
        b.iter(|| {
            out.clear();
            encode_pairs(
                &mut out,
                RecordType::PARAMS,
                1,
                p.iter().map(|(a, v)| (a.as_bytes(), v.as_bytes())),
                RecordLayout::default(),
                true,
            )
            .unwrap()
        })
    });
    g.finish();
    let (_, n) = allocations(GLOBAL, || Pairs::new(&block).count());
    eprintln!(
        "params: {} bytes, {} pairs, borrowed decode allocations: {n}",
        block.len(),
        nginx_params().len()
    );
}

fn streams(c: &mut Criterion) {
    let body = Bytes::from(vec![0x5a; 1 << 20]);
    let mut g = c.benchmark_group("fastcgi/stream_1MiB");
    g.throughput(Throughput::Bytes(body.len() as u64));
    for ty in [RecordType::STDIN, RecordType::STDOUT] {
        let w = StreamWriter::new(ty, 1);
        let mut wire = BytesMut::new();
        w.write(&mut wire, &body);
        w.finish(&mut wire);
        let wire = wire.freeze();
        g.bench_function(format!("{}_decode_codec", ty.name().unwrap_or("?")), |b| {
            b.iter_batched(
                || BytesMut::from(&wire[..]),
                |mut buf| {
                    let mut c = RecordCodec::default();
                    let mut n = 0;
                    while let Some(r) = c.decode(&mut buf).unwrap() {
                        n += r.content.len();
                    }
                    n
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(
            format!("{}_encode_zero_copy", ty.name().unwrap_or("?")),
            |b| b.iter(|| w.pieces(body.clone()).len()),
        );
        g.bench_function(format!("{}_encode_copy", ty.name().unwrap_or("?")), |b| {
            let mut out = BytesMut::with_capacity(wire.len());
            b.iter(|| {
                out.clear();
                w.write(&mut out, &body)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, params, streams);
criterion_main!(benches);
