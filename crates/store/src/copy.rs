//! Copying streams between stores (e.g. embedded -> Pravega): the basis of `hindsight copy`.
//!
//! Copies read the source from its head up to the tail it has when the copy starts and append to the end of
//! the destination through its exclusive writer, so a destination reader never sees a torn append. When the
//! destination is empty and the source was never truncated, the destination ends up byte-identical (same
//! offsets); otherwise data offsets in index records are shifted to where the frames landed.

use crate::backend::{Backend, ByteWriter};
use crate::error::{Result, StoreError};
use crate::format::{FrameHeader, IndexRecord, FRAME_HEADER_LEN, INDEX_RECORD_LEN};
use crate::name::StreamName;
use crate::video::{read_exact_at, VideoStreamNames};

/// Appends to the destination are batched up to this many bytes (a larger single frame goes alone).
const BATCH: usize = 1024 * 1024;

/// Copies the bytes of one byte stream, from its head to its current tail, onto the end of another (created if
/// missing), in appends of at most 1 MiB. The chunks ignore any structure of the bytes; use
/// [`copy_video_stream`] for video streams. Returns the number of bytes copied.
pub fn copy_byte_stream(
    src: &dyn Backend,
    src_name: &StreamName,
    dst: &dyn Backend,
    dst_name: &StreamName,
) -> Result<u64> {
    let info = src.info(src_name)?;
    let mut reader = src.reader(src_name)?;
    dst.create(dst_name)?;
    let mut writer = dst.writer(dst_name)?;
    let mut buf = vec![0u8; BATCH];
    let mut pos = info.head;
    while pos < info.tail {
        let want = usize::try_from(info.tail - pos).unwrap_or(BATCH).min(BATCH);
        let n = reader.read_at(pos, &mut buf[..want])?;
        if n == 0 {
            break;
        }
        writer.append(&buf[..n])?;
        pos += n as u64;
    }
    writer.sync()?;
    Ok(pos - info.head)
}

/// What [`copy_video_stream`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VideoCopy {
    /// Whole frames copied.
    pub frames: u64,
    /// Data bytes copied.
    pub data_bytes: u64,
    /// Index records copied.
    pub records: u64,
    /// Added to every data offset of the copied index records (0 for an exact copy).
    pub offset_shift: i64,
    /// What happened to the source's hash chain.
    pub chain: crate::evidence::ChainCopy,
}

/// Copies a video stream (data and index) onto the end of another video stream, created if missing. Data goes
/// first, whole frames per append (several small frames share one append, never a partial frame), then the
/// index records that point into the copied data, so the copy's index never points past its data.
pub fn copy_video_stream(
    src: &dyn Backend,
    src_name: &StreamName,
    dst: &dyn Backend,
    dst_name: &StreamName,
) -> Result<VideoCopy> {
    let s = VideoStreamNames::new(src_name)?;
    let d = VideoStreamNames::new(dst_name)?;
    let data_info = src.info(&s.data)?;
    let index_info = src.info(&s.index)?;
    dst.create(&d.data)?;
    dst.create(&d.index)?;
    let mut data_w = dst.writer(&d.data)?;
    let mut index_w = dst.writer(&d.index)?;
    let shift = data_w.tail() as i64 - data_info.head as i64;

    // Data: whole frames from the head to the last complete frame before the tail.
    let mut reader = src.reader(&s.data)?;
    let mut out = VideoCopy {
        offset_shift: shift,
        ..VideoCopy::default()
    };
    let mut batch = Vec::with_capacity(BATCH);
    let mut pos = data_info.head;
    let mut header = [0u8; FRAME_HEADER_LEN];
    while pos < data_info.tail {
        if !read_exact_at(reader.as_mut(), pos, &mut header)? {
            break;
        }
        let h = FrameHeader::decode(&header).map_err(|source| StoreError::Corrupt {
            stream: s.data.clone(),
            offset: pos,
            source,
        })?;
        let len = h.frame_len();
        if pos + len as u64 > data_info.tail {
            break;
        }
        if !batch.is_empty() && batch.len() + len > BATCH {
            flush(data_w.as_mut(), &mut batch)?;
        }
        let start = batch.len();
        batch.resize(start + len, 0);
        if !read_exact_at(reader.as_mut(), pos, &mut batch[start..])? {
            batch.truncate(start);
            break;
        }
        pos += len as u64;
        out.frames += 1;
    }
    flush(data_w.as_mut(), &mut batch)?;
    data_w.sync()?;
    out.data_bytes = pos - data_info.head;
    let data_end = pos;

    // Index: records pointing into the copied frames (an end record may point at their very end).
    let rec = INDEX_RECORD_LEN as u64;
    let mut reader = src.reader(&s.index)?;
    let mut n = index_info.head.div_ceil(rec);
    let end = index_info.tail / rec;
    let mut raw = [0u8; INDEX_RECORD_LEN];
    while n < end {
        if !read_exact_at(reader.as_mut(), n * rec, &mut raw)? {
            break;
        }
        let mut r = IndexRecord::decode(&raw).map_err(|source| StoreError::Corrupt {
            stream: s.index.clone(),
            offset: n * rec,
            source,
        })?;
        n += 1;
        if r.offset < data_info.head || r.offset > data_end || (r.offset == data_end && r.is_seek_target()) {
            continue;
        }
        r.offset = (r.offset as i64 + shift) as u64;
        if batch.len() + INDEX_RECORD_LEN > BATCH {
            flush(index_w.as_mut(), &mut batch)?;
        }
        batch.extend_from_slice(&r.encode());
        out.records += 1;
    }
    flush(index_w.as_mut(), &mut batch)?;
    index_w.sync()?;
    out.chain = crate::evidence::copy_chain(src, src_name, dst, dst_name, data_info.head, data_end, shift)?;
    Ok(out)
}

fn flush(w: &mut dyn ByteWriter, batch: &mut Vec<u8>) -> Result<()> {
    if !batch.is_empty() {
        w.append(batch)?;
        batch.clear();
    }
    Ok(())
}
