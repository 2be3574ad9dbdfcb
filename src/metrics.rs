//! The series hookgate records, through the [`metrics`] facade: the sidecar exports them as
//! Prometheus text on `/metrics`; a library user sees them in whatever recorder the
//! application installs (none installed: recording costs next to nothing).
//!
//! | series | kind | labels |
//! |---|---|---|
//! | `hookgate_requests_total` | counter | `route`, `outcome` (`delivered`, `duplicate`, `rejected`, `upstream_error`, `challenge`), `error` (the rejection code, or empty) |
//! | `hookgate_responses_total` | counter | `route`, `status` |
//! | `hookgate_request_duration_seconds` | histogram | `route` |
//! | `hookgate_upstream_duration_seconds` | histogram | `route` (time in the inner service: the upstream, or your handler) |
//! | `hookgate_buffered_bytes` | gauge | `route` (request bytes held from the buffer budget) |
//! | `hookgate_claims_in_flight` | gauge | `route` |
//! | `hookgate_store_entries` | gauge | (sidecar, memory store) |
//! | `hookgate_buffer_budget_bytes` | gauge | (sidecar: the whole `max_buffered`) |
//! | `hookgate_config_reloads_total` | counter | `result` (`ok`, `error`) |
//! | `hookgate_queue_enqueued_total` | counter | `route` |
//! | `hookgate_queue_delivered_total` | counter | `route` |
//! | `hookgate_queue_dead_letters_total` | counter | `route` |
//! | `hookgate_queue_attempt_duration_seconds` | histogram | `route`: one delivery attempt |
//! | `hookgate_queue_delivery_latency_seconds` | histogram | `route`: acceptance to delivery |
//! | `hookgate_queue_depth` | gauge | `route`, `state` (`queued`, `leased`, `retrying`, `dead`) |
//! | `hookgate_queue_oldest_seconds` | gauge | `route`: age of the oldest event not dead |
//! | `hookgate_store_operation_duration_seconds` | histogram | `op` (`claim`, `commit`, `release`, `ping`, `rate_limit`; Redis) |
//! | `hookgate_store_errors_total` | counter | `kind` (`timeout`, `connection`, `server`) |
//! | `hookgate_store_bypassed_total` | counter | `route`: delivered without dedup because the store failed (`on_store_error = "allow"`) |

use metrics::SharedString;
use std::sync::Arc;
use std::time::Duration;

/// A route name as a label: an `Arc<str>` is shared, never copied, so recording a series
/// allocates nothing on the request path.
pub(crate) type RouteLabel = Arc<str>;

fn label(route: &RouteLabel) -> SharedString {
    SharedString::from(route.clone())
}

/// The `status` label: the common statuses without an allocation.
fn status_label(status: http::StatusCode) -> SharedString {
    let fixed: &'static str = match status.as_u16() {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        413 => "413",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        _ => return SharedString::from(status.as_str().to_owned()),
    };
    SharedString::const_str(fixed)
}

/// Requests answered, by route, outcome and error code.
pub const REQUESTS: &str = "hookgate_requests_total";
/// Responses, by route and HTTP status.
pub const RESPONSES: &str = "hookgate_responses_total";
/// Time from the request's arrival to its answer.
pub const REQUEST_DURATION: &str = "hookgate_request_duration_seconds";
/// Time spent in the inner service (the upstream for the sidecar).
pub const UPSTREAM_DURATION: &str = "hookgate_upstream_duration_seconds";
/// Request body bytes held from the buffer budget.
pub const BUFFERED_BYTES: &str = "hookgate_buffered_bytes";
/// Claims taken and not yet settled.
pub const CLAIMS_IN_FLIGHT: &str = "hookgate_claims_in_flight";
/// Event ids held by the memory store.
pub const STORE_ENTRIES: &str = "hookgate_store_entries";
/// The whole buffer budget.
pub const BUFFER_BUDGET: &str = "hookgate_buffer_budget_bytes";

/// Configuration reloads, by result.
pub const CONFIG_RELOADS: &str = "hookgate_config_reloads_total";
/// Time of one store operation.
pub const STORE_OPERATION_DURATION: &str = "hookgate_store_operation_duration_seconds";
/// Store operations that failed, by kind.
pub const STORE_ERRORS: &str = "hookgate_store_errors_total";
/// Requests delivered without dedup because the store failed.
pub const STORE_BYPASSED: &str = "hookgate_store_bypassed_total";

/// How a request ended, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Delivered,
    Duplicate,
    Rejected(&'static str),
    UpstreamError,
    Challenge,
}

impl Outcome {
    fn labels(self) -> (&'static str, &'static str) {
        match self {
            Outcome::Delivered => ("delivered", ""),
            Outcome::Duplicate => ("duplicate", ""),
            Outcome::Rejected(code) => ("rejected", code),
            Outcome::UpstreamError => ("upstream_error", ""),
            Outcome::Challenge => ("challenge", ""),
        }
    }
}

