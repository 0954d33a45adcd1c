//! TLS trust: which certificates a server may present. The platform's trust store, or the
//! one that `SSL_CERT_FILE` / `SSL_CERT_DIR` name (read as OpenSSL and curl read them), plus
//! the CAs of `--cacert`; or, with `-k/--insecure`, no verification at all.
//!
//! The HTTP source builds its agent's TLS settings with [`tls_config`] and the proxy's
//! upstream connector with [`rustls_config_for`], from the same roots, so every command
//! trusts the same certificates.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, parse_pem};

/// The CA certificates of a `--cacert` PEM bundle, read once.
#[derive(Clone)]
pub struct CaBundle {
    path: PathBuf,
    certs: Arc<Vec<Certificate<'static>>>,
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaBundle")
            .field("path", &self.path)
            .field("certs", &self.certs.len())
            .finish()
    }
}

impl CaBundle {
    /// Reads the PEM bundle at `path`; it must hold at least one certificate.
    pub fn load(path: &Path) -> Result<CaBundle, TlsError> {
        let pem = std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut certs = Vec::new();
        for item in parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => certs.push(cert),
                // A private key in the same file is not a CA; skip it, as curl does.
                Ok(_) => {}
                Err(err) => {
                    return Err(TlsError::BadPem {
                        path: path.to_owned(),
                        reason: err.to_string(),
                    });
                }
            }
        }
        if certs.is_empty() {
            return Err(TlsError::NoCertificates {
                path: path.to_owned(),
            });
        }
        Ok(CaBundle {
            path: path.to_owned(),
            certs: Arc::new(certs),
        })
    }

    /// How many certificates the bundle holds.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether the bundle holds no certificate (never, once loaded).
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

/// Why the certificates to trust could not be gathered.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A `--cacert` file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A `--cacert` file is not valid PEM.
    BadPem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A `--cacert` file holds no certificate.
    NoCertificates {
        /// The file.
        path: PathBuf,
    },
    /// `SSL_CERT_FILE` or `SSL_CERT_DIR` is set but gives no usable certificate.
    Environment {
        /// What went wrong, as rustls-native-certs says it.
        reason: String,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, .. } => write!(f, "cannot read --cacert {}", path.display()),
            TlsError::BadPem { path, reason } => {
                write!(
                    f,
                    "--cacert {} is not a PEM bundle: {reason}",
                    path.display()
                )
            }
            TlsError::NoCertificates { path } => write!(
                f,
                "--cacert {} holds no PEM certificate ('-----BEGIN CERTIFICATE-----')",
                path.display()
            ),
            TlsError::Environment { reason } => {
                write!(
                    f,
                    "no CA certificates from SSL_CERT_FILE/SSL_CERT_DIR: {reason}"
                )
            }
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The TLS settings of an agent: verification against the trust store plus `cacert`, or
/// none with `insecure`.
pub(crate) fn tls_config(cacert: Option<&CaBundle>, insecure: bool) -> Result<TlsConfig, TlsError> {
    let builder = TlsConfig::builder();
    if insecure {
        return Ok(builder.disable_verification(true).build());
    }
    let store = trust_store()?;
    let roots = match (store, cacert) {
        // No platform store at all (a bare container without ca-certificates): the
        // built-in Mozilla roots, as before there was a platform store.
        (None, None) => RootCerts::WebPki,
        (None, Some(extra)) => RootCerts::Specific(extra.certs.clone()),
        (Some(store), None) => RootCerts::Specific(store.clone()),
        (Some(store), Some(extra)) => RootCerts::Specific(Arc::new(
            store.iter().chain(extra.certs.iter()).cloned().collect(),
        )),
    };
    Ok(builder.root_certs(roots).build())
}

/// The same trust as [`tls_config`], as a rustls `ClientConfig` (for `serve`'s upstream
/// connector, which is hyper's rather than ureq's): the trust store plus `cacert` (the
/// built-in Mozilla roots where the platform has no store), or no verification with
/// `insecure`; for plain http nothing is trusted and the store is not read.
#[cfg(feature = "serve")]
pub(crate) fn rustls_config_for(
    url: &str,
    cacert: Option<&CaBundle>,
    insecure: bool,
) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions");
    let https = super::is_https(url);
    let config = if https && insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        if https {
            let store = trust_store()?;
            if store.is_none() && cacert.is_none() {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            let certs = store
                .into_iter()
                .flat_map(|s| s.iter())
                .chain(cacert.into_iter().flat_map(|c| c.certs.iter()));
            roots.add_parsable_certificates(
                certs.map(|c| rustls::pki_types::CertificateDer::from(c.der().to_vec())),
            );
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// `-k/--insecure`: any certificate is accepted; signatures are still checked, so the
/// handshake itself stays sound.
#[cfg(feature = "serve")]
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

#[cfg(feature = "serve")]
impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The certificate rejection that made a request fail, as rustls words it
/// (`invalid peer certificate: UnknownIssuer`), if that is what it was. rustls reports it
/// through the handshake's I/O error, which ureq passes on as `Error::Io`.
pub(crate) fn certificate_problem(err: &ureq::Error) -> Option<String> {
    let tls = match err {
        ureq::Error::Rustls(tls) => Some(tls),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    }?;
    matches!(tls, rustls::Error::InvalidCertificate(_)).then(|| tls.to_string())
}

/// The trust store, read once per process (it is a few hundred files on Linux): `None`
/// when the platform has none.
fn trust_store() -> Result<Option<&'static Arc<Vec<Certificate<'static>>>>, TlsError> {
    static STORE: OnceLock<Result<Option<Arc<Vec<Certificate<'static>>>>, String>> =
        OnceLock::new();
    STORE
        .get_or_init(load_trust_store)
        .as_ref()
        .map(Option::as_ref)
        .map_err(|reason| TlsError::Environment {
            reason: reason.clone(),
        })
}

fn load_trust_store() -> Result<Option<Arc<Vec<Certificate<'static>>>>, String> {
    let from_env = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
    // With either variable set only those locations are read (rustls-native-certs), as
    // OpenSSL replaces its default file and directory with them.
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        if from_env {
            // A variable that names nothing usable is a mistake to report, not a reason to
            // fall back to other roots (curl fails the same way).
            return Err(match found.errors.first() {
                Some(err) => err.to_string(),
                None => "no certificates found".to_owned(),
            });
        }
        return Ok(None);
    }
    let certs = found
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    Ok(Some(Arc::new(certs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_cacert_file_names_it() {
        let err = CaBundle::load(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err:?}");
        assert_eq!(err.to_string(), "cannot read --cacert /nonexistent/ca.pem");
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = CaBundle::load(&path).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificates { .. }), "{err:?}");
    }

    #[test]
    fn insecure_disables_verification() {
        let config = tls_config(None, true).unwrap();
        assert!(config.disable_verification());
    }
}
