//! Misconfiguration gives element errors with clear messages, never a panic.

use gst::prelude::*;

use crate::common::*;

/// Starts `desc` and returns the error it posts; fails if it starts or reports no error.
fn start_error(desc: &str) -> BusError {
    let pipeline = launch(desc);
    let started = pipeline.set_state(gst::State::Playing);
    // A source error may come from the streaming thread after the state change returned.
    let err = match started {
        Err(_) => first_error(&pipeline),
        Ok(_) => wait_eos(&pipeline, std::time::Duration::from_secs(10)).err(),
    };
    stop(&pipeline);
    let err = err.unwrap_or_else(|| panic!("{desc}: no error"));
    assert!(
        !err.to_string().to_lowercase().contains("panic"),
        "{desc}: the element panicked: {err}"
    );
    err
}

fn sink(props: &str) -> String {
    format!("videotestsrc num-buffers=1 ! pravegasink {props}")
}

fn src(props: &str) -> String {
    format!("pravegasrc {props} ! fakesink")
}

#[test]
fn missing_stream_property() {
    let store = TempStore::new();
    for desc in [
        sink(&format!("store=\"{}\"", store.uri())),
        src(&format!("store=\"{}\"", store.uri())),
    ] {
        let err = start_error(&desc);
        assert!(err.error.matches(gst::ResourceError::Settings), "{err}");
        assert!(
            err.error.message().contains("stream property is not set"),
            "{err}"
        );
    }
}

#[test]
fn bad_stream_names() {
    let store = TempStore::new();
    for name in ["noscope", "a/../b", "../x", "a/b/c", "a/b c"] {
        for desc in [
            sink(&format!("store=\"{}\" stream=\"{name}\"", store.uri())),
            src(&format!("store=\"{}\" stream=\"{name}\"", store.uri())),
        ] {
            let err = start_error(&desc);
            assert!(err.error.matches(gst::ResourceError::Settings), "{desc}: {err}");
            assert!(err.error.message().contains("Bad stream name"), "{desc}: {err}");
        }
    }
    // Nothing was created outside (or inside) the store.
    assert_eq!(std::fs::read_dir(store.path()).expect("store dir").count(), 0);
}

#[test]
fn pravegasrc_never_creates_a_missing_stream() {
    let store = TempStore::new();
    let err = start_error(&src(&format!("store=\"{}\" stream=no/such", store.uri())));
    assert!(err.error.matches(gst::ResourceError::NotFound), "{err}");
    let msg = err.error.message().to_string();
    assert!(msg.contains("no/such") && msg.contains("does not exist"), "{err}");
    let backend = store.backend();
    let name = hindsight_store::StreamName::parse("no/such").expect("name");
    assert!(!hindsight_store::video::video_stream_exists(backend.as_ref(), &name).expect("exists"));
}

#[test]
fn unreachable_or_unknown_stores_are_element_errors() {
    // Port 1 on loopback: nothing listens there, so the Pravega backend cannot reach a controller.
    for props in [
        "store=tcp://127.0.0.1:1 stream=a/b",
        "controller=tcp://127.0.0.1:1 stream=a/b",
        "store=tls://localhost:1 stream=a/b",
        "store=bogus://x stream=a/b",
        "store=tls://127.0.0.1:1 stream=a/b",
    ] {
        for desc in [sink(props), src(props)] {
            let err = start_error(&desc);
            let msg = err.error.message().to_string();
            if props.contains("bogus") || props.contains("tls://127.") {
                // A URI that names no store is a settings mistake, like a bad stream name; so is TLS to an IP
                // address, which the Pravega client cannot check a certificate against.
                assert!(err.error.matches(gst::ResourceError::Settings), "{desc}: {err}");
                assert!(msg.contains("Cannot open store"), "{desc}: {err}");
                if props.contains("tls") {
                    assert!(msg.contains("host names only"), "{desc}: {err}");
                }
            } else {
                assert!(
                    err.error.matches(gst::ResourceError::OpenWrite)
                        || err.error.matches(gst::ResourceError::OpenRead),
                    "{desc}: {err}"
                );
                // The failure's kind travels in the details, for applications that retry.
                assert_eq!(
                    err.store.as_ref().map(|s| (s.kind.as_str(), s.transient)),
                    Some(("unreachable", true)),
                    "{desc}: {err}"
                );
                // The Pravega backend connects lazily: opening the stream is what fails, and it says why.
                assert!(msg.contains("Cannot open") && msg.contains(":1"), "{desc}: {err}");
                assert!(
                    msg.contains("cannot connect to the Pravega controller"),
                    "{desc}: {err}"
                );
            }
        }
    }
}

#[test]
fn bad_start_and_end_times() {
    let store = TempStore::new();
    Recording::frames(30).run(&store, "bad/cam");
    for props in [
        "start-mode=timestamp",
        "start-mode=timestamp start-utc=yesterday",
        "end-mode=timestamp",
    ] {
        let err = start_error(&src(&format!("store=\"{}\" stream=bad/cam {props}", store.uri())));
        assert!(err.error.matches(gst::ResourceError::Settings), "{props}: {err}");
    }
}

/// Settings of the original plugin's properties that cannot work are refused at start with a message that
/// says why: Keycloak credentials (not supported), an index minimum above its maximum, and a retention type
/// whose limit is not set.
#[test]
fn unsupported_or_inconsistent_original_settings() {
    let store = TempStore::new();
    Recording::frames(30).run(&store, "orig/cam");
    let cases = [
        (
            src("stream=orig/cam keycloak-file=/etc/keycloak.json"),
            "Keycloak",
        ),
        (
            sink("stream=orig/new keycloak-file=/etc/keycloak.json"),
            "Keycloak",
        ),
        (
            sink("stream=orig/new index-min-sec=5 index-max-sec=2"),
            "index-min-sec (5)",
        ),
        (sink("stream=orig/new retention-type=days"), "retention-days"),
        (
            sink("stream=orig/new retention-type=daysAndBytes retention-days=1"),
            "retention-bytes",
        ),
    ];
    for (desc, needle) in cases {
        let desc = desc.replace("stream=", &format!("store=\"{}\" stream=", store.uri()));
        let err = start_error(&desc);
        assert!(err.error.matches(gst::ResourceError::Settings), "{desc}: {err}");
        assert!(err.error.message().contains(needle), "{desc}: {err}");
    }
    let name = hindsight_store::StreamName::parse("orig/new").expect("name");
    assert!(
        !store.backend().exists(&name).expect("exists"),
        "nothing was created"
    );
}
