//! Which stream in which store: the `stream`, `store` and `controller` properties both elements have, and
//! opening what they name.
//!
//! The store is `store` when set, else `controller` (the original plugin's property), else the
//! `PRAVEGA_CONTROLLER_URI` environment variable (as the original reads it), else the embedded store in the
//! XDG data directory. Opening goes through [`StoreUri::open`], so every element of a process that names the
//! same store shares one backend: a wall of sixteen `pravegasrc` on one Pravega controller runs one client.

use std::sync::Arc;

use gst::glib;
use gst::prelude::*;
use hindsight_store::{Backend, ErrorKind, StoreError, StoreUri, StreamName};

/// The environment variable the original plugin reads the controller from.
pub const CONTROLLER_ENV: &str = "PRAVEGA_CONTROLLER_URI";

/// The location properties, as set: `stream`, `store`, `controller`, and the original plugin's
/// `allow-create-scope` and `keycloak-file`.
#[derive(Debug, Clone)]
pub struct Location {
    stream: Option<String>,
    store: Option<String>,
    controller: Option<String>,
    allow_create_scope: bool,
    keycloak_file: Option<String>,
}

impl Default for Location {
    fn default() -> Self {
        Location {
            stream: None,
            store: None,
            controller: None,
            // The original's default: a writer creates the scope it needs.
            allow_create_scope: true,
            keycloak_file: None,
        }
    }
}

/// How a location failed to open: a GStreamer resource error code and the store error behind it, if any.
#[derive(Debug)]
pub struct OpenError {
    /// The code for the element error.
    pub code: gst::ResourceError,
    /// One line for people.
    pub message: String,
    /// The kind of the store's error, when the store said no.
    pub store_error: Option<ErrorKind>,
}

impl OpenError {
    /// A bad property value.
    pub fn settings(message: String) -> Self {
        OpenError {
            code: gst::ResourceError::Settings,
            message,
            store_error: None,
        }
    }

    /// From a store error that happened while `doing` (`OpenRead`, `Write`, …), with `context` in front of its
    /// text.
    pub fn store(context: &str, e: StoreError, doing: gst::ResourceError) -> Self {
        OpenError {
            code: crate::errors::resource_error(e.kind(), doing),
            message: format!("{context}: {e}"),
            store_error: Some(e.kind()),
        }
    }
}

const STORE_BLURB: &str = "Store URI: a directory or file:///path (embedded), tcp://host:9090 or tls://host:9090 \
     (Pravega); default: the controller property, else $PRAVEGA_CONTROLLER_URI, else the embedded store in the \
     XDG data directory";
const CONTROLLER_BLURB: &str =
    "Pravega controller URI (compatibility with the original plugin); used when store is not set";
const CREATE_SCOPE_BLURB: &str = "Create the stream's scope when it does not exist (pravegasink; pravegasrc \
     never creates anything and accepts it for compatibility with the original plugin)";
const KEYCLOAK_BLURB: &str = "Keycloak service account file of the original plugin: not supported, starting \
     with it set is an error; give Pravega credentials in the store URI (tcp://user:password@host:9090)";

impl Location {
    /// The param specs of the three properties; `stream_blurb` says what the element does with the stream.
    pub fn param_specs(stream_blurb: &str) -> Vec<glib::ParamSpec> {
        vec![
            glib::ParamSpecString::builder("stream")
                .nick("Stream")
                .blurb(stream_blurb)
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("store")
                .nick("Store")
                .blurb(STORE_BLURB)
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("controller")
                .nick("Controller")
                .blurb(CONTROLLER_BLURB)
                .mutable_ready()
                .build(),
            glib::ParamSpecBoolean::builder("allow-create-scope")
                .nick("Allow create scope")
                .blurb(CREATE_SCOPE_BLURB)
                .default_value(true)
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("keycloak-file")
                .nick("Keycloak file")
                .blurb(KEYCLOAK_BLURB)
                .mutable_ready()
                .build(),
        ]
    }

    /// Sets one of the location properties; false when `name` is not one of them.
    pub fn set(&mut self, name: &str, value: &glib::Value) -> bool {
        if name == "allow-create-scope" {
            self.allow_create_scope = value.get().unwrap_or(true);
            return true;
        }
        let slot = match name {
            "stream" => &mut self.stream,
            "store" => &mut self.store,
            "controller" => &mut self.controller,
            "keycloak-file" => &mut self.keycloak_file,
            _ => return false,
        };
        *slot = value.get().unwrap_or_default();
        true
    }

