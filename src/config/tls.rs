//! `[server.tls]`: the certificate chain and key, loaded and checked at load time so `check`
//! and a reload refuse a bad pair with its position in the file.

use std::path::PathBuf;
#[cfg(feature = "sidecar")]
use std::sync::Arc;

/// `[server.tls]`: terminate TLS (rustls; TLS 1.2 and 1.3; ALPN `h2` and `http/1.1`).
#[derive(Clone)]
#[non_exhaustive]
pub struct TlsConfig {
    /// The certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, RSA or SEC1 EC).
    pub key: PathBuf,
    /// The rustls configuration built from them.
    #[cfg(feature = "sidecar")]
    pub server_config: Arc<tokio_rustls::rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Loads the pair; the error says what is wrong without printing key material.
#[cfg(feature = "sidecar")]
pub(super) fn load(cert: PathBuf, key: PathBuf) -> Result<TlsConfig, String> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::{self, version};

    let chain = CertificateDer::pem_file_iter(&cert)
        .map_err(|e| format!("cannot read certificate {}: {e}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("certificate {} is not PEM: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "certificate {} holds no certificate",
            cert.display()
        ));
    }
    let private_key = PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| format!("cannot read a private key from {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| {
            format!(
                "certificate {} and key {} do not make a TLS identity: {e}",
                cert.display(),
                key.display()
            )
        })?;
    server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsConfig {
        cert,
        key,
        server_config: Arc::new(server_config),
    })
}

#[cfg(not(feature = "sidecar"))]
pub(super) fn load(_cert: PathBuf, _key: PathBuf) -> Result<TlsConfig, String> {
    Err("[server.tls] needs the `sidecar` feature".to_owned())
}
