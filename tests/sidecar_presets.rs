//! Preset vectors through the sidecar: every preset whose vector does not depend on the clock
//! (no signed timestamp) is sent, byte for byte, to a sidecar route of that preset, and must be
//! verified and forwarded. This covers the request-head path (`{url}`, `{form}`: Square,
//! Twilio, Mailchimp, Trello), tokens, body fields and public keys' neighbours end to end.
#![cfg(feature = "sidecar")]

mod common;

use bytes::Bytes;
use common::*;
use hookgate::core::Provider;
use http::Request;
use http_body_util::Full;
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/presets");

fn vector(preset: Provider) -> Value {
    let text = std::fs::read_to_string(format!("{DIR}/{}.json", preset.name())).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn clock_free_preset_vectors_are_verified_and_forwarded_by_the_sidecar() {
    let upstream = Upstream::start().await;
    let presets: Vec<Provider> = Provider::all()
        .iter()
        .copied()
        .filter(|p| p.default_tolerance().is_none())
        .collect();
    let mut config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n{}\n",
        store_section()
    );
    for &preset in &presets {
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
    }
    let gate = InProcess::start(&config).await;
    assert!(presets.len() > 50, "{} clock-free presets", presets.len());

    let mut failures = Vec::new();
    for &preset in &presets {
        let v = vector(preset);
        let mut request = Request::post(gate.url(v["url"].as_str().unwrap()))
            .header("content-type", preset.content_type());
        for (name, value) in v["headers"].as_object().unwrap() {
            request = request.header(name.as_str(), value.as_str().unwrap());
        }
        let body = Bytes::from(v["body"].as_str().unwrap().to_owned());
        let answer = send(request.body(Full::new(body)).unwrap()).await;
        if answer.status != 200 {
            failures.push(format!("{preset}: {} {:?}", answer.status, answer.body));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(upstream.received.lock().unwrap().len(), presets.len());
}
