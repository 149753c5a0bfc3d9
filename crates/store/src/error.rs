//! The store's error type. Variants are typed by what a caller can do about them: a recorder retries a
//! [transient](StoreError::is_transient) failure (a server restarting, a dropped connection, a timeout) and
//! stops at once on a permanent one (refused credentials, a sealed stream, a bad name).

use std::io;

use crate::format::FormatError;
use crate::name::{NameError, StreamName};

/// Result type of the store crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Errors from the storage API.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream does not exist in this store.
    #[error("stream {0} does not exist")]
    NotFound(StreamName),
    /// Another writer holds the stream.
    #[error("stream {0} is already being written by another writer")]
    WriterBusy(StreamName),
    /// The stream was sealed and takes no more appends.
    #[error("stream {0} is sealed")]
    Sealed(StreamName),
    /// The requested bytes were removed by truncation; reading can continue at `head`.
    #[error("offset {offset} of stream {stream} was truncated; data now starts at {head}")]
    Truncated {
        /// The stream.
        stream: StreamName,
        /// The offset that was asked for.
        offset: u64,
        /// The first offset still stored.
        head: u64,
    },
    /// An offset beyond the end of the stream where only existing data makes sense (e.g. truncation).
    #[error("offset {offset} is beyond the end ({tail}) of stream {stream}")]
    PastTail {
        /// The stream.
        stream: StreamName,
        /// The offset that was asked for.
        offset: u64,
        /// The current end.
        tail: u64,
    },
    /// The bytes are not valid frames or index records.
    #[error("corrupt data in stream {stream} at offset {offset}: {source}")]
    Corrupt {
        /// The stream.
        stream: StreamName,
        /// Where the bad bytes start.
        offset: u64,
        /// What is wrong.
        source: FormatError,
    },
    /// An append larger than the backend accepts at once.
    #[error("append of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Bytes offered.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A bad name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A store URI that names no usable backend.
    #[error("invalid store URI {uri:?}: {reason}")]
    Uri {
        /// The URI, without its password.
        uri: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The store itself is not there (an embedded store directory that does not exist).
    #[error("store {0} does not exist")]
    StoreMissing(String),
    /// An operating-system error, with what was being done. The OS error is part of the message (not a
    /// separate source) so that one-line reports carry it exactly once.
    #[error("{context}: {error}")]
    Io {
        /// What failed, e.g. "cannot open /x/y".
        context: String,
        /// The OS error.
        error: io::Error,
    },
    /// A wait was interrupted through its [`crate::Interrupt`].
    #[error("interrupted")]
    Interrupted,
    /// A remote store cannot be reached, or the connection to it was lost.
    #[error("{0}")]
    Unreachable(String),
    /// A remote store did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// A remote store refused the credentials (none given, or wrong ones).
    #[error("{0}")]
    Unauthenticated(String),
    /// A remote store denied this user the operation.
    #[error("{0}")]
    PermissionDenied(String),
    /// A remote store failed in another way (an unexpected reply, an internal server error): normally worth
    /// retrying, a restarting server answers like this.
    #[error("{0}")]
    Remote(String),
    /// Stored state that contradicts itself (an index record that is not there, a missing segment file): retrying
    /// will not help.
    #[error("{0}")]
    Inconsistent(String),
    /// An operation this backend cannot do (e.g. dropping bytes at the tail of a Pravega stream).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A request that makes no sense (a hold that ends before it starts, a name with control characters).
    #[error("{0}")]
    Invalid(String),
}

/// The kind of a [`StoreError`] as a short stable word, for logs, GStreamer message details and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// [`StoreError::NotFound`].
    NotFound,
    /// [`StoreError::WriterBusy`].
    WriterBusy,
    /// [`StoreError::Sealed`].
    Sealed,
    /// [`StoreError::Truncated`].
    Truncated,
    /// [`StoreError::PastTail`].
    PastTail,
    /// [`StoreError::Corrupt`].
    Corrupt,
    /// [`StoreError::TooLarge`].
    TooLarge,
    /// [`StoreError::Name`], [`StoreError::Uri`] and [`StoreError::Invalid`]: the caller asked for something
    /// malformed.
    Invalid,
    /// [`StoreError::StoreMissing`].
    StoreMissing,
    /// [`StoreError::Io`] with the disk full (ENOSPC or EDQUOT).
    NoSpace,
    /// Any other [`StoreError::Io`].
    Io,
    /// [`StoreError::Interrupted`].
    Interrupted,
    /// [`StoreError::Unreachable`].
    Unreachable,
    /// [`StoreError::Timeout`].
    Timeout,
    /// [`StoreError::Unauthenticated`].
    Unauthenticated,
    /// [`StoreError::PermissionDenied`].
    PermissionDenied,
    /// [`StoreError::Remote`].
    Remote,
    /// [`StoreError::Inconsistent`].
    Inconsistent,
    /// [`StoreError::Unsupported`].
    Unsupported,
}

