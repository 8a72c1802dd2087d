//! HTTPS for the data plane and the config API: a local certificate authority and a server
//! certificate made at start-up, and a TLS listener for axum.
//!
//! The CA's certificate is written to `<dir>/ca.pem` (give it to clients as an extra trusted CA:
//! `aws --ca-bundle`, `AWS_CA_BUNDLE`, Terraform's `custom_ca_bundle`) and its key to
//! `<dir>/ca-key.pem` (mode 0600). A later start with the same directory reuses that CA, so
//! clients keep trusting a restarted arc-local; the server certificate (`<dir>/server.pem`, for
//! people to inspect) is made anew on every start, for `localhost`, `127.0.0.1`, `::1` and the
//! configured names, and signed by the CA. TLS 1.2 and 1.3, HTTP/1.1.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The CA certificate clients trust.
pub const CA_FILE: &str = "ca.pem";
/// The CA's private key.
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// The server certificate of this run (for inspection; it is served from memory).
pub const SERVER_FILE: &str = "server.pem";
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const CA_NAME: &str = "arc-local local CA";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS directory {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("cannot make the TLS certificates: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("{path} is not a usable CA key ({message}); remove {dir}/{CA_FILE} and {dir}/{CA_KEY_FILE} to make a new CA")]
    BadKey {
        path: String,
        dir: String,
        message: String,
    },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("{0:?} is not a DNS name or IP address for the server certificate")]
    BadName(String),
}

/// The server side: what the listeners need, and where the CA certificate is.
pub struct Tls {
    pub acceptor: TlsAcceptor,
    pub ca_file: PathBuf,
    /// Whether the CA was made by this start (false: reused from the directory).
    pub new_ca: bool,
    pub names: Vec<String>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |error| TlsError::Io {
        path: path.display().to_string(),
        error,
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    dn.push(DnType::OrganizationName, "arc-local");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// Writes `bytes` to `path` through a temporary file; `private` files get mode 0600.
fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), TlsError> {
    let tmp = path.with_extension("tmp");
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = options.open(&tmp)?;
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err(path))
}

/// The server certificate's names: localhost, 127.0.0.1, ::1 and `extra`, each once.
pub fn server_names(extra: &[String]) -> Result<Vec<String>, TlsError> {
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    for n in extra {
        let n = n.trim().trim_start_matches('[').trim_end_matches(']');
        if n.is_empty() {
            continue;
        }
        let ok = n.parse::<std::net::IpAddr>().is_ok()
            || (n.len() <= 253
                && n.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'*')
                }));
        if !ok {
            return Err(TlsError::BadName(n.to_owned()));
        }
        let n = n.to_ascii_lowercase();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    Ok(names)
}

/// Makes (or reuses) the CA in `dir`, a server certificate for `names`, and the acceptor.
pub fn prepare(dir: &Path, names: Vec<String>) -> Result<Tls, TlsError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let ca_file = dir.join(CA_FILE);
    let key_file = dir.join(CA_KEY_FILE);
    let now = time::OffsetDateTime::now_utc();
    let day = time::Duration::days(1);

    let (ca_key, new_ca) = if ca_file.exists() && key_file.exists() {
        let pem = std::fs::read_to_string(&key_file).map_err(io_err(&key_file))?;
        let key = KeyPair::from_pem(&pem).map_err(|e| TlsError::BadKey {
            path: key_file.display().to_string(),
            dir: dir.display().to_string(),
            message: e.to_string(),
        })?;
        (key, false)
    } else {
        let key = KeyPair::generate()?;
        let mut params = ca_params();
        params.not_before = now - day;
        params.not_after = now + day * 3650;
        let cert = params.self_signed(&key)?;
        write_file(&key_file, key.serialize_pem().as_bytes(), true)?;
        write_file(&ca_file, cert.pem().as_bytes(), false)?;
        (key, true)
    };
    let issuer = Issuer::new(ca_params(), ca_key);

    let mut params = CertificateParams::new(names.clone())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "arc-local");
    params.distinguished_name = dn;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = now - day;
    params.not_after = now + day * 365;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    write_file(&dir.join(SERVER_FILE), cert.pem().as_bytes(), false)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_file,
        new_ca,
        names,
    })
}

/// A listener that accepts TCP connections and hands axum those whose TLS handshake succeeded.
/// Handshakes run in their own tasks, so a slow client never holds up the others.
pub struct TlsListener {
    rx: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<TlsListener> {
        let addr = tcp.local_addr()?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, %addr, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, %addr, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { rx, addr, task })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept task is gone (it never ends on its own): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// Why the HTTPS healthcheck failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProbeError(String);

impl ProbeError {
    fn new(message: String) -> ProbeError {
        ProbeError(message)
    }
}

/// `GET <path>` over HTTPS to 127.0.0.1:`port`, trusting only the CA in `ca_file`: Ok when the
/// answer is 2xx. For the `healthcheck` subcommand (blocking).
pub fn probe(port: u16, path: &str, ca_file: &Path, timeout: Duration) -> Result<(), ProbeError> {
    use std::io::{Read, Write};
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| ProbeError::new(format!("cannot read {}: {e}", ca_file.display())))?;
    for cert in certs {
        let cert =
            cert.map_err(|e| ProbeError::new(format!("cannot read {}: {e}", ca_file.display())))?;
        roots
            .add(cert)
            .map_err(|e| ProbeError::new(format!("{}: {e}", ca_file.display())))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProbeError::new(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let conn = rustls::ClientConnection::new(Arc::new(config), server)
        .map_err(|e| ProbeError::new(e.to_string()))?;
    let sock = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| ProbeError::new(format!("cannot connect to {addr}: {e}")))?;
    sock.set_read_timeout(Some(timeout))
        .map_err(|e| ProbeError::new(e.to_string()))?;
    sock.set_write_timeout(Some(timeout))
        .map_err(|e| ProbeError::new(e.to_string()))?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: healthcheck\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(request.as_bytes())
        .map_err(|e| ProbeError::new(format!("HTTPS exchange with {addr} failed: {e}")))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = tls
            .read(&mut buf)
            .map_err(|e| ProbeError::new(format!("HTTPS exchange with {addr} failed: {e}")))?;
        if n == 0 {
            return Err(ProbeError::new(format!(
                "{addr} closed the connection without an answer"
            )));
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let status = line.split_whitespace().nth(1).unwrap_or("");
    if status.starts_with('2') {
        Ok(())
    } else {
        Err(ProbeError::new(format!("{addr} answered {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_deduplicated() {
        let n = server_names(&[
            "arc-local".into(),
            "LOCALHOST".into(),
            "[::1]".into(),
            "10.0.0.5".into(),
        ])
        .unwrap();
        assert_eq!(
            n,
            ["localhost", "127.0.0.1", "::1", "arc-local", "10.0.0.5"]
        );
        assert!(server_names(&["bad name".into()]).is_err());
        assert!(server_names(&["a/b".into()]).is_err());
    }

    #[test]
    fn the_ca_is_made_once_and_reused() {
        let temp = testkit::temp::dir("arc-local-tls");
        let dir = temp.path();
        let first = prepare(dir, server_names(&[]).unwrap()).unwrap();
        assert!(first.new_ca);
        let ca = std::fs::read_to_string(dir.join(CA_FILE)).unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(CA_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = prepare(dir, server_names(&["arc-local".into()]).unwrap()).unwrap();
        assert!(!second.new_ca);
        assert_eq!(std::fs::read_to_string(dir.join(CA_FILE)).unwrap(), ca);
    }
}
