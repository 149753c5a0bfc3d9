//! Cases: a time range of several cameras exported together with a signed manifest that proves the MP4s hold
//! the frames that were stored, and — through the hash chain kept while recording — the frames that were
//! recorded. See `docs/design.md` for the manifest.

mod export;
pub mod manifest;
pub mod samples;
mod verify;

pub use export::{export_case, file_name, CaseOptions};
pub use manifest::Manifest;
pub use verify::{verify_case, CameraReport, CaseReport};
