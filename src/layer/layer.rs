use super::budget::BufferBudget;
use super::service::Shared;
use super::WebhookService;
use crate::core::Verifier;
use crate::policy::Policy;
use crate::store::{MemoryStore, SeenStore};
use std::sync::Arc;
use tower_layer::Layer;

/// Verifies and deduplicates the webhooks of one route. See the [module docs](crate::layer).
///
/// ```
/// use hookgate::core::{Provider, Verifier};
/// use hookgate::WebhookLayer;
/// use tower::ServiceBuilder;
///
/// let verifier = Verifier::builder().provider(Provider::Slack).secret("8f742231b10e8888abcd99yyyzzz85a5").build().unwrap();
/// let service = ServiceBuilder::new()
///     .layer(WebhookLayer::new(verifier))
///     .service(tower::service_fn(|_req: http::Request<http_body_util::Full<bytes::Bytes>>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::<bytes::Bytes>::default()))
///     }));
/// ```
#[derive(Clone)]
pub struct WebhookLayer {
    name: Arc<str>,
    verifier: Verifier,
    policy: Policy,
    store: Arc<dyn SeenStore>,
    budget: BufferBudget,
}

impl std::fmt::Debug for WebhookLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookLayer")
            .field("name", &self.name)
            .field("verifier", &self.verifier)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl WebhookLayer {
    /// A layer verifying every request with `verifier`, under the default [`Policy`], named
    /// after the verifier's provider (or `webhook`). Unless given one with
    /// [`store`](Self::store), it remembers event ids in its own memory store (100,000 ids);
    /// unless given one with [`buffer_budget`](Self::buffer_budget), it buffers at most 64 MiB
    /// of bodies at once.
    ///
    /// Put it on the route's handler, e.g. with axum's `route_layer`: one layer per webhook
    /// route, and the router chooses the route.
    ///
    /// ```
    /// use hookgate::core::{Provider, Verifier};
    /// use hookgate::WebhookLayer;
    ///
    /// let verifier = Verifier::builder().provider(Provider::Stripe).secret("whsec_...").build().unwrap();
    /// let layer = WebhookLayer::new(verifier);
    /// ```
    pub fn new(verifier: Verifier) -> Self {
        let name = verifier.provider().map_or("webhook", |p| p.name());
        WebhookLayer {
            name: name.into(),
            verifier,
            policy: Policy::default(),
            // Made here, not in `layer`, so every service the layer makes shares them.
            store: Arc::new(MemoryStore::new(crate::defaults::LAYER_STORE_CAPACITY)),
            budget: BufferBudget::default(),
        }
    }

    /// Names the route: the name appears in `Hookgate-Route`, logs, metrics and store keys,
    /// so routes sharing a store need distinct names.
    ///
    /// ```
    /// use hookgate::core::{Provider, Verifier};
    /// let verifier = Verifier::builder().provider(Provider::Stripe).secret("whsec_...").build().unwrap();
    /// let layer = hookgate::WebhookLayer::new(verifier).name("payments");
    /// ```
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = name.into();
        self
    }

    /// Uses `policy` (body bounds, client addresses, rate limit, deduplication).
    ///
    /// ```
    /// use hookgate::core::{Provider, Verifier};
    /// use hookgate::{Policy, RateLimit, WebhookLayer};
    ///
    /// let verifier = Verifier::builder().provider(Provider::Github).secret("gh").build().unwrap();
    /// let policy = Policy::builder().max_body(256 * 1024).rate_limit(RateLimit::new(50, 100)).build().unwrap();
    /// let layer = WebhookLayer::new(verifier).policy(policy);
    /// ```
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses `store` for claims and delivered ids (share one store between routes and
    /// replicas).
    ///
    /// ```
    /// use hookgate::core::{Provider, Verifier};
    /// use hookgate::{store::MemoryStore, WebhookLayer};
    /// use std::sync::Arc;
    ///
    /// let store = Arc::new(MemoryStore::new(1_000_000));
    /// let stripe = Verifier::builder().provider(Provider::Stripe).secret("whsec_x").build().unwrap();
    /// let github = Verifier::builder().provider(Provider::Github).secret("gh").build().unwrap();
    /// let stripe = WebhookLayer::new(stripe).store(store.clone());
    /// let github = WebhookLayer::new(github).store(store);
    /// ```
    pub fn store(mut self, store: Arc<dyn SeenStore>) -> Self {
        self.store = store;
        self
    }

    /// Takes buffered body bytes from `budget`; give every route of an app the same budget so
    /// one bound covers them all. See [`BufferBudget`].
    pub fn buffer_budget(mut self, budget: BufferBudget) -> Self {
        self.budget = budget;
        self
    }
}

impl<S> Layer<S> for WebhookLayer {
    type Service = WebhookService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let shared = Shared {
            name: self.name.clone(),
            verifier: self.verifier.clone(),
            policy: self.policy.clone(),
            store: self.store.clone(),
            budget: self.budget.clone(),
            metrics: crate::metrics::RouteMetrics::new(&self.name),
        };
        WebhookService::new(inner, Arc::new(shared))
    }
}
