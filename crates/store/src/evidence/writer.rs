//! [`ChainWriter`]: appends a video stream's hash chain while it is recorded.

use std::sync::Arc;

use crate::backend::{Backend, ByteWriter};
use crate::error::{Result, StoreError};
use crate::name::StreamName;
use crate::timestamp::Timestamp;
use crate::video::read_exact_at;

use super::chain_name;
use super::entry::{payload_digests, signed_message, Digest32, Entry, EntryKind, ENTRY_LEN};
use super::key::SigningKey;

const LEN: u64 = ENTRY_LEN as u64;

/// Writes the `-chain` stream of one video stream. The video writer calls it after each frame and its index
/// record are written, so the chain never describes bytes the data does not hold yet.
pub struct ChainWriter {
    name: StreamName,
    writer: Box<dyn ByteWriter>,
    key: Arc<SigningKey>,
    last: Digest32,
    /// Frames appended since the last signature.
    unsigned: u32,
}

impl ChainWriter {
    /// Opens (creating if needed) the chain of `video`, drops entries a crash left beyond `data_tail` and a
    /// torn last entry, and appends a start entry with this writer's public key.
    pub fn open(
        backend: &dyn Backend,
        video: &StreamName,
        data_tail: u64,
        key: Arc<SigningKey>,
        now: Timestamp,
    ) -> Result<Self> {
        let name = chain_name(video)?;
        backend.create(&name)?;
        let mut writer = backend.writer(&name)?;
        let info = backend.info(&name)?;
        let mut tail = writer.tail();
        if tail % LEN != 0 {
            tail -= tail % LEN;
            writer.truncate_tail(tail)?;
        }
        let mut reader = backend.reader(&name)?;
        let first = info.head.div_ceil(LEN);
        let mut end = tail / LEN;
        let mut last = [0u8; 32];
        let mut raw = [0u8; ENTRY_LEN];
        while end > first {
            if !read_exact_at(reader.as_mut(), (end - 1) * LEN, &mut raw)? {
                break;
            }
            let entry = Entry::decode(&raw).map_err(|e| StoreError::Inconsistent(format!("{name}: {e}")))?;
            // An entry is ahead of the data when its frame does not start inside it, or when it was written at
            // a data tail beyond today's.
            let ahead = match entry.kind {
                EntryKind::Frame => entry.offset >= data_tail,
                EntryKind::Signature | EntryKind::Start => entry.offset > data_tail,
            };
            if ahead {
                end -= 1;
                continue;
            }
            last = entry.chain;
            break;
        }
        if end * LEN < tail {
            tracing::warn!(stream = %name, dropped = tail / LEN - end, "dropping chain entries past the data");
            writer.truncate_tail(end * LEN)?;
        }
        let mut chain = ChainWriter {
            name,
            writer,
            key,
            last,
            unsigned: 0,
        };
        let public = chain.key.public_key();
        chain.push(Entry::keyed(EntryKind::Start, data_tail, now, public, [0; 64]))?;
        chain.writer.sync()?;
        Ok(chain)
    }

    /// The chain stream.
    pub fn name(&self) -> &StreamName {
        &self.name
    }

    /// Records one stored payload whose first frame is at `offset`.
    pub fn frame(&mut self, offset: u64, timestamp: Timestamp, payload: &[u8]) -> Result<()> {
        let len = u32::try_from(payload.len()).map_err(|_| StoreError::TooLarge {
            len: payload.len(),
            max: u32::MAX as usize,
        })?;
        let (outside, sample) = payload_digests(payload);
        self.push(Entry::frame(offset, timestamp, len, outside, sample))?;
        self.unsigned += 1;
        Ok(())
    }

    /// Signs the chain so far (when frames were added since the last signature) and makes it durable. The
    /// caller has made the data up to `data_tail` durable first.
    pub fn sign_and_sync(&mut self, data_tail: u64, timestamp: Timestamp) -> Result<()> {
        if self.unsigned > 0 {
            let signature = self.key.sign(&signed_message(&self.last));
            let public = self.key.public_key();
            self.push(Entry::keyed(
                EntryKind::Signature,
                data_tail,
                timestamp,
                public,
                signature,
            ))?;
            self.unsigned = 0;
        }
        self.writer.sync()
    }

    fn push(&mut self, entry: Entry) -> Result<()> {
        let entry = entry.chained(&self.last);
        self.writer.append(&entry.encode())?;
        self.last = entry.chain;
        Ok(())
    }
}
