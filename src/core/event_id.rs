//! Event ids: where a provider puts the id of an event, and how hookgate reads it.
//!
//! The id is read from the *verified* body or headers, so it is as trustworthy as the
//! signature. JSON bodies are scanned with a streaming visitor that skips everything but the
//! path it looks for: no tree is built, even for a large body.

use http::{HeaderMap, HeaderName};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as _;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

/// Ids longer than this are stored as their SHA-256 digest, so a store entry stays small.
const MAX_ID_LEN: usize = 200;

/// One place an event id is read from.
///
/// ```
/// use hookgate::core::EventIdSource;
/// let source: EventIdSource = "header:X-GitHub-Delivery".parse().unwrap();
/// assert_eq!(source.to_string(), "header:x-github-delivery");
/// assert!("id".parse::<EventIdSource>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventIdSource {
    /// A JSON pointer into the body (`json:/data/id`): a string gives its value, a number its
    /// exact JSON text (`1.50` stays `1.50`, big integers stay whole).
    Json(JsonPointer),
    /// A request header (`header:X-GitHub-Delivery`).
    Header(HeaderName),
    /// The message id the scheme signs (`{id}` of Standard Webhooks), whichever of the
    /// scheme's id headers carried it.
    SignedId,
}

/// A parsed JSON pointer (RFC 6901).
///
/// ```
/// use hookgate::core::event_id::JsonPointer;
/// assert!(JsonPointer::parse("/data/object/id").is_some());
/// assert!(JsonPointer::parse("data.id").is_none(), "a pointer starts with /");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPointer {
    text: String,
    tokens: Vec<String>,
}

impl JsonPointer {
    /// Parses `/a/b/0`, unescaping `~1` and `~0`.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix('/')?;
        let tokens = rest
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        Some(JsonPointer {
            text: text.to_owned(),
            tokens,
        })
    }

    /// The pointer as written (`/data/id`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The reference tokens, unescaped (`/a~1b` is `["a/b"]`).
    pub(crate) fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The string (unescaped) or number (exact text) at this pointer in a JSON body.
    pub(crate) fn read(&self, body: &[u8]) -> Option<String> {
        json_pointer(body, &self.tokens)
    }
}

impl fmt::Display for JsonPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// An `event_id` source string that cannot be parsed.
///
/// ```
/// let error = "body:/id".parse::<hookgate::core::EventIdSource>().unwrap_err();
/// assert!(error.to_string().contains("expected `json:/pointer`, `header:Name` or `signed_id`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event id source `{0}`: expected `json:/pointer`, `header:Name` or `signed_id`")]
pub struct EventIdSourceError(pub String);

impl std::str::FromStr for EventIdSource {
    type Err = EventIdSourceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || EventIdSourceError(s.to_owned());
        if let Some(pointer) = s.strip_prefix("json:") {
            return JsonPointer::parse(pointer)
                .map(EventIdSource::Json)
                .ok_or_else(err);
        }
        if let Some(name) = s.strip_prefix("header:") {
            return HeaderName::try_from(name.trim())
                .map(EventIdSource::Header)
                .map_err(|_| err());
        }
        if s == "signed_id" {
            return Ok(EventIdSource::SignedId);
        }
        Err(err())
    }
}

impl fmt::Display for EventIdSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventIdSource::Json(p) => write!(f, "json:{}", p.text),
            EventIdSource::Header(h) => write!(f, "header:{h}"),
            EventIdSource::SignedId => f.write_str("signed_id"),
        }
    }
}

/// Where a route reads event ids: one source, or several joined with `:`.
///
/// ```
/// use hookgate::core::EventIdSpec;
///
/// let spec = EventIdSpec::parse(["json:/type", "json:/timestamp"]).unwrap();
/// let id = spec.extract(&http::HeaderMap::new(), br#"{"type":"a","timestamp":"1"}"#, None);
/// assert_eq!(id.as_deref(), Some("a:1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventIdSpec {
    sources: Vec<EventIdSource>,
}

