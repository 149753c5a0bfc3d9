//! Store passwords in the desktop's Secret Service (GNOME Keyring, KWallet; in a Flatpak the secret portal),
//! never in GSettings.
//!
//! A saved store address is its *public* form, `tcp://user@host:port`: the user, never the password. The
//! password is a keyring item whose `store` attribute is that public address, so one user on one controller has
//! one password, whatever else changes. An address with a password (typed into the preferences, or saved by an
//! older version) is split on the way in: the password goes to the keyring, the rest to GSettings.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use hindsight_store::uri::StoreLocation;
use hindsight_store::StoreUri;

/// The keyring item's schema: what the item is, for keyring browsers (Seahorse shows it).
const SCHEMA: &str = "io.github.hindsight.Hindsight.Store";
/// How long a keyring call may take before the app goes on without it (a Secret Service that does not answer
/// must not hold the app's start).
const KEYRING_TIMEOUT: Duration = Duration::from_secs(5);

/// Where passwords are kept: the Secret Service, or a map in the tests.
pub trait Secrets {
    /// Saves `password` for the public address `store`, replacing the one saved before.
    fn save(&self, store: &str, password: &str) -> Result<()>;
    /// The password saved for the public address `store`.
    fn lookup(&self, store: &str) -> Result<Option<String>>;
}

/// A store address split for saving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// What may be saved and shown: a directory, or a Pravega URI with the user and no password.
    pub public: String,
    /// The password the address carried, if any.
    pub password: Option<String>,
}

/// Splits a store address into its public form and its password. Empty text is the built-in store.
pub fn split(text: &str) -> Result<Split, hindsight_store::StoreError> {
    if text.trim().is_empty() {
        return Ok(Split {
            public: String::new(),
            password: None,
        });
    }
    let uri = StoreUri::parse(text)?;
    Ok(match uri.location() {
        StoreLocation::Pravega(address) => Split {
            public: address.public_uri(),
            password: address
                .credentials
                .as_ref()
                .map(|(_, password)| password.clone())
                .filter(|p| !p.is_empty()),
        },
        StoreLocation::Embedded(_) => Split {
            public: uri.connect_string(),
            password: None,
        },
    })
}

/// The user a public Pravega address names (`None`: no user, or not Pravega).
pub fn user_of(public: &str) -> Option<String> {
    match StoreUri::parse(public).ok()?.location() {
        StoreLocation::Pravega(address) => address.credentials.as_ref().map(|(user, _)| user.clone()),
        StoreLocation::Embedded(_) => None,
    }
}

/// The address that opens the store: `public` with `password` put back.
pub fn with_password(public: &str, password: &str) -> Result<String> {
    let uri = StoreUri::parse(public).map_err(|e| anyhow!("{e}"))?;
    match uri.location() {
        StoreLocation::Pravega(address) => {
            let mut address = address.clone();
            let user = address
                .credentials
                .take()
                .map(|(user, _)| user)
                .ok_or_else(|| anyhow!("{public} names no user for the password"))?;
            address.credentials = Some((user, password.to_owned()));
            Ok(address.connect_uri())
        }
        StoreLocation::Embedded(_) => Ok(uri.connect_string()),
    }
}

/// Saves the address typed by the user: its password into `secrets`; returns the public form, the only part
/// that may go to GSettings.
pub fn save(secrets: &dyn Secrets, text: &str) -> Result<String> {
    let split = split(text).map_err(|e| anyhow!("{e}"))?;
    if let Some(password) = &split.password {
        secrets
            .save(&split.public, password)
            .context("cannot keep the password in the keyring; nothing was saved")?;
    }
    Ok(split.public)
}

/// What a saved address opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The address to open, with the password from the keyring when there is one.
    pub connect: String,
    /// The saved address carried a password (an older version saved it so) and the keyring now has it: save
    /// this public form in its place.
    pub migrated: Option<String>,
    /// Why the keyring gave no password for an address that names a user (the store may still accept it).
    pub warning: Option<String>,
}

/// Resolves the address saved in GSettings: a password found there moves to the keyring; a user without a
/// password gets the keyring's.
pub fn resolve(secrets: &dyn Secrets, saved: &str) -> Resolved {
    let split = match split(saved) {
        Ok(split) => split,
        // Opening it reports the problem in full.
        Err(_) => {
            return Resolved {
                connect: saved.to_owned(),
                migrated: None,
                warning: None,
            }
        }
    };
    if let Some(password) = split.password {
        return match secrets.save(&split.public, &password) {
            Ok(()) => Resolved {
                connect: saved.to_owned(),
                migrated: Some(split.public),
                warning: None,
            },
            Err(e) => Resolved {
                connect: saved.to_owned(),
                migrated: None,
                warning: Some(format!(
                    "the store password stays in the preferences: the keyring cannot take it ({e:#})"
                )),
            },
        };
    }
    if user_of(&split.public).is_none() {
        return Resolved {
            connect: split.public,
            migrated: None,
            warning: None,
        };
    }
    let missing = |why: String| Resolved {
        connect: split.public.clone(),
        migrated: None,
        warning: Some(why),
    };
    match secrets.lookup(&split.public) {
        Ok(Some(password)) => match with_password(&split.public, &password) {
            Ok(connect) => Resolved {
                connect,
                migrated: None,
                warning: None,
            },
            Err(e) => missing(format!("{e:#}")),
        },
        Ok(None) => missing(format!("the keyring has no password for {}", split.public)),
        Err(e) => missing(format!(
            "no password for {} from the keyring: {e:#}",
            split.public
        )),
    }
}

/// The Secret Service through oo7. Each call runs on its own small runtime with a time limit, so it can be
/// called from any thread that is not inside an async runtime (the app's start, a worker thread).
#[derive(Debug, Default, Clone, Copy)]
pub struct Keyring;

