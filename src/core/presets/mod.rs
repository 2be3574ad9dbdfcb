//! Provider presets, as data: every preset is one `[[preset]]` table of
//! [`presets.toml`](https://github.com/hookgate/hookgate/blob/main/src/core/presets/presets.toml),
//! written in the language of a route's `[route.scheme]` plus its defaults (tolerance, event
//! id, content type, setup challenge). The file is compiled into the binary and parsed once.
//!
//! Adding a provider is one table there and one vector file in `tests/vectors/presets/`.

use super::event_id::EventIdSpec;
use super::name::UnknownName;
use super::scheme::{
    OneOrMany, Scheme, SchemeTable, SignatureFormat, SignatureLocation, TimestampSource,
};
use super::EventIdSource;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

/// The presets, as compiled in.
const PRESETS_TOML: &str = include_str!("presets.toml");

/// The timestamp tolerance of every preset that signs a timestamp (unless its table says
/// otherwise), and of custom schemes.
pub(crate) const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A provider preset: a name for a signature scheme hookgate knows, and its defaults.
///
/// A `Provider` is a name looked up in the preset data ([`Provider::named`], `parse`); the
/// common ones are also associated constants (`Provider::Stripe`).
///
/// ```
/// use hookgate::core::Provider;
/// use std::time::Duration;
///
/// let stripe = Provider::Stripe;
/// assert_eq!(stripe.name(), "stripe");
/// assert_eq!(Provider::named("stripe"), Some(stripe));
/// assert_eq!(stripe.default_tolerance(), Some(Duration::from_secs(300)));
/// assert_eq!(stripe.default_event_id().to_string(), "json:/id");
/// assert!(Provider::all().len() >= 85);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Provider {
    name: &'static str,
}

/// One preset as loaded from `presets.toml`.
#[derive(Debug)]
struct Preset {
    aliases: Vec<&'static str>,
    table: SchemeTable,
    scheme: Scheme,
    tolerance: Option<Duration>,
    event_id: EventIdSpec,
    content_type: &'static str,
    docs: Option<String>,
    challenge: Option<super::challenge::Challenge>,
}

/// A `[[preset]]` table as written.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreset {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    /// Where the provider documents its scheme.
    docs: Option<String>,
    /// Seconds; default 300 for presets that sign a timestamp.
    tolerance: Option<u64>,
    event_id: Option<OneOrMany>,
    content_type: Option<String>,
    challenge: Option<String>,
    scheme: SchemeTable,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPresets {
    preset: Vec<RawPreset>,
}

struct Registry {
    presets: Vec<Preset>,
    providers: Vec<Provider>,
    names: Vec<&'static str>,
    lookup: HashMap<&'static str, usize>,
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| load(PRESETS_TOML).unwrap_or_else(|e| panic!("presets.toml: {e}")))
}

fn load(text: &str) -> Result<Registry, String> {
    let raw: RawPresets = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut registry = Registry {
        presets: Vec::new(),
        providers: Vec::new(),
        names: Vec::new(),
        lookup: HashMap::new(),
    };
    for p in raw.preset {
        let what = |e: &dyn fmt::Display| format!("preset `{}`: {e}", p.name);
        let scheme = p.scheme.build().map_err(|e| what(&e))?;
        let event_id = match p.event_id.clone() {
            None => EventIdSpec::new(Vec::new()),
            Some(OneOrMany::One(one)) => EventIdSpec::parse([one]).map_err(|e| what(&e))?,
            Some(OneOrMany::Many(many)) => EventIdSpec::parse(many).map_err(|e| what(&e))?,
        };
        let challenge = match &p.challenge {
            None => None,
            Some(name) => Some(name.parse().map_err(|e| what(&e))?),
        };
        let tolerance = scheme
            .signs_timestamp()
            .then(|| p.tolerance.map_or(DEFAULT_TOLERANCE, Duration::from_secs));
        let name = leak(p.name);
        let index = registry.presets.len();
        let aliases: Vec<&'static str> = p.aliases.into_iter().map(leak).collect();
        for key in std::iter::once(&name).chain(&aliases) {
            if registry.lookup.insert(key, index).is_some() {
                return Err(format!("preset name `{key}` is given twice"));
            }
        }
        registry.presets.push(Preset {
            aliases,
            table: p.scheme,
            scheme,
            tolerance,
            event_id,
            content_type: leak(p.content_type.unwrap_or_else(|| "application/json".into())),
            docs: p.docs,
            challenge,
        });
        registry.providers.push(Provider { name });
        registry.names.push(name);
    }
    Ok(registry)
}

