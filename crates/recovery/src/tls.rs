//! The HTTPS client the AWS SDK uses to reach ARC: rustls with the bundled Mozilla roots, plus an
//! optional extra CA.
//!
//! The SDK's default HTTPS client trusts only the operating system's certificate store, and the
//! images are `FROM scratch` with none: every ARC call would fail verification, and a gateway in
//! arc mode would keep its last known state forever. So the trust store here is built from
//! `webpki-root-certs` (the Mozilla root program, compiled in, the same roots the gateway's
//! upstream client trusts), with the operating system's store switched off so a machine behaves
//! the same with or without one. A private endpoint (arc-local with TLS, a VPC endpoint behind a
//! private CA) adds its CA with [`ExtraCa`].

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_http_client::Builder;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;

/// A CA certificate file (PEM) to trust besides the bundled roots.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtraCa {
    pem: Vec<u8>,
    /// How many certificates the file holds.
    pub certificates: usize,
}

/// A CA file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot read CA file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("CA file {path}: {reason}")]
    Invalid { path: String, reason: String },
}

impl ExtraCa {
    /// Reads and checks a PEM file of one or more CA certificates.
    pub fn from_file(path: &str) -> Result<ExtraCa, CaError> {
        let pem = std::fs::read(path).map_err(|source| CaError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_pem(pem).map_err(|reason| CaError::Invalid {
            path: path.to_owned(),
            reason,
        })
    }

    /// Checks PEM text: every certificate must parse as a trust anchor.
    pub fn from_pem(pem: Vec<u8>) -> Result<ExtraCa, String> {
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not PEM certificates: {e:?}"))?;
        if certs.is_empty() {
            return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
        }
        let mut store = rustls::RootCertStore::empty();
        for cert in &certs {
            store
                .add(cert.clone())
                .map_err(|e| format!("a certificate cannot be a trust anchor: {e}"))?;
        }
        Ok(ExtraCa {
            certificates: certs.len(),
            pem,
        })
    }
}

/// The PEM form of a DER certificate.
fn pem(der: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out.into_bytes()
}

/// The trust store: the bundled roots, `extra`, and never the operating system's store.
pub fn trust_store(extra: Option<&ExtraCa>) -> TrustStore {
    let mut store = TrustStore::empty().with_native_roots(false);
    for root in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        store = store.with_pem_certificate(pem(root));
    }
    if let Some(ca) = extra {
        store = store.with_pem_certificate(ca.pem.clone());
    }
    store
}

/// The SDK's HTTP client: HTTPS over rustls with [`trust_store`].
pub fn http_client(extra: Option<&ExtraCa>) -> SharedHttpClient {
    let context = TlsContext::builder()
        .with_trust_store(trust_store(extra))
        .build()
        .expect("a trust store of checked certificates builds");
    Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_roots_round_trip_through_pem() {
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100);
        for root in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            let back = CertificateDer::pem_slice_iter(&pem(root))
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            assert_eq!(back, vec![root.clone()]);
        }
    }

    #[test]
    fn a_bad_ca_file_is_refused_naming_the_file() {
        let e = ExtraCa::from_pem(b"not a certificate".to_vec()).unwrap_err();
        assert!(e.contains("no PEM certificate"), "{e}");
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec();
        assert!(ExtraCa::from_pem(garbage).is_err());
        let root = pem(&webpki_root_certs::TLS_SERVER_ROOT_CERTS[0]);
        assert_eq!(ExtraCa::from_pem(root).unwrap().certificates, 1);
        let e = ExtraCa::from_file("/nonexistent/ca.pem")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
