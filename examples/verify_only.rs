//! The pure core API, for lambda handlers and frameworks without tower.
//!
//! ```sh
//! cargo run --example verify_only
//! ```
//!
//! `Verifier::verify` takes the request headers, the raw body and the clock, and returns the
//! verified event or a `Rejection` that knows its HTTP status and JSON body. It does no I/O,
//! so deduplication is yours: here, a `HashSet` of delivered event ids.

use bytes::Bytes;
use hookgate::core::{sign, Provider, SignInput, Verifier};
use http::HeaderMap;
use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// A handler as a serverless function would have it: headers and body in, status and body out.
fn handle(
    verifier: &Verifier,
    delivered: &mut HashSet<String>,
    headers: &HeaderMap,
    body: Bytes,
) -> (u16, String) {
    match verifier.verify(headers, &body, SystemTime::now()) {
        Err(rejection) => (
            rejection.status().as_u16(),
            String::from_utf8(rejection.json_body()).expect("JSON is UTF-8"),
        ),
        Ok(event) if !delivered.insert(event.event_id.clone()) => {
            (200, format!("duplicate {}", event.event_id))
        }
        Ok(event) => (200, format!("processed {}", event.event_id)),
    }
}

fn main() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let verifier = Verifier::builder()
        .provider(Provider::StandardWebhooks)
        .secret(secret)
        .build()
        .expect("a valid verifier");
    let mut delivered = HashSet::new();

    // Sign a request the way a Standard Webhooks sender would.
    let body = Bytes::from_static(br#"{"type":"user.created","data":{"id":"u_1"}}"#);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut headers = HeaderMap::new();
    let signed = sign(
        &Provider::StandardWebhooks.scheme(),
        &secret.into(),
        &body,
        &SignInput {
            timestamp: now,
            id: "msg_1",
        },
    );
    for (name, value) in signed.expect("a valid secret") {
        headers.insert(name, value);
    }

    let first = handle(&verifier, &mut delivered, &headers, body.clone());
    let replay = handle(&verifier, &mut delivered, &headers, body.clone());
    let forged = handle(
        &verifier,
        &mut delivered,
        &headers,
        Bytes::from_static(br#"{"type":"user.deleted"}"#),
    );
    println!("first:  {first:?}\nreplay: {replay:?}\nforged: {forged:?}");
    assert_eq!(first, (200, "processed msg_1".to_owned()));
    assert_eq!(replay, (200, "duplicate msg_1".to_owned()));
    assert_eq!(forged.0, 401);
}
