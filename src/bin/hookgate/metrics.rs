//! Prometheus counters of the sidecar: requests by route and status.

use http::StatusCode;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// One counter per (route, status); statuses are 100..=599, so a flat array per route keeps
/// the hot path to one atomic add with no lock.
pub struct Metrics {
    routes: HashMap<String, Box<[AtomicU64]>>,
}

impl Metrics {
    pub fn new<'a>(route_names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut routes: HashMap<String, Box<[AtomicU64]>> = HashMap::new();
        for name in route_names.into_iter().chain([""]) {
            routes.insert(
                name.to_owned(),
                (0..600).map(|_| AtomicU64::new(0)).collect(),
            );
        }
        Metrics { routes }
    }

    pub fn record(&self, route: &str, status: StatusCode) {
        if let Some(counters) = self.routes.get(route) {
            counters[usize::from(status.as_u16()) % 600].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn render(&self, remembered_ids: Option<u64>) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP hookgate_requests_total Webhook requests answered, by route and status.\n",
        );
        out.push_str("# TYPE hookgate_requests_total counter\n");
        let mut names: Vec<&String> = self.routes.keys().collect();
        names.sort();
        for name in names {
            for (status, counter) in self.routes[name].iter().enumerate() {
                let count = counter.load(Ordering::Relaxed);
                if count > 0 {
                    let label = name.replace('\\', "\\\\").replace('"', "\\\"");
                    let _ = writeln!(
                        out,
                        "hookgate_requests_total{{route=\"{label}\",status=\"{status}\"}} {count}"
                    );
                }
            }
        }
        if let Some(ids) = remembered_ids {
            out.push_str("# HELP hookgate_store_entries Event ids held by the memory store.\n");
            out.push_str("# TYPE hookgate_store_entries gauge\n");
            let _ = writeln!(out, "hookgate_store_entries {ids}");
        }
        out
    }
}
