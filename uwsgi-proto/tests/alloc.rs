//! The borrowed path allocates nothing: parsing a packet, validating its
//! vars, iterating and looking up keys.

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use uwsgi_proto::{Limits, Mode, Packet, RequestDecoder, RequestFrame, Status, Vars};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn borrowed_decode_iterate_and_lookup_allocate_nothing() {
    let wire = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/vectors/captures/nginx-get-query.bin"
    ))
    .unwrap();
    let limits = Limits::default();
    let region = Region::new(GLOBAL);
    let Ok(Status::Complete((p, _))) = Packet::parse(&wire, &limits) else {
        panic!()
    };
    let vars = Vars::parse(p.payload(), &limits, Mode::Strict).unwrap();
    let mut total = 0usize;
    for (k, v) in vars.iter() {
        total += k.len() + v.len();
    }
    let host = vars.get(b"HTTP_HOST");
    let mut dec = RequestDecoder::new();
    let Ok(Status::Complete((RequestFrame::Head(h), _))) = dec.decode(&wire) else {
        panic!()
    };
    let stats = region.change();
    assert_eq!(host, Some(&b"example.test"[..]));
    assert!(total > 0 && h.vars.len() > 10);
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "{stats:?}"
    );
}
