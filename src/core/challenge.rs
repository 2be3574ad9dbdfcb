//! Setup challenges: the requests some providers send to check an endpoint before they
//! deliver events (Zoom's `endpoint.url_validation`, Twitch's `webhook_callback_verification`,
//! Twitter's CRC, Dropbox's and Okta's GET checks, Slack's `url_verification`, Facebook's
//! `hub.challenge`). They are answered by hookgate, never forwarded.

use super::key::Secret;
use super::name::UnknownName;
use super::verify::form_pairs;
use super::{Provider, RequestHead};
use base64::Engine as _;
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use std::fmt;
use subtle::ConstantTimeEq;

/// The kind of setup challenge a preset answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Challenge {
    /// Zoom: signed POST `endpoint.url_validation`.
    Zoom,
    /// Twitch: signed POST with `Twitch-Eventsub-Message-Type: webhook_callback_verification`.
    Twitch,
    /// Twitter / X: `GET ?crc_token=T`.
    TwitterCrc,
    /// Dropbox: `GET ?challenge=C`.
    Dropbox,
    /// Okta: `GET` with `X-Okta-Verification-Challenge`.
    Okta,
    /// Slack: signed POST `{"type":"url_verification"}`.
    Slack,
    /// Facebook / Instagram / WhatsApp / Messenger: `GET ?hub.mode=subscribe&…`.
    Facebook,
}

impl Challenge {
    /// Every name in `presets.toml`.
    pub const NAMES: &'static [&'static str] = &[
        "zoom",
        "twitch",
        "twitter-crc",
        "dropbox",
        "okta",
        "slack",
        "facebook",
    ];

    const ALL: [Challenge; 7] = [
        Challenge::Zoom,
        Challenge::Twitch,
        Challenge::TwitterCrc,
        Challenge::Dropbox,
        Challenge::Okta,
        Challenge::Slack,
        Challenge::Facebook,
    ];

    /// The name in `presets.toml`.
    pub fn name(self) -> &'static str {
        Challenge::NAMES[Challenge::ALL.iter().position(|c| *c == self).unwrap_or(0)]
    }
}

impl std::str::FromStr for Challenge {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Challenge::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| UnknownName::new("challenge", name, Challenge::NAMES))
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Challenge {
    /// Whether the challenge arrives as a signed POST (Zoom, Twitch, Slack): answer it only
    /// after the request verified. The others (Twitter's CRC, Dropbox, Okta, Facebook) are
    /// unsigned `GET`s, answered before any verification.
    pub fn is_signed(self) -> bool {
        matches!(self, Challenge::Zoom | Challenge::Twitch | Challenge::Slack)
    }

    /// The HTTP method the challenge comes with.
    pub fn method(self) -> Method {
        if self.is_signed() {
            Method::POST
        } else {
            Method::GET
        }
    }
}

/// The response to a setup challenge: hookgate sends it instead of forwarding the request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChallengeAnswer {
    /// 200, or 403 for a Facebook verify token that does not match.
    pub status: StatusCode,
    /// The response headers (`Content-Type`, and `X-Content-Type-Options` for Dropbox).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The response body.
    pub body: Vec<u8>,
}

impl ChallengeAnswer {
    fn new(content_type: &'static str, body: Vec<u8>) -> Self {
        ChallengeAnswer {
            status: StatusCode::OK,
            headers: vec![(CONTENT_TYPE, HeaderValue::from_static(content_type))],
            body,
        }
    }

    fn json(value: serde_json::Value) -> Self {
        ChallengeAnswer::new("application/json", value.to_string().into_bytes())
    }

    fn text(text: &str) -> Self {
        ChallengeAnswer::new("text/plain; charset=utf-8", text.as_bytes().to_vec())
    }

