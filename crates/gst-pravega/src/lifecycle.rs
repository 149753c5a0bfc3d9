//! What both elements do the same way around their base classes: lock state that a panic cannot poison, open
//! the stream in `change_state` at the transition where the base class would call `start` (so that a failure
//! posts an element error carrying the store error's kind, which `start` cannot), and describe themselves.

use std::sync::{Mutex, MutexGuard};

use crate::location::OpenError;

/// Locks `m`; a panic elsewhere must not turn every later call into a panic too.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One state change of an element that opens its stream at `opens_at`: `open` runs first there (its failure is
/// posted and fails the change), then the base class's change (`parent`); if that fails after opening, `undo`
/// releases what was opened, since no `stop` will come.
pub(crate) fn change_state_opening(
    element: &gst::Element,
    transition: gst::StateChange,
    opens_at: gst::StateChange,
    open: impl FnOnce() -> Result<(), OpenError>,
    parent: impl FnOnce() -> Result<gst::StateChangeSuccess, gst::StateChangeError>,
    undo: impl FnOnce(),
) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
    if transition == opens_at {
        if let Err(e) = open() {
            crate::errors::post(element, &e);
            return Err(gst::StateChangeError);
        }
    }
    let result = parent();
    if result.is_err() && transition == opens_at {
        undo();
    }
    result
}

/// The base class's `start`: the stream was opened by `change_state_opening` just before, so this only checks.
pub(crate) fn started<T>(
    state: &Mutex<Option<T>>,
    code: gst::ResourceError,
) -> Result<(), gst::ErrorMessage> {
    if lock(state).is_some() {
        Ok(())
    } else {
        Err(gst::error_msg!(code, ("The stream is not open")))
    }
}

/// Element metadata; `klass` as GStreamer classifies elements, e.g. `Sink/File/Network`.
pub(crate) fn metadata(long_name: &str, klass: &str, description: &str) -> gst::subclass::ElementMetadata {
    gst::subclass::ElementMetadata::new(long_name, klass, description, "Hindsight developers")
}
