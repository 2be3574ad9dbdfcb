//! An axum app receiving Stripe and GitHub webhooks through `WebhookLayer`.
//!
//! ```sh
//! cargo run --example axum
//! # in another shell:
//! cargo run -- send http://127.0.0.1:3001/webhooks/stripe --provider stripe \
//!     --secret whsec_demo_stripe_secret --data '{"id":"evt_1","type":"invoice.paid"}'
//! cargo run -- send http://127.0.0.1:3001/webhooks/github --provider github \
//!     --secret demo-github-secret --data '{"zen":"Design for failure."}'
//! ```
//!
//! Secrets come from `STRIPE_WEBHOOK_SECRET` and `GITHUB_WEBHOOK_SECRET` (demo values
//! otherwise); the address from `LISTEN` (default `127.0.0.1:3001`).

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use hookgate::core::Provider;
use hookgate::core::Verifier;
use hookgate::layer::BufferBudget;
use hookgate::store::MemoryStore;
use hookgate::{VerifiedWebhook, WebhookLayer};
use std::sync::Arc;

async fn stripe(event: VerifiedWebhook) -> (StatusCode, &'static str) {
    // The body is the exact bytes Stripe signed; parse it however you like.
    let json: serde_json::Value = match serde_json::from_slice(&event.body) {
        Ok(json) => json,
        Err(_) => return (StatusCode::UNPROCESSABLE_ENTITY, "not JSON"),
    };
    println!("stripe {} ({})", event.event_id, json["type"]);
    // Answering 2xx commits the event id: Stripe's retries of it are answered by hookgate.
    // Answering anything else releases it, so the retry reaches this handler again.
    (StatusCode::OK, "ok")
}

async fn github(event: VerifiedWebhook, headers: axum::http::HeaderMap) -> &'static str {
    let kind = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    println!(
        "github delivery {} ({kind}), {} bytes",
        event.event_id,
        event.body.len()
    );
    "ok"
}

fn secret(var: &str, demo: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        eprintln!("{var} not set: using a demo secret");
        demo.to_owned()
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let stripe_verifier = Verifier::builder()
        .provider(Provider::Stripe)
        .secret(secret("STRIPE_WEBHOOK_SECRET", "whsec_demo_stripe_secret"))
        .build()?;
    let github_verifier = Verifier::builder()
        .provider(Provider::Github)
        .secret(secret("GITHUB_WEBHOOK_SECRET", "demo-github-secret"))
        .build()?;
    // One layer per route; the routes share one store of delivered ids and one bound on the
    // bodies buffered at once.
    let store = Arc::new(MemoryStore::new(100_000));
    let budget = BufferBudget::new(32 * 1024 * 1024);
    let stripe_layer = WebhookLayer::new(stripe_verifier)
        .store(store.clone())
        .buffer_budget(budget.clone());
    let github_layer = WebhookLayer::new(github_verifier)
        .store(store)
        .buffer_budget(budget);

    let app = Router::new()
        .route("/webhooks/stripe", post(stripe).route_layer(stripe_layer))
        .route("/webhooks/github", post(github).route_layer(github_layer))
        .route("/", axum::routing::get(|| async { "webhook receiver" }));

    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3001".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