    fn forbidden() -> Self {
        ChallengeAnswer {
            status: StatusCode::FORBIDDEN,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// Answers `provider`'s setup challenge, when `head` and `body` are one; `None` otherwise
/// (an ordinary event, or a preset without a challenge).
///
/// - `secrets` are the route's secrets: the first one keys Zoom's `encryptedToken` and
///   Twitter's `response_token`.
/// - `verify_token` is the route's Facebook verify token (`hub.verify_token`); without it a
///   Facebook challenge is refused (403).
///
/// For the signed challenges ([`Challenge::is_signed`]: Zoom, Twitch, Slack) call it after
/// the request verified; the `GET` ones are unsigned and answered as they come. A `GET` to
/// a preset without a `GET` challenge gives `None` (the caller's 405 stands).
///
/// ```
/// use hookgate::core::challenge::answer_challenge;
/// use hookgate::core::{Provider, RequestHead};
///
/// let (parts, ()) = http::Request::get("/hooks/dropbox?challenge=abc123").body(()).unwrap().into_parts();
/// let answer = answer_challenge(Provider::named("dropbox").unwrap(), &RequestHead::from(&parts), b"", &[], None).unwrap();
/// assert_eq!(answer.status, 200);
/// assert_eq!(answer.body, b"abc123");
///
/// // Zoom's url_validation: the plain token and its HMAC-SHA256 under the secret, in hex.
/// let body = br#"{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"}}"#;
/// let (parts, ()) = http::Request::post("/hooks/zoom").body(()).unwrap().into_parts();
/// let answer = answer_challenge(Provider::Zoom, &RequestHead::from(&parts), body, &["secret".into()], None).unwrap();
/// let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
/// assert_eq!(json["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
/// assert_eq!(json["encryptedToken"].as_str().unwrap().len(), 64);
/// ```
pub fn answer_challenge(
    provider: Provider,
    head: &RequestHead<'_>,
    body: &[u8],
    secrets: &[Secret],
    verify_token: Option<&str>,
) -> Option<ChallengeAnswer> {
    let challenge = provider.challenge()?;
    if *head.method != challenge.method() {
        return None;
    }
    let query = || -> Vec<(String, String)> {
        let raw = head.uri.query().unwrap_or_default();
        form_pairs(raw.as_bytes())
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect()
    };
    let param = |name: &str| -> Option<String> {
        query().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    };
    let json = || serde_json::from_slice::<serde_json::Value>(body).ok();
    match challenge {
        Challenge::Zoom => {
            let json = json()?;
            if json["event"] != "endpoint.url_validation" {
                return None;
            }
            let token = json["payload"]["plainToken"].as_str()?;
            let mac = hmac_sha256(secrets.first()?, token.as_bytes());
            Some(ChallengeAnswer::json(serde_json::json!({
                "plainToken": token,
                "encryptedToken": hex::encode(mac),
            })))
        }
        Challenge::Twitch => {
            let kind = head.headers.get("twitch-eventsub-message-type")?;
            if kind != "webhook_callback_verification" {
                return None;
            }
            let json = json()?;
            Some(ChallengeAnswer::text(json["challenge"].as_str()?))
        }
        Challenge::Slack => {
            let json = json()?;
            if json["type"] != "url_verification" {
                return None;
            }
            let challenge = json["challenge"].as_str()?;
            Some(ChallengeAnswer::json(
                serde_json::json!({ "challenge": challenge }),
            ))
        }
        Challenge::TwitterCrc => {
            let token = param("crc_token")?;
            let mac = hmac_sha256(secrets.first()?, token.as_bytes());
            let encoded = base64::engine::general_purpose::STANDARD.encode(mac);
            Some(ChallengeAnswer::json(serde_json::json!({
                "response_token": format!("sha256={encoded}"),
            })))
        }
        Challenge::Dropbox => {
            let challenge = param("challenge")?;
            let mut answer = ChallengeAnswer::text(&challenge);
            answer.headers.push((
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ));
            Some(answer)
        }
        Challenge::Okta => {
            let value = head
                .headers
                .get("x-okta-verification-challenge")?
                .to_str()
                .ok()?;
            Some(ChallengeAnswer::json(
                serde_json::json!({ "verification": value }),
            ))
        }
        Challenge::Facebook => {
            if param("hub.mode")? != "subscribe" {
                return None;
            }
            let challenge = param("hub.challenge")?;
            let given = param("hub.verify_token").unwrap_or_default();
            let matches = verify_token
                .is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(given.as_bytes())));
            Some(if matches {
                ChallengeAnswer::text(&challenge)
            } else {
                ChallengeAnswer::forbidden()
            })
        }
    }
}

fn hmac_sha256(secret: &Secret, data: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose())
        .expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn answer(
        preset: &str,
        parts: &http::request::Parts,
        body: &[u8],
        verify_token: Option<&str>,
    ) -> Option<ChallengeAnswer> {
        answer_challenge(
            Provider::named(preset).unwrap(),
            &RequestHead::from(parts),
            body,
            &["secret".into()],
            verify_token,
        )
    }

    fn json(answer: &ChallengeAnswer) -> serde_json::Value {
        serde_json::from_slice(&answer.body).unwrap()
    }