#[allow(non_upper_case_globals)]
impl Provider {
    /// D3 (dragdropdo) Business API: hex HMAC-SHA256 of the body.
    pub const D3: Provider = Provider { name: "d3" };
    /// Filedgr: hex HMAC-SHA256 of the body.
    pub const Filedgr: Provider = Provider { name: "filedgr" };
    /// DocExtract: hex HMAC-SHA256 of the body.
    pub const DocExtract: Provider = Provider { name: "docextract" };
    /// DataFlow Platform: `t=…,v1=…` over `{t}.{body}`.
    pub const DataFlow: Provider = Provider { name: "dataflow" };
    /// Stripe: `Stripe-Signature: t=…,v1=…` over `{t}.{body}`.
    pub const Stripe: Provider = Provider { name: "stripe" };
    /// GitHub: `X-Hub-Signature-256: sha256=…` over the body.
    pub const Github: Provider = Provider { name: "github" };
    /// Slack: `X-Slack-Signature: v0=…` over `v0:{ts}:{body}`.
    pub const Slack: Provider = Provider { name: "slack" };
    /// Shopify: base64 HMAC-SHA256 of the body.
    pub const Shopify: Provider = Provider { name: "shopify" };
    /// Standard Webhooks: `webhook-signature: v1,…` over `{id}.{ts}.{body}`.
    pub const StandardWebhooks: Provider = Provider {
        name: "standard-webhooks",
    };
    /// Svix: Standard Webhooks with `svix-*` headers (`webhook-*` accepted too).
    pub const Svix: Provider = Provider { name: "svix" };
    /// Discord interactions: Ed25519 over `{timestamp}{body}`.
    pub const Discord: Provider = Provider { name: "discord" };
    /// GitLab: the shared `X-Gitlab-Token`.
    pub const Gitlab: Provider = Provider { name: "gitlab" };
    /// Twilio: base64 HMAC-SHA1 over the URL and the sorted form parameters.
    pub const Twilio: Provider = Provider { name: "twilio" };
    /// Zoom: `x-zm-signature: v0=…` over `v0:{ts}:{body}`.
    pub const Zoom: Provider = Provider { name: "zoom" };
    /// Twitch EventSub: `sha256=…` over `{id}{timestamp}{body}`.
    pub const Twitch: Provider = Provider { name: "twitch" };

    /// Finds a preset by its name or an alias (`x` is `twitter`); `None` when there is none.
    ///
    /// ```
    /// use hookgate::core::Provider;
    /// assert_eq!(Provider::named("x").map(|p| p.name()), Some("twitter"));
    /// assert_eq!(Provider::named("Stripe"), None);
    /// ```
    pub fn named(name: &str) -> Option<Provider> {
        let registry = registry();
        registry.lookup.get(name).map(|&i| registry.providers[i])
    }

    /// Same as [`Provider::named`]; kept for existing callers.
    pub fn from_name(name: &str) -> Option<Self> {
        Provider::named(name)
    }