    /// The value of one of the location properties; `None` when `name` is not one of them.
    pub fn get(&self, name: &str) -> Option<glib::Value> {
        match name {
            "stream" => Some(self.stream.to_value()),
            "store" => Some(self.store.to_value()),
            "controller" => Some(self.controller.to_value()),
            "allow-create-scope" => Some(self.allow_create_scope.to_value()),
            "keycloak-file" => Some(self.keycloak_file.to_value()),
            _ => None,
        }
    }

    /// The stream, validated.
    pub fn stream_name(&self) -> Result<StreamName, OpenError> {
        let Some(stream) = self.stream.as_deref().filter(|v| !v.is_empty()) else {
            return Err(OpenError::settings(
                "The stream property is not set (SCOPE/STREAM)".into(),
            ));
        };
        StreamName::parse(stream).map_err(|e| OpenError::settings(format!("Bad stream name: {e}")))
    }

    /// The store address the properties (or the environment) name.
    pub fn store_uri(&self) -> Result<StoreUri, OpenError> {
        let env = std::env::var(CONTROLLER_ENV).ok();
        let chosen = [self.store.as_deref(), self.controller.as_deref(), env.as_deref()]
            .into_iter()
            .flatten()
            .find(|s| !s.trim().is_empty());
        StoreUri::resolve(chosen)
            .map_err(|e| OpenError::store("Cannot open store", e, gst::ResourceError::Settings))
    }

    /// Opens the store (shared within the process) and validates the stream name. `create_default` makes the
    /// default embedded store's directory when it is missing (writers); readers get a clear error instead. A
    /// writer with `allow-create-scope=false` is refused when the stream's scope does not exist.
    pub fn open(&self, create_default: bool) -> Result<(Arc<dyn Backend>, StreamName), OpenError> {
        let doing = if create_default {
            gst::ResourceError::OpenWrite
        } else {
            gst::ResourceError::OpenRead
        };
        if let Some(file) = self.keycloak_file.as_deref().filter(|f| !f.is_empty()) {
            return Err(OpenError::settings(format!(
                "keycloak-file={file}: Keycloak authentication is not supported; give the Pravega user and \
                 password in the store URI instead (tcp://user:password@host:9090)"
            )));
        }
        let name = self.stream_name()?;
        let uri = self.store_uri()?;
        let store = if create_default && uri.is_embedded() {
            uri.open_or_create()
        } else {
            uri.open()
        }
        .map_err(|e| OpenError::store("Cannot open store", e, doing))?;
        if create_default && !self.allow_create_scope {
            let exists = store
                .scope_exists(&name)
                .map_err(|e| OpenError::store("Cannot open store", e, doing))?;
            if !exists {
                return Err(OpenError {
                    code: gst::ResourceError::NotFound,
                    message: format!(
                        "Scope {} does not exist in {} and allow-create-scope is false",
                        name.scope(),
                        store.uri()
                    ),
                    store_error: Some(ErrorKind::NotFound),
                });
            }
        }
        Ok((store, name))
    }
}

/// The pad template both elements use: one always pad of any caps (the payload decides, see `caps_for`).
pub fn any_caps_template(name: &str, direction: gst::PadDirection) -> gst::PadTemplate {
    // A template with ANY caps only fails if GStreamer itself is broken; an element without its pad would be
    // unusable anyway, so this is a bug to report, not a state to carry on in.
    gst::PadTemplate::new(name, direction, gst::PadPresence::Always, &gst::Caps::new_any())
        .unwrap_or_else(|e| panic!("GStreamer cannot create the {name} pad template: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_round_trip_and_name_the_store() {
        let mut l = Location::default();
        assert!(l.set("stream", &"site/cam".to_value()));
        assert!(l.set("controller", &"tcp://127.0.0.1:9090".to_value()));
        assert!(!l.set("seal", &true.to_value()));
        assert_eq!(
            l.get("stream").and_then(|v| v.get::<String>().ok()).as_deref(),
            Some("site/cam")
        );
        assert!(l.get("nope").is_none());
        assert_eq!(l.stream_name().expect("name").to_string(), "site/cam");
        // controller is used when store is not set; store wins when both are.
        assert_eq!(l.store_uri().expect("uri").to_string(), "tcp://127.0.0.1:9090");
        l.set("store", &"/srv/video".to_value());
        assert_eq!(l.store_uri().expect("uri").to_string(), "/srv/video");
    }

    #[test]
    fn bad_settings_are_settings_errors() {
        let mut l = Location::default();
        let e = l.stream_name().expect_err("unset");
        assert_eq!(e.code, gst::ResourceError::Settings);
        l.set("stream", &"../x".to_value());
        assert!(l
            .stream_name()
            .expect_err("bad")
            .message
            .contains("Bad stream name"));
        l.set("store", &"http://x".to_value());
        assert!(l.store_uri().is_err());
    }
}