impl EventIdSpec {
    /// A spec from sources, in order.
    pub fn new(sources: Vec<EventIdSource>) -> Self {
        EventIdSpec { sources }
    }

    /// Parses a list of source strings.
    pub fn parse<I, S>(sources: I) -> Result<Self, EventIdSourceError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let sources = sources
            .into_iter()
            .map(|s| s.as_ref().parse())
            .collect::<Result<Vec<_>, _>>()?;
        if sources.is_empty() {
            return Err(EventIdSourceError(String::new()));
        }
        Ok(EventIdSpec { sources })
    }

    /// The sources, in order.
    pub fn sources(&self) -> &[EventIdSource] {
        &self.sources
    }

    /// Reads the id; `None` when any source is absent. `signed_id` is the `{id}` the scheme
    /// verified, if it signs one.
    pub fn extract(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        signed_id: Option<&str>,
    ) -> Option<String> {
        let mut id = match self.sources.as_slice() {
            [] => return None,
            // One source (the common case): its text as it comes, without a copy.
            [only] => part(only, headers, body, signed_id)?.into_owned(),
            sources => {
                let mut id = String::new();
                for (i, source) in sources.iter().enumerate() {
                    if i > 0 {
                        id.push(':');
                    }
                    id.push_str(&part(source, headers, body, signed_id)?);
                }
                id
            }
        };
        if id.len() > MAX_ID_LEN {
            id = format!("sha256:{}", hex::encode(Sha256::digest(id.as_bytes())));
        }
        Some(id)
    }
}

/// The text one source gives for a request, if any.
fn part<'a>(
    source: &EventIdSource,
    headers: &'a HeaderMap,
    body: &[u8],
    signed_id: Option<&'a str>,
) -> Option<Cow<'a, str>> {
    match source {
        EventIdSource::Json(pointer) => json_pointer(body, &pointer.tokens).map(Cow::Owned),
        EventIdSource::Header(name) => {
            let value = headers.get(name)?.to_str().ok()?.trim();
            (!value.is_empty()).then_some(Cow::Borrowed(value))
        }
        EventIdSource::SignedId => signed_id.map(Cow::Borrowed),
    }
}

impl fmt::Display for EventIdSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, source) in self.sources.iter().enumerate() {
            if i > 0 {
                f.write_str(" + ")?;
            }
            write!(f, "{source}")?;
        }
        Ok(())
    }
}

/// The id used when the configured sources are absent: a digest of the verified signature,
/// which still stops an exact replay.
pub(crate) fn signature_digest_id(signature: &[u8]) -> String {
    let digest = Sha256::digest(signature);
    format!("sig:{}", hex::encode(&digest[..16]))
}

/// Reads the scalar at `tokens` in a JSON document without building it.
///
/// The parse stops as soon as the value is found: the body is already authenticated, and an
/// id near the top of a large event is then read in time proportional to its position, not
/// to the body's size.
///
/// A string gives its (unescaped) value; a number gives its exact JSON text, byte for byte
/// (`1.50`, `-0`, `1e400`, integers of any length): two numbers are the same id only when
/// they are written the same way. Objects, arrays, booleans and `null` are not ids.
fn json_pointer(body: &[u8], tokens: &[String]) -> Option<String> {
    let found = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    // An error is either the early stop after a find, or a body that is not JSON up to there.
    let _ = Pointer {
        tokens,
        found: &found,
    }
    .deserialize(&mut de);
    found.take().filter(|s: &String| !s.is_empty())
}

/// The id a JSON value at the end of the path gives, from its raw text.
fn scalar_id(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(text).ok(),
        b'-' | b'0'..=b'9' => Some(text.to_owned()),
        _ => None,
    }
}

