//! Replays the committed fuzz corpora through the same oracles the fuzz
//! targets run. Fails if a corpus is missing or empty.

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
fn environ_from_vars_corpus() {
    replay(
        "environ_from_vars",
        wsgi_environ::fuzzing::environ_to_request,
    );
}

#[test]
fn cgi_response_corpus() {
    replay("cgi_response", wsgi_environ::fuzzing::cgi_response);
}
