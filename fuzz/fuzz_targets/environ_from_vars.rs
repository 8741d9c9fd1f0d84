#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| wsgi_environ::fuzzing::environ_to_request(data));
