//! `hookgate sign`, `send`, `verify` and `presets`: what a provider would send, locally.

use bytes::Bytes;
use clap::Args;
use hookgate::core::{
    Provider, RequestHead, Secret, SignError, SignInput, SignedMessage, Verifier,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn parse_provider(name: &str) -> Result<Provider, String> {
    name.parse()
        .map_err(|e: hookgate::core::UnknownName| e.to_string())
}

#[derive(Args)]
pub struct SignArgs {
    #[command(flatten)]
    signing: SigningArgs,
}

#[derive(Args)]
pub struct SendArgs {
    /// Where to send the request (http://).
    url: String,
    #[command(flatten)]
    signing: SigningArgs,
    /// Body: `@file`, or the text itself.
    #[arg(long)]
    data: String,
    /// Extra header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
}

/// What `sign` and `send` sign with and over.
#[derive(Args)]
struct SigningArgs {
    /// Provider preset (see `hookgate presets`).
    #[arg(long, value_parser = parse_provider)]
    provider: Provider,
    /// Signing secret, exactly as the provider hands it out (HMAC and token presets).
    #[arg(
        long,
        required_unless_present = "private_key",
        conflicts_with = "private_key"
    )]
    secret: Option<String>,
    /// Private key, for presets the provider signs with one (Ed25519: Discord; ECDSA P-256:
    /// SendGrid); the route verifies with the public key. Ed25519: hex or base64 of the
    /// 32-byte seed, or PKCS#8 PEM; P-256: PKCS#8 or SEC1 PEM. `@file` reads a file.
    #[arg(long)]
    private_key: Option<String>,
    /// Message or delivery id for presets that send one in a header, and Mailgun's token
    /// (random if absent).
    #[arg(long)]
    id: Option<String>,
    /// Unix seconds to sign (now if absent).
    #[arg(long)]
    timestamp: Option<i64>,
    /// The URL the provider calls, for presets that sign it (Twilio, Square, HubSpot, Trello,
    /// Mailchimp). `send` defaults to its target with https:// (what a route without
    /// `public_url` checks); give the route's `public_url` + path when it has one.
    #[arg(long = "url", value_name = "URL")]
    signed_url: Option<String>,
    /// The request method: signed by presets that sign it (HubSpot), and sent by `send`.
    #[arg(long, default_value = "POST")]
    method: String,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Provider preset.
    #[arg(long, value_parser = parse_provider)]
    provider: Provider,
    /// Secret to try (repeatable: every one is tried, as during a rotation).
    #[arg(long = "secret", required = true)]
    secrets: Vec<String>,
    /// Request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// Pin the clock to these unix seconds (for recorded requests and test vectors).
    #[arg(long)]
    now: Option<u64>,
    /// Body: `@file`, or the text itself; stdin when absent.
    #[arg(long)]
    data: Option<String>,
    /// The URL the provider called, for presets that sign it (Twilio, Square…).
    #[arg(long)]
    url: Option<String>,
    /// The request method, for presets that sign it (default POST).
    #[arg(long, default_value = "POST")]
    method: String,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn random_id(provider: Provider) -> String {
    let a = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let b = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    match provider {
        Provider::StandardWebhooks | Provider::Svix => format!("msg_{a:016x}{b:08x}"),
        _ => format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        ),
    }
}

/// The key `sign` and `send` sign with: `--secret`, or `--private-key` for public-key presets
/// (the one that does not fit the preset is refused with what to pass instead).
fn signing_key(args: &SigningArgs) -> Result<Secret, String> {
    let provider = args.provider;
    let algorithm = provider.scheme().algorithm();
    match (
        algorithm.is_public_key(),
        &args.secret,
        args.private_key.as_deref(),
    ) {
        (true, Some(_), _) => Err(format!(
            "{provider} requests are signed with the provider's {algorithm} private key: pass a key pair's private half with --private-key (the route's secret is its public half)"
        )),
        (false, _, Some(_)) => Err(format!(
            "{provider} signs with a shared secret: pass --secret (--private-key is for Ed25519 and ECDSA presets)"
        )),
        (_, Some(secret), None) => Ok(Secret::from(secret.as_str())),
        (_, None, Some(key)) => match key.strip_prefix('@') {
            Some(path) => std::fs::read(path)
                .map(Secret::new)
                .map_err(|e| format!("cannot read {path}: {e}")),
            None => Ok(Secret::from(key)),
        },
        (_, None, None) => Err("pass --secret or --private-key".into()),
    }
}