/// Walks to `tokens`; at the end of the path, the raw value is read and, when it is a string
/// or a number, stored in `found` and the parse is stopped with an error.
struct Pointer<'p> {
    tokens: &'p [String],
    found: &'p Cell<Option<String>>,
}

impl Pointer<'_> {
    fn child(&self) -> Pointer<'_> {
        Pointer {
            tokens: self.tokens.get(1..).unwrap_or_default(),
            found: self.found,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Pointer<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if !self.tokens.is_empty() {
            return d.deserialize_any(self);
        }
        // The end of the path: the value's exact text, whatever it is (nothing is converted).
        let raw = <&RawValue>::deserialize(d)?;
        match scalar_id(raw) {
            Some(id) => {
                self.found.set(Some(id));
                Err(de::Error::custom("found"))
            }
            None => Ok(()),
        }
    }
}

impl<'de> Visitor<'de> for Pointer<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    // A scalar where the path goes on: the id is not there.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let wanted = self.tokens.first().map(String::as_str);
        while let Some(matches) = map.next_key_seed(KeyEquals(wanted))? {
            if matches {
                // Returns early (with the stop error) when the value is found below.
                map.next_value_seed(self.child())?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let index = self.tokens.first().and_then(|t| array_index(t));
        let mut i = 0usize;
        loop {
            let more = if Some(i) == index {
                seq.next_element_seed(self.child())?.is_some()
            } else {
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                return Ok(());
            }
            i += 1;
        }
    }
}

/// An array index as RFC 6901 writes it: `0`, or digits without a leading zero (no sign).
fn array_index(token: &str) -> Option<usize> {
    if token.is_empty()
        || !token.bytes().all(|b| b.is_ascii_digit())
        || (token.len() > 1 && token.starts_with('0'))
    {
        return None;
    }
    token.parse().ok()
}

/// Compares a map key with the wanted token without allocating.
struct KeyEquals<'a>(Option<&'a str>);

