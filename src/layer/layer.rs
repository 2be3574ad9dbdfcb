use super::WebhookService;
use crate::route::Route;
use crate::store::{MemoryStore, SeenStore};
use std::sync::Arc;
use tower_layer::Layer;

/// Capacity of the memory store a layer makes for itself when none is given.
const DEFAULT_STORE_CAPACITY: u64 = 100_000;

/// Applies webhook verification and deduplication to a service. See the [module
/// docs](crate::layer).
#[derive(Clone)]
pub struct WebhookLayer {
    route: Route,
    store: Arc<dyn SeenStore>,
}

impl std::fmt::Debug for WebhookLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookLayer")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl WebhookLayer {
    /// A layer for `route`, remembering event ids in its own memory store.
    pub fn new(route: Route) -> Self {
        WebhookLayer {
            route,
            store: Arc::new(MemoryStore::new(DEFAULT_STORE_CAPACITY)),
        }
    }

    /// Uses `store` for claims and delivered ids (share one store between routes and
    /// replicas).
    pub fn with_store(mut self, store: Arc<dyn SeenStore>) -> Self {
        self.store = store;
        self
    }
}

impl<S> Layer<S> for WebhookLayer {
    type Service = WebhookService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WebhookService::new(inner, self.route.clone(), self.store.clone())
    }
}
