//! Only first-time events reach the upstream, and no event is lost on the way.
#![cfg(feature = "sidecar")]

mod common;

use common::*;
use hookgate::core::Provider;
use http::StatusCode;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "whsec_dedup_test_secret";

#[tokio::test]
async fn a_duplicate_after_upstream_2xx_is_answered_without_forwarding() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config("stripe", SECRET, &upstream.url("/s"), "", ""));
    let body = r#"{"id":"evt_dup","type":"invoice.paid"}"#;
    let first = gate.post(Provider::Stripe, SECRET, body, "").await;
    assert_eq!(first.status, 200);
    // The provider's retry is signed again with a new timestamp: still the same event.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = gate.post(Provider::Stripe, SECRET, body, "").await;
    assert_eq!(second.status, 200);
    assert_eq!(second.headers["hookgate-duplicate"], "true");
    assert_eq!(second.headers["content-type"], "application/json");
    assert_eq!(
        second.json(),
        serde_json::json!({"status": "duplicate", "event_id": "evt_dup"})
    );
    assert_eq!(upstream.count(), 1, "forwarded once");
}

#[tokio::test]
async fn upstream_failure_is_relayed_and_the_retry_is_delivered() {
    let upstream = Upstream::scripted(Arc::new(|n| {
        let status = if n == 0 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        };
        (status, Duration::ZERO)
    }))
    .await;
    let gate = Hookgate::start(&config("stripe", SECRET, &upstream.url("/s"), "", ""));
    let body = r#"{"id":"evt_retry"}"#;
    let first = gate.post(Provider::Stripe, SECRET, body, "").await;
    assert_eq!(first.status, 500, "the upstream's answer is relayed as is");
    assert_eq!(first.body, "upstream answer 0");
    let retry = gate.post(Provider::Stripe, SECRET, body, "").await;
    assert_eq!(retry.status, 200);
    assert!(retry.headers.get("hookgate-duplicate").is_none());
    assert_eq!(upstream.count(), 2, "the retry reached the upstream");
    let third = gate.post(Provider::Stripe, SECRET, body, "").await;
    assert_eq!(third.headers["hookgate-duplicate"], "true");
    assert_eq!(upstream.count(), 2);
}

#[tokio::test]
async fn two_concurrent_copies_one_forwarded_the_other_409() {
    let upstream =
        Upstream::scripted(Arc::new(|_| (StatusCode::OK, Duration::from_millis(800)))).await;
    let gate = Hookgate::start(&config("stripe", SECRET, &upstream.url("/s"), "", ""));
    let body = r#"{"id":"evt_race"}"#;
    let a = send(gate.signed_request(Provider::Stripe, SECRET, body, ""));
    let b = send(gate.signed_request(Provider::Stripe, SECRET, body, ""));
    let (a, b) = tokio::join!(a, b);
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let conflict = if a.status == 409 { &a } else { &b };
    assert_eq!(conflict.json()["error"], "in_flight");
    let retry_after = conflict.retry_after();
    assert!((1..=35).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(upstream.count(), 1, "exactly one copy forwarded");
}

#[tokio::test]
async fn events_without_an_id_are_deduplicated_by_signature() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config("d3", "d3-secret", &upstream.url("/d3"), "", ""));
    // No type/timestamp: the id falls back to the signature digest, which stops exact replays.
    let req = || gate.signed_request(Provider::D3, "d3-secret", r#"{"status":"ok"}"#, "");
    assert_eq!(send(req()).await.status, 200);
    let replay = send(req()).await;
    assert_eq!(replay.headers["hookgate-duplicate"], "true");
    assert!(replay.json()["event_id"]
        .as_str()
        .unwrap()
        .starts_with("sig:"));
    assert_eq!(upstream.count(), 1);
}

#[tokio::test]
async fn seed_provider_d3_deduplicates_on_type_and_timestamp() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config("d3", "d3-secret", &upstream.url("/d3"), "", ""));
    let body = r#"{"type":"operation.completed","timestamp":"2022-11-03T20:26:10.344522Z","mainTaskId":"m1"}"#;
    // The same event re-sent with different formatting is signed differently but is the same event.
    let reformatted = r#"{"type": "operation.completed", "timestamp": "2022-11-03T20:26:10.344522Z", "mainTaskId": "m1"}"#;
    assert_eq!(
        gate.post(Provider::D3, "d3-secret", body, "").await.status,
        200
    );
    assert_eq!(
        upstream.last().headers["hookgate-event-id"],
        "operation.completed:2022-11-03T20:26:10.344522Z"
    );
    let again = gate.post(Provider::D3, "d3-secret", reformatted, "").await;
    assert_eq!(again.headers["hookgate-duplicate"], "true");
    assert_eq!(upstream.count(), 1);
}
