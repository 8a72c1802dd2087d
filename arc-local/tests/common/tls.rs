//! HTTPS to the emulator with rustls: a client that trusts exactly the roots it is given.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::{request_bytes, HttpResponse};

/// The certificates of a PEM file as trusted roots.
pub fn roots_from(pem: &Path) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pem).expect("read the CA file") {
        roots.add(cert.expect("a PEM certificate")).unwrap();
    }
    roots
}

/// One HTTPS exchange with 127.0.0.1:`port`, verifying the certificate for `server_name`
/// (`localhost`, `127.0.0.1`, ...) against `roots` only. Err carries the TLS or I/O error (an
/// untrusted certificate fails the handshake).
pub fn https(
    port: u16,
    server_name: &str,
    request: (&str, &str),
    headers: &[(&str, &str)],
    body: &[u8],
    roots: rustls::RootCertStore,
) -> Result<HttpResponse, String> {
    let (method, path) = request;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let sock = TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(&request_bytes(port, method, path, headers, body))
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // A peer that closes without close_notify after a whole answer is fine here.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    Ok(HttpResponse::parse(&raw))
}
