//! `VerifiedWebhook` as an axum extractor (feature `axum`).

use crate::webhook::VerifiedWebhook;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode};

/// The handler asked for a [`VerifiedWebhook`] but no [`WebhookLayer`](crate::WebhookLayer)
/// verified the request: a wiring mistake, answered 500 so it cannot pass unnoticed.
///
/// ```
/// use axum_core::response::IntoResponse;
/// let response = hookgate::WebhookLayerMissing.into_response();
/// assert_eq!(response.status(), 500);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this handler expects a verified webhook, but no WebhookLayer is applied to its route")]
pub struct WebhookLayerMissing;

impl IntoResponse for WebhookLayerMissing {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({"error": "webhook_layer_missing", "message": self.to_string()});
        let mut response = Response::new(axum_core::body::Body::from(body.to_string()));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// ```
/// use axum::{routing::post, Router};
/// use hookgate::core::{Provider, Verifier};
/// use hookgate::{VerifiedWebhook, WebhookLayer};
///
/// async fn stripe(event: VerifiedWebhook) -> &'static str {
///     // event.body holds the exact bytes that were verified.
///     let _json: serde_json::Value = serde_json::from_slice(&event.body).unwrap_or_default();
///     "ok"
/// }
///
/// let verifier = Verifier::builder().provider(Provider::Stripe).secret("whsec_...").build().unwrap();
/// let app: Router = Router::new()
///     .route("/webhooks/stripe", post(stripe))
///     .route_layer(WebhookLayer::new(verifier));
/// ```
impl<S: Send + Sync> FromRequestParts<S> for VerifiedWebhook {
    type Rejection = WebhookLayerMissing;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<VerifiedWebhook>()
            .cloned()
            .ok_or(WebhookLayerMissing)
    }
}
