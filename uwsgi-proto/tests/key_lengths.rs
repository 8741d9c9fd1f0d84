//! Every key length, inside and outside the lengths the decoder dispatches on,
//! decodes to the exact pair, and a var cut short names the exact error.

use uwsgi_proto::{DecodeError, Field, Limits, Mode, Vars, VarsReader};

fn var(klen: usize, vlen: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let key: Vec<u8> = (0..klen).map(|i| b'A' + (i % 26) as u8).collect();
    let val: Vec<u8> = (0..vlen).map(|i| b'a' + (i % 26) as u8).collect();
    let mut wire = Vec::new();
    wire.extend_from_slice(&(klen as u16).to_le_bytes());
    wire.extend_from_slice(&key);
    wire.extend_from_slice(&(vlen as u16).to_le_bytes());
    wire.extend_from_slice(&val);
    (key, val, wire)
}

#[test]
fn every_key_length_decodes_exactly() {
    for klen in 1..=70 {
        for vlen in [0, 1, 9, 300] {
            let (key, val, one) = var(klen, vlen);
            // The var between two others, so a wrong split shows up in its
            // neighbours too.
            let (k0, v0, w0) = var(11, 5);
            let (k2, v2, w2) = var(9, 16);
            let block = [w0.as_slice(), &one, &w2].concat();
            let want = vec![
                (k0.as_slice(), v0.as_slice()),
                (key.as_slice(), val.as_slice()),
                (k2.as_slice(), v2.as_slice()),
            ];
            let lazy: Vec<_> = VarsReader::new(&block, Mode::Strict)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(lazy, want, "klen {klen} vlen {vlen}");
            let vars = Vars::parse(&block, &Limits::default(), Mode::Strict).unwrap();
            assert_eq!(
                vars.iter().collect::<Vec<_>>(),
                want,
                "klen {klen} vlen {vlen}"
            );
        }
    }
}

#[test]
fn every_key_length_cut_short_names_the_error() {
    for klen in 1..=70 {
        let (_, _, wire) = var(klen, 3);
        for cut in 1..wire.len() {
            let block = &wire[..cut];
            // The key length names the key, the value length the value, at
            // the offset of its own length field.
            let want = if cut <= 2 {
                DecodeError::TrailingBytes {
                    offset: 4,
                    len: cut,
                }
            } else if cut < 2 + klen {
                DecodeError::LengthOverrun {
                    what: Field::Key,
                    offset: 4,
                }
            } else {
                DecodeError::LengthOverrun {
                    what: Field::Value,
                    offset: 4 + 2 + klen,
                }
            };
            let got = VarsReader::new(block, Mode::Strict).next();
            assert_eq!(got, Some(Err(want)), "klen {klen} cut {cut}");
            assert_eq!(
                Vars::parse(block, &Limits::default(), Mode::Strict).err(),
                Some(want),
                "klen {klen} cut {cut}"
            );
        }
    }
}
