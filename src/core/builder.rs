//! [`VerifierBuilder`]: a verifier from a provider preset (with its defaults) or a custom
//! scheme, and the route's secrets.

use super::{EventIdSpec, Provider, Scheme, Secret, Verifier, VerifierError};
use std::time::Duration;

/// Builds a [`Verifier`]; see [`Verifier::builder`].
///
/// A preset brings its scheme, its tolerance and its event id; each can be overridden.
///
/// ```
/// use hookgate::core::{EventIdSpec, Provider, Verifier};
/// use std::time::Duration;
///
/// let verifier = Verifier::builder()
///     .provider(Provider::Stripe)
///     .secret("whsec_new")
///     .secret("whsec_old") // rotation: both are tried
///     .tolerance(Duration::from_secs(120))
///     .event_id(EventIdSpec::parse(["json:/data/object/id"]).unwrap())
///     .build()
///     .unwrap();
/// assert_eq!(verifier.key_count(), 2);
/// assert_eq!(verifier.provider(), Some(Provider::Stripe));
///
/// // Fail closed: no secret, no verifier.
/// let error = Verifier::builder().provider(Provider::Github).build().unwrap_err();
/// assert_eq!(error.to_string(), "no secret is configured");
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct VerifierBuilder {
    provider: Option<Provider>,
    scheme: Option<Scheme>,
    secrets: Vec<Secret>,
    tolerance: Option<Duration>,
    event_id: Option<EventIdSpec>,
    public_url: Option<String>,
    verify_token: Option<String>,
}

impl Verifier {
    /// Starts a verifier: it needs a provider preset or a custom scheme, and at least one
    /// secret.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }
}

impl VerifierBuilder {
    /// Uses a provider preset's scheme, tolerance and event id.
    pub fn provider(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Uses a custom scheme. A custom scheme has no known event id: replays are still caught
    /// by the digest of their signature unless [`event_id`](Self::event_id) says where it is.
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// Adds a secret; several secrets are all tried (rotation).
    pub fn secret(mut self, secret: impl Into<Secret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Adds several secrets.
    pub fn secrets<I: IntoIterator<Item = S>, S: Into<Secret>>(mut self, secrets: I) -> Self {
        self.secrets.extend(secrets.into_iter().map(Into::into));
        self
    }

    /// Overrides the timestamp tolerance (past and future); ignored by schemes that sign no
    /// timestamp.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// Overrides where the event id is read.
    pub fn event_id(mut self, event_id: EventIdSpec) -> Self {
        self.event_id = Some(event_id);
        self
    }

    /// The URL the provider calls, scheme and authority (`https://hooks.example.com`), for
    /// schemes that sign `{url}` (Square, Twilio, HubSpot, Trello): behind a load balancer the
    /// request hookgate sees does not say it. See [`Verifier::with_public_url`].
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Checks the scheme and keys the secrets.
    pub fn build(self) -> Result<Verifier, VerifierError> {
        let (scheme, default_tolerance, default_event_id) = match (self.provider, self.scheme) {
            (Some(_), Some(_)) => return Err(VerifierError::ProviderAndScheme),
            (None, None) => return Err(VerifierError::NoScheme),
            (Some(p), None) => (p.scheme(), p.default_tolerance(), p.default_event_id()),
            (None, Some(scheme)) => {
                let tolerance = scheme
                    .signs_timestamp()
                    .then_some(crate::defaults::TOLERANCE);
                (scheme, tolerance, EventIdSpec::new(Vec::new()))
            }
        };
        let tolerance = if scheme.signs_timestamp() {
            self.tolerance.or(default_tolerance)
        } else {
            None
        };
        let challenge_secrets = self
            .provider
            .and_then(|p| p.challenge())
            .map(|_| self.secrets.clone());
        let verifier = Verifier::new(
            scheme,
            self.secrets,
            tolerance,
            self.event_id.unwrap_or(default_event_id),
        )?;
        let verifier = match self.public_url {
            Some(url) => verifier.with_public_url(url),
            None => verifier,
        };
        let verifier = match challenge_secrets {
            Some(secrets) => verifier.with_challenge(secrets, self.verify_token),
            None => verifier,
        };
        Ok(match self.provider {
            Some(provider) => verifier.with_provider(provider),
            None => verifier,
        })
    }

    /// The `hub.verify_token` registered with a Facebook-family provider: its subscription
    /// check (`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`) is answered only
    /// when the token matches (constant time), 403 otherwise.
    pub fn verify_token(mut self, token: impl Into<String>) -> Self {
        self.verify_token = Some(token.into());
        self
    }
}
