//! The arena-backed `Environ` against a plain `Vec` of owned pairs: the same
//! pairs, lookups and lengths after any sequence of changes; equality,
//! `Debug` (allocation counts: `tests/allocations.rs`).

mod common;

use common::config;
use proptest::prelude::*;
use wsgi_environ::Environ;

type Model = Vec<(Vec<u8>, Vec<u8>)>;

/// The meaning of each operation, on the plain model.
fn model_push(m: &mut Model, k: &[u8], v: &[u8]) {
    m.push((k.to_vec(), v.to_vec()));
}

fn model_set(m: &mut Model, k: &[u8], v: &[u8]) {
    match m.iter().position(|(n, _)| n == k) {
        Some(i) => {
            m[i].1 = v.to_vec();
            let mut idx = 0;
            m.retain(|(n, _)| {
                let keep = idx <= i || n != k;
                idx += 1;
                keep
            });
        }
        None => model_push(m, k, v),
    }
}

fn model_get<'a>(m: &'a Model, k: &[u8]) -> Option<&'a [u8]> {
    m.iter().rev().find(|(n, _)| n == k).map(|(_, v)| &v[..])
}

#[derive(Debug, Clone)]
enum Op {
    Push(Vec<u8>, Vec<u8>),
    Set(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    PushWith(Vec<u8>, Vec<u8>, Vec<u8>),
    Retain(u8),
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    // A few names so that duplicates, sets and removes hit often; the empty
    // name included.
    prop::sample::select(vec![
        b"".to_vec(),
        b"A".to_vec(),
        b"PATH_INFO".to_vec(),
        b"HTTP_COOKIE".to_vec(),
        b"X".to_vec(),
    ])
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..12)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (name(), value()).prop_map(|(k, v)| Op::Push(k, v)),
        3 => (name(), value()).prop_map(|(k, v)| Op::Set(k, v)),
        1 => name().prop_map(Op::Remove),
        1 => (name(), value(), value()).prop_map(|(k, a, b)| Op::PushWith(k, a, b)),
        1 => any::<u8>().prop_map(Op::Retain),
    ]
}

fn probes() -> [&'static [u8]; 6] {
    [b"", b"A", b"PATH_INFO", b"HTTP_COOKIE", b"X", b"MISSING"]
}

proptest! {
    #![proptest_config(config())]

    /// Every operation leaves the same ordered pairs, lookups and length
    /// as the plain model, and the arena never holds more than the live
    /// bytes.
    #[test]
    fn environ_behaves_like_a_vec_of_pairs(ops in prop::collection::vec(op(), 0..40)) {
        let mut env = Environ::new();
        let mut model: Model = Vec::new();
        for op in ops {
            match &op {
                Op::Push(k, v) => {
                    env.push(k, v);
                    model_push(&mut model, k, v);
                }
                Op::Set(k, v) => {
                    env.set(k, v);
                    model_set(&mut model, k, v);
                }
                Op::Remove(k) => {
                    env.remove(k);
                    model.retain(|(n, _)| n != k);
                }
                Op::PushWith(k, a, b) => {
                    env.try_push_with(
                        |n| n.extend_from_slice(k),
                        |v| {
                            v.extend_from_slice(a);
                            v.extend(b.iter());
                        },
                    )
                    .unwrap();
                    model_push(&mut model, k, &[&a[..], b].concat());
                }
                Op::Retain(byte) => {
                    env.retain(|_, v| !v.contains(byte));
                    model.retain(|(_, v)| !v.contains(byte));
                }
            }
            let pairs: Vec<(&[u8], &[u8])> = env.iter().collect();
            let expected: Vec<(&[u8], &[u8])> =
                model.iter().map(|(k, v)| (&k[..], &v[..])).collect();
            prop_assert_eq!(&pairs, &expected, "after {:?}", op);
            let reversed: Vec<(&[u8], &[u8])> = env.iter().rev().collect();
            prop_assert_eq!(reversed, expected.iter().rev().copied().collect::<Vec<_>>());
            prop_assert_eq!(env.len(), model.len());
            prop_assert_eq!(env.iter().len(), model.len());
            prop_assert_eq!(env.is_empty(), model.is_empty());
            for p in probes() {
                prop_assert_eq!(env.get(p), model_get(&model, p));
            }
            let live: usize = model.iter().map(|(k, v)| k.len() + v.len()).sum();
            prop_assert_eq!(env.byte_len(), live);
        }
        prop_assert_eq!(env.clone().into_vec(), model.clone());
        let copy = Environ::from_pairs(model.iter().map(|(k, v)| (&k[..], &v[..])));
        prop_assert_eq!(&copy, &env);
        prop_assert_eq!(format!("{copy:?}"), format!("{env:?}"));
    }

    /// Two environs with the same pairs are equal whatever was set and
    /// removed on the way (the bytes moved around in between); one more pair
    /// makes them differ.
    #[test]
    fn equality_is_by_pairs(
        pairs in prop::collection::vec((name(), value()), 0..8),
        scratch in value(),
    ) {
        let direct = Environ::from_pairs(pairs.iter().map(|(k, v)| (&k[..], &v[..])));
        let mut edited = Environ::with_capacity(64, 4096);
        edited.push(b"SCRATCH", &scratch);
        for (i, (k, v)) in pairs.iter().enumerate() {
            edited.push(b"SCRATCH_B", &scratch);
            edited.push(k, v);
            edited.set(b"SCRATCH", &scratch[..(i % (scratch.len() + 1))]);
            edited.remove(b"SCRATCH_B");
        }
        edited.remove(b"SCRATCH");
        prop_assert_eq!(&edited, &direct);
        prop_assert_eq!(format!("{edited:?}"), format!("{direct:?}"));
        let mut other = direct.clone();
        other.push(b"EXTRA", b"");
        prop_assert_ne!(&other, &direct);
    }
}

#[test]
fn equality_ignores_capacity_and_history() {
    let mut a = Environ::with_capacity(100, 10_000);
    a.push("A", "a long value that is replaced later");
    a.push("B", "2");
    a.push("A", "dup");
    a.set(b"A", "1");
    a.push("GONE", "x".repeat(500));
    a.remove(b"GONE");
    let b = Environ::from_pairs([(&b"A"[..], &b"1"[..]), (b"B", b"2")]);
    assert_eq!(a, b);
    assert_eq!(a.byte_len(), 4);
    let c = Environ::from_pairs([(&b"B"[..], &b"2"[..]), (b"A", b"1")]);
    assert_ne!(a, c, "order matters");
    let d = Environ::from_pairs([(&b"AB"[..], &b""[..]), (b"", b"2")]);
    let e = Environ::from_pairs([(&b"A"[..], &b"B"[..]), (b"", b"2")]);
    assert_ne!(d, e, "the split between name and value matters");
}

#[test]
fn debug_prints_escaped_pairs() {
    let env = Environ::from_pairs([(&b"A"[..], &b"x\"y"[..]), (b"B", b"\xff\n"), (b"A", b"")]);
    assert_eq!(
        format!("{env:?}"),
        r#"Environ {"A": "x\"y", "B": "\xff\n", "A": ""}"#
    );
    let mut rest = env.iter();
    rest.nth(1);
    assert_eq!(format!("{rest:?}"), r#"[("A", "")]"#);
    assert_eq!(format!("{:?}", Environ::new()), "Environ {}");
}
