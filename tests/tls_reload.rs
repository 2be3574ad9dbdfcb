//! TLS at the edge and live reload, through the real binary: HTTPS and h2 by ALPN, old TLS and
//! plaintext refused, SIGHUP with a new certificate / secret / route / broken file, and a
//! certificate rewritten on disk with no signal. Certificates are made here with rcgen.
#![cfg(feature = "sidecar")]

mod common;

use bytes::Bytes;
use common::*;
use hookgate::core::Provider;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::CertificateDer};

const SECRET: &str = "gh-tls-secret";

/// A test certificate authority.
struct Ca {
    cert: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new() -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "hookgate test CA");
        let cert = params.self_signed(&key).unwrap();
        Ca {
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `localhost` written to `dir/<name>.crt` and `.key`; returns the
    /// paths and the certificate's DER.
    fn leaf(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (cert_path, key_path) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        write_atomically(&cert_path, cert.pem().as_bytes());
        write_atomically(&key_path, key.serialize_pem().as_bytes());
        (cert_path, key_path, cert.der().to_vec())
    }
}

/// Replaces a file's content in one rename, as cert-manager and editors do.
fn write_atomically(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn client_config(ca: &Ca, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

async fn connect(addr: std::net::SocketAddr, config: Arc<rustls::ClientConfig>) -> Tls {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .unwrap()
}

fn served_certificate(stream: &Tls) -> Vec<u8> {
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn signed_post(id: &str, secret: &str, path: &str) -> Request<Full<Bytes>> {
    signed(
        Provider::Github,
        secret,
        &format!("https://localhost{path}"),
        "{}",
        id,
    )
}

/// One request over a fresh HTTP/1.1-over-TLS connection.
async fn https_post(gate: &Hookgate, ca: &Ca, request: Request<Full<Bytes>>) -> (u16, Vec<u8>) {
    let stream = connect(gate.addr, client_config(ca, &[b"http/1.1"])).await;
    let certificate = served_certificate(&stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    (status, certificate)
}

fn tls_config(cert: &Path, key: &Path, upstream: &str, secret: &str, extra_routes: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
request_timeout = "2s"

[server.tls]
cert = "{}"
key = "{}"

{store}
[[route]]
name = "github"
path = "/webhooks/github"
upstream = "{upstream}"
provider = "github"
secrets = ["{secret}"]
{extra_routes}
"#,
        cert.display(),
        key.display(),
        store = store_section(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_h2_by_alpn_are_served_old_tls_and_plaintext_are_not() {
    let certs = TempDir::new();
    let ca = Ca::new();
    let (cert, key, _) = ca.leaf(&certs.0, "first");
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&tls_config(&cert, &key, &upstream.url("/gh"), SECRET, ""));

    // HTTP/1.1 over TLS: verified, forwarded, and the upstream learns it came over https.
    let (status, _) =
        https_post(&gate, &ca, signed_post("tls-1", SECRET, "/webhooks/github")).await;
    assert_eq!(status, 200);
    assert_eq!(upstream.last().headers["x-forwarded-proto"], "https");
    let (status, _) = https_post(
        &gate,
        &ca,
        signed_post("tls-2", "wrong", "/webhooks/github"),
    )
    .await;
    assert_eq!(status, 401);

    // HTTP/2 negotiated by ALPN (not prior knowledge).
    let stream = connect(gate.addr, client_config(&ca, &[b"h2", b"http/1.1"])).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let response = sender
        .send_request(signed_post("tls-h2", SECRET, "/webhooks/github"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(upstream.count(), 2);

    // A TLS 1.1 ClientHello gets no ServerHello: an alert, or the connection closes.
    let answer = raw_bytes(gate.addr, &tls11_client_hello()).await;
    assert!(
        answer.is_empty() || answer[0] == 0x15,
        "TLS 1.1 was answered with {answer:02x?}"
    );
    // Plaintext HTTP on the TLS port is not served.
    let answer = raw_bytes(
        gate.addr,
        b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    )
    .await;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plaintext was served: {answer:?}"
    );
    assert_eq!(upstream.count(), 2);
}

/// Writes `bytes` on a fresh connection and returns what comes back within 2 s.
async fn raw_bytes(addr: std::net::SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut out)).await;
    out
}

/// A minimal ClientHello offering only TLS 1.1 (no supported_versions extension).
fn tls11_client_hello() -> Vec<u8> {
    let mut hello = vec![0x03, 0x02]; // client_version TLS 1.1
    hello.extend([0x11; 32]); // random
    hello.push(0); // no session id
    hello.extend([0x00, 0x04, 0x00, 0x2f, 0x00, 0x35]); // two RSA-AES-CBC suites
    hello.extend([0x01, 0x00]); // null compression
    let mut handshake = vec![0x01, 0x00];
    handshake.extend((hello.len() as u16).to_be_bytes());
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_a_new_certificate_keeps_established_connections() {
    let certs = TempDir::new();
    let ca = Ca::new();
    let (cert, key, first_der) = ca.leaf(&certs.0, "first");
    let upstream = Upstream::start().await;
    let mut gate = Hookgate::start(&tls_config(&cert, &key, &upstream.url("/gh"), SECRET, ""));

    // An HTTP/2 connection made before the reload.
    let stream = connect(gate.addr, client_config(&ca, &[b"h2"])).await;
    assert_eq!(served_certificate(&stream), first_der);
    let (mut h2, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let before = h2
        .send_request(signed_post("h2-1", SECRET, "/webhooks/github"))
        .await
        .unwrap();
    assert_eq!(before.status(), 200);

    // New files at new paths (not watched), named in the config: only SIGHUP reloads.
    let (cert2, key2, second_der) = ca.leaf(&certs.0, "second");
    std::fs::write(
        gate.config_path(),
        tls_config(&cert2, &key2, &upstream.url("/gh"), SECRET, ""),
    )
    .unwrap();
    gate.reload();
    gate.wait_for_log("configuration reloaded", 1);

    let (status, served) =
        https_post(&gate, &ca, signed_post("h1-2", SECRET, "/webhooks/github")).await;
    assert_eq!(status, 200);
    assert_eq!(
        served, second_der,
        "a new connection sees the new certificate"
    );
    let after = h2
        .send_request(signed_post("h2-2", SECRET, "/webhooks/github"))
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        200,
        "the established HTTP/2 connection still works"
    );
    assert!(gate.is_running(), "never restarted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rotates_secrets_adds_routes_and_remembers_delivered_ids() {
    let upstream = Upstream::start().await;
    let plain = |secret: &str, extra: &str| {
        config(
            "github",
            secret,
            &upstream.url("/gh"),
            extra,
            "admin_listen = \"127.0.0.1:0\"",
        )
    };
    let mut gate = Hookgate::start(&plain("old-secret", ""));
    assert_eq!(
        gate.post(Provider::Github, "old-secret", "{}", "kept-1")
            .await
            .status,
        200
    );

    let stripe_route = format!(
        "\n[[route]]\nname = \"stripe\"\npath = \"/webhooks/stripe\"\nupstream = \"{}\"\nprovider = \"stripe\"\nsecrets = [\"whsec_new\"]\n",
        upstream.url("/stripe")
    );
    std::fs::write(gate.config_path(), plain("new-secret", &stripe_route)).unwrap();
    gate.reload();
    gate.wait_for_log("configuration reloaded", 1);

    assert_eq!(
        gate.post(Provider::Github, "new-secret", "{}", "fresh-1")
            .await
            .status,
        200
    );
    assert_eq!(
        gate.post(Provider::Github, "old-secret", "{}", "stale-1")
            .await
            .status,
        401
    );
    let stripe = gate
        .post(
            Provider::Stripe,
            "whsec_new",
            r#"{"id":"evt_new_route"}"#,
            "",
        )
        .await;
    assert_eq!(stripe.status, 200, "the new route serves");
    let again = gate
        .post(Provider::Github, "new-secret", "{}", "kept-1")
        .await;
    assert_eq!(
        again.headers["hookgate-duplicate"], "true",
        "remembered across the reload"
    );
    assert_eq!(upstream.count(), 3);
    assert!(gate.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_a_broken_config_keeps_the_old_one_serving() {
    let upstream = Upstream::start().await;
    let mut gate = Hookgate::start(&config(
        "github",
        SECRET,
        &upstream.url("/gh"),
        "",
        "admin_listen = \"127.0.0.1:0\"",
    ));
    std::fs::write(gate.config_path(), "[server]\nlisten = 8080\n").unwrap();
    gate.reload();
    gate.wait_for_log("configuration not reloaded", 1);
    let line = gate
        .logs()
        .into_iter()
        .find(|l| l.contains("configuration not reloaded"))
        .unwrap();
    assert!(
        line.contains("hookgate.toml:2:10:"),
        "positioned like `check`: {line}"
    );
    assert_eq!(
        gate.post(Provider::Github, SECRET, "{}", "after-broken")
            .await
            .status,
        200
    );
    let metrics = admin_get(gate.admin_addr(), "/metrics").await;
    assert!(
        metrics.contains(r#"hookgate_config_reloads_total{result="error"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"hookgate_config_reloads_total{result="ok"} 0"#),
        "{metrics}"
    );
    assert!(gate.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_rewritten_on_disk_is_served_without_a_signal() {
    let certs = TempDir::new();
    let ca = Ca::new();
    let (cert, key, first_der) = ca.leaf(&certs.0, "live");
    let upstream = Upstream::start().await;
    let gate = Hookgate::start(&tls_config(&cert, &key, &upstream.url("/gh"), SECRET, ""));
    let (_, served) = https_post(&gate, &ca, signed_post("w-1", SECRET, "/webhooks/github")).await;
    assert_eq!(served, first_der);

    // cert-manager rewrites the same files; nobody signals.
    let (_, _, second_der) = ca.leaf(&certs.0, "live");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, served) =
            https_post(&gate, &ca, signed_post("w-2", SECRET, "/webhooks/github")).await;
        if served == second_der {
            assert_eq!(status, 200);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new certificate was not served within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    gate.wait_for_log("a watched file changed", 1);
}
