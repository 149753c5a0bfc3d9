//! A TLS handshake with the controller before the client is built, for `tls://` stores: pravega-client 0.3.7
//! reports a certificate it does not trust as a bare "transport error", and cannot connect to an IP address
//! over TLS at all. This check names the problem instead (the certificate, the CA file, the host name).
//!
//! Only certificate and name problems are reported here; a controller that cannot be reached is left to the
//! first operation, as for `tcp://` (stores connect lazily).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use super::options::PravegaOptions;
use crate::error::{Result, StoreError};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks that the controller of a `tls://` store presents a certificate the trusted CAs vouch for, for the
/// host name of the URI. `socket` is where that name resolved to (the store resolves it once, before).
pub(super) fn check(opts: &PravegaOptions, socket: Option<SocketAddr>) -> Result<()> {
    let addr = &opts.address;
    if !addr.tls || opts.insecure {
        return Ok(());
    }
    let shown = addr.display_uri();
    // A setting that cannot work (retrying will not help) and a server whose certificate is not trusted (the
    // server failed to authenticate itself).
    let fail = |reason: String| Err(StoreError::Invalid(format!("TLS to {shown}: {reason}")));
    let untrusted = |reason: String| Err(StoreError::Unauthenticated(format!("TLS to {shown}: {reason}")));
    if addr.host.parse::<std::net::IpAddr>().is_ok() {
        return fail(format!(
            "the Pravega client checks certificates against host names only, not IP addresses: use the name \
             the server's certificate is made out to (e.g. tls://localhost:{})",
            addr.port
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for pem in &opts.trust_certs {
        let mut reader = pem.as_bytes();
        let Ok(certs) = rustls_pemfile::certs(&mut reader) else {
            return fail(format!("a certificate in {} is not PEM", opts.trust_from));
        };
        for der in certs {
            // Bundles hold certificates rustls cannot use (e.g. old ones); the others still count.
            let _ = roots.add(&rustls::Certificate(der));
        }
    }
    if roots.is_empty() {
        return fail(format!("no usable CA certificate in {}", opts.trust_from));
    }
    let config = rustls::ClientConfig::builder()
        .with_safe_defaults()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let Ok(name) = rustls::ServerName::try_from(addr.host.as_str()) else {
        return fail(format!("{:?} is not a host name", addr.host));
    };
    let Some(socket) = socket else {
        return Ok(());
    };
    // Not reachable now: the first operation says so, as for tcp://.
    let Ok(mut tcp) = TcpStream::connect_timeout(&socket, CONNECT_TIMEOUT) else {
        return Ok(());
    };
    let _ = tcp.set_read_timeout(Some(HANDSHAKE_TIMEOUT));
    let _ = tcp.set_write_timeout(Some(HANDSHAKE_TIMEOUT));
    let mut conn = match rustls::ClientConnection::new(Arc::new(config), name) {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot set up TLS: {e}")),
    };
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            return match certificate_problem(&e) {
                Some(problem) => untrusted(format!(
                    "the controller's certificate is not accepted: {problem}; trusted CAs come from {} \
                     (HINDSIGHT_PRAVEGA_TLS_CERT names a PEM file or directory)",
                    opts.trust_from
                )),
                // Cut off or timed out: not a certificate problem, left to the client.
                None => Ok(()),
            };
        }
    }
    Ok(())
}

/// The certificate error inside a handshake failure, if that is what it was.
fn certificate_problem(e: &io::Error) -> Option<String> {
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    match inner {
        rustls::Error::InvalidCertificate(why) => Some(match why {
            rustls::CertificateError::UnknownIssuer => {
                "it is signed by a CA that is not trusted (unknown issuer)".to_owned()
            }
            rustls::CertificateError::NotValidForName => "it is not made out to this host name".to_owned(),
            rustls::CertificateError::Expired => "it has expired".to_owned(),
            other => format!("{other:?}"),
        }),
        rustls::Error::AlertReceived(alert) => Some(format!("the server ended the handshake ({alert:?})")),
        other => Some(other.to_string()),
    }
}
