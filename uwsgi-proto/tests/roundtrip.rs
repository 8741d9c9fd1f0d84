//! Property tests: encode → decode identity, `encoded_len` equals the bytes
//! written, arbitrary bytes never panic, arbitrary splits agree.

use proptest::prelude::*;
use uwsgi_proto::fuzzing;
use uwsgi_proto::fuzzing::{Event, request_events};
use uwsgi_proto::*;

/// 256 cases unless `PROPTEST_CASES` says otherwise.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
    )
}

fn pair() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    (
        proptest::collection::vec(any::<u8>(), 1..40),
        proptest::collection::vec(any::<u8>(), 0..80),
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn vars_round_trip(pairs in proptest::collection::vec(pair(), 0..40), m1 in any::<u8>(), m2 in any::<u8>()) {
        let mut out = Vec::new();
        let n = encode_packet(Modifier1(m1), m2, pairs.iter().map(|(k, v)| (k, v)), &mut out).unwrap();
        prop_assert_eq!(n, out.len());
        prop_assert_eq!(vars_encoded_len(pairs.iter().map(|(k, v)| (k, v))).unwrap() + 4, out.len());
        let Status::Complete((p, used)) = Packet::parse(&out, &Limits::default()).unwrap() else { panic!() };
        prop_assert_eq!(used, out.len());
        prop_assert_eq!(p.header(), PacketHeader::new(Modifier1(m1), (n - 4) as u16, m2));
        let v = Vars::parse(p.payload(), &Limits::default().max_vars(usize::MAX), Mode::Strict).unwrap();
        let got: Vec<(Vec<u8>, Vec<u8>)> = v.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        prop_assert_eq!(&got, &pairs);
        let mut b = VarsBuilder::new();
        b.vars(pairs.iter().map(|(k, v)| (k, v)));
        prop_assert_eq!(b.encoded_len(), n - 4);
        let owned = b.packet(Modifier1(m1), m2).unwrap();
        prop_assert_eq!(owned.encoded_len(), n);
        let mut again = Vec::new();
        owned.encode(&mut again);
        prop_assert_eq!(again, out);
    }

    #[test]
    fn request_with_body_round_trips_through_any_split(
        pairs in proptest::collection::vec(pair(), 0..10),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        cuts in proptest::collection::vec(0usize..400, 0..6),
    ) {
        let mut b = VarsBuilder::new();
        b.vars(pairs.iter().filter(|(k, _)| k != CONTENT_LENGTH).map(|(k, v)| (k, v)));
        b.var("CONTENT_LENGTH", body.len().to_string());
        let p = b.packet(Modifier1::WSGI, 0).unwrap();
        let mut wire = Vec::new();
        let mut enc = RequestEncoder::new();
        enc.head(&p, &mut wire).unwrap();
        enc.body(&body, &mut wire).unwrap();
        prop_assert!(enc.is_complete());
        let mut expect = vec![Event::Head(wire[..p.encoded_len()].to_vec(), body.len() as u64)];
        if !body.is_empty() { expect.push(Event::Body(body.clone())); }
        expect.push(Event::End);
        prop_assert_eq!(request_events(&wire, &cuts, RequestDecoder::new()), expect);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_splits_agree(data in proptest::collection::vec(any::<u8>(), 0..600), cuts in proptest::collection::vec(0usize..600, 0..6)) {
        fuzzing::packet(&data);
        let whole = request_events(&data, &[], RequestDecoder::new());
        prop_assert_eq!(request_events(&data, &cuts, RequestDecoder::new()), whole);
        let mut framed = vec![0u8, 0, 0, 0];
        framed[1..3].copy_from_slice(&(data.len() as u16).to_le_bytes());
        framed.extend_from_slice(&data);
        fuzzing::stream(&framed);
    }

    #[test]
    fn response_head_encode_parse_identity(status in 100u16..1000, reason in "[A-Za-z ]{0,20}", headers in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[ -~]{0,30}"), 0..8)) {
        let headers: Vec<(String, String)> = headers.into_iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("transfer-encoding") && !n.eq_ignore_ascii_case("content-length") && !n.eq_ignore_ascii_case("status") && !n.eq_ignore_ascii_case("location"))
            .map(|(n, v)| (n, v.trim().to_string()))
            .collect();
        let mut head = ResponseHead::new(status, reason.clone());
        for (n, v) in &headers { head = head.header(n.as_str(), v.as_str()); }
        let mut wire = Vec::new();
        let n = head.encode(HttpVersion::Http11, &mut wire).unwrap();
        prop_assert_eq!(n, wire.len());
        let Status::Complete((ResponseFrame::Head(got), used)) = ResponseDecoder::new().decode(&wire).unwrap() else { panic!() };
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(got.status, status);
        prop_assert_eq!(got.headers, head.headers.clone());
        let mut cgi = Vec::new();
        head.encode_cgi(&mut cgi).unwrap();
        let Status::Complete((ResponseFrame::Head(got), _)) = ResponseDecoder::new().decode(&cgi).unwrap() else { panic!() };
        prop_assert_eq!(got.status, status);
        prop_assert_eq!(got.headers, head.headers);
    }
}
