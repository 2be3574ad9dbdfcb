//! Why a webhook was refused: one enum that knows its status, its JSON code and its message.

use http::StatusCode;
use std::time::Duration;

/// Every way hookgate refuses a request.
///
/// A rejection maps to exactly one HTTP status and one stable JSON error code; the response
/// body is `{"error":"<code>","message":"<human text>"}`. Messages never contain a secret, an
/// expected signature or any internal detail.
///
/// ```
/// use hookgate::Rejection;
///
/// let rejection = Rejection::InvalidSignature;
/// assert_eq!(rejection.status(), http::StatusCode::UNAUTHORIZED);
/// assert_eq!(rejection.code(), "invalid_signature");
///
/// let busy = Rejection::InFlight { retry_after: std::time::Duration::from_millis(2500) };
/// assert_eq!(busy.retry_after_secs(), Some(3));
/// let response: http::Response<bytes::Bytes> = busy.to_response();
/// assert_eq!(response.status(), 409);
/// assert_eq!(response.headers()["retry-after"], "3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No route is configured for the request path.
    #[error("no webhook route is configured for this path")]
    UnknownRoute,
    /// Webhook routes accept `POST` only.
    #[error("webhook routes accept POST only")]
    MethodNotAllowed,
    /// The client address is not in the route's `allow_ips`.
    #[error("the client address is not allowed on this route")]
    IpNotAllowed,
    /// The body (declared or streamed) is larger than `max_body`.
    #[error("the request body is larger than the route allows")]
    BodyTooLarge,
    /// The request was not received within `request_timeout`.
    #[error("the request was not received in time")]
    RequestTimeout,
    /// The body could not be read (the client broke the stream).
    #[error("the request body could not be read")]
    BadRequest,
    /// The signature (or a header the scheme signs, such as its timestamp) is absent.
    #[error("the request carries no {0} header")]
    MissingSignature(http::HeaderName),
    /// No signature in the request matches the body under any configured secret, or the
    /// signature header cannot be parsed.
    #[error("the signature does not match the request")]
    InvalidSignature,
    /// The signed timestamp is outside the route's tolerance, in the past or the future.
    #[error("the signed timestamp is outside the allowed tolerance")]
    TimestampOutOfTolerance,
    /// The route's rate limit is exhausted.
    #[error("too many requests on this route")]
    RateLimited {
        /// When a request may succeed again.
        retry_after: Duration,
    },
    /// Another copy of this event is being delivered right now.
    #[error("this event is being delivered right now")]
    InFlight {
        /// When the other delivery's claim expires at the latest.
        retry_after: Duration,
    },
    /// Every byte of the `max_buffered` budget is held by other requests' bodies, and none
    /// came free within `request_timeout`: the provider retries later.
    #[error("the gateway is busy receiving other requests; retry later")]
    Overloaded {
        /// When to retry.
        retry_after: Duration,
    },
    /// The delivery queue is at its `max_events` or `max_bytes` bound: the provider keeps the
    /// event and retries later.
    #[error("the delivery queue is full; retry later")]
    QueueFull {
        /// When to retry.
        retry_after: Duration,
    },
    /// The delivery queue could not store the event durably.
    #[error("the delivery queue is unavailable; retry later")]
    QueueUnavailable,
    /// The seen-event store could not be reached, so a replay could not be ruled out.
    #[error("the seen-event store is unavailable")]
    StoreUnavailable,
    /// The upstream could not be reached.
    #[error("the upstream webhook handler could not be reached")]
    UpstreamUnavailable,
    /// The upstream did not answer within `upstream_timeout`.
    #[error("the upstream webhook handler did not answer in time")]
    UpstreamTimeout,
}

impl Rejection {
    /// The HTTP status the client receives.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::UnknownRoute => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::IpNotAllowed => StatusCode::FORBIDDEN,
            Rejection::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Rejection::BadRequest => StatusCode::BAD_REQUEST,
            Rejection::MissingSignature(_)
            | Rejection::InvalidSignature
            | Rejection::TimestampOutOfTolerance => StatusCode::UNAUTHORIZED,
            Rejection::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Rejection::InFlight { .. } => StatusCode::CONFLICT,
            Rejection::Overloaded { .. }
            | Rejection::StoreUnavailable
            | Rejection::QueueFull { .. }
            | Rejection::QueueUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            Rejection::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The stable, machine-readable error code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::UnknownRoute => "unknown_route",
            Rejection::MethodNotAllowed => "method_not_allowed",
            Rejection::IpNotAllowed => "ip_not_allowed",
            Rejection::BodyTooLarge => "body_too_large",
            Rejection::RequestTimeout => "request_timeout",
            Rejection::BadRequest => "bad_request",
            Rejection::MissingSignature(_) => "missing_signature",
            Rejection::InvalidSignature => "invalid_signature",
            Rejection::TimestampOutOfTolerance => "timestamp_out_of_tolerance",
            Rejection::RateLimited { .. } => "rate_limited",
            Rejection::InFlight { .. } => "in_flight",
            Rejection::Overloaded { .. } => "overloaded",
            Rejection::QueueFull { .. } => "queue_full",
            Rejection::QueueUnavailable => "queue_unavailable",
            Rejection::StoreUnavailable => "store_unavailable",
            Rejection::UpstreamUnavailable => "upstream_unavailable",
            Rejection::UpstreamTimeout => "upstream_timeout",
        }
    }

    /// The value of the `Retry-After` header, in whole seconds (at least 1), where the
    /// rejection carries one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Rejection::RateLimited { retry_after }
            | Rejection::InFlight { retry_after }
            | Rejection::Overloaded { retry_after }
            | Rejection::QueueFull { retry_after } => {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                Some(secs.max(1))
            }
            _ => None,
        }
    }

    /// The JSON body: `{"error":"<code>","message":"<human text>"}`.
    ///
    /// ```
    /// let body = hookgate::Rejection::UnknownRoute.json_body();
    /// let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    /// assert_eq!(value["error"], "unknown_route");
    /// ```
    pub fn json_body(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "error": self.code(),
            "message": self.to_string(),
        }))
        .expect("a map of two strings always serializes")
    }

    /// Builds the full HTTP response for this rejection.
    pub fn to_response<B: From<bytes::Bytes>>(&self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(bytes::Bytes::from(self.json_body())));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after_secs() {
            headers.insert(http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let r = Rejection::RateLimited {
            retry_after: Duration::from_millis(1200),
        };
        assert_eq!(r.retry_after_secs(), Some(2));
        let r = Rejection::InFlight {
            retry_after: Duration::ZERO,
        };
        assert_eq!(r.retry_after_secs(), Some(1));
        assert_eq!(Rejection::InvalidSignature.retry_after_secs(), None);
    }

    #[test]
    fn response_is_json_with_retry_after() {
        let r = Rejection::RateLimited {
            retry_after: Duration::from_secs(3),
        };
        let resp: http::Response<bytes::Bytes> = r.to_response();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(resp.headers()["retry-after"], "3");
        let v: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
        assert_eq!(v["error"], "rate_limited");
    }
}