/// Signs `body` as the provider would send it to `target` (`send`) or to `--url` (`sign`):
/// the headers, and the body (rewritten for presets that carry their signature or timestamp
/// in it).
fn sign_as_provider(
    args: &SigningArgs,
    target: Option<&Uri>,
    extra: &HeaderMap,
    body: &[u8],
) -> Result<SignedMessage, String> {
    let provider = args.provider;
    let secret = signing_key(args)?;
    let method = Method::from_bytes(args.method.as_bytes())
        .map_err(|_| format!("`{}` is not an HTTP method", args.method))?;
    let uri: Uri = match (&args.signed_url, target) {
        (Some(url), _) => url.parse().map_err(|e| format!("invalid --url: {e}"))?,
        // What a route without `public_url` reconstructs: https:// + Host + path and query.
        (None, Some(target)) => {
            let authority = target.authority().map_or("", |a| a.as_str());
            let path = target.path_and_query().map_or("/", |pq| pq.as_str());
            format!("https://{authority}{path}")
                .parse()
                .map_err(|e| format!("invalid URL: {e}"))?
        }
        (None, None) => Uri::from_static("/"),
    };
    let id = args.id.clone().unwrap_or_else(|| random_id(provider));
    let input = SignInput {
        timestamp: args.timestamp.unwrap_or_else(now_secs),
        id: &id,
    };
    let head = RequestHead::new(&method, &uri, extra);
    provider
        .sign_message(&secret, &head, body, &input)
        .map_err(|error| match error {
            SignError::NoUrl => format!(
                "{provider} signs the URL it calls: pass --url with that URL (https://host/path, as configured at {provider})"
            ),
            SignError::NoHeader(name) => {
                format!("{provider} signs the {name} header: send it with -H '{name}: …'")
            }
            other => format!("cannot sign as {provider}: {other}"),
        })
}

fn read_data(data: Option<&str>) -> Result<Vec<u8>, String> {
    match data {
        Some(spec) => match spec.strip_prefix('@') {
            Some(path) => std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}")),
            None => Ok(spec.as_bytes().to_vec()),
        },
        None => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            Ok(body)
        }
    }
}

fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("header `{text}` is not `Name: value`"))?;
    let name = HeaderName::try_from(name.trim())
        .map_err(|_| format!("`{}` is not a header name", name.trim()))?;
    let value = HeaderValue::try_from(value.trim())
        .map_err(|_| format!("the value of {name} is not a header value"))?;
    Ok((name, value))
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub fn sign(args: SignArgs) -> ExitCode {
    let body = match read_data(None) {
        Ok(body) => body,
        Err(e) => return usage_error(e),
    };
    let signed = match sign_as_provider(&args.signing, None, &HeaderMap::new(), &body) {
        Ok(signed) => signed,
        Err(e) => return usage_error(e),
    };
    let mut out = std::io::stdout().lock();
    let mut text = String::new();
    for (name, value) in &signed.headers {
        text.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or_default()));
    }
    let written = out.write_all(text.as_bytes()).and_then(|()| {
        // The body the provider would send, when signing wrote into it (Mailgun, Linear,
        // Figma): after an empty line, byte for byte, as in an HTTP message.
        if signed.body != body {
            out.write_all(b"\n")?;
            out.write_all(&signed.body)?;
        }
        out.flush()
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => usage_error(format!("cannot write: {e}")),
    }
}