/// Records one answered request.
pub(crate) fn request(
    route: &RouteLabel,
    outcome: Outcome,
    status: http::StatusCode,
    took: Duration,
) {
    let (outcome, error) = outcome.labels();
    metrics::counter!(REQUESTS, "route" => label(route), "outcome" => outcome, "error" => error)
        .increment(1);
    metrics::counter!(RESPONSES, "route" => label(route), "status" => status_label(status))
        .increment(1);
    metrics::histogram!(REQUEST_DURATION, "route" => label(route)).record(took.as_secs_f64());
}

/// Records one store operation's latency.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn store_operation(op: &'static str, took: Duration) {
    metrics::histogram!(STORE_OPERATION_DURATION, "op" => op).record(took.as_secs_f64());
}

/// Counts one failed store operation.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn store_error(kind: &'static str) {
    metrics::counter!(STORE_ERRORS, "kind" => kind).increment(1);
}

/// Counts one request delivered without dedup because the store failed.
pub(crate) fn store_bypassed(route: &RouteLabel) {
    metrics::counter!(STORE_BYPASSED, "route" => label(route)).increment(1);
}

/// Counts one configuration reload.
#[cfg_attr(not(feature = "sidecar"), allow(dead_code))]
pub(crate) fn config_reload(ok: bool) {
    let result = if ok { "ok" } else { "error" };
    metrics::counter!(CONFIG_RELOADS, "result" => result).increment(1);
}

/// Counts one queued event.
#[cfg_attr(not(feature = "sidecar"), allow(dead_code))]
pub(crate) fn queue_enqueued(route: &str) {
    metrics::counter!("hookgate_queue_enqueued_total", "route" => route.to_owned()).increment(1);
}

/// Counts one event delivered from the queue, and its time in the queue.
#[cfg_attr(not(feature = "sidecar"), allow(dead_code))]
pub(crate) fn queue_delivered(route: &str, arrived: std::time::SystemTime) {
    metrics::counter!("hookgate_queue_delivered_total", "route" => route.to_owned()).increment(1);
    let waited = arrived.elapsed().unwrap_or_default();
    metrics::histogram!("hookgate_queue_delivery_latency_seconds", "route" => route.to_owned())
        .record(waited.as_secs_f64());
}

/// Counts one dead letter.
#[cfg_attr(not(feature = "sidecar"), allow(dead_code))]
pub(crate) fn queue_dead(route: &str) {
    metrics::counter!("hookgate_queue_dead_letters_total", "route" => route.to_owned())
        .increment(1);
}

/// Records one delivery attempt's time.
#[cfg_attr(not(feature = "sidecar"), allow(dead_code))]
pub(crate) fn queue_attempt(route: &str, took: Duration) {
    metrics::histogram!("hookgate_queue_attempt_duration_seconds", "route" => route.to_owned())
        .record(took.as_secs_f64());
}

/// One route's hot series, registered once (when the layer makes its service) so recording
/// them on a request is an atomic add: no label is built, no registry is searched. The rarer
/// series (rejections by code, odd statuses) go through the macros.
#[derive(Clone)]
pub(crate) struct RouteMetrics {
    route: RouteLabel,
    delivered: metrics::Counter,
    duplicate: metrics::Counter,
    status_200: metrics::Counter,
    request_duration: metrics::Histogram,
    upstream_duration: metrics::Histogram,
    pub(crate) buffered: metrics::Gauge,
    pub(crate) claims: metrics::Gauge,
}

impl RouteMetrics {
    /// Registers `route`'s series with the recorder of the moment (the sidecar's, on each
    /// worker thread; an application's global one).
    pub(crate) fn new(route: &RouteLabel) -> Self {
        RouteMetrics {
            route: route.clone(),
            delivered: metrics::counter!(REQUESTS, "route" => label(route), "outcome" => "delivered", "error" => ""),
            duplicate: metrics::counter!(REQUESTS, "route" => label(route), "outcome" => "duplicate", "error" => ""),
            status_200: metrics::counter!(RESPONSES, "route" => label(route), "status" => "200"),
            request_duration: metrics::histogram!(REQUEST_DURATION, "route" => label(route)),
            upstream_duration: metrics::histogram!(UPSTREAM_DURATION, "route" => label(route)),
            buffered: metrics::gauge!(BUFFERED_BYTES, "route" => label(route)),
            claims: metrics::gauge!(CLAIMS_IN_FLIGHT, "route" => label(route)),
        }
    }

    /// Records one answered request.
    pub(crate) fn request(&self, outcome: Outcome, status: http::StatusCode, took: Duration) {
        match (outcome, status.as_u16()) {
            (Outcome::Delivered, 200) => {
                self.delivered.increment(1);
                self.status_200.increment(1);
                self.request_duration.record(took.as_secs_f64());
            }
            (Outcome::Duplicate, 200) => {
                self.duplicate.increment(1);
                self.status_200.increment(1);
                self.request_duration.record(took.as_secs_f64());
            }
            _ => request(&self.route, outcome, status, took),
        }
    }

    /// Records the time one request spent in the inner service.
    pub(crate) fn upstream(&self, took: Duration) {
        self.upstream_duration.record(took.as_secs_f64());
    }
}
