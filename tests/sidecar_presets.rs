//! Preset vectors through the sidecar: every preset's vector is sent, byte for byte, to a
//! sidecar route of that preset, and must be verified and forwarded. This covers the
//! request-head path (`{url}`, `{form}`: Square, Twilio, Mailchimp, Trello, HubSpot), tokens,
//! body fields, public keys and timestamps end to end.
//!
//! The sidecar reads the real clock, and a vector's timestamp is pinned at its `now` (years
//! ago): a timestamped preset's route gets a `tolerance` covering `real now - vector now` (plus
//! a day), computed when the test runs, so the vector is inside it.
#![cfg(feature = "sidecar")]

mod common;

use bytes::Bytes;
use common::*;
use hookgate::core::Provider;
use http::Request;
use http_body_util::Full;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/presets");

fn vector(preset: Provider) -> Value {
    let text = std::fs::read_to_string(format!("{DIR}/{}.json", preset.name())).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The requests of a vector: its own and those of `also` (headers, body).
fn requests(v: &Value) -> Vec<(&serde_json::Map<String, Value>, &str)> {
    let mut out = vec![(
        v["headers"].as_object().unwrap(),
        v["body"].as_str().unwrap(),
    )];
    for also in v["also"].as_array().into_iter().flatten() {
        out.push((
            also["headers"].as_object().unwrap(),
            also["body"].as_str().unwrap(),
        ));
    }
    out
}

/// Starts a sidecar with one route per preset (with `tolerance` where given), sends every
/// request of every vector, and checks each one was verified and forwarded.
async fn send_vectors(presets: &[Provider], tolerance: impl Fn(&Value) -> Option<String>) {
    let upstream = Upstream::start().await;
    let mut config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n{}\n",
        store_section()
    );
    for &preset in presets {
        let v = vector(preset);
        let url = v["url"].as_str().unwrap();
        let path = url.split('?').next().unwrap();
        config.push_str(&format!(
            "[[route]]\nname = \"{name}\"\npath = \"{path}\"\nupstream = \"http://{up}/{name}\"\nprovider = \"{name}\"\nsecrets = [{secret}]\n",
            name = preset.name(),
            up = upstream.addr,
            secret = serde_json::to_string(v["secret"].as_str().unwrap()).unwrap(),
        ));
        if let Some(public_url) = v["public_url"].as_str() {
            config.push_str(&format!("public_url = \"{public_url}\"\n"));
        }
        if let Some(tolerance) = tolerance(&v) {
            config.push_str(&format!("tolerance = \"{tolerance}\"\n"));
        }
    }
    let gate = InProcess::start(&config).await;

    let mut failures = Vec::new();
    let mut sent = 0;
    for &preset in presets {
        let v = vector(preset);
        for (headers, body) in requests(&v) {
            let mut request = Request::post(gate.url(v["url"].as_str().unwrap()))
                .header("content-type", preset.content_type());
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str().unwrap());
            }
            let body = Bytes::from(body.to_owned());
            let answer = send(request.body(Full::new(body)).unwrap()).await;
            sent += 1;
            if answer.status != 200 {
                failures.push(format!("{preset}: {} {:?}", answer.status, answer.body));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(upstream.received.lock().unwrap().len(), sent);
}

#[tokio::test]
async fn clock_free_preset_vectors_are_verified_and_forwarded_by_the_sidecar() {
    let presets: Vec<Provider> = Provider::all()
        .iter()
        .copied()
        .filter(|p| p.default_tolerance().is_none())
        .collect();
    assert!(presets.len() > 50, "{} clock-free presets", presets.len());
    send_vectors(&presets, |_| None).await;
}

#[tokio::test]
async fn timestamped_preset_vectors_are_verified_and_forwarded_by_the_sidecar() {
    let presets: Vec<Provider> = Provider::all()
        .iter()
        .copied()
        .filter(|p| p.default_tolerance().is_some())
        .collect();
    assert!(presets.len() > 30, "{} timestamped presets", presets.len());
    let real_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    send_vectors(&presets, |v| {
        let pinned = v["now"].as_u64().unwrap();
        // Years, in seconds: a `tolerance` the config reads like any other duration.
        Some(format!("{}s", real_now.abs_diff(pinned) + 86_400))
    })
    .await;
}
