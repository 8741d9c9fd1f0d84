//! Replays the committed fuzz corpora through the same oracles the fuzz
//! targets run. Fails if a corpus is missing or has fewer than 10 inputs.
#![allow(missing_docs)]

use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert!(
        entries.len() >= 10,
        "corpus {} has only {} files",
        dir.display(),
        entries.len()
    );
    for p in &entries {
        f(&std::fs::read(p).unwrap());
    }
}

#[test]
fn fastcgi_record_corpus() {
    replay("fastcgi_record", fastcgi_proto::fuzzing::records);
}

#[test]
fn fastcgi_params_corpus() {
    replay("fastcgi_params", fastcgi_proto::fuzzing::params);
}

#[test]
fn fastcgi_app_connection_corpus() {
    replay(
        "fastcgi_app_connection",
        fastcgi_proto::fuzzing::app_connection,
    );
}

#[test]
fn fastcgi_client_connection_corpus() {
    replay(
        "fastcgi_client_connection",
        fastcgi_proto::fuzzing::client_connection,
    );
}
