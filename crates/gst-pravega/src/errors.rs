//! Store failures as GStreamer element errors that say what kind of failure they are.
//!
//! Every error the elements post because the store failed carries a details structure named
//! [`DETAILS_NAME`] with the store error's kind (`unreachable`, `unauthenticated`, `sealed`, …, see
//! [`hindsight_store::ErrorKind`]) and whether retrying may help. An application reads it back with
//! [`StoreErrorInfo::from_message`]: the recorder retries a server that restarts and stops at once on a wrong
//! password. The GError code says it too where GStreamer has a code for it (`NotAuthorized`, `Busy`,
//! `NotFound`, `NoSpaceLeft`, `Settings`); other failures get the code of what was being done (`OpenRead`,
//! `OpenWrite`, `Read`, `Write`).

use gst::prelude::*;
use hindsight_store::ErrorKind;

/// Name of the details structure on element errors caused by the store.
pub const DETAILS_NAME: &str = "hindsight-store-error";

/// The GStreamer resource error code for a store error of this kind that happened while doing `doing`
/// (`OpenRead`, `OpenWrite`, `Read` or `Write`).
pub fn resource_error(kind: ErrorKind, doing: gst::ResourceError) -> gst::ResourceError {
    match kind {
        ErrorKind::NotFound | ErrorKind::StoreMissing => gst::ResourceError::NotFound,
        ErrorKind::WriterBusy => gst::ResourceError::Busy,
        ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => gst::ResourceError::NotAuthorized,
        ErrorKind::NoSpace => gst::ResourceError::NoSpaceLeft,
        ErrorKind::Invalid => gst::ResourceError::Settings,
        _ => doing,
    }
}

/// The details structure for an element error caused by a store error of this kind.
pub fn details(kind: ErrorKind) -> gst::Structure {
    gst::Structure::builder(DETAILS_NAME)
        .field("kind", kind.as_str())
        .field("transient", kind.is_transient())
        .build()
}

/// What the details of an element error say about the store failure behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreErrorInfo {
    /// The kind, as [`hindsight_store::ErrorKind::as_str`] writes it.
    pub kind: String,
    /// Retrying later may help.
    pub transient: bool,
}

impl StoreErrorInfo {
    /// The store failure behind an error message, if a Hindsight element posted it because of the store.
    pub fn from_message(err: &gst::message::Error) -> Option<Self> {
        let details = err.details()?;
        if details.name() != DETAILS_NAME {
            return None;
        }
        Some(StoreErrorInfo {
            kind: details.get::<String>("kind").ok()?,
            transient: details.get::<bool>("transient").ok()?,
        })
    }
}

/// Posts an element error for `error` on `element` (its store failure in the details when there is one).
pub(crate) fn post(element: &gst::Element, error: &crate::location::OpenError) {
    let builder = gst::message::Error::builder(error.code, &error.message).src(element);
    let message = match &error.store_error {
        Some(kind) => builder.details(details(*kind)).build(),
        None => builder.build(),
    };
    if element.post_message(message).is_err() {
        // No bus (an element outside any pipeline): the caller still fails the state change.
        tracing::warn!(error = %error.message, "cannot post the element error: no bus");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_details_follow_the_store_error() {
        gst::init().expect("gstreamer");
        assert_eq!(
            resource_error(ErrorKind::Unauthenticated, gst::ResourceError::OpenWrite),
            gst::ResourceError::NotAuthorized
        );
        assert_eq!(
            resource_error(ErrorKind::WriterBusy, gst::ResourceError::OpenWrite),
            gst::ResourceError::Busy
        );
        assert_eq!(
            resource_error(ErrorKind::Unreachable, gst::ResourceError::OpenRead),
            gst::ResourceError::OpenRead
        );
        assert_eq!(
            resource_error(ErrorKind::NoSpace, gst::ResourceError::Write),
            gst::ResourceError::NoSpaceLeft
        );
        let d = details(ErrorKind::Sealed);
        assert_eq!(d.get::<String>("kind").expect("kind"), "sealed");
        assert!(!d.get::<bool>("transient").expect("transient"));
        let d = details(ErrorKind::Unreachable);
        assert!(d.get::<bool>("transient").expect("transient"));
    }
}
