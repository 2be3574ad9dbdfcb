//! The provider presets: each is a [`Scheme`], a default tolerance and a default event id.
//!
//! This table is the single source of truth for the code, `hookgate presets` and the README.

use super::event_id::{EventIdSource, EventIdSpec, JsonPointer};
use super::name::UnknownName;
use super::scheme::{
    Algorithm, Encoding, HeaderNames, KeyEncoding, Scheme, SignatureFormat, SignedPayload,
    TimestampSource,
};
use http::HeaderName;
use std::fmt;
use std::time::Duration;

/// A webhook sender whose signing scheme hookgate knows.
///
/// ```
/// use hookgate::core::Provider;
/// use std::time::Duration;
///
/// let stripe = Provider::Stripe;
/// assert_eq!(stripe.name(), "stripe");
/// assert_eq!(stripe.default_tolerance(), Some(Duration::from_secs(300)));
/// assert_eq!(stripe.default_event_id().to_string(), "json:/id");
/// assert_eq!(Provider::ALL.len(), 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// D3 (dragdropdo) Business API: hex HMAC-SHA256 of the body.
    D3,
    /// Filedgr: hex HMAC-SHA256 of the body.
    Filedgr,
    /// DocExtract: hex HMAC-SHA256 of the body.
    DocExtract,
    /// DataFlow Platform: `t=…,v1=…` over `{t}.{body}`.
    DataFlow,
    /// Stripe: `Stripe-Signature: t=…,v1=…` over `{t}.{body}`.
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=…` over the body.
    Github,
    /// Slack: `X-Slack-Signature: v0=…` over `v0:{ts}:{body}`.
    Slack,
    /// Shopify: base64 HMAC-SHA256 of the body.
    Shopify,
    /// Standard Webhooks: `webhook-signature: v1,…` over `{id}.{ts}.{body}`.
    StandardWebhooks,
    /// Svix: Standard Webhooks with `svix-*` headers (`webhook-*` accepted too).
    Svix,
}

/// The timestamp tolerance of every preset that signs a timestamp, and of custom schemes.
pub(crate) const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

fn h(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

fn json(pointer: &str) -> EventIdSource {
    EventIdSource::Json(JsonPointer::parse(pointer).expect("preset pointers are valid"))
}

fn hex_body(first: &'static str, rest: &[&'static str]) -> Scheme {
    Scheme {
        signature_headers: HeaderNames::with_fallbacks(h(first), rest.iter().map(|n| h(n))),
        algorithm: Algorithm::Sha256,
        encoding: Encoding::Hex,
        format: SignatureFormat::Plain { prefix: None },
        signed_payload: SignedPayload::body(),
        timestamp: TimestampSource::None,
        id_headers: None,
        key_encoding: KeyEncoding::Raw,
    }
}

fn stripe_like(header: &'static str) -> Scheme {
    Scheme {
        signature_headers: HeaderNames::one(h(header)),
        algorithm: Algorithm::Sha256,
        encoding: Encoding::Hex,
        format: SignatureFormat::KeyValue {
            timestamp_key: "t".into(),
            signature_key: "v1".into(),
        },
        signed_payload: SignedPayload::parse("{timestamp}.{body}").expect("valid template"),
        timestamp: TimestampSource::SignatureHeader,
        id_headers: None,
        key_encoding: KeyEncoding::Raw,
    }
}

/// Standard Webhooks under the header prefixes `preferred` and `other` (`webhook`, `svix`).
fn standard_webhooks(preferred: &'static str, other: &'static str) -> Scheme {
    let names = |suffix: &str| -> HeaderNames {
        let name = |prefix: &str| {
            HeaderName::try_from(format!("{prefix}-{suffix}")).expect("valid header name")
        };
        HeaderNames::with_fallbacks(name(preferred), [name(other)])
    };
    Scheme {
        signature_headers: names("signature"),
        algorithm: Algorithm::Sha256,
        encoding: Encoding::Base64,
        format: SignatureFormat::VersionedList {
            version: "v1".into(),
        },
        signed_payload: SignedPayload::parse("{id}.{timestamp}.{body}").expect("valid template"),
        timestamp: TimestampSource::Header(names("timestamp")),
        id_headers: Some(names("id")),
        key_encoding: KeyEncoding::StandardWebhooks,
    }
}

impl Provider {
    /// Every preset, in the order of the documentation table.
    pub const ALL: [Provider; 10] = [
        Provider::D3,
        Provider::Filedgr,
        Provider::DocExtract,
        Provider::DataFlow,
        Provider::Stripe,
        Provider::Github,
        Provider::Slack,
        Provider::Shopify,
        Provider::StandardWebhooks,
        Provider::Svix,
    ];

    /// Every preset's name, in the order of [`Provider::ALL`].
    pub const NAMES: [&'static str; 10] = {
        let mut names = [""; 10];
        let mut i = 0;
        while i < names.len() {
            names[i] = Provider::ALL[i].name();
            i += 1;
        }
        names
    };

    /// The preset's name in configuration files.
    pub const fn name(self) -> &'static str {
        match self {
            Provider::D3 => "d3",
            Provider::Filedgr => "filedgr",
            Provider::DocExtract => "docextract",
            Provider::DataFlow => "dataflow",
            Provider::Stripe => "stripe",
            Provider::Github => "github",
            Provider::Slack => "slack",
            Provider::Shopify => "shopify",
            Provider::StandardWebhooks => "standard-webhooks",
            Provider::Svix => "svix",
        }
    }

    /// Finds a preset by its configuration name; same as `name.parse().ok()`, whose error
    /// says more.
    ///
    /// ```
    /// use hookgate::core::Provider;
    /// assert_eq!(Provider::from_name("stripe"), Some(Provider::Stripe));
    /// assert_eq!(Provider::from_name("Stripe"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    /// The signature scheme.
    pub fn scheme(self) -> Scheme {
        match self {
            Provider::D3 => hex_body("x-webhook-signature", &["x-d3-signature"]),
            Provider::Filedgr => hex_body("x-filedgr-signature", &[]),
            Provider::DocExtract => hex_body("x-docextract-signature", &[]),
            Provider::DataFlow => stripe_like("x-dataflow-signature"),
            Provider::Stripe => stripe_like("stripe-signature"),
            Provider::Github => Scheme {
                format: SignatureFormat::Plain {
                    prefix: Some("sha256=".into()),
                },
                ..hex_body("x-hub-signature-256", &[])
            },
            Provider::Slack => Scheme {
                format: SignatureFormat::Plain {
                    prefix: Some("v0=".into()),
                },
                signed_payload: SignedPayload::parse("v0:{timestamp}:{body}")
                    .expect("valid template"),
                timestamp: TimestampSource::Header(HeaderNames::one(h(
                    "x-slack-request-timestamp",
                ))),
                ..hex_body("x-slack-signature", &[])
            },
            Provider::Shopify => Scheme {
                encoding: Encoding::Base64,
                ..hex_body("x-shopify-hmac-sha256", &[])
            },
            Provider::StandardWebhooks => standard_webhooks("webhook", "svix"),
            Provider::Svix => standard_webhooks("svix", "webhook"),
        }
    }

    /// The timestamp tolerance, for presets that sign a timestamp.
    pub fn default_tolerance(self) -> Option<Duration> {
        self.scheme().signs_timestamp().then_some(DEFAULT_TOLERANCE)
    }

    /// Where the event id is read by default.
    pub fn default_event_id(self) -> EventIdSpec {
        EventIdSpec::new(match self {
            Provider::D3 => vec![json("/type"), json("/timestamp")],
            Provider::Filedgr => vec![json("/eventId")],
            Provider::DocExtract => vec![json("/data/id")],
            Provider::DataFlow | Provider::Stripe => vec![json("/id")],
            Provider::Github => vec![EventIdSource::Header(h("x-github-delivery"))],
            Provider::Slack => vec![json("/event_id")],
            Provider::Shopify => vec![EventIdSource::Header(h("x-shopify-webhook-id"))],
            Provider::StandardWebhooks | Provider::Svix => vec![EventIdSource::SignedId],
        })
    }

    /// The content type the provider sends.
    pub fn content_type(self) -> &'static str {
        match self {
            Provider::Slack => "application/x-www-form-urlencoded",
            _ => "application/json",
        }
    }

    /// A human description of the signature header, for `hookgate presets` and the docs.
    pub(crate) fn header_summary(self) -> String {
        let scheme = self.scheme();
        let names = scheme
            .signature_headers
            .iter()
            .map(|n| display_header(n.as_str()))
            .collect::<Vec<_>>()
            .join(" or ");
        match &scheme.format {
            SignatureFormat::Plain { prefix: Some(p) } => format!("{names}: {p}…"),
            SignatureFormat::Plain { prefix: None } => names,
            SignatureFormat::KeyValue {
                timestamp_key,
                signature_key,
            } => format!("{names}: {timestamp_key}=…,{signature_key}=… (several {signature_key})"),
            SignatureFormat::VersionedList { version } => {
                format!("{names}: {version},… {version},…")
            }
        }
    }

    /// A human description of the timestamp source.
    pub(crate) fn timestamp_summary(self) -> String {
        let scheme = self.scheme();
        let tolerance = self
            .default_tolerance()
            .map(|t| t.as_secs() / 60)
            .unwrap_or(0);
        match &scheme.timestamp {
            TimestampSource::None => "—".into(),
            TimestampSource::SignatureHeader => match &scheme.format {
                SignatureFormat::KeyValue { timestamp_key, .. } => {
                    format!("`{timestamp_key}`, {tolerance} min")
                }
                // A validated scheme reads the signature header's timestamp from `key=value`s.
                _ => format!("signature header, {tolerance} min"),
            },
            TimestampSource::Header(names) => {
                format!(
                    "{}, {tolerance} min",
                    display_header(names.preferred().as_str())
                )
            }
        }
    }

    /// A human description of the default event id.
    pub(crate) fn event_id_summary(self) -> String {
        match self {
            Provider::StandardWebhooks => "header:webhook-id (or svix-id)".into(),
            Provider::Svix => "header:svix-id (or webhook-id)".into(),
            _ => self.default_event_id().to_string(),
        }
    }
}

