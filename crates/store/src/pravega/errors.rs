//! Pravega client failures as typed [`StoreError`]s with a sentence for people.
//!
//! pravega-client 0.3.7 reports server refusals as text (a gRPC status dump inside its error types) and some
//! failures as panics; the status code is only in that text. This is the one place that reads it: callers get
//! [`StoreError::Unreachable`], [`StoreError::Unauthenticated`], [`StoreError::PermissionDenied`],
//! [`StoreError::Timeout`] or [`StoreError::Remote`] and decide between retrying and giving up by the variant.
//! The dump's metadata may carry the request's `authorization` header (the credentials, base64): that part never
//! leaves this module.

use std::fmt::Display;

use pravega_wire_protocol::wire_commands::Replies;

use crate::error::StoreError;
use crate::name::StreamName;

const AUTH_HINT: &str =
    "the server refused the credentials (authentication failed): give them in the store URI \
     (tcp://user:password@host:port) or in HINDSIGHT_PRAVEGA_USERNAME and HINDSIGHT_PRAVEGA_PASSWORD";

/// Classifies the client's error text about `what` (e.g. "cannot create stream a/b").
pub(crate) fn classify(what: impl Display, detail: &str) -> StoreError {
    if detail.contains("Unauthenticated") {
        return StoreError::Unauthenticated(format!("{what}: {AUTH_HINT}"));
    }
    if detail.contains("PermissionDenied") {
        return StoreError::PermissionDenied(format!(
            "{what}: the server denied this user the operation (permission denied)"
        ));
    }
    if detail.contains("Could not connect to controller")
        || detail.contains("transport error")
        || detail.contains("Connection refused")
        || detail.contains("status: Unavailable")
    {
        return StoreError::Unreachable(format!(
            "{what}: cannot connect to the Pravega controller (is the server running and reachable?)"
        ));
    }
    if detail.contains("DeadlineExceeded") || detail.contains("timed out") {
        return StoreError::Timeout(format!("{what}: the Pravega server did not answer in time"));
    }
    StoreError::Remote(format!("{what}: {}", without_metadata(detail)))
}

/// A client error value about `what`.
pub(crate) fn controller_err<E: Display>(what: impl Display, e: E) -> StoreError {
    classify(what, &e.to_string())
}

/// The text of a panic inside the client (`&str` or `String` payloads).
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown failure".into())
}

/// A task of the client that ended badly (a panic, or cancelled at shutdown).
pub(crate) fn join_err(what: impl Display, e: tokio::task::JoinError) -> StoreError {
    if e.is_panic() {
        let text = panic_text(&*e.into_panic());
        classify(format_args!("{what}: the Pravega client failed"), &text)
    } else {
        StoreError::Remote(format!("{what}: cancelled"))
    }
}

/// A reply the protocol does not allow at this point.
pub(crate) fn unexpected(name: &StreamName, what: &str, reply: &Replies) -> StoreError {
    let detail = match reply {
        Replies::ErrorMessage(m) => m.message.clone(),
        other => {
            let mut s = format!("{other:?}");
            s.truncate(200);
            s
        }
    };
    StoreError::Remote(format!(
        "unexpected reply from Pravega to {what} of {name}: {detail}"
    ))
}

/// The status dump up to its details and metadata (which may hold the credentials).
fn without_metadata(detail: &str) -> &str {
    let cut = [", details:", ", metadata:", " metadata:"]
        .iter()
        .filter_map(|m| detail.find(m))
        .min()
        .unwrap_or(detail.len());
    &detail[..cut]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn client_errors_are_typed_and_explained_without_credentials() {
        let refused =
            "Controller client failed to perform operation ListScopes due to status: Unauthenticated, \
                       message: \"\", details: [], metadata: MetadataMap { headers: {\"authorization\": \
                       \"Basic YWRtaW46d3Jvbmc=\"} }";
        let e = classify("list streams", refused);
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
        let text = e.to_string();
        assert!(text.contains("authentication failed"), "{text}");
        assert!(
            !text.contains("YWRt") && !text.contains("authorization"),
            "{text}"
        );
        let other = "status: Internal, message: \"boom\", details: [], metadata: MetadataMap { headers: {} }";
        let e = classify("x", other);
        assert_eq!(e.kind(), ErrorKind::Remote);
        assert_eq!(e.to_string(), "x: status: Internal, message: \"boom\"");
        let e = classify("x", "Could not connect to controller due to transport error");
        assert_eq!(e.kind(), ErrorKind::Unreachable);
        assert!(e.to_string().contains("cannot connect"));
        assert_eq!(
            classify("x", "status: PermissionDenied, message: \"no\"").kind(),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            classify("x", "status: DeadlineExceeded").kind(),
            ErrorKind::Timeout
        );
    }
}
