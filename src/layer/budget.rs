//! The buffer budget: one bound on the request bytes held by every connection and HTTP/2
//! stream together.
//!
//! A per-request `max_body` does not bound memory: one HTTP/2 connection carries many
//! streams, and many connections can each push a body that never ends. Every buffered byte
//! takes a permit from one semaphore before it is kept, and the permits go back when the
//! request is answered, whatever happened to it.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes of request bodies that may be buffered at once, shared by every route and
/// connection that holds a clone.
///
/// A request that cannot get the bytes it needs within its `request_timeout` is answered 503
/// `overloaded` with a `Retry-After` (providers retry).
///
/// ```
/// use hookgate::core::{Provider, Verifier};
/// use hookgate::layer::BufferBudget;
/// use hookgate::WebhookLayer;
///
/// // One budget for every webhook route of the app.
/// let budget = BufferBudget::new(32 * 1024 * 1024);
/// let github = Verifier::builder().provider(Provider::Github).secret("gh").build().unwrap();
/// let stripe = Verifier::builder().provider(Provider::Stripe).secret("whsec_x").build().unwrap();
/// let github = WebhookLayer::new(github).buffer_budget(budget.clone());
/// let stripe = WebhookLayer::new(stripe).buffer_budget(budget.clone());
/// assert_eq!(budget.in_use(), 0);
/// ```
#[derive(Clone)]
pub struct BufferBudget {
    semaphore: Arc<Semaphore>,
    total: usize,
}

impl std::fmt::Debug for BufferBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferBudget")
            .field("total", &self.total)
            .field("in_use", &self.in_use())
            .finish()
    }
}

impl Default for BufferBudget {
    /// [`defaults::MAX_BUFFERED`](crate::defaults::MAX_BUFFERED).
    fn default() -> Self {
        BufferBudget::new(crate::defaults::MAX_BUFFERED)
    }
}

impl BufferBudget {
    /// A budget of `bytes` (at most `usize::MAX >> 3`, tokio's semaphore bound).
    pub fn new(bytes: u64) -> Self {
        let total = usize::try_from(bytes)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        BufferBudget {
            semaphore: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// The whole budget, in bytes.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Bytes held by requests right now.
    pub fn in_use(&self) -> usize {
        self.total - self.semaphore.available_permits()
    }

    /// An empty reservation to grow as a body arrives.
    pub(crate) fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            held: None,
            bytes: 0,
        }
    }
}

/// Bytes one request holds; they return to the budget when it is dropped.
pub(crate) struct Reservation {
    budget: BufferBudget,
    held: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

/// The budget had no room within the time allowed.
pub(crate) struct NoBudget;

impl Reservation {
    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Grows the reservation to `bytes` in total, waiting until `deadline` at the latest.
    pub(crate) async fn grow_to(
        &mut self,
        bytes: usize,
        deadline: tokio::time::Instant,
    ) -> Result<(), NoBudget> {
        if bytes <= self.bytes {
            return Ok(());
        }
        let more = bytes - self.bytes;
        if bytes > self.budget.total {
            return Err(NoBudget);
        }
        let more_u32 = u32::try_from(more).map_err(|_| NoBudget)?;
        let semaphore = &self.budget.semaphore;
        // Room at once is the common case: no timer, no clock read.
        let permit = match semaphore.clone().try_acquire_many_owned(more_u32) {
            Ok(permit) => permit,
            Err(_) => {
                // Boxed: waiting for room is rare, and its timer and queue entry would
                // otherwise be carried by every request's future.
                let acquire = semaphore.clone().acquire_many_owned(more_u32);
                let wait = tokio::time::timeout_at(deadline, acquire);
                match Box::pin(wait).await {
                    Ok(Ok(permit)) => permit,
                    // Timed out, or the semaphore was closed (never: it is not closed anywhere).
                    _ => return Err(NoBudget),
                }
            }
        };
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        self.bytes = bytes;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn bytes_return_to_the_budget_when_the_reservation_is_dropped() {
        let budget = BufferBudget::new(100);
        let mut first = budget.reservation();
        assert!(first.grow_to(60, tokio::time::Instant::now()).await.is_ok());
        assert!(first.grow_to(80, tokio::time::Instant::now()).await.is_ok());
        assert_eq!(budget.in_use(), 80);
        let mut second = budget.reservation();
        assert!(second
            .grow_to(30, tokio::time::Instant::now() + Duration::from_millis(20))
            .await
            .is_err());
        drop(first);
        assert_eq!(budget.in_use(), 0);
        assert!(second
            .grow_to(30, tokio::time::Instant::now())
            .await
            .is_ok());
        assert!(
            second
                .grow_to(101, tokio::time::Instant::now())
                .await
                .is_err(),
            "more than the whole budget never fits"
        );
    }
}
