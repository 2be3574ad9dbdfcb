use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Response future of [`WebhookService`](super::WebhookService).
///
/// ```
/// use hookgate::core::{Provider, Verifier};
/// use hookgate::WebhookLayer;
/// use tower::{Layer, Service};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let verifier = Verifier::builder().provider(Provider::Github).secret("s").build().unwrap();
/// type Body = http_body_util::Full<bytes::Bytes>;
/// let mut service = WebhookLayer::new(verifier).layer(tower::service_fn(|_: http::Request<Body>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(Body::default()))
/// }));
/// let future: hookgate::layer::ResponseFuture<_> = service.call(http::Request::get("/").body(Body::default()).unwrap());
/// assert_eq!(future.await.unwrap().status(), 405);
/// # });
/// ```
///
/// One request's lifecycle has several awaits (body, store, inner service, store again); it
/// is written as one `async` block and boxed here.
pub struct ResponseFuture<T> {
    inner: BoxFuture<T>,
}

impl<T> ResponseFuture<T> {
    pub(crate) fn new(future: impl Future<Output = T> + Send + 'static) -> Self {
        ResponseFuture {
            inner: Box::pin(future),
        }
    }
}

impl<T> Future for ResponseFuture<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.inner.as_mut().poll(cx)
    }
}

impl<T> std::fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
