#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fastcgi_proto::fuzzing::app_connection(data));