/// Parses a preset name (`stripe`); an unknown one lists the presets and suggests the nearest.
///
/// ```
/// use hookgate::core::Provider;
/// assert_eq!("github".parse(), Ok(Provider::Github));
/// let error = "standard-webhook".parse::<Provider>().unwrap_err();
/// assert_eq!(error.suggestion(), Some("standard-webhooks"));
/// ```
impl std::str::FromStr for Provider {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| UnknownName::new("provider", name, &Provider::NAMES))
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Shows a header name the way providers document it (`X-Hub-Signature-256`).
fn display_header(name: &str) -> String {
    if name.starts_with("webhook-") || name.starts_with("svix-") {
        return name.to_owned();
    }
    name.split('-')
        .map(|word| match word {
            "hmac" => "Hmac".to_owned(),
            "d3" => "D3".to_owned(),
            "docextract" => "DocExtract".to_owned(),
            "dataflow" => "DataFlow".to_owned(),
            w => {
                let mut chars = w.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Describes signed content in the notation of the docs: `` `{timestamp}.{body}` ``.
pub(crate) fn signed_content_summary(scheme: &Scheme) -> String {
    let mut out = format!("`{}`", scheme.signed_payload);
    if scheme.key_encoding == KeyEncoding::StandardWebhooks {
        out.push_str(", key = base64 of `whsec_…`");
    }
    out
}

/// The presets table in Markdown, as `hookgate presets` prints it and the README shows it.
///
/// ```
/// let table = hookgate::core::presets::table();
/// assert!(table.contains("| `stripe` | `Stripe-Signature: t=…,v1=… (several v1)` |"));
/// ```
pub fn table() -> String {
    let mut out = String::from(
        "| preset | signature header | signed content | encoding | timestamp | default event id |\n|---|---|---|---|---|---|\n",
    );
    for p in Provider::ALL {
        let scheme = p.scheme();
        let encoding = scheme.encoding.name();
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {encoding} | {} | `{}` |\n",
            p.name(),
            p.header_summary(),
            signed_content_summary(&scheme),
            p.timestamp_summary(),
            p.event_id_summary(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_a_valid_scheme_with_a_unique_name() {
        let mut names = std::collections::HashSet::new();
        for p in Provider::ALL {
            p.scheme().validate().unwrap();
            assert!(names.insert(p.name()));
            assert_eq!(Provider::from_name(p.name()), Some(p));
        }
    }

    #[test]
    fn unknown_names_list_the_presets_and_suggest_the_nearest() {
        let error = "strpe".parse::<Provider>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown provider `strpe`; did you mean `stripe`? (valid: d3, filedgr, docextract, \
             dataflow, stripe, github, slack, shopify, standard-webhooks, svix)"
        );
        assert_eq!(
            "Github".parse::<Provider>().unwrap_err().suggestion(),
            Some("github")
        );
        assert_eq!(
            "svx".parse::<Provider>().unwrap_err().suggestion(),
            Some("svix")
        );
        assert_eq!(
            "d4".parse::<Provider>().unwrap_err().suggestion(),
            Some("d3")
        );
        assert_eq!("".parse::<Provider>().unwrap_err().suggestion(), None);
        assert_eq!("x".parse::<Provider>().unwrap_err().suggestion(), None);
        assert_eq!(
            "mailgun".parse::<Provider>().unwrap_err().suggestion(),
            None
        );
        assert_eq!(Provider::NAMES.len(), Provider::ALL.len());
    }

    #[test]
    fn summaries_read_like_the_provider_docs() {
        assert_eq!(
            Provider::Github.header_summary(),
            "X-Hub-Signature-256: sha256=…"
        );
        assert_eq!(
            Provider::D3.header_summary(),
            "X-Webhook-Signature or X-D3-Signature"
        );
        assert_eq!(Provider::Stripe.timestamp_summary(), "`t`, 5 min");
        assert_eq!(
            Provider::Slack.timestamp_summary(),
            "X-Slack-Request-Timestamp, 5 min"
        );
        assert_eq!(
            Provider::D3.event_id_summary(),
            "json:/type + json:/timestamp"
        );
    }
}
