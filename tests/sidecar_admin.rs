//! Admin endpoints, trusted proxies and IP allowlists through the real sidecar.
#![cfg(feature = "sidecar")]

mod common;

use bytes::Bytes;
use common::*;
use hookgate::core::Provider;
use http_body_util::Full;

const SECRET: &str = "gh-admin-secret";

async fn get(url: &str) -> Answer {
    send(
        http::Request::get(url)
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await
}

fn admin_url(gate: &Hookgate, path: &str) -> String {
    format!("http://{}{path}", gate.admin_addr())
}

#[tokio::test]
async fn statuses_beyond_599_are_counted_as_they_are() {
    let upstream = Upstream::scripted(std::sync::Arc::new(|n| {
        let status = [799, 600, 999][n % 3];
        (
            http::StatusCode::from_u16(status).unwrap(),
            std::time::Duration::ZERO,
        )
    }))
    .await;
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        "",
        "admin_listen = \"127.0.0.1:0\"",
    ));
    for (i, expected) in [799, 600, 999].into_iter().enumerate() {
        let answer = gate
            .post(Provider::Github, SECRET, &b"{}"[..], &format!("odd-{i}"))
            .await;
        assert_eq!(answer.status.as_u16(), expected, "relayed as it is");
    }
    let text = String::from_utf8(get(&admin_url(&gate, "/metrics")).await.body.to_vec()).unwrap();
    for status in ["799", "600", "999"] {
        let series = format!(r#"hookgate_responses_total{{route="github",status="{status}"}} 1"#);
        assert!(text.contains(&series), "{series} in {text}");
    }
    assert!(
        text.contains(
            r#"hookgate_requests_total{route="github",outcome="upstream_error",error=""} 3"#
        ),
        "{text}"
    );
}

#[tokio::test]
async fn healthz_readyz_and_prometheus_metrics() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        "",
        "admin_listen = \"127.0.0.1:0\"",
    ));
    assert_eq!(get(&admin_url(&gate, "/healthz")).await.status, 200);
    assert_eq!(get(&admin_url(&gate, "/readyz")).await.status, 200);

    assert_eq!(
        gate.post(Provider::Github, SECRET, &b"{}"[..], "m-1")
            .await
            .status,
        200
    );
    assert_eq!(
        gate.post(Provider::Github, SECRET, &b"{}"[..], "m-1")
            .await
            .status,
        200
    );
    assert_eq!(
        gate.post(Provider::Github, "bad", &b"{}"[..], "m-2")
            .await
            .status,
        401
    );
    assert_eq!(
        send(signed(
            Provider::Github,
            SECRET,
            &gate.url("/nope"),
            &b"{}"[..],
            "m-3"
        ))
        .await
        .status,
        404
    );

    let metrics = get(&admin_url(&gate, "/metrics")).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = String::from_utf8(metrics.body.to_vec()).unwrap();
    for series in [
        r#"hookgate_requests_total{route="github",outcome="delivered",error=""} 1"#,
        r#"hookgate_requests_total{route="github",outcome="duplicate",error=""} 1"#,
        r#"hookgate_requests_total{route="github",outcome="rejected",error="invalid_signature"} 1"#,
        r#"hookgate_requests_total{route="",outcome="rejected",error="unknown_route"} 1"#,
        r#"hookgate_responses_total{route="github",status="200"} 2"#,
        r#"hookgate_responses_total{route="github",status="401"} 1"#,
        r#"hookgate_responses_total{route="",status="404"} 1"#,
        r#"hookgate_upstream_duration_seconds_count{route="github"} 1"#,
        r#"hookgate_request_duration_seconds_count{route="github"} 3"#,
        r#"hookgate_buffered_bytes{route="github"} 0"#,
        r#"hookgate_claims_in_flight{route="github"} 0"#,
    ] {
        assert!(text.contains(series), "{series} in {text}");
    }
    if on_redis() {
        assert!(
            text.contains("hookgate_store_operation_duration_seconds_count{op=\"claim\"}"),
            "{text}"
        );
    } else {
        assert!(
            text.contains("hookgate_store_entries 1"),
            "one remembered id: {text}"
        );
    }
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        assert!(
            line.starts_with("hookgate_"),
            "every series is prefixed: {line}"
        );
    }
}

#[tokio::test]
async fn allow_ips_refuse_other_clients_before_reading_the_body() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        "allow_ips = [\"203.0.113.0/24\"]",
        "",
    ));
    let answer = gate
        .post(Provider::Github, SECRET, &b"{}"[..], "ip-1")
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.json()["error"], "ip_not_allowed");
    // An untrusted peer cannot claim an allowed address.
    let mut spoofed = gate.signed_request(Provider::Github, SECRET, &b"{}"[..], "ip-2");
    spoofed
        .headers_mut()
        .insert("x-forwarded-for", "203.0.113.9".parse().unwrap());
    assert_eq!(send(spoofed).await.status, 403);
    assert_eq!(upstream.count(), 0);
}

#[tokio::test]
async fn a_trusted_proxy_may_name_the_client() {
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        "allow_ips = [\"203.0.113.0/24\"]",
        "trusted_proxies = [\"127.0.0.1/32\"]",
    ));
    let mut via_proxy = gate.signed_request(Provider::Github, SECRET, &b"{}"[..], "tp-1");
    via_proxy.headers_mut().insert(
        "x-forwarded-for",
        "198.51.100.1, 203.0.113.9".parse().unwrap(),
    );
    via_proxy
        .headers_mut()
        .insert("x-forwarded-proto", "https".parse().unwrap());
    let answer = send(via_proxy).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let got = upstream.last();
    // The proxy's chain is kept and extended with the proxy itself.
    assert_eq!(
        got.headers["x-forwarded-for"],
        "198.51.100.1, 203.0.113.9, 127.0.0.1"
    );
    assert_eq!(got.headers["x-forwarded-proto"], "https");

    let mut outside = gate.signed_request(Provider::Github, SECRET, &b"{}"[..], "tp-2");
    outside
        .headers_mut()
        .insert("x-forwarded-for", "198.51.100.1".parse().unwrap());
    assert_eq!(
        send(outside).await.status,
        403,
        "the right-most forwarded address is the client"
    );
}
