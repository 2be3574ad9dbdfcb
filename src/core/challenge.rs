//! Setup challenges: the requests some providers send to check an endpoint before they
//! deliver events (Zoom's `endpoint.url_validation`, Twitch's `webhook_callback_verification`,
//! Twitter's CRC, Dropbox's and Okta's GET checks, Slack's `url_verification`, Facebook's
//! `hub.challenge`). They are answered by hookgate, never forwarded.

use super::name::UnknownName;
use std::fmt;

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
