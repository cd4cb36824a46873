//! HTTPS with rustls. The certificate is read from PEM files and read again on SIGHUP: new handshakes use the new
//! certificate while open connections carry on with theirs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate in use, and where it comes from.
#[derive(Debug)]
pub struct CertStore {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

fn load(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| {
            format!(
                "cannot read TLS certificate file {}: {e}",
                cert_file.display()
            )
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "TLS certificate file {} is not PEM: {e}",
                cert_file.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "TLS certificate file {} holds no certificate",
            cert_file.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        format!(
            "cannot read a PEM private key from {}: {e}",
            key_file.display()
        )
    })?;
    let signing_key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
        .map_err(|e| format!("unsupported TLS private key in {}: {e}", key_file.display()))?;
    let certified = CertifiedKey::new(certs, signing_key);
    certified.keys_match().map_err(|e| {
        format!(
            "the key in {} does not belong to the certificate in {}: {e}",
            key_file.display(),
            cert_file.display()
        )
    })?;
    Ok(certified)
}

impl CertStore {
    pub fn open(cert_file: &Path, key_file: &Path) -> Result<Arc<Self>, String> {
        let key = load(cert_file, key_file)?;
        Ok(Arc::new(CertStore {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            current: RwLock::new(Arc::new(key)),
        }))
    }

    /// Reads the files again; on failure the certificate in use stays.
    pub fn reload(&self) -> Result<(), String> {
        let key = load(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// The rustls configuration that serves this store's certificate.
    pub fn server_config(self: &Arc<Self>) -> Result<rustls::ServerConfig, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Ok(rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot configure TLS: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone()))
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// Reloads the certificate whenever the process gets SIGHUP.
#[cfg(unix)]
pub fn reload_on_sighup(store: Arc<CertStore>) {
    use tokio::signal::unix::{signal, SignalKind};
    actix_web::rt::spawn(async move {
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            log::warn!("cannot listen for SIGHUP: the TLS certificate will not be reloaded");
            return;
        };
        while hangups.recv().await.is_some() {
            match store.reload() {
                Ok(()) => log::info!(
                    "reloaded the TLS certificate from {}",
                    store.cert_file.display()
                ),
                Err(e) => log::error!("kept the TLS certificate in use: {e}"),
            }
        }
    });
}

#[cfg(not(unix))]
pub fn reload_on_sighup(_store: Arc<CertStore>) {}
