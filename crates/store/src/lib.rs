//! Hindsight's storage layer: the byte-stream video format, time-index search, timeline summaries and the
//! storage backends.
//!
//! This crate knows nothing of GStreamer or GTK, so it can be fuzzed and benchmarked alone. Layers, bottom up:
//! - [`format`]: data frames and 20-byte index records on the wire; [`timestamp`]: TAI time.
//! - [`backend`]: the byte-stream storage API; [`embedded`]: the directory backend; [`pravega`]: the Pravega
//!   backend; [`copy`]: copying streams between stores.
//! - [`video`]: data + index pairs with the writing and reading rules; [`search`] and [`timeline`] over indexes.

pub mod backend;
pub mod copy;
pub mod embedded;
pub mod format;
pub mod name;
pub mod pravega;
pub mod search;
pub mod timeline;
pub mod timestamp;
pub mod video;

pub use backend::{
    default_store_dir, open_store, Backend, ByteReader, ByteWriter, Interrupt, Result, StoreError,
    StreamInfo, WaitOutcome,
};
pub use copy::{copy_byte_stream, copy_video_stream};
pub use embedded::EmbeddedStore;
pub use format::{Flags, FormatError, FrameHeader, IndexRecord};
pub use name::{NameError, StreamName};
pub use pravega::PravegaStore;
pub use timeline::{RecordedRange, Timeline};
pub use timestamp::{Timestamp, TimestampError};
pub use video::{Frame, IndexPolicy, IndexReader, ReadOutcome, VideoReader, VideoWriter};