    #[test]
    fn zoom_returns_the_token_and_its_hmac() {
        let parts = request(Method::POST, "/z", &[]);
        let body = br#"{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"}}"#;
        let a = answer("zoom", &parts, body, None).unwrap();
        assert_eq!(a.status, StatusCode::OK);
        // Python: hmac.new(b"secret", b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
        assert_eq!(
            json(&a),
            serde_json::json!({
                "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
                "encryptedToken": "72cef096bfd47c0b8664df30d07721641e4abd7e885ba432204260db477a9a3e",
            })
        );
        assert_eq!(
            answer("zoom", &parts, br#"{"event":"meeting.started"}"#, None),
            None
        );
        assert_eq!(
            answer("zoom", &request(Method::GET, "/z", &[]), body, None),
            None
        );
    }

    #[test]
    fn twitch_echoes_the_challenge_as_text() {
        let parts = request(
            Method::POST,
            "/t",
            &[(
                "Twitch-Eventsub-Message-Type",
                "webhook_callback_verification",
            )],
        );
        let a = answer(
            "twitch",
            &parts,
            br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo"}"#,
            None,
        )
        .unwrap();
        assert_eq!(a.body, b"pogchamp-kappa-360noscope-vohiyo");
        assert_eq!(a.headers[0].1, "text/plain; charset=utf-8");
        let event = request(
            Method::POST,
            "/t",
            &[("Twitch-Eventsub-Message-Type", "notification")],
        );
        assert_eq!(
            answer("twitch", &event, br#"{"challenge":"x"}"#, None),
            None
        );
    }

    #[test]
    fn slack_answers_url_verification() {
        let parts = request(Method::POST, "/s", &[]);
        let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        let a = answer("slack", &parts, body, None).unwrap();
        assert_eq!(
            json(&a),
            serde_json::json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
        );
        assert_eq!(
            answer("slack", &parts, br#"{"type":"event_callback"}"#, None),
            None
        );
    }

    #[test]
    fn twitter_crc_is_the_base64_hmac_of_the_token() {
        let parts = request(Method::GET, "/x?crc_token=abc", &[]);
        let a = answer("twitter", &parts, b"", None).unwrap();
        // Python: base64.b64encode(hmac.new(b"secret", b"abc", hashlib.sha256).digest())
        assert_eq!(
            json(&a)["response_token"],
            "sha256=mUba1OAOkT/Ivo5dP34RCkqegy+D+wnDRShdeGONig4="
        );
        assert_eq!(answer("x", &parts, b"", None), Some(a));
        assert_eq!(
            answer("twitter", &request(Method::GET, "/x", &[]), b"", None),
            None
        );
    }

    #[test]
    fn dropbox_echoes_with_nosniff() {
        let a = answer(
            "dropbox",
            &request(Method::GET, "/d?challenge=C%20D", &[]),
            b"",
            None,
        )
        .unwrap();
        assert_eq!(a.body, b"C D");
        assert!(a
            .headers
            .iter()
            .any(|(n, v)| n == "x-content-type-options" && v == "nosniff"));
    }

    #[test]
    fn okta_returns_the_verification_value() {
        let parts = request(
            Method::GET,
            "/o",
            &[("X-Okta-Verification-Challenge", "molJXGxRFJkPz")],
        );
        let a = answer("okta", &parts, b"", None).unwrap();
        assert_eq!(
            json(&a),
            serde_json::json!({"verification": "molJXGxRFJkPz"})
        );
        assert_eq!(
            answer("okta", &request(Method::GET, "/o", &[]), b"", None),
            None
        );
    }

    #[test]
    fn facebook_checks_the_verify_token() {
        let uri = "/f?hub.mode=subscribe&hub.verify_token=vt-1&hub.challenge=1158201444";
        for preset in ["facebook", "instagram", "whatsapp", "messenger"] {
            let parts = request(Method::GET, uri, &[]);
            let a = answer(preset, &parts, b"", Some("vt-1")).unwrap();
            assert_eq!(
                (a.status, a.body.as_slice()),
                (StatusCode::OK, &b"1158201444"[..])
            );
            let a = answer(preset, &parts, b"", Some("other")).unwrap();
            assert_eq!(a.status, StatusCode::FORBIDDEN);
            assert_eq!(
                answer(preset, &parts, b"", None).unwrap().status,
                StatusCode::FORBIDDEN
            );
        }
    }

    #[test]
    fn presets_without_a_challenge_answer_nothing() {
        let parts = request(Method::GET, "/g?challenge=1&crc_token=2", &[]);
        assert_eq!(answer("github", &parts, b"", None), None);
        assert_eq!(
            answer(
                "stripe",
                &request(Method::POST, "/s", &[]),
                br#"{"type":"url_verification","challenge":"c"}"#,
                None
            ),
            None
        );
    }
}
