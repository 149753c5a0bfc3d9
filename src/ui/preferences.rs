//! The preferences window: which store the app opens (the embedded store, another directory, or a Pravega
//! controller). Saved in GSettings; a different store takes effect when the app starts next.

use gettextrs::gettext;
use relm4::adw::prelude::*;
use relm4::{adw, gtk};

use hindsight_store::evidence::{self, SigningKey};
use hindsight_store::StoreUri;

use crate::credentials::{self, Keyring, Secrets};
use crate::settings::Settings;
use crate::ui::i18n::i18n_f;

/// What the store entry holds, checked and normalised (absolute path, `tcp://host:port`) before it is saved;
/// empty means the built-in store.
pub fn validate_store_uri(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(String::new());
    }
    StoreUri::parse(text)
        .map(|uri| uri.connect_string())
        .map_err(|e| format!("{}: {e}", gettext("Use a directory, file://, tcp:// or tls://")))
}

/// A Pravega controller entry: a store URI that names Pravega.
fn validate_controller_uri(text: &str) -> Result<String, String> {
    match StoreUri::parse(text.trim()) {
        Ok(uri) if !uri.is_embedded() => Ok(uri.connect_string()),
        _ => Err(gettext("A Pravega store is tcp://host:port or tls://host:port")),
    }
}

/// Shows the window over `parent`. `current` is the store open now; `toast` shows a short message.
pub fn show(
    parent: &impl IsA<gtk::Window>,
    settings: &Settings,
    current: &str,
    toast: impl Fn(String) + Clone + 'static,
) {
    let window = adw::PreferencesWindow::builder()
        .transient_for(parent)
        .modal(true)
        .search_enabled(false)
        .build();
    let page = adw::PreferencesPage::new();
    page.add(&store_group(settings, current, toast.clone()));
    page.add(&evidence_group(toast));
    window.add(&page);
    window.present();
}

/// Runs `work` (keyring calls: D-Bus round trips that may wait on an unlock prompt) on a worker thread and
/// `done` with its result on the main thread.
fn in_background<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    done: impl FnOnce(anyhow::Result<T>) + 'static,
) {
    relm4::gtk::glib::MainContext::default().spawn_local(async move {
        let result = gtk::gio::spawn_blocking(work)
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the keyring call failed")));
        done(result);
    });
}

/// The public form of a saved address (an older version may have saved one with its password).
fn public_of(saved: &str) -> String {
    credentials::split(saved)
        .map(|s| s.public)
        .unwrap_or_else(|_| hindsight_store::redact(saved))
}

/// "Store": the store address, its password (into the keyring, never shown) and the Pravega controller.
fn store_group(
    settings: &Settings,
    current: &str,
    toast: impl Fn(String) + Clone + 'static,
) -> adw::PreferencesGroup {
    let group = adw::PreferencesGroup::builder()
        .title(gettext("Store"))
        .description(format!(
            "{} {current}. {}",
            gettext("Open now:"),
            gettext("A different store is opened the next time Hindsight starts.")
        ))
        .build();
    let store_row = adw::EntryRow::builder()
        .title(gettext("Store (empty: the built-in store)"))
        .text(public_of(&settings.store_uri().unwrap_or_default()))
        .show_apply_button(true)
        .build();
    // Write-only: the saved password is never put back into the row.
    let password_row = adw::PasswordEntryRow::builder()
        .title(gettext("Password of the store's user (kept in the keyring)"))
        .show_apply_button(true)
        .build();
    let controller_row = adw::EntryRow::builder()
        .title(gettext("Pravega controller"))
        .text(public_of(&settings.controller_uri()))
        .show_apply_button(true)
        .build();
    let use_pravega = gtk::Button::builder()
        .label(gettext("Use"))
        .valign(gtk::Align::Center)
        .tooltip_text(gettext("Open this Pravega controller's streams next time"))
        .build();
    controller_row.add_suffix(&use_pravega);
    group.add(&store_row);
    group.add(&password_row);
    group.add(&controller_row);
    if !settings.is_persistent() {
        group.set_description(Some(&gettext(
            "Preferences cannot be saved: the GSettings schema is not installed.",
        )));
    }
    show_saved_password(&password_row, settings);

    let saved = || gettext("Saved: the store opens the next time Hindsight starts");
    let (s, t, password) = (settings.clone(), toast.clone(), password_row.clone());
    store_row.connect_apply(move |row| {
        let text = match validate_store_uri(&row.text()) {
            Ok(text) => text,
            Err(e) => return t(e),
        };
        let (s, t, row, password) = (s.clone(), t.clone(), row.clone(), password.clone());
        in_background(
            move || credentials::save(&Keyring, &text),
            move |result| match result {
                Ok(public) => {
                    s.set_store_uri(&public);
                    row.set_text(&public);
                    show_saved_password(&password, &s);
                    t(saved());
                }
                Err(e) => t(format!("{e:#}")),
            },
        );
    });
    let (s, t) = (settings.clone(), toast.clone());
    password_row.connect_apply(move |row| {
        let public = public_of(&s.store_uri().unwrap_or_default());
        if credentials::user_of(&public).is_none() {
            return t(gettext(
                "Put the user into the store address first (tcp://user@host:port) and save it",
            ));
        }
        let password = row.text().to_string();
        row.set_text("");
        let (s, t, row) = (s.clone(), t.clone(), row.clone());
        in_background(
            move || Keyring.save(&public, &password),
            move |result| match result {
                Ok(()) => {
                    show_saved_password(&row, &s);
                    t(gettext("Password kept in the keyring"));
                }
                Err(e) => t(format!("{e:#}")),
            },
        );
    });
    let (s, t) = (settings.clone(), toast.clone());
    controller_row.connect_apply(move |row| {
        let text = match validate_controller_uri(&row.text()) {
            Ok(text) => text,
            Err(e) => return t(e),
        };
        let (s, t, row) = (s.clone(), t.clone(), row.clone());
        in_background(
            move || credentials::save(&Keyring, &text),
            move |result| match result {
                Ok(public) => {
                    s.set_controller_uri(&public);
                    row.set_text(&public);
                }
                Err(e) => t(format!("{e:#}")),
            },
        );
    });
    let (s, row, store_row) = (settings.clone(), controller_row.clone(), store_row.clone());
    use_pravega.connect_clicked(move |_| {
        let text = match validate_controller_uri(&row.text()) {
            Ok(text) => text,
            Err(e) => return toast(e),
        };
        let (s, t, row, store_row, password) = (
            s.clone(),
            toast.clone(),
            row.clone(),
            store_row.clone(),
            password_row.clone(),
        );
        in_background(
            move || credentials::save(&Keyring, &text),
            move |result| match result {
                Ok(public) => {
                    s.set_controller_uri(&public);
                    s.set_store_uri(&public);
                    row.set_text(&public);
                    store_row.set_text(&public);
                    show_saved_password(&password, &s);
                    t(saved());
                }
                Err(e) => t(format!("{e:#}")),
            },
        );
    });
    group
}

