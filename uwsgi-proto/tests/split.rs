//! Every prefix is incomplete (never an error); every split point gives the
//! same frames, on the worked example and on real captures.

mod common;
use common::{WORKED, captures};
use uwsgi_proto::fuzzing::{Event, request_events, response_events};
use uwsgi_proto::{RequestDecoder, ResponseDecoder, Status};

fn realistic() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = captures()
        .into_iter()
        .filter(|(n, _)| !n.starts_with("uwsgi-server-reply"))
        .collect();
    v.push(("worked".into(), WORKED.to_vec()));
    v
}

#[test]
fn every_prefix_of_a_request_packet_is_incomplete() {
    for (name, data) in realistic() {
        let Status::Complete((_, head_len)) = RequestDecoder::new().decode(&data).unwrap() else {
            panic!("{name}")
        };
        for n in 0..head_len {
            let r = RequestDecoder::new().decode(&data[..n]);
            assert!(
                matches!(r, Ok(Status::Incomplete { .. })),
                "{name}: prefix {n} gave {r:?}"
            );
        }
    }
}

#[test]
fn every_split_point_gives_the_same_frames() {
    for (name, data) in realistic() {
        let whole = request_events(&data, &[], RequestDecoder::new());
        assert!(
            matches!(whole.last(), Some(Event::End)),
            "{name}: {whole:?}"
        );
        for cut in 1..data.len() {
            assert_eq!(
                request_events(&data, &[cut], RequestDecoder::new()),
                whole,
                "{name}: cut at {cut}"
            );
        }
        let every: Vec<usize> = (1..data.len()).collect();
        assert_eq!(
            request_events(&data, &every, RequestDecoder::new()),
            whole,
            "{name}: byte by byte"
        );
    }
}

#[test]
fn every_split_point_of_a_response_gives_the_same_frames() {
    for (name, data) in captures().into_iter().filter(|(n, _)| {
        n.starts_with("uwsgi-server-reply") && !n.contains("ping") && !n.contains("signal")
    }) {
        let whole = response_events(&data, &[], ResponseDecoder::new());
        assert_eq!(whole.len(), 3, "{name}: head, body, end: {whole:?}");
        for cut in 1..data.len() {
            assert_eq!(
                response_events(&data, &[cut], ResponseDecoder::new()),
                whole,
                "{name}: cut at {cut}"
            );
        }
        let every: Vec<usize> = (1..data.len()).collect();
        assert_eq!(
            response_events(&data, &every, ResponseDecoder::new()),
            whole,
            "{name}: byte by byte"
        );
    }
}
