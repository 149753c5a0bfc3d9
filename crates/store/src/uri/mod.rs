//! Store addresses: [`StoreUri`] parses the one syntax the app, the command line and the GStreamer elements
//! accept, shows it without its password, and opens it. Opened stores are shared: every caller in a process
//! that opens the same address gets the same backend (one Pravega client and runtime, however many elements
//! read from it), for as long as somebody holds it.
//!
//! | URI | store |
//! |---|---|
//! | `/path`, `relative/path`, `file:///path` | the embedded directory store at that path |
//! | `tcp://[user[:password]@]host[:port]` | a Pravega controller (port 9090 when omitted) |
//! | `tls://[user[:password]@]host[:port]` | the same over TLS |
//!
//! Credentials in a URI are percent-encoded (`%40` for `@`, `%3A` for `:`).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, Weak};

use crate::backend::Backend;
use crate::embedded::EmbeddedStore;
use crate::error::{Result, StoreError};

/// The Pravega controller port when a URI gives none.
pub const DEFAULT_PRAVEGA_PORT: u16 = 9090;

/// A Pravega controller as a URI names it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PravegaAddress {
    /// TLS to the controller and the segment stores (`tls://`).
    pub tls: bool,
    /// Controller host name or address (IPv6 without brackets).
    pub host: String,
    /// Controller port.
    pub port: u16,
    /// User and password given in the URI.
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for PravegaAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password.
        f.debug_struct("PravegaAddress")
            .field("tls", &self.tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .finish()
    }
}

impl PravegaAddress {
    fn host_part(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    fn scheme(&self) -> &'static str {
        if self.tls {
            "tls"
        } else {
            "tcp"
        }
    }

    /// The URI with the credentials, percent-encoded: it opens the same store again elsewhere.
    pub fn connect_uri(&self) -> String {
        let userinfo = self
            .credentials
            .as_ref()
            .map(|(u, p)| format!("{}:{}@", percent_encode(u), percent_encode(p)))
            .unwrap_or_default();
        format!("{}://{userinfo}{}:{}", self.scheme(), self.host_part(), self.port)
    }

    /// The URI without the password, the user percent-encoded: what may be saved (e.g. in settings) and parsed
    /// back to the same user and controller, the password kept elsewhere.
    pub fn public_uri(&self) -> String {
        let user = self
            .credentials
            .as_ref()
            .map(|(u, _)| format!("{}@", percent_encode(u)))
            .unwrap_or_default();
        format!("{}://{user}{}:{}", self.scheme(), self.host_part(), self.port)
    }

    /// The URI for people: scheme, user (never the password), host and port.
    pub fn display_uri(&self) -> String {
        let user = self
            .credentials
            .as_ref()
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        format!("{}://{user}{}:{}", self.scheme(), self.host_part(), self.port)
    }
}

/// Where a store is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StoreLocation {
    /// The embedded store in this directory (absolute).
    Embedded(PathBuf),
    /// A Pravega cluster.
    Pravega(PravegaAddress),
}

/// A parsed store address. `Display` never shows a password; [`StoreUri::connect_string`] keeps it for
/// passing on (e.g. to a GStreamer element's `store` property).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreUri {
    location: StoreLocation,
}

fn invalid(uri: &str, reason: &str) -> StoreError {
    StoreError::Uri {
        uri: redact(uri),
        reason: reason.to_owned(),
    }
}

