//! wire-inspect on committed captures, against committed expected output.

use std::process::Command;

fn inspect(capture: &str) -> (Option<i32>, String, String) {
    inspect_with(&[], capture)
}

fn inspect_with(args: &[&str], capture: &str) -> (Option<i32>, String, String) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../").to_owned() + capture;
    let out = Command::new(env!("CARGO_BIN_EXE_wire-inspect"))
        .args(args)
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
            if !name.ends_with(".bin") {
                continue;
            }
            // Backend replies are the response side; the direction is also
            // recognised from the bytes.
            let response_side = !name.ends_with(".request.bin")
                && (["php-fpm", "fcgiwrap", "libfcgi"]
                    .iter()
                    .any(|b| name.starts_with(b))
                    || name.contains("-reply-"));
            let direction = if response_side { "response" } else { "request" };
            let capture = format!("{dir}/vectors/captures/{name}");
            for args in [&["--direction", direction][..], &[], &["--json"]] {
                let (code, out, err) = inspect_with(args, &capture);
                assert_eq!(code, Some(0), "{name} {args:?}: {err}");
                assert!(!out.is_empty(), "{name}");
            }
            let (_, auto, _) = inspect(&capture);
            let (_, explicit, _) = inspect_with(&["--direction", direction], &capture);
            assert_eq!(auto, explicit, "{name}: direction not recognised");
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

/// (expected file stem, capture, extra arguments): both directions, both
/// protocols, text and JSON.
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "fastcgi-nginx-post-1k",
        "fastcgi-proto/vectors/captures/nginx-post-1k.bin",
        &[],
    ),
    (
        "uwsgi-nginx-get-query",
        "uwsgi-proto/vectors/captures/nginx-get-query.bin",
        &[],
    ),
    (
        "uwsgi-server-reply-get",
        "uwsgi-proto/vectors/captures/uwsgi-server-reply-get.bin",
        &[],
    ),
    (
        "uwsgi-server-reply-ping",
        "uwsgi-proto/vectors/captures/uwsgi-server-reply-ping.bin",
        &[],
    ),
    (
        "fastcgi-php-fpm-stderr",
        "fastcgi-proto/vectors/captures/php-fpm-stderr.bin",
        &["--direction", "response"],
    ),
    (
        "fastcgi-php-fpm-keep-conn-2",
        "fastcgi-proto/vectors/captures/php-fpm-keep-conn-2.bin",
        &[],
    ),
    (
        "fastcgi-php-fpm-get-values",
        "fastcgi-proto/vectors/captures/php-fpm-get-values.bin",
        &[],
    ),
    (
        "fastcgi-unknown-type",
        "examples/tests/captures/fastcgi-unknown-type.bin",
        &[],
    ),
];

#[test]
fn captures_of_both_directions_match_expected_text_and_json() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/expected/");
    for (stem, capture, args) in CASES {
        let (code, out, err) = inspect_with(args, capture);
        assert_eq!(code, Some(0), "{capture}: {err}");
        let text = std::fs::read_to_string(format!("{dir}{stem}.txt")).unwrap();
        assert_eq!(out, text, "{capture}");
        let mut json_args = args.to_vec();
        json_args.push("--json");
        let (code, out, err) = inspect_with(&json_args, capture);
        assert_eq!(code, Some(0), "{capture}: {err}");
        let want = std::fs::read_to_string(format!("{dir}{stem}.json")).unwrap();
        assert_eq!(out, want, "{capture}");
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(v["offset"].is_u64(), "{line}");
        }
    }
}

#[test]
fn json_ends_with_an_error_object_naming_the_offset() {
    let data = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fastcgi-proto/vectors/captures/nginx-post-1k.bin"
    ))
    .unwrap();
    let cut = std::env::temp_dir().join(format!("wire-inspect-cutj-{}", std::process::id()));
    std::fs::write(&cut, &data[..600]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wire-inspect"))
        .args(["--json", "--protocol", "fastcgi"])
        .arg(&cut)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&cut);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(
        last,
        serde_json::json!({
            "error": "truncated record at offset 584: 896 more bytes needed",
            "offset": 584
        })
    );
    // A uwsgi response whose Content-Length runs past the input.
    let cut = std::env::temp_dir().join(format!("wire-inspect-cutu-{}", std::process::id()));
    std::fs::write(&cut, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wire-inspect"))
        .args(["--json", "--direction", "response"])
        .arg(&cut)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&cut);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["offset"], 42, "{text}");
}

/// Regression: output into a closed pipe (`wire-inspect … | head`) made the
/// tool panic in `print!`; a reader that went away now just cuts the output.
#[test]
fn closed_stdout_is_not_a_panic() {
    use std::io::Write;
    use std::process::Stdio;
    let capture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../uwsgi-proto/vectors/captures/nginx-get-query.bin"
    ))
    .unwrap();
    for args in [&[][..], &["--json"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wire-inspect"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reading end is closed before the input is sent, so every
        // write of the output meets a closed pipe.
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&capture).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?}");
    }
}
