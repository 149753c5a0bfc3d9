//! [`PravegaOptions`]: a controller address from a store URI, completed from the environment (credentials,
//! TLS certificates, the operation timeout).

use std::time::Duration;

use crate::error::{Result, StoreError};
use crate::uri::{PravegaAddress, StoreLocation, StoreUri};

/// Default for [`PravegaOptions::op_timeout`].
pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_secs(10);

/// The CA bundle trusted for `tls://` when `HINDSIGHT_PRAVEGA_TLS_CERT` names none.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// How to reach a Pravega cluster.
#[derive(Clone)]
pub struct PravegaOptions {
    /// Controller address; its credentials are the URI's or the environment's.
    pub address: PravegaAddress,
    /// PEM certificates to trust for TLS (contents, not paths).
    pub trust_certs: Vec<String>,
    /// Where `trust_certs` came from (a file or directory), for messages.
    pub trust_from: String,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// Longest time one operation (append, read, create, ...) may take before it fails.
    pub op_timeout: Duration,
}

impl std::fmt::Debug for PravegaOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address's Debug never prints the password.
        f.debug_struct("PravegaOptions")
            .field("address", &self.address)
            .field("trust_certs", &self.trust_certs.len())
            .field("insecure", &self.insecure)
            .field("op_timeout", &self.op_timeout)
            .finish()
    }
}

impl PravegaOptions {
    /// Parses a `tcp://` or `tls://` store URI and completes it from the environment (see the module docs of
    /// [`crate::pravega`]).
    pub fn from_uri(uri: &str) -> Result<Self> {
        match StoreUri::parse(uri)?.location() {
            StoreLocation::Pravega(addr) => Self::from_address(addr),
            StoreLocation::Embedded(_) => Err(StoreError::Uri {
                uri: crate::uri::redact(uri),
                reason: "a Pravega URI starts with tcp:// or tls://".into(),
            }),
        }
    }

    /// Completes an address from the environment.
    pub fn from_address(address: &PravegaAddress) -> Result<Self> {
        Self::from_address_with_env(address, |k| std::env::var(k).ok())
    }

    pub(crate) fn from_address_with_env(
        address: &PravegaAddress,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let mut address = address.clone();
        if address.credentials.is_none() {
            address.credentials = env("HINDSIGHT_PRAVEGA_USERNAME")
                .filter(|u| !u.is_empty())
                .map(|u| (u, env("HINDSIGHT_PRAVEGA_PASSWORD").unwrap_or_default()));
        }
        let insecure = env("HINDSIGHT_PRAVEGA_TLS_INSECURE").is_some_and(|v| v == "1" || v == "true");
        let trust_from = env("HINDSIGHT_PRAVEGA_TLS_CERT")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| SYSTEM_CA_BUNDLE.to_owned());
        let trust_certs = if address.tls {
            read_certs(&trust_from, insecure)?
        } else {
            Vec::new()
        };
        let op_timeout = match env("HINDSIGHT_PRAVEGA_TIMEOUT_MS") {
            Some(ms) => Duration::from_millis(
                ms.parse::<u64>()
                    .map_err(|_| StoreError::Uri {
                        uri: address.display_uri(),
                        reason: "HINDSIGHT_PRAVEGA_TIMEOUT_MS is not a number of milliseconds".into(),
                    })?
                    .max(1),
            ),
            None => DEFAULT_OP_TIMEOUT,
        };
        Ok(PravegaOptions {
            address,
            trust_certs,
            trust_from,
            insecure,
            op_timeout,
        })
    }
}

fn read_certs(path: &str, insecure: bool) -> Result<Vec<String>> {
    let p = std::path::Path::new(path);
    let read = |f: &std::path::Path| {
        std::fs::read_to_string(f)
            .map_err(|e| StoreError::io(format!("cannot read TLS certificate {}", f.display()), e))
    };
    if p.is_dir() {
        let mut certs = Vec::new();
        let entries = std::fs::read_dir(p)
            .map_err(|e| StoreError::io(format!("cannot list TLS certificates in {path}"), e))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| StoreError::io(format!("cannot list TLS certificates in {path}"), e))?;
            if entry.path().is_file() {
                certs.push(read(&entry.path())?);
            }
        }
        Ok(certs)
    } else if p.is_file() {
        Ok(vec![read(p)?])
    } else if insecure {
        Ok(Vec::new())
    } else {
        Err(StoreError::Uri {
            uri: path.to_owned(),
            reason: "no TLS certificates to trust there; set HINDSIGHT_PRAVEGA_TLS_CERT to a PEM file or directory"
                .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn opts(uri: &str, env: &[(&str, &str)]) -> Result<PravegaOptions> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let StoreLocation::Pravega(addr) = StoreUri::parse(uri)?.location().clone() else {
            panic!("{uri} is not a Pravega URI");
        };
        PravegaOptions::from_address_with_env(&addr, |k| env.get(k).cloned())
    }

    #[test]
    fn the_environment_completes_an_address() {
        let o = opts(
            "tcp://h:1",
            &[
                ("HINDSIGHT_PRAVEGA_USERNAME", "u"),
                ("HINDSIGHT_PRAVEGA_PASSWORD", "p"),
            ],
        )
        .expect("env credentials");
        assert_eq!(o.address.credentials, Some(("u".into(), "p".into())));
        // Credentials in the URI win.
        let o = opts("tcp://a:b@h:1", &[("HINDSIGHT_PRAVEGA_USERNAME", "u")]).expect("uri credentials");
        assert_eq!(o.address.credentials, Some(("a".into(), "b".into())));
        assert!(!format!("{o:?}").contains("\"b\""));

        let o = opts(
            "tls://h:1",
            &[
                ("HINDSIGHT_PRAVEGA_TLS_INSECURE", "1"),
                ("HINDSIGHT_PRAVEGA_TLS_CERT", "/nope"),
            ],
        )
        .expect("insecure tls");
        assert!(o.address.tls && o.insecure);

        let o = opts("tcp://h:1", &[("HINDSIGHT_PRAVEGA_TIMEOUT_MS", "250")]).expect("timeout");
        assert_eq!(o.op_timeout, Duration::from_millis(250));
        assert!(opts("tcp://h:1", &[("HINDSIGHT_PRAVEGA_TIMEOUT_MS", "soon")]).is_err());
    }

    #[test]
    fn tls_without_certificates_names_the_setting() {
        let err =
            opts("tls://h:1", &[("HINDSIGHT_PRAVEGA_TLS_CERT", "/does/not/exist")]).expect_err("no certs");
        assert!(err.to_string().contains("HINDSIGHT_PRAVEGA_TLS_CERT"), "{err}");
        assert!(PravegaOptions::from_uri("/a/dir").is_err());
    }
}