impl ErrorKind {
    /// A stable lower-case word, e.g. `unauthenticated`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not-found",
            ErrorKind::WriterBusy => "writer-busy",
            ErrorKind::Sealed => "sealed",
            ErrorKind::Truncated => "truncated",
            ErrorKind::PastTail => "past-tail",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::Invalid => "invalid",
            ErrorKind::StoreMissing => "store-missing",
            ErrorKind::NoSpace => "no-space",
            ErrorKind::Io => "io",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission-denied",
            ErrorKind::Remote => "remote",
            ErrorKind::Inconsistent => "inconsistent",
            ErrorKind::Unsupported => "unsupported",
        }
    }

    /// True for failures that may go away by themselves, so that retrying later makes sense: the store is
    /// unreachable or slow, answered with a server-side failure, or an I/O error other than a full disk.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Unreachable | ErrorKind::Timeout | ErrorKind::Remote | ErrorKind::Io
        )
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl StoreError {
    /// A request that makes no sense, said in `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        StoreError::Invalid(message.into())
    }

    /// Wraps an I/O error with context.
    pub fn io(context: impl Into<String>, error: io::Error) -> Self {
        StoreError::Io {
            context: context.into(),
            error,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NotFound(_) => ErrorKind::NotFound,
            StoreError::WriterBusy(_) => ErrorKind::WriterBusy,
            StoreError::Sealed(_) => ErrorKind::Sealed,
            StoreError::Truncated { .. } => ErrorKind::Truncated,
            StoreError::PastTail { .. } => ErrorKind::PastTail,
            StoreError::Corrupt { .. } => ErrorKind::Corrupt,
            StoreError::TooLarge { .. } => ErrorKind::TooLarge,
            StoreError::Name(_) | StoreError::Uri { .. } | StoreError::Invalid(_) => ErrorKind::Invalid,
            StoreError::StoreMissing(_) => ErrorKind::StoreMissing,
            StoreError::Io { error, .. } => match error.raw_os_error() {
                Some(code) if code == nix::libc::ENOSPC || code == nix::libc::EDQUOT => ErrorKind::NoSpace,
                _ => ErrorKind::Io,
            },
            StoreError::Interrupted => ErrorKind::Interrupted,
            StoreError::Unreachable(_) => ErrorKind::Unreachable,
            StoreError::Timeout(_) => ErrorKind::Timeout,
            StoreError::Unauthenticated(_) => ErrorKind::Unauthenticated,
            StoreError::PermissionDenied(_) => ErrorKind::PermissionDenied,
            StoreError::Remote(_) => ErrorKind::Remote,
            StoreError::Inconsistent(_) => ErrorKind::Inconsistent,
            StoreError::Unsupported(_) => ErrorKind::Unsupported,
        }
    }

    /// True when retrying later may succeed (see [`ErrorKind::is_transient`]).
    pub fn is_transient(&self) -> bool {
        self.kind().is_transient()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_decide_between_retry_and_give_up() {
        let name = StreamName::parse("a/b").expect("name");
        assert!(StoreError::Unreachable("down".into()).is_transient());
        assert!(StoreError::Timeout("slow".into()).is_transient());
        assert!(StoreError::Remote("restarting".into()).is_transient());
        assert!(!StoreError::Unauthenticated("no".into()).is_transient());
        assert!(!StoreError::PermissionDenied("no".into()).is_transient());
        assert!(!StoreError::Sealed(name.clone()).is_transient());
        assert!(!StoreError::WriterBusy(name).is_transient());
        let full = StoreError::io("write", io::Error::from_raw_os_error(nix::libc::ENOSPC));
        assert_eq!(full.kind(), ErrorKind::NoSpace);
        assert!(!full.is_transient());
        let other = StoreError::io("write", io::Error::from_raw_os_error(nix::libc::EIO));
        assert_eq!(other.kind(), ErrorKind::Io);
        assert_eq!(ErrorKind::PermissionDenied.to_string(), "permission-denied");
    }
}
