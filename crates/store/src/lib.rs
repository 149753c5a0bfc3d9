//! Hindsight's storage layer: the byte-stream video format, time-index search, timeline summaries and the
//! storage backends.
//!
//! This crate knows nothing of GStreamer or GTK, so it can be fuzzed and benchmarked alone. Layers, bottom up:
//! - [`format`]: data frames and 20-byte index records on the wire; [`timestamp`]: TAI time; [`fmp4`]: the
//!   fragmented-MP4 payloads (assembling, interleaving and retiming fragments).
//! - [`backend`]: the byte-stream storage API; [`error`]: its typed errors; [`embedded`]: the directory
//!   backend; [`pravega`]: the Pravega backend (feature `pravega`, on by default); [`uri`]: store addresses,
//!   opened once per process; [`copy`]: copying streams between stores.
//! - [`video`]: data + index pairs with the writing and reading rules; [`search`] and [`timeline`] over indexes;
//!   [`retention`]: deleting old footage by age or size; [`evidence`]: the hash chain kept while recording and
//!   its verification; [`marks`]: bookmarks, retention holds and the retention policy kept beside a stream.

pub mod backend;
pub mod copy;
pub mod digest;
pub mod embedded;
pub mod error;
pub mod evidence;
pub mod fan_out;
pub mod fmp4;
pub mod format;
pub mod hls;
pub mod interrupt;
pub mod marks;
pub mod name;
#[cfg(feature = "pravega")]
pub mod pravega;
pub mod retention;
pub mod search;
pub mod timeline;
pub mod timestamp;
pub mod uri;
pub mod video;
mod xdg;

pub use backend::{Backend, ByteReader, ByteWriter, StreamInfo, WaitOutcome};
pub use copy::{copy_byte_stream, copy_video_stream};
pub use embedded::EmbeddedStore;
pub use error::{ErrorKind, Result, StoreError};
pub use format::{Flags, FormatError, FrameHeader, IndexRecord};
pub use interrupt::Interrupt;
pub use name::{NameError, StreamName};
#[cfg(feature = "pravega")]
pub use pravega::PravegaStore;
pub use retention::RetentionPolicy;
pub use timeline::{RecordedRange, Timeline, DEFAULT_RANGE_GAP};
pub use timestamp::{Timestamp, TimestampError};
pub use uri::{default_store_dir, redact, StoreUri};
pub use video::{Frame, IndexPolicy, IndexReader, ReadOutcome, VideoReader, VideoWriter};
