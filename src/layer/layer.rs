use super::service::Routing;
use super::WebhookService;
use crate::route::Route;
use crate::store::{MemoryStore, SeenStore};
use std::sync::Arc;
use tower_layer::Layer;

/// Capacity of the memory store a layer makes for itself when none is given.
const DEFAULT_STORE_CAPACITY: u64 = 100_000;

/// Applies webhook verification and deduplication to a service. See the [module
/// docs](crate::layer).
///
/// ```
/// use hookgate::{core::Provider, Route, WebhookLayer};
/// use tower::ServiceBuilder;
///
/// let route = Route::builder().provider(Provider::Slack).secret("8f742231b10e8888abcd99yyyzzz85a5").build().unwrap();
/// let service = ServiceBuilder::new()
///     .layer(WebhookLayer::new(route))
///     .service(tower::service_fn(|_req: http::Request<http_body_util::Full<bytes::Bytes>>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::<bytes::Bytes>::default()))
///     }));
/// ```
#[derive(Clone)]
pub struct WebhookLayer {
    routing: Routing,
    store: Arc<dyn SeenStore>,
}

impl std::fmt::Debug for WebhookLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookLayer")
            .field("routing", &self.routing)
            .finish_non_exhaustive()
    }
}

impl WebhookLayer {
    /// A layer verifying every request against `route`, remembering event ids in its own
    /// memory store (100,000 ids). Put it on the route's handler, e.g. with axum's
    /// `route_layer`.
    ///
    /// ```
    /// use hookgate::core::Provider;
    /// use hookgate::{Route, WebhookLayer};
    ///
    /// let route = Route::builder().provider(Provider::Stripe).secret("whsec_...").build().unwrap();
    /// let layer = WebhookLayer::new(route);
    /// ```
    pub fn new(route: Route) -> Self {
        WebhookLayer {
            routing: Routing::Single(route),
            store: Arc::new(MemoryStore::new(DEFAULT_STORE_CAPACITY)),
        }
    }

    /// A layer for several routes, chosen by exact request path; any other path is answered
    /// 404 `unknown_route`. Put it on a router that serves only webhooks.
    ///
    /// ```
    /// use hookgate::core::Provider;
    /// use hookgate::{Route, WebhookLayer};
    ///
    /// let stripe = Route::builder().provider(Provider::Stripe).secret("whsec_...").build().unwrap();
    /// let github = Route::builder().provider(Provider::Github).secret("gh").build().unwrap();
    /// let layer = WebhookLayer::with_paths([("/webhooks/stripe", stripe), ("/webhooks/github", github)]);
    /// ```
    pub fn with_paths<P: Into<String>>(routes: impl IntoIterator<Item = (P, Route)>) -> Self {
        let routes = routes
            .into_iter()
            .map(|(path, route)| (path.into(), route))
            .collect();
        WebhookLayer {
            routing: Routing::ByPath(Arc::new(routes)),
            store: Arc::new(MemoryStore::new(DEFAULT_STORE_CAPACITY)),
        }
    }

    /// A layer for every route of a TOML [`Config`](crate::config::Config), by path, with a
    /// memory store of the configured capacity.
    ///
    /// ```
    /// let config = hookgate::config::Config::from_toml(r#"
    /// [[route]]
    /// name = "github"
    /// path = "/webhooks/github"
    /// upstream = "http://127.0.0.1:3000/github"
    /// provider = "github"
    /// secrets = ["gh-secret"]
    /// "#).unwrap();
    /// let layer = hookgate::WebhookLayer::from_config(&config);
    /// ```
    #[cfg(feature = "config")]
    pub fn from_config(config: &crate::config::Config) -> Self {
        let layer = Self::with_paths(
            config
                .routes
                .iter()
                .map(|rc| (rc.path.clone(), rc.route.clone())),
        );
        layer.with_store(Arc::new(MemoryStore::new(config.store.capacity)))
    }

    /// Uses `store` for claims and delivered ids (share one store between routes and
    /// replicas).
    ///
    /// ```
    /// use hookgate::{core::Provider, store::MemoryStore, Route, WebhookLayer};
    /// use std::sync::Arc;
    ///
    /// let store = Arc::new(MemoryStore::new(1_000_000));
    /// let stripe = Route::builder().provider(Provider::Stripe).secret("whsec_x").build().unwrap();
    /// let github = Route::builder().provider(Provider::Github).secret("gh").build().unwrap();
    /// let stripe_layer = WebhookLayer::new(stripe).with_store(store.clone());
    /// let github_layer = WebhookLayer::new(github).with_store(store);
    /// ```
    pub fn with_store(mut self, store: Arc<dyn SeenStore>) -> Self {
        self.store = store;
        self
    }
}

impl<S> Layer<S> for WebhookLayer {
    type Service = WebhookService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WebhookService::new(inner, self.routing.clone(), self.store.clone())
    }
}
