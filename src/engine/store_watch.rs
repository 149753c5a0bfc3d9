//! `StoreWatch`: a background thread that asks the store about a set of streams about once a second (is a writer
//! on it, is it sealed, does it still exist), so that wall tiles know these facts without anyone asking the store
//! on the GTK main thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hindsight_store::{Backend, StoreError, StreamName};

/// What the store said about a stream at the last look.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamFacts {
    /// A writer holds the stream, when the store can tell.
    pub writer_active: Option<bool>,
    /// Sealed: no more data will come.
    pub sealed: bool,
    /// The stream was deleted (or never existed).
    pub missing: bool,
    /// Every byte it held was deleted (truncated to nothing) and nobody writes it.
    pub emptied: bool,
    /// The store could not be asked (the message).
    pub error: Option<String>,
}

struct Inner {
    store: Arc<dyn Backend>,
    facts: Mutex<HashMap<StreamName, StreamFacts>>,
    stop: AtomicBool,
}

/// Watches streams of one store. Dropping it stops the thread.
pub struct StoreWatch {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StoreWatch {
    /// Starts watching nothing yet; `period` between two looks.
    pub fn start(store: Arc<dyn Backend>, period: Duration) -> anyhow::Result<Self> {
        let inner = Arc::new(Inner {
            store,
            facts: Mutex::default(),
            stop: AtomicBool::new(false),
        });
        let worker = inner.clone();
        std::thread::Builder::new()
            .name("store-watch".into())
            .spawn(move || {
                while !worker.stop.load(Ordering::SeqCst) {
                    let names: Vec<StreamName> = lock(&worker.facts).keys().cloned().collect();
                    for name in names {
                        let facts = look(worker.store.as_ref(), &name);
                        if let Some(slot) = lock(&worker.facts).get_mut(&name) {
                            *slot = facts;
                        }
                    }
                    std::thread::sleep(period);
                }
            })?;
        Ok(StoreWatch { inner })
    }

    /// Watches exactly these streams from now on.
    pub fn watch(&self, names: &[StreamName]) {
        let mut facts = lock(&self.inner.facts);
        facts.retain(|n, _| names.contains(n));
        for n in names {
            facts.entry(n.clone()).or_default();
        }
    }

    /// The facts of the last look at `name` (defaults before the first look).
    pub fn facts(&self, name: &StreamName) -> StreamFacts {
        lock(&self.inner.facts).get(name).cloned().unwrap_or_default()
    }
}

impl Drop for StoreWatch {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
    }
}

/// One look at a stream (the data stream carries the writer lock and the seal).
fn look(store: &dyn Backend, name: &StreamName) -> StreamFacts {
    match store.info(name) {
        Ok(info) => StreamFacts {
            writer_active: info.writer_active,
            sealed: info.sealed,
            missing: false,
            // A stream that never held anything is not "emptied": it is waiting for its first frame.
            emptied: info.head > 0 && info.head >= info.tail && info.writer_active != Some(true),
            error: None,
        },
        Err(StoreError::NotFound(_)) => StreamFacts {
            missing: true,
            ..StreamFacts::default()
        },
        Err(e) => StreamFacts {
            error: Some(e.to_string()),
            ..StreamFacts::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hindsight_store::video::{IndexPolicy, VideoWriter};
    use hindsight_store::{StoreUri, Timestamp};

    #[test]
    fn writers_seals_and_deletions_are_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StoreUri::embedded(dir.path()).open_new().expect("store");
        let name = StreamName::parse("w/cam").expect("name");
        let mut writer = VideoWriter::open(store.as_ref(), &name, IndexPolicy::default()).expect("writer");
        writer.append(b"frame", Timestamp::now(), true).expect("append");
        let watch = StoreWatch::start(store.clone(), Duration::from_millis(20)).expect("watch");
        let other = StreamName::parse("w/none").expect("name");
        watch.watch(&[name.clone(), other.clone()]);
        let wait = |what: &str, pred: &dyn Fn() -> bool| {
            let start = std::time::Instant::now();
            while !pred() {
                assert!(
                    start.elapsed() < Duration::from_secs(5),
                    "timed out waiting for {what}"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        wait("the writer", &|| watch.facts(&name).writer_active == Some(true));
        wait("the missing stream", &|| watch.facts(&other).missing);
        assert!(!watch.facts(&name).emptied);
        writer.finish_and_seal(None).expect("seal");
        wait("the seal", &|| watch.facts(&name).sealed);
        assert_eq!(watch.facts(&name).writer_active, Some(false));
        // Truncated to nothing: every byte deleted.
        let tail = store.info(&name).expect("info").tail;
        store.truncate_before(&name, tail).expect("truncate");
        wait("the emptied stream", &|| watch.facts(&name).emptied);
        watch.watch(&[]);
        assert_eq!(watch.facts(&name), StreamFacts::default(), "no longer watched");
    }
}
