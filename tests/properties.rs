//! Properties of the core, over many random inputs (a seeded generator: failures reproduce).
//!
//! For every preset: what hookgate signs verifies; changing any single bit of the body, cutting
//! or extending it, or using another secret, never verifies. And the streaming JSON-pointer
//! reader agrees with a full parse of the document.

use base64::Engine as _;
use hookgate::core::{sign, EventIdSpec, Provider, Rejection, SignInput, Verifier};
use http::HeaderMap;
use std::time::{Duration, UNIX_EPOCH};

/// xorshift64*: small, seeded, good enough to spread inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| (b'a' + self.below(26) as u8) as char)
            .collect()
    }
}

fn secret_for(provider: Provider, rng: &mut Rng) -> String {
    match provider {
        Provider::StandardWebhooks | Provider::Svix => {
            let len = 24 + rng.below(40) as usize;
            format!(
                "whsec_{}",
                base64::engine::general_purpose::STANDARD.encode(rng.bytes(len))
            )
        }
        _ => {
            let len = 8 + rng.below(40) as usize;
            rng.word(len)
        }
    }
}

fn headers_for(
    provider: Provider,
    secret: &str,
    body: &[u8],
    timestamp: i64,
    id: &str,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in sign(
        &provider.scheme(),
        &secret.into(),
        body,
        &SignInput { timestamp, id },
    )
    .unwrap()
    {
        headers.insert(name, value);
    }
    headers
}

#[test]
fn signed_verifies_and_any_change_does_not() {
    let mut rng = Rng(0x5eed_0f40_061e);
    for provider in Provider::ALL {
        for round in 0..150 {
            let secret = secret_for(provider, &mut rng);
            let other = secret_for(provider, &mut rng);
            let len = rng.below(if round % 10 == 0 { 70_000 } else { 2_000 }) as usize;
            let body = rng.bytes(len);
            let timestamp = 1_600_000_000 + rng.below(300_000_000) as i64;
            let id = format!("msg_{}", rng.word(12));
            let now = UNIX_EPOCH + Duration::from_secs((timestamp + rng.below(120) as i64) as u64);
            let verifier = Verifier::new(
                provider.scheme(),
                [secret.as_str().into()],
                provider.default_tolerance(),
                provider.default_event_id(),
            )
            .unwrap();
            let headers = headers_for(provider, &secret, &body, timestamp, &id);
            let context = format!("{provider} round {round}, {len} bytes");

            let verified = verifier.verify(&headers, &body, now);
            assert!(verified.is_ok(), "{context}: {verified:?}");

            if !body.is_empty() {
                let mut flipped = body.clone();
                let at = rng.below(len as u64) as usize;
                flipped[at] ^= 1 << rng.below(8);
                assert_eq!(
                    verifier.verify(&headers, &flipped, now),
                    Err(Rejection::InvalidSignature),
                    "{context}: bit flip at {at}"
                );
                assert_eq!(
                    verifier.verify(&headers, &body[..len - 1], now),
                    Err(Rejection::InvalidSignature),
                    "{context}: cut"
                );
            }
            let mut extended = body.clone();
            extended.push(rng.next() as u8);
            assert_eq!(
                verifier.verify(&headers, &extended, now),
                Err(Rejection::InvalidSignature),
                "{context}: extended"
            );

            let forged = headers_for(provider, &other, &body, timestamp, &id);
            assert_eq!(
                verifier.verify(&forged, &body, now),
                Err(Rejection::InvalidSignature),
                "{context}: other secret"
            );

            // Rotation: the right secret anywhere in the list verifies.
            let rotated = Verifier::new(
                provider.scheme(),
                [other.as_str().into(), secret.as_str().into()],
                provider.default_tolerance(),
                provider.default_event_id(),
            )
            .unwrap();
            assert!(
                rotated.verify(&headers, &body, now).is_ok(),
                "{context}: rotation"
            );
        }
    }
}

