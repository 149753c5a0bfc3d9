//! Evidence from the moment of recording: a hash chain kept beside each video stream.
//!
//! The byte-stream format has no checksum, so a flipped byte inside a stored frame would go unnoticed. While
//! recording, [`ChainWriter`] appends one entry per stored payload to a third byte stream, `NAME-chain`, next
//! to `NAME-index`: the SHA-256 of the payload and of its coded sample, each entry also hashing the one before
//! it, and at every index record an Ed25519 signature of the chain so far by the installation's key
//! ([`SigningKey`]). Like the index it is written after the frame it describes and made durable after the data,
//! so a crash never leaves the chain ahead of the data. [`verify_stream`] walks data and chain together and
//! reports the first frame whose bytes no longer match what was recorded.
//!
//! What it proves: every frame up to the last signature is what this key's writer stored, in this order.
//! Frames after the last signature (at most one index interval, the writer still running or killed) are chained
//! but not yet signed, and the report says how many.

use crate::backend::{Backend, ByteReader};
use crate::error::{Result, StoreError};
use crate::name::StreamName;
use crate::timestamp::Timestamp;
use crate::video::read_exact_at;

mod entry;
mod key;
mod verify;
mod writer;

pub use entry::{
    payload_digests, sample_digest, signed_message, top_level_boxes, Digest32, Entry, EntryError, EntryKind,
    ENTRY_LEN,
};
pub use key::{default_key_path, fingerprint, verify as verify_signature, KeyError, SigningKey};
pub use verify::{verify_stream, Problem, Report, VerifyRange};
pub use writer::ChainWriter;

const LEN: u64 = ENTRY_LEN as u64;

/// Suffix of the chain stream's name.
pub const CHAIN_SUFFIX: &str = "-chain";

/// The chain stream of a video stream.
pub fn chain_name(video: &StreamName) -> Result<StreamName> {
    Ok(StreamName::new(
        video.scope(),
        &format!("{}{CHAIN_SUFFIX}", video.stream()),
    )?)
}

/// A chain stream read as numbered entries.
pub struct ChainReader {
    name: StreamName,
    reader: Box<dyn ByteReader>,
}

