//! Shared test inputs.
#![allow(dead_code, unreachable_pub)]

/// The worked example of `shared/docs/uwsgi.md` §2.5 (verified against uWSGI
/// 2.0.31): POST /p with body "hello".
pub const WORKED: &[u8] = &hex_literal::hex!(
    "00530000 0e00 524551554553545f4d4554484f44 0400 504f5354"
    "0900 504154485f494e464f 0200 2f70"
    "0e00 434f4e54454e545f4c454e475448 0100 35"
    "0f00 5345525645525f50524f544f434f4c 0800 485454502f312e31"
    "68656c6c6f"
);

/// A vars block from pairs (no header).
pub fn block(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u16).to_le_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&(v.len() as u16).to_le_bytes());
        out.extend_from_slice(v);
    }
    out
}

/// A modifier1 0 packet with a raw vars block and a body.
pub fn packet(block: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 0];
    out[1..3].copy_from_slice(&(block.len() as u16).to_le_bytes());
    out.extend_from_slice(block);
    out.extend_from_slice(body);
    out
}

/// The capture files of `vectors/captures/`.
pub fn captures() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/captures");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).expect("vectors/captures exists") {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "bin") {
            out.push((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
    out.sort();
    assert!(
        out.len() >= 10,
        "expected the committed captures, found {}",
        out.len()
    );
    out
}
