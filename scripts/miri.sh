#!/usr/bin/env bash
# miri over the library unit tests of uwsgi-proto, fastcgi-proto and
# wsgi-environ: their lib and integration test targets (`--lib --tests`;
# the lib targets hold no unit tests, the tests live in tests/), PROPTEST_CASES=4.
# Tests too slow under the interpreter are skipped by name; the list and the
# reason are printed below, never silently. CI duration: about 6-8 minutes on
# 2 cores (most of it the first miri build of the dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
rustup component add miri rust-src --toolchain nightly >/dev/null
cargo +nightly miri --version
cargo +nightly miri setup

export CARGO_TARGET_DIR=${MIRI_TARGET_DIR:-$PWD/target/miri}
export PROPTEST_CASES=4
# proptest writes regression files and reads the clock: let it.
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"

# Each of these takes 40 s or more under miri (times measured on a shared
# 2-core machine): big inputs, every-split sweeps, corpus replays and
# property tests (proptest's machinery itself is slow in the interpreter).
# All of them run natively in `cargo test --workspace`, and the kept tests
# reach the same code paths with smaller inputs.
# name|reason  (libtest --skip matches substrings)
SKIPS=(
    "handle_buf_matches_handle_bytes_at_every_split|every split point of a multi-record capture, twice (quadratic)"
    "every_split_point_gives_the_same_frames|every split point of every capture (quadratic)"
    "every_split_point_of_a_response_gives_the_same_frames|every split point of every response capture (quadratic)"
    "backend_replies_drive_the_web_server_side_at_every_split|every split point of the captured backend replies (quadratic)"
    "every_vector_passes|replays every shared test-vector file"
    "every_error_class_is_covered|replays every malformed-input vector file"
    "every_capture_decodes_to_the_manifest_records|decodes every committed capture file"
    "nginx_requests_drive_the_application_side|drives the connection with every captured nginx request"
    "request_captures_decode_to_the_recorded_vars_and_body|decodes every captured request"
    "nginx_1_22_presets_match_captures_exactly|golden comparison of four presets against all captures"
    "environ_from_vars_corpus|replays the whole environ fuzz corpus"
    "uwsgi_stream_corpus|replays the whole uwsgi stream fuzz corpus at several split sizes"
    "fastcgi_app_connection_corpus|replays the whole app-connection fuzz corpus, whole and byte by byte"
    "stream_writer_sizes|sweeps payload sizes over several record lengths"
    "one_mib_stdin_and_stdout_over_duplex|moves 1 MiB each way through a tokio duplex"
    "client_to_server_with_a_1_mib_body_streams_in_chunks|moves a 1 MiB body through a tokio duplex"
    "pair_count_cap|builds thousands of pairs to reach the count limit"
    "encoding_keeps_pairs_whole_and_under_65535|encodes params streams of several 64 KiB records (about 3 minutes)"
    "straddling_pairs_at_every_split|every split point of a multi-pair stream (about 4 minutes)"
    "fastcgi_record_corpus|replays the whole record fuzz corpus (about 1 minute)"
    "arbitrary_bytes_never_panic_and_splits_agree|600-byte inputs decoded at many split points per case (about 2 minutes)"
    "uwsgi_packet_corpus|replays the whole packet fuzz corpus (about 1 minute)"
    "var_count_limit_counts_exactly|builds blocks of hundreds of vars (about 1 minute)"
    "cgi_response_corpus|replays the whole CGI response fuzz corpus (about 1 minute)"
    "default_policy_differs_from_nginx_only_in_safe_ways|builds every golden capture under four presets (over 4 minutes)"
    "every_prefix_of_a_request_packet_is_incomplete|decodes every prefix of a realistic packet (2.5 minutes)"
    "response_head_encode_parse_identity|regex-generated heads: proptest's regex engine dominates (2 minutes)"
    "request_with_body_round_trips_through_any_split|property test over many split points (1.5 minutes)"
    "vars_round_trip|property test over 40-var blocks (1 minute)"
    "builder_output_is_clean|property test over generated request heads (2 minutes)"
    "request_environ_request|property test over generated request heads (1 minute)"
    "arbitrary_environ_never_panics|property test over generated environs (45 s)"
    "a_pair_over_65535_bytes_is_still_streamed_across_records|encodes and re-reads a pair over 64 KiB (1.5 minutes)"
    "an_unpadded_whole_pair_is_not_cut_by_a_following_streamed_pair|encodes and re-reads pairs of 64 KiB (1.5 minutes)"
    "app_connection_never_panics|property test replaying each case byte by byte (1 minute)"
    "client_connection_never_panics|property test replaying each case byte by byte (45 s)"
    "app_connection_on_valid_records|property test replaying each case byte by byte (45 s)"
    "appendix_b_example_2_split_params_and_body|the appendix example at every split point (45 s)"
    "pairs_round_trip|property test over 64 KiB pair streams (1 minute)"
    "every_split_of_a_get_matches_handle_bytes|every split point of a captured request (1 minute)"
    "app_every_split_of_every_request_capture_matches_the_references|every split point of every request capture, four configurations"
    "app_corrupted_request_captures_fail_alike_at_every_split|every split point of corrupted copies of every request capture (handle_bytes_split, handle_shared)"
    "app_post_1mib_matches_the_references|a 1 MiB POST at several read sizes"
    "app_one_slice_stops_at_max_buffered|a 1 MiB POST in one slice under four limits"
    "app_many_small_records_in_one_slice|10 000 records in one slice"
    "client_every_split_of_every_reply_capture_matches_the_references|every split point of every reply capture"
    "client_corrupted_reply_captures_fail_alike_at_every_split|every split point of corrupted copies of every reply capture (handle_bytes_split, handle_shared)"
    "client_one_mib_reply_in_one_slice_and_in_reads|a 1 MiB reply at several read sizes"
    "app_request_captures_alike_at_every_split|handle_shared: every split point of every request capture, two configurations, and byte by byte"
    "client_reply_captures_alike_at_every_split|handle_shared: every split point of every reply capture, and byte by byte"
    "app_back_pressure_leaves_the_untaken_rest_in_place_and_resumes|handle_shared: a 1 MiB POST under back-pressure"
    "app_stdin_events_point_into_the_input|handle_shared: a 1 MiB POST in one Bytes"
    "client_stdout_events_point_into_the_input|handle_shared: a 1 MiB reply in one Bytes"
    "client_one_mib_reply_in_reads_alike|handle_shared: a 1 MiB reply at several read sizes"
)

skip_args=()
if [ ${#SKIPS[@]} -gt 0 ]; then
    echo "miri: skipped tests (too slow under the interpreter):"
    for s in "${SKIPS[@]}"; do
        name=${s%%|*}
        echo "  - ${name}: ${s#*|}"
        skip_args+=(--skip "$name")
    done
else
    echo "miri: no tests skipped"
fi

start=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo +nightly miri test -p uwsgi-proto -p fastcgi-proto -p wsgi-environ --all-features --lib --tests \
    -- --test-threads=1 "${skip_args[@]}" 2>&1 | tee "$log"
passed=$(awk '/^test result:/ {p += $4; f += $(NF-5)} END {print p + 0, f + 0}' "$log")
echo "miri: ${passed% *} tests passed, ${passed#* } skipped (${#SKIPS[@]} names above), in $(( $(date +%s) - start ))s"