    /// Every preset, in the order of the documentation table.
    pub fn all() -> &'static [Provider] {
        &registry().providers
    }

    /// Every preset's name, in the order of [`Provider::all`].
    pub fn names() -> &'static [&'static str] {
        &registry().names
    }

    fn preset(self) -> &'static Preset {
        let registry = registry();
        let index = registry
            .lookup
            .get(self.name)
            .unwrap_or_else(|| panic!("preset `{}` is not in presets.toml", self.name));
        &registry.presets[*index]
    }

    /// The preset's name in configuration files.
    pub const fn name(self) -> &'static str {
        self.name
    }

    /// Other names the preset is found by (`x` for `twitter`).
    pub fn aliases(self) -> &'static [&'static str] {
        &self.preset().aliases
    }

    /// The signature scheme.
    pub fn scheme(self) -> Scheme {
        self.preset().scheme.clone()
    }

    /// The scheme's table, as written in `presets.toml` (the `[route.scheme]` a user would
    /// write for the same provider).
    pub fn scheme_table(self) -> &'static SchemeTable {
        &self.preset().table
    }

    /// The timestamp tolerance, for presets that sign a timestamp.
    pub fn default_tolerance(self) -> Option<Duration> {
        self.preset().tolerance
    }

    /// Where the event id is read by default (empty: the signature digest is the id).
    pub fn default_event_id(self) -> EventIdSpec {
        self.preset().event_id.clone()
    }

    /// The content type the provider sends.
    pub fn content_type(self) -> &'static str {
        self.preset().content_type
    }

    /// Where the provider documents its scheme.
    pub fn docs(self) -> Option<&'static str> {
        self.preset().docs.as_deref()
    }

    /// The setup challenge the provider sends before events, if any (see
    /// [`crate::core::challenge`]).
    pub fn challenge(self) -> Option<super::challenge::Challenge> {
        self.preset().challenge
    }

    /// A human description of where the signature is, for `hookgate presets` and the docs.
    pub(crate) fn header_summary(self) -> String {
        let preset = self.preset();
        let scheme = &preset.scheme;
        let names = match &preset.table.header {
            Some(OneOrMany::One(one)) => one.clone(),
            Some(OneOrMany::Many(many)) => many.join(" or "),
            None => match &scheme.signature {
                SignatureLocation::Json(pointer) => format!("body json:{pointer}"),
                SignatureLocation::Headers(_) => String::new(),
            },
        };
        match &scheme.format {
            SignatureFormat::Plain { prefix: Some(p) } => format!("{names}: {p}…"),
            SignatureFormat::Plain { prefix: None } => names,
            SignatureFormat::KeyValue {
                timestamp_key,
                signature_key,
                separators,
            } => {
                let sep = separators.chars().next().unwrap_or(',');
                if scheme.signed_payload.uses_timestamp()
                    && scheme.timestamp == TimestampSource::SignatureHeader
                {
                    format!("{names}: {timestamp_key}=…{sep}{signature_key}=… (several {signature_key})")
                } else {
                    format!("{names}: {signature_key}=… (several {signature_key})")
                }
            }
            SignatureFormat::VersionedList { version } => {
                format!("{names}: {version},… {version},…")
            }
        }
    }

    /// A human description of the timestamp source.
    pub(crate) fn timestamp_summary(self) -> String {
        let preset = self.preset();
        let scheme = &preset.scheme;
        let tolerance = self.default_tolerance().map_or(0, |t| t.as_secs() / 60);
        let format = match scheme.timestamp_format {
            super::scheme::TimestampFormat::Unix => "",
            super::scheme::TimestampFormat::UnixMillis => " (ms)",
            super::scheme::TimestampFormat::Rfc3339 => " (RFC 3339)",
        };
        let place = match &scheme.timestamp {
            TimestampSource::None => return "—".into(),
            TimestampSource::SignatureHeader => match &scheme.format {
                SignatureFormat::KeyValue { timestamp_key, .. } => format!("`{timestamp_key}`"),
                _ => "signature header".into(),
            },
            TimestampSource::Header(names) => match &preset.table.timestamp_header {
                Some(OneOrMany::One(one)) => one.clone(),
                Some(OneOrMany::Many(many)) => many[0].clone(),
                None => names.preferred().to_string(),
            },
            TimestampSource::Json(pointer) => format!("json:{pointer}"),
            TimestampSource::Claim(claim) => format!("claim `{claim}`"),
        };
        format!("{place}{format}, {tolerance} min")
    }

    /// A human description of the default event id.
    pub(crate) fn event_id_summary(self) -> String {
        let preset = self.preset();
        let spec = &preset.event_id;
        if spec.sources().is_empty() {
            return "signature digest".into();
        }
        spec.sources()
            .iter()
            .map(|source| match source {
                EventIdSource::SignedId => match &preset.table.id_header {
                    Some(OneOrMany::Many(many)) if many.len() > 1 => {
                        format!("header:{} (or {})", many[0], many[1..].join(", "))
                    }
                    Some(OneOrMany::Many(many)) => format!("header:{}", many[0]),
                    Some(OneOrMany::One(one)) => format!("header:{one}"),
                    None => "signed_id".into(),
                },
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Provider({})", self.name)
    }
}

/// Parses a preset name (`stripe`) or alias; an unknown one lists the presets and suggests the
/// nearest.
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
        Provider::named(name).ok_or_else(|| UnknownName::new("provider", name, Provider::names()))
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Describes signed content in the notation of the docs: `` `{timestamp}.{body}` ``.
pub(crate) fn signed_content_summary(provider: Provider) -> String {
    let preset = provider.preset();
    let scheme = &preset.scheme;
    let algorithm = scheme.algorithm;
    if algorithm == super::scheme::Algorithm::Token {
        return "shared token".into();
    }
    if let Some(claim) = scheme.body_digest_claim() {
        return format!("JWT ES256 (JWK keys by `kid`), claim `{claim}` = SHA-256 of `{{body}}`");
    }
    let mut out = format!("`{}`", scheme.signed_payload);
    out.push_str(match algorithm {
        super::scheme::Algorithm::Sha1 => ", HMAC-SHA1",
        super::scheme::Algorithm::Sha256 => "",
        super::scheme::Algorithm::Sha512 => ", HMAC-SHA512",
        super::scheme::Algorithm::Ed25519 => ", Ed25519",
        super::scheme::Algorithm::EcdsaP256 => ", ECDSA P-256",
        super::scheme::Algorithm::Token | super::scheme::Algorithm::JwtEs256 => "",
        super::scheme::Algorithm::AwsSns => {
            ", RSA (SignatureVersion 1: SHA1, 2: SHA256), key = the signing certificate"
        }
    });
    match scheme.key_encoding {
        super::scheme::KeyEncoding::StandardWebhooks => out.push_str(", key = base64 of `whsec_…`"),
        super::scheme::KeyEncoding::Base64 => out.push_str(", key = base64 of the secret"),
        super::scheme::KeyEncoding::Hex => out.push_str(", key = hex of the secret"),
        super::scheme::KeyEncoding::Raw => {}
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
        "| preset | signature | signed content | encoding | timestamp | default event id |\n|---|---|---|---|---|---|\n",
    );
    for &p in Provider::all() {
        let scheme = p.scheme();
        let mut name = format!("`{}`", p.name());
        for alias in p.aliases() {
            name.push_str(&format!(" (`{alias}`)"));
        }
        out.push_str(&format!(
            "| {name} | `{}` | {} | {} | {} | `{}` |\n",
            p.header_summary(),
            signed_content_summary(p),
            scheme.encoding.name(),
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
        for &p in Provider::all() {
            p.scheme().validate().unwrap();
            assert!(names.insert(p.name()));
            assert_eq!(Provider::named(p.name()), Some(p));
            let name = p.name();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                    || ["standard-webhooks"].contains(&name),
                "preset names are lower case without separators: {name}"
            );
        }
        assert_eq!(Provider::names().len(), Provider::all().len());
    }

    #[test]
    fn the_constants_are_presets() {
        for p in [
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
            Provider::Discord,
            Provider::Gitlab,
            Provider::Twilio,
            Provider::Zoom,
            Provider::Twitch,
        ] {
            assert_eq!(Provider::named(p.name()), Some(p), "{p}");
        }
    }

    #[test]
    fn unknown_names_list_the_presets_and_suggest_the_nearest() {
        let error = "strpe".parse::<Provider>().unwrap_err();
        assert!(error
            .to_string()
            .starts_with("unknown provider `strpe`; did you mean `stripe`? (valid: d3, filedgr, docextract, dataflow, stripe,"));
        assert_eq!(
            "Github".parse::<Provider>().unwrap_err().suggestion(),
            Some("github")
        );
        assert_eq!(
            "svx".parse::<Provider>().unwrap_err().suggestion(),
            Some("svix")
        );
        assert_eq!("".parse::<Provider>().unwrap_err().suggestion(), None);
    }

    #[test]
    fn a_broken_preset_file_is_an_error_naming_the_preset() {
        let error = load("[[preset]]\nname = \"a\"\n[preset.scheme]\nheader = \"X\"\nsigned_payload = \"{timestamp}.{body}\"\n")
            .err()
            .unwrap();
        assert!(error.starts_with("preset `a`: "), "{error}");
        let error = load("[[preset]]\nname = \"a\"\n[preset.scheme]\nheader = \"X\"\n[[preset]]\nname = \"a\"\n[preset.scheme]\nheader = \"X\"\n")
            .err()
            .unwrap();
        assert_eq!(error, "preset name `a` is given twice");
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
        assert_eq!(
            Provider::Svix.event_id_summary(),
            "header:svix-id (or webhook-id)"
        );
    }
}
