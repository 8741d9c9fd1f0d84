//! The spec's appendix B message flows, driving both sides, and the
//! connection checklist items 16–27.
#![allow(missing_docs)]

use bytes::Bytes;
use fastcgi_proto::client::{ClientError, Connection as Client, Event as ClientEvent};
use fastcgi_proto::fuzzing::parse_all;
use fastcgi_proto::server::{Config, Connection as App, Event as AppEvent, ServerError};
use fastcgi_proto::*;

fn app_events(app: &mut App) -> Vec<AppEvent> {
    core::iter::from_fn(|| app.poll_event()).collect()
}
fn client_events(c: &mut Client) -> Vec<ClientEvent> {
    core::iter::from_fn(|| c.poll_event()).collect()
}
fn rec(ty: RecordType, id: u16, content: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    encode_record(&mut v, ty, id, content, 0).unwrap();
    v
}
fn begin(id: u16, role: u16, keep: bool) -> Vec<u8> {
    rec(
        RecordType::BEGIN_REQUEST,
        id,
        &BeginRequest::new(Role(role), keep).to_bytes(),
    )
}
fn stdout_of(events: &[ClientEvent], want: u16) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Stdout { id, data } if *id == want => Some(data.to_vec()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Drives a request through both sides; returns the app events and the
/// client events.
fn transcript(
    stdin: &[&[u8]],
    out: &[(RecordType, &[u8])],
    app_status: u32,
) -> (Vec<AppEvent>, Vec<ClientEvent>) {
    let mut client = Client::new();
    let mut app = App::new(Config::default());
    client.begin(1, Role::RESPONDER, false).unwrap();
    client
        .params(
            1,
            [
                (&b"SERVER_PORT"[..], &b"80"[..]),
                (&b"SERVER_ADDR"[..], &b"199.170.183.42"[..]),
            ],
        )
        .unwrap();
    for s in stdin {
        client.stdin(1, s).unwrap();
    }
    client.stdin_end(1).unwrap();
    let wire = client.poll_transmit().unwrap();
    assert_eq!(app.handle_bytes(&wire).unwrap(), wire.len());
    let events = app_events(&mut app);
    for (ty, data) in out {
        match *ty {
            RecordType::STDOUT => app.stdout(1, data).unwrap(),
            _ => app.stderr(1, data).unwrap(),
        }
    }
    app.end_request(1, app_status).unwrap();
    assert!(app.is_closed());
    let reply = app.poll_transmit().unwrap();
    client.handle_bytes(&reply).unwrap();
    assert_eq!(client.in_flight().count(), 0);
    (events, client_events(&mut client))
}

#[test]
fn appendix_b_example_1_responder_no_body() {
    let html: &[u8] = b"Content-type: text/html\r\n\r\n<html>\n<head> ... ";
    let (ev, cev) = transcript(&[], &[(RecordType::STDOUT, html)], 0);
    assert_eq!(
        ev[0],
        AppEvent::Request {
            id: 1,
            role: Role::RESPONDER,
            keep_conn: false
        }
    );
    let AppEvent::Params { params, .. } = &ev[1] else {
        panic!()
    };
    assert_eq!(params.get(b"SERVER_ADDR"), Some(&b"199.170.183.42"[..]));
    assert_eq!(ev[2], AppEvent::StdinEnd { id: 1 });
    assert_eq!(ev.len(), 3);
    assert_eq!(stdout_of(&cev, 1), html);
    assert_eq!(
        cev.last(),
        Some(&ClientEvent::End {
            id: 1,
            end: EndRequest {
                app_status: 0,
                protocol_status: ProtocolStatus::REQUEST_COMPLETE
            }
        })
    );
}

#[test]
fn appendix_b_example_2_split_params_and_body() {
    // PARAMS split inside SERVER_ADDR, exactly as the spec shows
    let mut app = App::new(Config::default());
    let mut wire = begin(1, 1, false);
    wire.extend(rec(
        RecordType::PARAMS,
        1,
        b"\x0b\x02SERVER_PORT80\x0b\x0eSER",
    ));
    wire.extend(rec(RecordType::PARAMS, 1, b"VER_ADDR199.170.183.42"));
    wire.extend(rec(RecordType::PARAMS, 1, b""));
    wire.extend(rec(RecordType::STDIN, 1, b"quantity=100&item=3047936"));
    wire.extend(rec(RecordType::STDIN, 1, b""));
    // every split point gives the same events
    let whole = {
        app.handle_bytes(&wire).unwrap();
        app_events(&mut app)
    };
    for cut in 0..=wire.len() {
        let mut a = App::new(Config::default());
        a.handle_bytes(&wire[..cut]).unwrap();
        let mut ev = app_events(&mut a);
        a.handle_bytes(&wire[cut..]).unwrap();
        ev.extend(app_events(&mut a));
        // STDIN data chunks are not merged: whole-record delivery only
        assert_eq!(ev, whole, "cut {cut}");
    }
    let AppEvent::Params { params, .. } = &whole[1] else {
        panic!()
    };
    assert_eq!(params.get(b"SERVER_ADDR"), Some(&b"199.170.183.42"[..]));
    assert_eq!(
        whole[2],
        AppEvent::Stdin {
            id: 1,
            data: Bytes::from_static(b"quantity=100&item=3047936")
        }
    );
    assert_eq!(whole[3], AppEvent::StdinEnd { id: 1 });
}

#[test]
fn appendix_b_example_3_stderr_and_app_status_938() {
    let (_, cev) = transcript(
        &[],
        &[
            (RecordType::STDOUT, b"Content-type: text/html\r\n\r\n<ht"),
            (RecordType::STDERR, b"config error: missing SI_UID\n"),
            (RecordType::STDOUT, b"ml>\n<head> ... "),
        ],
        938,
    );
    assert_eq!(
        stdout_of(&cev, 1),
        b"Content-type: text/html\r\n\r\n<html>\n<head> ... "
    );
    assert!(cev.contains(&ClientEvent::Stderr {
        id: 1,
        data: Bytes::from_static(b"config error: missing SI_UID\n")
    }));
    assert_eq!(
        cev.last(),
        Some(&ClientEvent::End {
            id: 1,
            end: EndRequest {
                app_status: 938,
                protocol_status: ProtocolStatus::REQUEST_COMPLETE
            }
        })
    );
}

#[test]
fn appendix_b_example_4_multiplexed_out_of_order() {
    let mut client = Client::new();
    let mut app = App::new(Config {
        max_concurrent_requests: 2,
        ..Config::default()
    });
    for id in [1, 2] {
        client.begin(id, Role::RESPONDER, true).unwrap();
        client
            .params(id, [(&b"SERVER_PORT"[..], &b"80"[..])])
            .unwrap();
        client.stdin_end(id).unwrap();
    }
    let wire = client.poll_transmit().unwrap();
    app.handle_bytes(&wire).unwrap();
    assert_eq!(app_events(&mut app).len(), 6);
    app.stdout(1, b"Content-type: text/html\r\n\r\n").unwrap();
    app.stdout(2, b"Content-type: text/html\r\n\r\n<html>\n")
        .unwrap();
    app.end_request(2, 0).unwrap();
    app.stdout(1, b"<html>\n").unwrap();
    app.end_request(1, 0).unwrap();
    assert!(!app.is_closed());
    client.handle_bytes(&app.poll_transmit().unwrap()).unwrap();
    let ev = client_events(&mut client);
    let ends: Vec<u16> = ev
        .iter()
        .filter_map(|e| {
            if let ClientEvent::End { id, .. } = e {
                Some(*id)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(ends, [2, 1]);
    assert_eq!(
        stdout_of(&ev, 1),
        b"Content-type: text/html\r\n\r\n<html>\n"
    );
}

#[test]
fn end_request_bytes_exact() {
    let mut app = App::new(Config::default());
    let mut wire = begin(1, 1, false);
    wire.extend(rec(RecordType::PARAMS, 1, b""));
    wire.extend(rec(RecordType::STDIN, 1, b""));
    app.handle_bytes(&wire).unwrap();
    app.stdout(1, b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhi")
        .unwrap();
    app.end_request(1, 0).unwrap();
    let out = app.poll_transmit().unwrap();
    let mut want = hex_literal::hex!("0106000100 2e0200").to_vec();
    want.extend_from_slice(b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhi\0\0");
    want.extend(hex_literal::hex!(
        "0106000100000000 0103000100080000 0000000000000000"
    ));
    assert_eq!(&out[..], &want[..]);
}

#[test]
fn get_values_answered_with_real_names() {
    let mut app = App::new(Config {
        max_concurrent_requests: 5,
        max_conns: 10,
        ..Config::default()
    });
    let mut q = Vec::new();
    encode_pairs(
        &mut q,
        RecordType::GET_VALUES,
        0,
        [
            (&b"FCGI_MAX_CONNS"[..], &b""[..]),
            (&b"MAX_REQS"[..], &b""[..]), // async-fcgi's wrong name: omitted
            (&b"FCGI_MAX_REQS"[..], &b"ignored"[..]),
            (&b"FCGI_MPXS_CONNS"[..], &b""[..]),
        ],
        RecordLayout {
            align: 0,
            keep_pairs_whole: true,
        },
        false,
    )
    .unwrap();
    app.handle_bytes(&q).unwrap();
    assert_eq!(
        app.poll_event(),
        Some(AppEvent::Replied {
            id: 0,
            record_type: RecordType::GET_VALUES_RESULT
        })
    );
    assert_eq!(app.poll_event(), None);
    let out = app.poll_transmit().unwrap();
    let (recs, _) = parse_all(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].header.record_type, RecordType::GET_VALUES_RESULT);
    assert_eq!(recs[0].header.request_id, 0);
    let p = Params::decode(recs[0].content.clone()).unwrap();
    let v: Vec<_> = p.iter().collect();
    assert_eq!(
        v,
        [
            (&b"FCGI_MAX_CONNS"[..], &b"10"[..]),
            (&b"FCGI_MAX_REQS"[..], &b"5"[..]),
            (&b"FCGI_MPXS_CONNS"[..], &b"1"[..])
        ]
    );
    // the client parses it
    let mut c = Client::new();
    c.get_values([FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS])
        .unwrap();
    let sent = c.poll_transmit().unwrap();
    assert_eq!(sent[1], 9);
    c.handle_bytes(&out).unwrap();
    assert_eq!(c.poll_event(), Some(ClientEvent::Values(p)));
    // empty query: an empty result
    let mut app = App::new(Config::default());
    app.handle_bytes(&rec(RecordType::GET_VALUES, 0, b""))
        .unwrap();
    assert_eq!(&app.poll_transmit().unwrap()[..], [1, 10, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn unknown_management_type_answered() {
    for ty in [0u8, 12, 255, 1] {
        let mut app = App::new(Config::default());
        let mut r = vec![1, ty, 0, 0, 0, 0, 0, 0];
        if ty == 1 {
            r = begin(0, 1, false);
        }
        app.handle_bytes(&r).unwrap();
        assert_eq!(
            app.poll_event(),
            Some(AppEvent::Replied {
                id: 0,
                record_type: RecordType::UNKNOWN_TYPE
            })
        );
        let out = app.poll_transmit().unwrap();
        assert_eq!(&out[..], [1, 11, 0, 0, 0, 8, 0, 0, ty, 0, 0, 0, 0, 0, 0, 0]);
    }
}

#[test]
fn busy_id_and_overload_answers() {
    // non-multiplexed: a second BEGIN gets CANT_MPX_CONN, the first continues
    let mut app = App::new(Config::default());
    let mut wire = begin(1, 1, true);
    wire.extend(begin(2, 1, true));
    app.handle_bytes(&wire).unwrap();
    let out = app.poll_transmit().unwrap();
    assert_eq!(
        &out[..],
        hex_literal::hex!("0103000200080000 0000000001000000")
    );
    assert_eq!(app.active_requests().collect::<Vec<_>>(), [1]);
    // multiplexed at the cap: OVERLOADED
    let mut app = App::new(Config {
        max_concurrent_requests: 2,
        ..Config::default()
    });
    let mut wire = begin(1, 1, true);
    wire.extend(begin(65535, 1, true));
    wire.extend(begin(300, 1, true));
    app.handle_bytes(&wire).unwrap();
    assert_eq!(
        &app.poll_transmit().unwrap()[..],
        hex_literal::hex!("0103012c00080000 0000000002000000")
    );
    // BEGIN for an active id: fatal
    let mut app = App::new(Config::default());
    let mut wire = begin(1, 1, true);
    wire.extend(begin(1, 1, true));
    assert_eq!(
        app.handle_bytes(&wire),
        Err(ServerError::RequestActive { id: 1 })
    );
}

#[test]
fn unknown_roles_answered() {
    for role in [0u16, 4, 65535] {
        let mut app = App::new(Config::default());
        app.handle_bytes(&begin(7, role, false)).unwrap();
        assert_eq!(
            &app.poll_transmit().unwrap()[..],
            hex_literal::hex!("0103000700080000 0000000003000000")
        );
        assert_eq!(
            app.poll_event(),
            Some(AppEvent::Replied {
                id: 7,
                record_type: RecordType::END_REQUEST
            })
        );
        assert_eq!(app.poll_event(), None);
    }
}

#[test]
fn state_violations_are_typed_errors() {
    let cases: Vec<(Vec<u8>, ServerError)> = vec![
        (
            [begin(1, 1, true), rec(RecordType::STDIN, 1, b"x")].concat(),
            ServerError::Unexpected {
                id: 1,
                record_type: RecordType::STDIN,
            },
        ),
        (
            [
                begin(1, 1, true),
                rec(RecordType::PARAMS, 1, b""),
                rec(RecordType::PARAMS, 1, b""),
            ]
            .concat(),
            ServerError::Unexpected {
                id: 1,
                record_type: RecordType::PARAMS,
            },
        ),
        (
            [
                begin(1, 1, true),
                rec(RecordType::PARAMS, 1, b""),
                rec(RecordType::DATA, 1, b"d"),
            ]
            .concat(),
            ServerError::Unexpected {
                id: 1,
                record_type: RecordType::DATA,
            },
        ),
        (
            [begin(1, 1, true), rec(RecordType::STDOUT, 1, b"d")].concat(),
            ServerError::Unexpected {
                id: 1,
                record_type: RecordType::STDOUT,
            },
        ),
        (
            [begin(1, 1, true), rec(RecordType::PARAMS, 1, b"\x05")].concat(),
            ServerError::Params {
                id: 1,
                error: DecodeError::PairTruncated { offset: 0 },
            },
        ),
    ];
    for (wire, err) in cases {
        let mut app = App::new(Config::default());
        let res = app.handle_bytes(&wire);
        if let ServerError::Params { .. } = err {
            assert!(res.is_ok());
            assert_eq!(app.handle_bytes(&rec(RecordType::PARAMS, 1, b"")), Err(err));
        } else {
            assert_eq!(res, Err(err));
        }
    }
}

#[test]
fn inactive_ids_ignored_and_reused() {
    let mut app = App::new(Config::default());
    let mut wire = rec(RecordType::STDIN, 9, b"stray");
    wire.extend(rec(RecordType::ABORT_REQUEST, 9, b""));
    wire.extend(begin(1, 1, true));
    wire.extend(rec(RecordType::PARAMS, 1, b""));
    wire.extend(rec(RecordType::STDIN, 1, b""));
    app.handle_bytes(&wire).unwrap();
    assert_eq!(app_events(&mut app).len(), 3);
    app.end_request(1, 0).unwrap();
    // leftover empty STDIN for the ended id is ignored, id 1 reusable
    let mut wire = rec(RecordType::STDIN, 1, b"");
    wire.extend(rec(RecordType::ABORT_REQUEST, 1, b""));
    wire.extend(begin(1, 1, false));
    app.handle_bytes(&wire).unwrap();
    assert_eq!(
        app_events(&mut app),
        [AppEvent::Request {
            id: 1,
            role: Role::RESPONDER,
            keep_conn: false
        }]
    );
}

#[test]
fn abort_surfaces_and_exactly_one_end_request() {
    let mut app = App::new(Config::default());
    let mut wire = begin(1, 1, false);
    wire.extend(rec(RecordType::ABORT_REQUEST, 1, b""));
    app.handle_bytes(&wire).unwrap();
    assert_eq!(app_events(&mut app)[1], AppEvent::Abort { id: 1 });
    app.end_request(1, 1).unwrap();
    assert!(app.end_request(1, 1).is_err());
    let (recs, _) = parse_all(&app.poll_transmit().unwrap());
    assert_eq!(
        recs.iter()
            .filter(|r| r.header.record_type == RecordType::END_REQUEST)
            .count(),
        1
    );
}

#[test]
fn filter_and_authorizer_roles() {
    let mut app = App::new(Config::default());
    let mut wire = begin(1, 3, false);
    wire.extend(rec(RecordType::PARAMS, 1, b""));
    wire.extend(rec(RecordType::STDIN, 1, b"in"));
    wire.extend(rec(RecordType::STDIN, 1, b""));
    wire.extend(rec(RecordType::DATA, 1, b"file"));
    wire.extend(rec(RecordType::DATA, 1, b""));
    app.handle_bytes(&wire).unwrap();
    let ev = app_events(&mut app);
    assert_eq!(
        ev[4],
        AppEvent::Data {
            id: 1,
            data: Bytes::from_static(b"file")
        }
    );
    assert_eq!(ev[5], AppEvent::DataEnd { id: 1 });
    // authorizer without STDIN: params only, then the answer
    let mut app = App::new(Config::default());
    let mut wire = begin(1, 2, false);
    wire.extend(rec(RecordType::PARAMS, 1, b""));
    app.handle_bytes(&wire).unwrap();
    assert_eq!(app_events(&mut app).len(), 2);
    app.stdout(1, b"Status: 200\r\n\r\n").unwrap();
    app.end_request(1, 0).unwrap();
}

#[test]
fn backpressure_bounds_buffered_body() {
    let mut app = App::new(Config {
        max_buffered: 100,
        ..Config::default()
    });
    let mut wire = begin(1, 1, false);
    wire.extend(rec(RecordType::PARAMS, 1, b""));
    for _ in 0..50 {
        wire.extend(rec(RecordType::STDIN, 1, &[b'x'; 60]));
    }
    wire.extend(rec(RecordType::STDIN, 1, b""));
    let mut pos = 0;
    let mut body = 0;
    let mut rounds = 0;
    while pos < wire.len() {
        pos += app.handle_bytes(&wire[pos..]).unwrap();
        assert!(app.buffered() <= 100 + 60);
        for e in app_events(&mut app) {
            if let AppEvent::Stdin { data, .. } = e {
                body += data.len();
            }
        }
        rounds += 1;
    }
    assert_eq!(body, 3000);
    assert!(rounds > 10);
}

#[test]
fn client_handles_php_fpm_and_edge_replies() {
    let mut c = Client::new();
    c.begin(1, Role::RESPONDER, true).unwrap();
    assert!(c.begin(1, Role::RESPONDER, true).is_err());
    assert!(c.begin(0, Role::RESPONDER, true).is_err());
    // END_REQUEST first, with padding, unknown protocol status, full u32
    let mut r = vec![1, 3, 0, 1, 0, 8, 5, 0, 0xff, 0xff, 0xff, 0xff, 4, 0, 0, 0];
    r.extend([0; 5]);
    for i in 0..r.len() {
        let mut c2 = Client::new();
        c2.begin(1, Role::RESPONDER, true).unwrap();
        c2.handle_bytes(&r[..i]).unwrap();
        assert_eq!(c2.poll_event(), None);
        c2.handle_bytes(&r[i..]).unwrap();
        assert_eq!(
            c2.poll_event(),
            Some(ClientEvent::End {
                id: 1,
                end: EndRequest {
                    app_status: u32::MAX,
                    protocol_status: ProtocolStatus(4)
                }
            })
        );
    }
    // a reply for another id is an error; UNKNOWN_TYPE on id 0 mid-response is an event
    c.handle_bytes(&rec(
        RecordType::UNKNOWN_TYPE,
        0,
        &[12, 0, 0, 0, 0, 0, 0, 0],
    ))
    .unwrap();
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::UnknownType(RecordType(12)))
    );
    assert_eq!(
        c.handle_bytes(&rec(RecordType::STDOUT, 2, b"x")),
        Err(ClientError::UnknownRequest {
            id: 2,
            record_type: RecordType::STDOUT
        })
    );
    // empty STDERR then nothing (HAProxy #743)
    let mut c = Client::new();
    c.begin(1, Role::RESPONDER, false).unwrap();
    let mut w = rec(RecordType::STDERR, 1, b"");
    w.extend(rec(RecordType::STDOUT, 1, b"hi"));
    w.extend(rec(RecordType::END_REQUEST, 1, &[0; 8]));
    c.handle_bytes(&w).unwrap();
    assert_eq!(client_events(&mut c).len(), 2);
}

#[test]
fn client_sends_large_params_php_fpm_compatible() {
    let mut c = Client::new();
    c.begin(1, Role::RESPONDER, false).unwrap();
    let v = vec![b'a'; 40_000];
    c.params(1, [(&b"HTTP_A"[..], &v[..]), (&b"HTTP_B"[..], &v[..])])
        .unwrap();
    c.stdin_end(1).unwrap();
    let (recs, _) = parse_all(&c.poll_transmit().unwrap());
    let params: Vec<_> = recs
        .iter()
        .filter(|r| r.header.record_type == RecordType::PARAMS)
        .collect();
    assert_eq!(params.len(), 3);
    for r in &params {
        assert!(r.content.len() + usize::from(r.header.padding_len) <= 65535);
        assert!(Pairs::new(&r.content).all(|p| p.is_ok()));
    }
    assert_eq!(
        recs.iter()
            .filter(|r| r.header.record_type == RecordType::STDIN)
            .count(),
        1
    );
}