impl ChainReader {
    /// Opens the chain of `video`; `None` when the stream was recorded without one.
    pub fn open(backend: &dyn Backend, video: &StreamName) -> Result<Option<Self>> {
        let name = chain_name(video)?;
        match backend.reader(&name) {
            Ok(reader) => Ok(Some(ChainReader { name, reader })),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The chain stream.
    pub fn name(&self) -> &StreamName {
        &self.name
    }

    /// Numbers of the first entry still stored and one past the last whole one.
    pub fn bounds(&mut self) -> Result<(u64, u64)> {
        let info = self.reader.info()?;
        Ok((info.head.div_ceil(LEN), info.tail / LEN))
    }

    /// Entry `n`, decoded.
    pub fn entry(&mut self, n: u64) -> Result<Entry> {
        let mut raw = [0u8; ENTRY_LEN];
        if !read_exact_at(self.reader.as_mut(), n * LEN, &mut raw)? {
            return Err(StoreError::Inconsistent(format!(
                "{}: entry {n} is not stored",
                self.name
            )));
        }
        Entry::decode(&raw).map_err(|e| StoreError::Inconsistent(format!("{}: entry {n}: {e}", self.name)))
    }

    /// Raw entries `from..to` in one read (the caller bounds the count).
    pub fn raw_range(&mut self, from: u64, to: u64) -> Result<Vec<[u8; ENTRY_LEN]>> {
        let count = to.saturating_sub(from) as usize;
        let mut buf = vec![0u8; count * ENTRY_LEN];
        if !read_exact_at(self.reader.as_mut(), from * LEN, &mut buf)? {
            return Err(StoreError::Inconsistent(format!(
                "{}: entries {from}..{to} are not stored",
                self.name
            )));
        }
        Ok(buf
            .chunks_exact(ENTRY_LEN)
            .map(|c| {
                let mut e = [0u8; ENTRY_LEN];
                e.copy_from_slice(c);
                e
            })
            .collect())
    }

    /// The first entry in `from..to` whose `key` is at least `target` (keys never decrease along the chain).
    pub fn first_at_or_after(
        &mut self,
        from: u64,
        to: u64,
        target: u64,
        key: impl Fn(&Entry) -> u64,
    ) -> Result<u64> {
        let (mut lo, mut hi) = (from, to);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if key(&self.entry(mid)?) < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

/// Drops the chain entries of frames before data offset `data_head` (after the data was truncated there). A
/// stream without a chain is left alone.
pub fn truncate_chain_before(backend: &dyn Backend, video: &StreamName, data_head: u64) -> Result<()> {
    let Some(mut chain) = ChainReader::open(backend, video)? else {
        return Ok(());
    };
    let (first, end) = chain.bounds()?;
    let n = chain.first_at_or_after(first, end, data_head, |e| e.offset)?;
    if n > first {
        backend.truncate_before(&chain.name, n * LEN)?;
    }
    Ok(())
}

/// Deletes a video stream's chain, if it has one.
pub fn delete_chain(backend: &dyn Backend, video: &StreamName) -> Result<()> {
    let name = chain_name(video)?;
    match backend.delete(&name) {
        Ok(()) | Err(StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// What [`copy_chain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChainCopy {
    /// The source has no chain.
    #[default]
    NoChain,
    /// This many entries were copied.
    Copied(u64),
    /// Not copied: the destination keeps a chain of its own, which the source's cannot continue.
    DestinationHasChain,
}

/// Copies the chain entries that describe data `data_head..data_end` of `src_video` onto the chain of
/// `dst_video`, moving data offsets by `shift` (where the frames landed). Offsets are not part of the chain
/// hashes, so the copy verifies as the original does. A destination that already has chain entries keeps them
/// alone: the copied chain would not follow from its last entry.
pub fn copy_chain(
    src: &dyn Backend,
    src_video: &StreamName,
    dst: &dyn Backend,
    dst_video: &StreamName,
    data_head: u64,
    data_end: u64,
    shift: i64,
) -> Result<ChainCopy> {
    let Some(mut chain) = ChainReader::open(src, src_video)? else {
        return Ok(ChainCopy::NoChain);
    };
    let dst_name = chain_name(dst_video)?;
    dst.create(&dst_name)?;
    let mut writer = dst.writer(&dst_name)?;
    if writer.tail() > 0 {
        return Ok(ChainCopy::DestinationHasChain);
    }
    let (first, end) = chain.bounds()?;
    let mut copied = 0;
    let mut n = first;
    let mut batch = Vec::new();
    while n < end {
        let to = (n + 4096).min(end);
        for raw in chain.raw_range(n, to)? {
            let mut entry =
                Entry::decode(&raw).map_err(|e| StoreError::Inconsistent(format!("{}: {e}", chain.name)))?;
            let inside = match entry.kind {
                EntryKind::Frame => entry.offset >= data_head && entry.offset < data_end,
                EntryKind::Signature | EntryKind::Start => {
                    entry.offset >= data_head && entry.offset <= data_end
                }
            };
            if !inside {
                continue;
            }
            entry.offset = (entry.offset as i64 + shift) as u64;
            // The stored chain hash is kept as it was: it does not cover the offset.
            batch.extend_from_slice(&entry.encode());
            copied += 1;
        }
        if !batch.is_empty() {
            writer.append(&batch)?;
            batch.clear();
        }
        n = to;
    }
    writer.sync()?;
    Ok(ChainCopy::Copied(copied))
}

/// The timestamp a search by time compares: entries never step back in time along the chain.
pub(crate) fn entry_time(e: &Entry) -> u64 {
    e.timestamp.nanos()
}

/// Time of the first frame at or after `t` in the chain, as an entry number.
pub(crate) fn entry_at_time(chain: &mut ChainReader, from: u64, to: u64, t: Timestamp) -> Result<u64> {
    chain.first_at_or_after(from, to, t.nanos(), entry_time)
}

#[cfg(test)]
mod tests;
