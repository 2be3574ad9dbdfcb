//! `hookgate sign`, `send`, `verify` and `presets`: what a provider would send, locally.

use bytes::Bytes;
use clap::Args;
use hookgate::core::{Provider, SignInput, Verifier};
use http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn parse_provider(name: &str) -> Result<Provider, String> {
    name.parse()
        .map_err(|e: hookgate::core::UnknownName| e.to_string())
}

#[derive(Args)]
pub struct SignArgs {
    /// Provider preset (see `hookgate presets`).
    #[arg(long, value_parser = parse_provider)]
    provider: Provider,
    /// Signing secret, exactly as the provider hands it out.
    #[arg(long)]
    secret: String,
    /// Message or delivery id for presets that send one in a header (random if absent).
    #[arg(long)]
    id: Option<String>,
    /// Unix seconds to sign (now if absent).
    #[arg(long)]
    timestamp: Option<i64>,
}

#[derive(Args)]
pub struct SendArgs {
    /// Where to POST (http://).
    url: String,
    /// Provider preset.
    #[arg(long, value_parser = parse_provider)]
    provider: Provider,
    /// Signing secret.
    #[arg(long)]
    secret: String,
    /// Body: `@file`, or the text itself.
    #[arg(long)]
    data: String,
    /// Message or delivery id for presets that send one in a header (random if absent).
    #[arg(long)]
    id: Option<String>,
    /// Unix seconds to sign (now if absent).
    #[arg(long)]
    timestamp: Option<i64>,
    /// Extra header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
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

/// Every header the provider would send with `body`, signature first.
fn provider_headers(
    provider: Provider,
    secret: &str,
    body: &[u8],
    id: Option<String>,
    timestamp: Option<i64>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let id = id.unwrap_or_else(|| random_id(provider));
    let input = SignInput {
        timestamp: timestamp.unwrap_or_else(now_secs),
        id: &id,
    };
    provider
        .sign_request(&secret.into(), body, &input)
        .map_err(|e| e.to_string())
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
    match provider_headers(args.provider, &args.secret, &body, args.id, args.timestamp) {
        Ok(headers) => {
            for (name, value) in headers {
                println!("{name}: {}", value.to_str().unwrap_or_default());
            }
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(e),
    }
}

pub fn send(args: SendArgs) -> ExitCode {
    let body = match read_data(Some(&args.data)) {
        Ok(body) => body,
        Err(e) => return usage_error(e),
    };
    let mut request = Request::post(&args.url)
        .header(http::header::CONTENT_TYPE, args.provider.content_type())
        .body(Full::new(Bytes::from(body.clone())));
    let headers =
        match provider_headers(args.provider, &args.secret, &body, args.id, args.timestamp) {
            Ok(headers) => headers,
            Err(e) => return usage_error(e),
        };
    let extra = match args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(extra) => extra,
        Err(e) => return usage_error(e),
    };
    if let Ok(req) = request.as_mut() {
        for (name, value) in headers.into_iter().chain(extra) {
            req.headers_mut().append(name, value);
        }
    }
    let request = match request {
        Ok(request) if request.uri().scheme_str() == Some("http") => request,
        Ok(_) => return usage_error("send posts to http:// URLs only"),
        Err(e) => return usage_error(format!("invalid URL: {e}")),
    };
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
