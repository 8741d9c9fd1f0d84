//! Heap allocations of the arena-backed `Environ` and the builders, counted
//! by the global allocator. One test function, so no other test of this
//! binary allocates while a count runs.

use core::fmt::Write as _;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use wsgi_environ::Environ;
use wsgi_environ::build::{BuildOptions, Connection, Preset, build_environ};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

#[test]
fn allocations() {
    repeated_set_does_not_grow_the_arena();
    push_with_formats_into_the_arena();
    builders_allocate_per_request_not_per_pair();
}

fn repeated_set_does_not_grow_the_arena() {
    let mut env = Environ::new();
    env.push("SCRIPT_NAME", "/index.php");
    env.push("PATH_INFO", "/");
    env.push("Z", "tail");
    // Fewer rounds under the interpreter; value lengths still reach 199.
    let rounds: usize = if cfg!(miri) { 200 } else { 2_000 };
    for i in 0..rounds {
        let v = "p".repeat(i % 300);
        env.set(b"PATH_INFO", &v);
        env.set(b"SCRIPT_NAME", if i % 2 == 0 { "/a" } else { "/index.php" });
        assert_eq!(env.get(b"PATH_INFO"), Some(v.as_bytes()));
        assert_eq!(
            env.byte_len(),
            "SCRIPT_NAMEPATH_INFOZtail".len() + v.len() + if i % 2 == 0 { 2 } else { 10 }
        );
    }
    assert_eq!(env.len(), 3);
    // No allocation at all once the arena has room for the largest value.
    let before = Region::new(GLOBAL);
    for i in 0..rounds / 2 {
        env.set(b"PATH_INFO", &b"qqqqqqq"[..i % 7]);
        env.set(b"SCRIPT_NAME", "/index.php");
    }
    assert_eq!(before.change().allocations, 0);
    assert_eq!(before.change().reallocations, 0);
}

fn push_with_formats_into_the_arena() {
    let mut env = Environ::with_capacity(2, 64);
    let before = Region::new(GLOBAL);
    env.try_push_with(
        |n| n.extend_from_slice(b"SERVER_PORT"),
        |v| write!(v, "{}", 8080u16).unwrap(),
    )
    .unwrap();
    env.try_push_with(
        |n| n.extend(b"remote-addr".iter().map(u8::to_ascii_uppercase)),
        |v| write!(v, "{}", core::net::Ipv6Addr::LOCALHOST).unwrap(),
    )
    .unwrap();
    assert_eq!(before.change().allocations, 0);
    assert_eq!(
        env.into_vec(),
        [
            (b"SERVER_PORT".to_vec(), b"8080".to_vec()),
            (b"REMOTE-ADDR".to_vec(), b"::1".to_vec()),
        ]
    );
}

fn browser(headers: usize) -> http::request::Parts {
    let mut b = http::Request::get("/articles/2026/some-title?page=2")
        .header("host", "www.example.test")
        .header("cookie", "a=1")
        .header("cookie", "b=2");
    for i in 0..headers {
        b = b.header(
            format!("x-custom-{i}"),
            "some header value of moderate size",
        );
    }
    b.body(()).unwrap().into_parts().0
}

/// The builders allocate per request, never per pair: the count does not
/// change between 5 and 30 headers.
fn builders_allocate_per_request_not_per_pair() {
    let conn = Connection {
        remote: Some(([192, 0, 2, 7], 51234).into()),
        local: Some((core::net::Ipv6Addr::LOCALHOST, 443).into()),
        tls: true,
        document_root: b"/srv/www".to_vec(),
        ..Connection::default()
    };
    for preset in [
        Preset::FastcgiParams,
        Preset::FastcgiConf,
        Preset::UwsgiParams,
        Preset::ScgiParams,
    ] {
        let opts = BuildOptions::new(preset);
        let count = |n: usize| {
            let parts = browser(n);
            let region = Region::new(GLOBAL);
            let env = build_environ(&parts, &conn, &opts).unwrap();
            let stats = region.change();
            assert!(env.len() > n);
            stats.allocations + stats.reallocations
        };
        let (few, many) = (count(5), count(30));
        assert_eq!(few, many, "{preset:?}");
        // The arena, its spans and the decoded path.
        assert_eq!(few, 3, "{preset:?}");
    }
    // Copying pairs: at most a handful of arena growths for 200 pairs.
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..200)
        .map(|i| (format!("NAME_{i}").into_bytes(), vec![b'v'; 20]))
        .collect();
    let region = Region::new(GLOBAL);
    let env = Environ::from_pairs(pairs.iter().map(|(k, v)| (&k[..], &v[..])));
    let stats = region.change();
    assert_eq!(env.len(), 200);
    assert!(stats.allocations + stats.reallocations <= 4, "{stats:?}");
}
