//! wire-inspect on committed captures, against committed expected output.

use std::process::Command;

fn inspect(capture: &str) -> (Option<i32>, String, String) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../").to_owned() + capture;
    let out = Command::new(env!("CARGO_BIN_EXE_wire-inspect"))
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn fastcgi_capture_matches_expected_output() {
    let (code, out, err) = inspect("fastcgi-proto/vectors/captures/nginx-post-1k.bin");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, include_str!("expected/fastcgi-nginx-post-1k.txt"));
}

#[test]
fn uwsgi_capture_matches_expected_output() {
    let (code, out, err) = inspect("uwsgi-proto/vectors/captures/nginx-get-query.bin");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, include_str!("expected/uwsgi-nginx-get-query.txt"));
}

#[test]
fn every_committed_capture_decodes_cleanly() {
    for dir in ["fastcgi-proto", "uwsgi-proto"] {
        let d = format!("{}/../{dir}/vectors/captures", env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            // Request-direction captures only: backend replies are the
            // response side.
            let response_side = !name.ends_with(".request.bin")
                && (["php-fpm", "fcgiwrap", "libfcgi"]
                    .iter()
                    .any(|b| name.starts_with(b))
                    || name.contains("-reply-"));
            if !name.ends_with(".bin") || response_side {
                continue;
            }
            let (code, _, err) = inspect(&format!("{dir}/vectors/captures/{name}"));
            assert_eq!(code, Some(0), "{name}: {err}");
            n += 1;
        }
        assert!(n > 5, "{d}: only {n} captures");
    }
}

#[test]
fn truncated_input_names_the_offset() {
    let out = Command::new(env!("CARGO_BIN_EXE_wire-inspect"))
        .args(["--protocol", "fastcgi", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fastcgi-proto/vectors/captures/nginx-post-1k.bin"
    ))
    .unwrap();
    let cut = std::env::temp_dir().join(format!("wire-inspect-cut-{}", std::process::id()));
    std::fs::write(&cut, &data[..20]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wire-inspect"))
        .arg(&cut)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&cut);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "wire-inspect: truncated record at offset 16: 4 more bytes needed\n"
    );
}