impl<'de> DeserializeSeed<'de> for KeyEquals<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyEquals<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(self.0 == Some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> EventIdSpec {
        EventIdSpec::parse([s]).unwrap()
    }

    #[test]
    fn json_pointer_finds_nested_values_and_skips_the_rest() {
        let body = br#"{"a":[1,{"x":"no"}],"data":{"object":{"id":"evt_1"},"id":"obj_9"},"n":42}"#;
        let h = HeaderMap::new();
        assert_eq!(
            spec("json:/data/id").extract(&h, body, None).as_deref(),
            Some("obj_9")
        );
        assert_eq!(
            spec("json:/data/object/id")
                .extract(&h, body, None)
                .as_deref(),
            Some("evt_1")
        );
        assert_eq!(
            spec("json:/a/1/x").extract(&h, body, None).as_deref(),
            Some("no")
        );
        assert_eq!(
            spec("json:/n").extract(&h, body, None).as_deref(),
            Some("42")
        );
        assert_eq!(spec("json:/missing").extract(&h, body, None), None);
        assert_eq!(
            spec("json:/data").extract(&h, body, None),
            None,
            "objects are not ids"
        );
    }

    #[test]
    fn pointer_escapes_are_honoured() {
        let body = br#"{"a/b":{"c~d":"yes"}}"#;
        assert_eq!(
            spec("json:/a~1b/c~0d")
                .extract(&HeaderMap::new(), body, None)
                .as_deref(),
            Some("yes")
        );
    }

    #[test]
    fn non_json_bodies_have_no_id_and_the_scan_stops_at_the_id() {
        let h = HeaderMap::new();
        assert_eq!(spec("json:/id").extract(&h, b"token=abc&id=1", None), None);
        assert_eq!(spec("json:/id").extract(&h, br#"{"other":1,"#, None), None);
        // The body is authenticated: what follows the id is not read at all.
        assert_eq!(
            spec("json:/id")
                .extract(&h, br#"{"id":"x", not json at all"#, None)
                .as_deref(),
            Some("x")
        );
        // A duplicate key: the first one wins.
        assert_eq!(
            spec("json:/id")
                .extract(&h, br#"{"id":"first","id":"second"}"#, None)
                .as_deref(),
            Some("first")
        );
        // An object at the path is not an id, and the scan goes on past it.
        assert_eq!(
            spec("json:/id").extract(&h, br#"{"id":{"x":1},"y":2}"#, None),
            None
        );
    }

    #[test]
    fn headers_and_joined_sources() {
        let mut h = HeaderMap::new();
        h.insert("x-github-delivery", "abc-123".parse().unwrap());
        assert_eq!(
            spec("header:X-GitHub-Delivery")
                .extract(&h, b"", None)
                .as_deref(),
            Some("abc-123")
        );
        let joined = EventIdSpec::parse(["json:/type", "header:x-github-delivery"]).unwrap();
        assert_eq!(
            joined.extract(&h, br#"{"type":"push"}"#, None).as_deref(),
            Some("push:abc-123")
        );
        assert_eq!(
            joined.extract(&h, br#"{}"#, None),
            None,
            "one absent part means no id"
        );
    }

    #[test]
    fn numbers_are_ids_by_their_exact_text() {
        let h = HeaderMap::new();
        let id = |body: &str| spec("json:/n").extract(&h, body.as_bytes(), None);
        let a = id(r#"{"n":123456789012345678901234567890}"#);
        let b = id(r#"{"n":123456789012345678901234567891}"#);
        assert_eq!(a.as_deref(), Some("123456789012345678901234567890"));
        assert_eq!(b.as_deref(), Some("123456789012345678901234567891"));
        assert_ne!(a, b, "big integers must not collapse through f64");
        assert_ne!(id(r#"{"n":1.0}"#), id(r#"{"n":1}"#));
        for text in [
            "1.50",
            "-0",
            "1e400",
            "-1.5E-7",
            "0",
            "18446744073709551616",
        ] {
            let body = format!(r#"{{"n" : {text} , "x":1}}"#);
            assert_eq!(id(&body).as_deref(), Some(text), "{body}");
        }
        // Strings give their value, unescaped.
        assert_eq!(id(r#"{"n":"a\"b\u00e9"}"#).as_deref(), Some("a\"b\u{e9}"));
        // Not ids, and the scan goes on to a later duplicate key.
        for other in ["true", "null", "[1]", "{}"] {
            assert_eq!(id(&format!(r#"{{"n":{other}}}"#)), None, "{other}");
        }
        assert_eq!(id(r#"{"n":null,"n":7}"#).as_deref(), Some("7"));
        assert_eq!(id(r#"{"n":7,"n":8}"#).as_deref(), Some("7"));
    }

    #[test]
    fn array_indexes_follow_rfc_6901() {
        let h = HeaderMap::new();
        let body = br#"{"a":["x","y"]}"#;
        assert_eq!(
            spec("json:/a/1").extract(&h, body, None).as_deref(),
            Some("y")
        );
        for bad in ["json:/a/01", "json:/a/+1", "json:/a/-", "json:/a/"] {
            assert_eq!(spec(bad).extract(&h, body, None), None, "{bad}");
        }
    }

    #[test]
    fn long_ids_are_bounded() {
        let long = "x".repeat(10_000);
        let body = format!(r#"{{"id":"{long}"}}"#);
        let id = spec("json:/id")
            .extract(&HeaderMap::new(), body.as_bytes(), None)
            .unwrap();
        assert!(id.len() <= MAX_ID_LEN && id.starts_with("sha256:"));
    }

    #[test]
    fn bad_sources_are_refused() {
        assert!("json:id".parse::<EventIdSource>().is_err());
        assert!("body:/id".parse::<EventIdSource>().is_err());
        assert!("header:bad header".parse::<EventIdSource>().is_err());
    }
}