/// Titles the password row by whether the keyring holds a password for the saved store's user.
fn show_saved_password(row: &adw::PasswordEntryRow, settings: &Settings) {
    let public = public_of(&settings.store_uri().unwrap_or_default());
    if credentials::user_of(&public).is_none() {
        row.set_title(&gettext("Password (the store address names no user)"));
        return;
    }
    let row = row.clone();
    in_background(
        move || Keyring.lookup(&public),
        move |found| {
            row.set_title(&match found {
                Ok(Some(_)) => gettext("Password (saved in the keyring; type a new one to change it)"),
                Ok(None) => gettext("Password of the store's user (kept in the keyring)"),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "cannot ask the keyring for the store password");
                    gettext("Password (no keyring in this session)")
                }
            });
        },
    );
}

/// The installation's signing key for people: its fingerprint and the whole public key (hex). Creates the key
/// when there is none yet, as the first recording would.
pub fn signing_key_summary(path: &std::path::Path) -> Result<(String, String), String> {
    let key = SigningKey::load_or_create(path).map_err(|e| e.to_string())?;
    let public = key.public_key();
    Ok((evidence::fingerprint(&public), hex::encode(public)))
}

/// "Evidence": the key that signs recordings and cases, with a button that copies the public key.
fn evidence_group(toast: impl Fn(String) + Clone + 'static) -> adw::PreferencesGroup {
    let group = adw::PreferencesGroup::builder()
        .title(gettext("Evidence"))
        .description(gettext(
            "Recordings and case exports are signed with this installation's key, so that anyone can check they were not altered.",
        ))
        .build();
    let row = adw::ActionRow::builder().title(gettext("Signing key")).build();
    match signing_key_summary(&evidence::default_key_path()) {
        Ok((fingerprint, public)) => {
            row.set_subtitle(&i18n_f("Fingerprint {}", &[&fingerprint]));
            let copy = gtk::Button::builder()
                .icon_name("edit-copy-symbolic")
                .valign(gtk::Align::Center)
                .tooltip_text(gettext("Copy the public key"))
                .build();
            copy.add_css_class("flat");
            copy.connect_clicked(move |button| {
                button.clipboard().set_text(&public);
                toast(gettext("Public key copied"));
            });
            row.add_suffix(&copy);
        }
        Err(e) => row.set_subtitle(&e),
    }
    group.add(&row);
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_entries_are_checked_and_normalised_before_saving() {
        assert_eq!(validate_store_uri("  ").as_deref(), Ok(""));
        assert_eq!(validate_store_uri("/srv/video").as_deref(), Ok("/srv/video"));
        assert_eq!(
            validate_store_uri("file:///srv/video").as_deref(),
            Ok("/srv/video")
        );
        assert_eq!(
            validate_store_uri("tcp://10.0.0.5:9090/").as_deref(),
            Ok("tcp://10.0.0.5:9090")
        );
        assert_eq!(validate_store_uri("tcp://ctl").as_deref(), Ok("tcp://ctl:9090"));
        assert_eq!(
            validate_store_uri("tls://u:p@ctl:9090").as_deref(),
            Ok("tls://u:p@ctl:9090")
        );
        assert!(validate_store_uri("tcp://").is_err());
        assert!(validate_store_uri("tcp://host:9090/scope").is_err());
        assert!(validate_store_uri("http://x").is_err());
        assert!(validate_controller_uri("/srv/video").is_err());
        assert_eq!(validate_controller_uri("tcp://h/").as_deref(), Ok("tcp://h:9090"));
    }

    #[test]
    fn the_signing_key_is_shown_by_fingerprint_and_stays_the_same() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hindsight/signing-key");
        let (fingerprint, public) = signing_key_summary(&path).expect("created");
        assert_eq!((fingerprint.len(), public.len()), (16, 64));
        assert_eq!(signing_key_summary(&path), Ok((fingerprint, public)));
        std::fs::write(&path, "not a key").expect("write");
        let err = signing_key_summary(&path).expect_err("a bad key file is an error");
        assert!(err.contains("not a Hindsight key file"), "{err}");
    }
}