impl StoreUri {
    /// Parses a store URI (see the module docs). Relative paths are made absolute against the current
    /// directory, so the address means the same store wherever it is passed on.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Err(invalid(text, "empty"));
        }
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(invalid(text, "a file URI needs an absolute path (file:///...)"));
            }
            return Ok(Self::embedded(path));
        }
        if let Some(rest) = text.strip_prefix("tcp://") {
            return parse_pravega(text, rest, false);
        }
        if let Some(rest) = text.strip_prefix("tls://") {
            return parse_pravega(text, rest, true);
        }
        if text.contains("://") {
            return Err(invalid(
                text,
                "unknown scheme; use a directory, file://, tcp:// or tls://",
            ));
        }
        Ok(Self::embedded(text))
    }

    /// The embedded store in `dir`.
    pub fn embedded(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        StoreUri {
            location: StoreLocation::Embedded(dir),
        }
    }

    /// The default store: the embedded store in `$XDG_DATA_HOME/hindsight/streams`
    /// (`~/.local/share/hindsight/streams`).
    pub fn default_location() -> Self {
        Self::embedded(default_store_dir())
    }

    /// `explicit` when given and not empty, else [`StoreUri::default_location`].
    pub fn resolve(explicit: Option<&str>) -> Result<Self> {
        match explicit.map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => Self::parse(text),
            None => Ok(Self::default_location()),
        }
    }

    /// Where the store is.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// True for the embedded directory store.
    pub fn is_embedded(&self) -> bool {
        matches!(self.location, StoreLocation::Embedded(_))
    }

    /// The address with its credentials: it opens the same store again elsewhere. For passing on only, never
    /// for showing.
    pub fn connect_string(&self) -> String {
        match &self.location {
            StoreLocation::Embedded(dir) => dir.display().to_string(),
            StoreLocation::Pravega(addr) => addr.connect_uri(),
        }
    }

    /// Opens the store, or hands out the one this process opened already for the same address. Reading a
    /// missing embedded store directory fails on first use with [`StoreError::StoreMissing`].
    pub fn open(&self) -> Result<Arc<dyn Backend>> {
        registry::shared(self, || self.open_new())
    }

    /// Like [`StoreUri::open`], and creates the directory of an embedded store first, so that a first start
    /// (or a first recording) works on a fresh machine.
    pub fn open_or_create(&self) -> Result<Arc<dyn Backend>> {
        if let StoreLocation::Embedded(dir) = &self.location {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::io(format!("cannot create store directory {}", dir.display()), e))?;
        }
        self.open()
    }

    /// Opens a new, unshared backend (tests that need two independent clients use this).
    pub fn open_new(&self) -> Result<Arc<dyn Backend>> {
        match &self.location {
            StoreLocation::Embedded(dir) => Ok(Arc::new(EmbeddedStore::open(dir)?)),
            #[cfg(feature = "pravega")]
            StoreLocation::Pravega(addr) => Ok(Arc::new(crate::pravega::PravegaStore::open_address(addr)?)),
            #[cfg(not(feature = "pravega"))]
            StoreLocation::Pravega(_) => Err(StoreError::Unsupported(
                "this build has no Pravega backend (feature `pravega`)".into(),
            )),
        }
    }
}

impl fmt::Display for StoreUri {
    /// The address for people: a path, or a Pravega URI without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            StoreLocation::Embedded(dir) => write!(f, "{}", dir.display()),
            StoreLocation::Pravega(addr) => f.write_str(&addr.display_uri()),
        }
    }
}

impl FromStr for StoreUri {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

fn parse_pravega(uri: &str, rest: &str, tls: bool) -> Result<StoreUri> {
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') || rest.contains('?') || rest.contains('#') {
        return Err(invalid(
            uri,
            "a Pravega URI names only the controller: tcp://[user:password@]host[:port]",
        ));
    }
    let (userinfo, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| invalid(uri, "an IPv6 address needs its closing bracket"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| invalid(uri, "the port is not a number"))?,
            None if after.is_empty() => DEFAULT_PRAVEGA_PORT,
            None => return Err(invalid(uri, "unexpected text after the IPv6 address")),
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(invalid(uri, "the text in brackets is not an IPv6 address"));
        }
        (host, port)
    } else {
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| invalid(uri, "the port is not a number"))?,
            ),
            None => (hostport, DEFAULT_PRAVEGA_PORT),
        };
        // Unbracketed, a colon would be read back as a port separator and brackets as an IPv6 address.
        if host.contains([':', '[', ']']) {
            return Err(invalid(uri, "an IPv6 address goes in brackets: tcp://[::1]:9090"));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(invalid(uri, "no controller host"));
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            uri,
            "the host name contains spaces or control characters",
        ));
    }
    let credentials = userinfo.map(|u| {
        let (user, password) = u.split_once(':').unwrap_or((u, ""));
        (percent_decode(user), percent_decode(password))
    });
    Ok(StoreUri {
        location: StoreLocation::Pravega(PravegaAddress {
            tls,
            host: host.to_owned(),
            port,
            credentials,
        }),
    })
}

pub use crate::xdg::default_store_dir;

/// Any text that may hold a store URI, for messages and logs: the password of `scheme://user:password@host`
/// is dropped. Works on text that does not parse, too.
pub fn redact(uri: &str) -> String {
    match (uri.find("://"), uri.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &uri[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &uri[..s + 3], &uri[at + 1..])
        }
        _ => uri.to_owned(),
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The stores opened in this process, by address. Weak: a store closes when its last user drops it.
mod registry {
    use super::*;

    type Stores = HashMap<StoreUri, Weak<dyn Backend>>;

    fn stores() -> &'static Mutex<Stores> {
        static STORES: std::sync::OnceLock<Mutex<Stores>> = std::sync::OnceLock::new();
        STORES.get_or_init(Mutex::default)
    }

    pub(super) fn shared(
        uri: &StoreUri,
        open: impl FnOnce() -> Result<Arc<dyn Backend>>,
    ) -> Result<Arc<dyn Backend>> {
        // Held while opening, so that two threads opening the same address at once share one client. Opening
        // does not connect (Pravega connects lazily), so this is short.
        let mut map = stores().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = map.get(uri).and_then(Weak::upgrade) {
            return Ok(store);
        }
        map.retain(|_, w| w.strong_count() > 0);
        let store = open()?;
        map.insert(uri.clone(), Arc::downgrade(&store));
        Ok(store)
    }
}

#[cfg(test)]
mod tests;