impl Keyring {
    fn attributes(store: &str) -> HashMap<&'static str, String> {
        HashMap::from([("xdg:schema", SCHEMA.to_owned()), ("store", store.to_owned())])
    }

    fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the keyring's runtime")?;
        runtime.block_on(async {
            tokio::time::timeout(KEYRING_TIMEOUT, work)
                .await
                .map_err(|_| anyhow!("the Secret Service did not answer within {KEYRING_TIMEOUT:?}"))?
        })
    }

    async fn open() -> Result<oo7::Keyring> {
        let keyring = oo7::Keyring::new()
            .await
            .context("no Secret Service (is a keyring running in this session?)")?;
        keyring.unlock().await.context("the keyring stays locked")?;
        Ok(keyring)
    }
}

impl Secrets for Keyring {
    fn save(&self, store: &str, password: &str) -> Result<()> {
        Self::block_on(async {
            let keyring = Self::open().await?;
            let label = format!("Hindsight store {store}");
            keyring
                .create_item(&label, &Self::attributes(store), password, true)
                .await
                .context("the keyring refused the password")?;
            tracing::info!(store, "store password kept in the keyring");
            Ok(())
        })
    }

    fn lookup(&self, store: &str) -> Result<Option<String>> {
        Self::block_on(async {
            let keyring = Self::open().await?;
            let items = keyring
                .search_items(&Self::attributes(store))
                .await
                .context("cannot search the keyring")?;
            let Some(item) = items.first() else {
                return Ok(None);
            };
            item.unlock().await.context("the keyring item stays locked")?;
            let secret = item.secret().await.context("cannot read the keyring item")?;
            let password =
                String::from_utf8(secret.as_bytes().to_vec()).context("the keyring item is not text")?;
            Ok(Some(password))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A keyring in memory; `broken` refuses every call, as a session without a Secret Service does.
    #[derive(Default)]
    struct Memory {
        items: RefCell<HashMap<String, String>>,
        broken: bool,
    }

    impl Secrets for Memory {
        fn save(&self, store: &str, password: &str) -> Result<()> {
            if self.broken {
                return Err(anyhow!("no Secret Service"));
            }
            self.items.borrow_mut().insert(store.into(), password.into());
            Ok(())
        }

        fn lookup(&self, store: &str) -> Result<Option<String>> {
            if self.broken {
                return Err(anyhow!("no Secret Service"));
            }
            Ok(self.items.borrow().get(store).cloned())
        }
    }

    #[test]
    fn a_typed_password_goes_to_the_keyring_and_only_the_rest_is_saved() {
        let keyring = Memory::default();
        let public = save(&keyring, "tcp://admin:s3cr%40t@ctl.example:9090").expect("saved");
        assert_eq!(public, "tcp://admin@ctl.example:9090");
        assert_eq!(
            keyring.items.borrow().get(&public).map(String::as_str),
            Some("s3cr@t")
        );
        let resolved = resolve(&keyring, &public);
        assert_eq!(resolved.connect, "tcp://admin:s3cr%40t@ctl.example:9090");
        assert_eq!((resolved.migrated, resolved.warning), (None, None));
    }

    #[test]
    fn nothing_is_saved_when_the_keyring_refuses_the_password() {
        let keyring = Memory {
            broken: true,
            ..Memory::default()
        };
        let e = save(&keyring, "tls://admin:pw@ctl.example").expect_err("refused");
        assert!(format!("{e:#}").contains("nothing was saved"), "{e:#}");
        // Addresses without a password need no keyring.
        assert_eq!(
            save(&keyring, "tcp://ctl.example").expect("saved"),
            "tcp://ctl.example:9090"
        );
        assert_eq!(save(&keyring, "/srv/video").expect("saved"), "/srv/video");
        assert_eq!(save(&keyring, "  ").expect("saved"), "");
    }

    #[test]
    fn a_password_saved_by_an_older_version_moves_to_the_keyring() {
        let keyring = Memory::default();
        let resolved = resolve(&keyring, "tcp://admin:old@ctl.example:9090");
        assert_eq!(resolved.connect, "tcp://admin:old@ctl.example:9090");
        assert_eq!(resolved.migrated.as_deref(), Some("tcp://admin@ctl.example:9090"));
        assert_eq!(
            keyring
                .lookup("tcp://admin@ctl.example:9090")
                .expect("lookup")
                .as_deref(),
            Some("old")
        );
        // Without a keyring it stays where it was (never lost), and says why.
        let broken = Memory {
            broken: true,
            ..Memory::default()
        };
        let resolved = resolve(&broken, "tcp://admin:old@ctl.example:9090");
        assert_eq!(resolved.migrated, None);
        assert!(resolved
            .warning
            .expect("warning")
            .contains("stays in the preferences"));
    }

    #[test]
    fn a_user_without_a_saved_password_opens_without_one_and_says_why() {
        let keyring = Memory::default();
        let resolved = resolve(&keyring, "tcp://admin@ctl.example:9090");
        assert_eq!(resolved.connect, "tcp://admin@ctl.example:9090");
        let warning = resolved.warning.expect("warning");
        assert!(
            warning.contains("has no password for tcp://admin@ctl.example:9090"),
            "{warning}"
        );
        // No user, no keyring asked.
        let broken = Memory {
            broken: true,
            ..Memory::default()
        };
        let resolved = resolve(&broken, "tcp://ctl.example:9090");
        assert_eq!(
            (resolved.connect.as_str(), resolved.warning),
            ("tcp://ctl.example:9090", None)
        );
        assert_eq!(user_of("tcp://admin@ctl.example:9090").as_deref(), Some("admin"));
        assert_eq!(user_of("/srv/video"), None);
    }
}
