#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| uwsgi_proto::fuzzing::packet(data));
