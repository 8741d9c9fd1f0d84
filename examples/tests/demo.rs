//! The README's first command: the demo runs and exits 0.

#[test]
fn demo_exits_zero_and_shows_the_decoded_environ() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_demo"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("QUERY_STRING=name=world"), "{stdout}");
    assert!(stdout.contains("body_len=19"), "{stdout}");
    // sha256 of "field=value&other=1"
    assert!(stdout.contains("body_sha256=8c40e45a"), "{stdout}");
    // Both protocols answered: the POST report appears once per protocol.
    assert_eq!(stdout.matches("body_len=19\n").count(), 2, "{stdout}");
    assert!(
        stdout.contains("<<< app_status 0\n    Status: 200 OK\n"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("demo: ok"));
}