#[test]
fn a_signed_timestamp_cannot_be_moved() {
    let mut rng = Rng(0x0715_7a3b);
    for provider in Provider::ALL
        .into_iter()
        .filter(|p| p.scheme().signs_timestamp())
    {
        for _ in 0..100 {
            let secret = secret_for(provider, &mut rng);
            let len = rng.below(512) as usize;
            let body = rng.bytes(len);
            let timestamp = 1_600_000_000 + rng.below(300_000_000) as i64;
            let moved = timestamp + 1 + rng.below(200) as i64;
            let verifier = Verifier::new(
                provider.scheme(),
                [secret.as_str().into()],
                None,
                provider.default_event_id(),
            )
            .unwrap();
            let signed = headers_for(provider, &secret, &body, timestamp, "msg_1");
            // Re-stamp the request with another time but keep the original signature.
            let mut restamped = headers_for(provider, &secret, &body, moved, "msg_1");
            let signature_header = provider.scheme().signature_headers().preferred().clone();
            let original = signed[&signature_header].to_str().unwrap();
            let value = match original.split_once(",v1=") {
                // `t=…,v1=…`: keep the signature, change t.
                Some((_, sig)) => format!("t={moved},v1={sig}"),
                None => original.to_owned(),
            };
            restamped.insert(signature_header, value.parse().unwrap());
            let now = UNIX_EPOCH + Duration::from_secs(moved as u64);
            assert_eq!(
                verifier.verify(&restamped, &body, now),
                Err(Rejection::InvalidSignature),
                "{provider}: timestamp {timestamp} moved to {moved}"
            );
        }
    }
}

/// A random JSON value of bounded depth, as text.
fn json_value(rng: &mut Rng, depth: u32) -> String {
    match if depth == 0 {
        rng.below(4)
    } else {
        rng.below(6)
    } {
        0 => {
            let len = rng.below(10) as usize;
            format!("\"{}\"", rng.word(len))
        }
        1 => format!("{}", rng.next() as i32),
        2 => ["true", "false", "null"][rng.below(3) as usize].to_owned(),
        3 => "\"esc\\\"aped \\u00e9\\\\\"".to_owned(),
        4 => {
            let items: Vec<String> = (0..rng.below(4))
                .map(|_| json_value(rng, depth - 1))
                .collect();
            format!("[{}]", items.join(", "))
        }
        _ => {
            let members: Vec<String> = (0..rng.below(5))
                .map(|_| {
                    let len = 1 + rng.below(3) as usize;
                    let key = rng.word(len);
                    format!("\"{key}\" : {}", json_value(rng, depth - 1))
                })
                .collect();
            format!("{{ {} }}", members.join(",\n"))
        }
    }
}

#[test]
fn json_pointer_reading_agrees_with_a_full_parse() {
    let mut rng = Rng(0x01d5_0f15);
    let mut found = 0;
    for _ in 0..10_000 {
        let document = json_value(&mut rng, 4);
        let Ok(parsed) = serde_json::from_str::<serde_json::Value>(&document) else {
            panic!("generator made invalid JSON: {document}");
        };
        // A pointer to a random path, often present, sometimes not.
        let mut path = String::new();
        let mut node = &parsed;
        for _ in 0..1 + rng.below(3) {
            match node {
                serde_json::Value::Object(map) if !map.is_empty() && rng.below(5) > 0 => {
                    let key = map
                        .keys()
                        .nth(rng.below(map.len() as u64) as usize)
                        .unwrap()
                        .clone();
                    path.push('/');
                    path.push_str(&key);
                    node = &map[&key];
                }
                serde_json::Value::Array(items) if !items.is_empty() => {
                    let i = rng.below(items.len() as u64) as usize;
                    path.push_str(&format!("/{i}"));
                    node = &items[i];
                }
                _ => {
                    path.push('/');
                    path.push_str(&rng.word(2));
                    break;
                }
            }
        }
        // serde_json keeps the last of duplicate keys, the pointer reader the first: compare
        // only documents without duplicates on the path (the generator rarely makes them).
        let expected = match parsed.pointer(&path) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let spec = EventIdSpec::parse([format!("json:{path}")]).unwrap();
        let got = spec.extract(&HeaderMap::new(), document.as_bytes(), None);
        if document
            .matches(&format!("\"{}\"", path.rsplit('/').next().unwrap()))
            .count()
            > 1
        {
            continue;
        }
        found += usize::from(expected.is_some());
        assert_eq!(got, expected, "pointer {path} in {document}");
    }
    assert!(
        found > 400,
        "the generator must hit existing ids often enough ({found})"
    );
}