pub fn send(args: SendArgs) -> ExitCode {
    let body = match read_data(Some(&args.data)) {
        Ok(body) => body,
        Err(e) => return usage_error(e),
    };
    let target: Uri = match args.url.parse() {
        Ok(uri) => uri,
        Err(e) => return usage_error(format!("invalid URL: {e}")),
    };
    if target.scheme_str() != Some("http") {
        return usage_error("send posts to http:// URLs only");
    }
    let mut extra = HeaderMap::new();
    for text in &args.headers {
        match parse_header(text) {
            Ok((name, value)) => {
                extra.append(name, value);
            }
            Err(e) => return usage_error(e),
        }
    }
    let signed = match sign_as_provider(&args.signing, Some(&target), &extra, &body) {
        Ok(signed) => signed,
        Err(e) => return usage_error(e),
    };
    let method = Method::from_bytes(args.signing.method.as_bytes()).unwrap_or(Method::POST);
    let mut request = match Request::builder()
        .method(method)
        .uri(target)
        .header(
            http::header::CONTENT_TYPE,
            args.signing.provider.content_type(),
        )
        .body(Full::new(Bytes::from(signed.body)))
    {
        Ok(request) => request,
        Err(e) => return usage_error(format!("invalid request: {e}")),
    };
    let headers = request.headers_mut();
    for (name, value) in signed.headers {
        headers.append(name, value);
    }
    for (name, value) in &extra {
        headers.append(name.clone(), value.clone());
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return usage_error(e),
    };
    runtime.block_on(async move {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let response =
            match tokio::time::timeout(Duration::from_secs(30), client.request(request)).await {
                Ok(Ok(response)) => response,
                Ok(Err(e)) => {
                    eprintln!("error: request failed: {e}");
                    return ExitCode::FAILURE;
                }
                Err(_) => {
                    eprintln!("error: no answer within 30s");
                    return ExitCode::FAILURE;
                }
            };
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        println!("{status}");
        println!("{}", String::from_utf8_lossy(&body));
        if status.is_success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}

pub fn verify(args: VerifyArgs) -> ExitCode {
    let body = match read_data(args.data.as_deref()) {
        Ok(body) => body,
        Err(e) => return usage_error(e),
    };
    let mut headers = HeaderMap::new();
    for text in &args.headers {
        match parse_header(text) {
            Ok((name, value)) => {
                headers.append(name, value);
            }
            Err(e) => return usage_error(e),
        }
    }
    let verifier = match Verifier::builder()
        .provider(args.provider)
        .secrets(args.secrets.iter().map(String::as_str))
        .build()
    {
        Ok(verifier) => verifier,
        Err(e) => return usage_error(e),
    };
    let method = match http::Method::from_bytes(args.method.as_bytes()) {
        Ok(method) => method,
        Err(_) => return usage_error(format!("`{}` is not an HTTP method", args.method)),
    };
    let uri: http::Uri = match args.url.as_deref().unwrap_or("/").parse() {
        Ok(uri) => uri,
        Err(e) => return usage_error(format!("invalid --url: {e}")),
    };
    let now = args.now.map_or_else(SystemTime::now, |secs| {
        UNIX_EPOCH + Duration::from_secs(secs)
    });
    let head = hookgate::core::RequestHead::new(&method, &uri, &headers);
    match verifier.verify_request(&head, &body, now) {
        Ok(verified) => {
            let source = if verified.event_id_from_signature {
                " (no id in the request: signature digest)"
            } else {
                ""
            };
            println!("verified event_id={}{source}", verified.event_id);
            ExitCode::SUCCESS
        }
        Err(rejection) => {
            println!("rejected {}: {rejection}", rejection.code());
            ExitCode::from(1)
        }
    }
}

/// The presets table, in Markdown: the same text as the README's.
pub fn presets_table() -> String {
    hookgate::core::presets::table()
}
