//! `GET /streams/{scope}/{stream}/data` (also as `data.mp4`, the name playlists use): the data stream's bytes at their own offsets (so the index's offsets are
//! the playlists' byte ranges), with HTTP `Range` (one range, 206, `Content-Range`; 416 outside the stored bytes,
//! truncated ones included). Streamed from the store in chunks, never a whole segment in memory.
//!
//! Each 20-byte frame header goes out as an MP4 `free` box of the same size (its first 8 bytes replaced by the
//! box size 20 and the type `free`; the flags and time stay in the box), so a byte range from one key frame to
//! the next is a valid fragmented-MP4 segment that players parse, and every offset stays that of the store.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hindsight_store::format::{FrameHeader, FRAME_HEADER_LEN};
use hindsight_store::video::{read_exact_at, IndexReader, VideoStreamNames};
use hindsight_store::{Backend, ByteReader, StreamName};

use super::error::{blocking, ApiError};
use super::range::{self, RangeError};
use super::AppState;

/// Bytes read from the store per chunk of the response.
const CHUNK: usize = 256 * 1024;
/// The box header that replaces a frame header's type code and length: size 20, type `free`.
const FREE_BOX: [u8; 8] = [0, 0, 0, FRAME_HEADER_LEN as u8, b'f', b'r', b'e', b'e'];

/// The stream name of a request path, validated like everywhere else (no `..`, no separators).
pub fn stream_name(scope: &str, stream: &str) -> Result<StreamName, ApiError> {
    StreamName::new(scope, stream).map_err(|e| ApiError::bad_request(format!("bad stream name: {e}")))
}

/// The handler.
pub async fn data(
    State(state): State<AppState>,
    Path((scope, stream)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let name = stream_name(&scope, &stream)?;
    let store = state.store.clone();
    let info = {
        let name = name.clone();
        blocking(move || Ok(store.info(&name)?)).await?
    };
    let range = match headers.get(header::RANGE) {
        None => None,
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|_| ApiError::bad_request("the Range header is not text"))?;
            match range::parse(text, info.head, info.tail) {
                Ok(r) => Some(r),
                Err(e) => return Ok(unsatisfiable(&e, info.tail)),
            }
        }
    };
    let (start, end, status) = match range {
        Some((a, b)) => (a, b + 1, StatusCode::PARTIAL_CONTENT),
        // The whole stream from offset 0 is only there while nothing was deleted.
        None if info.head == 0 => (0, info.tail, StatusCode::OK),
        None => return Ok(unsatisfiable(&RangeError::Unsatisfiable, info.tail)),
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, end - start);
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{}", end - 1, info.tail),
        );
    }
    let body = if start == end {
        Body::empty()
    } else {
        Body::from_stream(stream_bytes(state.store.clone(), name, start, end))
    };
    response
        .body(body)
        .map_err(|e| ApiError::internal(format!("cannot build the response: {e}")))
}

/// A 416 that names the stored length (`Content-Range: bytes */TAIL`, per RFC 9110), the JSON says why.
fn unsatisfiable(e: &RangeError, tail: u64) -> Response {
    let mut response = ApiError {
        status: StatusCode::RANGE_NOT_SATISFIABLE,
        message: format!("{} (stored bytes end at {tail})", e.message()),
    }
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{tail}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    response
}

/// Bytes `[start, end)` of the data stream, frame headers shown as `free` boxes, produced by a blocking reader
/// a few chunks ahead of the client (back-pressure through a small channel).
fn stream_bytes(
    store: std::sync::Arc<dyn Backend>,
    name: StreamName,
    start: u64,
    end: u64,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let sent = read_masked(store.as_ref(), &name, start, end, CHUNK, |chunk| {
            tx.blocking_send(Ok(chunk)).is_ok()
        });
        if let Err(e) = sent {
            tracing::warn!(stream = %name, start, end, error = %e, "data response cut short");
            // The client sees the connection end before Content-Length: an aborted transfer, not bad bytes.
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}

/// Reads `[start, end)` in chunks of `chunk_size`, masks the frame headers and hands each chunk to `send`,
/// which says whether to go on (false: the client went away).
fn read_masked(
    store: &dyn Backend,
    name: &StreamName,
    start: u64,
    end: u64,
    chunk_size: usize,
    mut send: impl FnMut(Bytes) -> bool,
) -> anyhow::Result<()> {
    let mut reader = store.reader(name)?;
    let mut headers = HeaderWalk::new(store, name, start)?;
    let mut pos = start;
    let mut buf = vec![0u8; chunk_size];
    while pos < end {
        let want = ((end - pos) as usize).min(chunk_size);
        let chunk = &mut buf[..want];
        if !read_exact_at(reader.as_mut(), pos, chunk)? {
            anyhow::bail!("the stream ended at {pos} before {end}");
        }
        headers.mask(reader.as_mut(), pos, chunk)?;
        if !send(Bytes::copy_from_slice(chunk)) {
            return Ok(());
        }
        pos += want as u64;
    }
    Ok(())
}

/// Where the frame headers are, walked from a known frame start (an index record) by their lengths.
struct HeaderWalk {
    /// Offset of the next frame header not yet passed (`u64::MAX` past the last complete one).
    next: u64,
    /// The header passed last, whose box bytes may reach into the next chunk.
    last: Option<u64>,
}

impl HeaderWalk {
    /// Finds the first frame header at or after the one that contains `start`.
    fn new(store: &dyn Backend, name: &StreamName, start: u64) -> anyhow::Result<Self> {
        let mut index = IndexReader::open(store, name)?;
        // The last record at or before `start` is a frame start (or the end of data).
        let from = match index.first_with_offset_after(start)? {
            Some((n, _)) => {
                let (first, _) = hindsight_store::search::IndexSource::bounds(&mut index)?;
                if n > first {
                    hindsight_store::search::IndexSource::record(&mut index, n - 1)?.offset
                } else {
                    store.info(&VideoStreamNames::new(name)?.data)?.head
                }
            }
            None => match hindsight_store::search::last_record(&mut index)? {
                Some((_, r)) => r.offset,
                None => store.info(name)?.head,
            },
        };
        let mut walk = HeaderWalk {
            next: from,
            last: None,
        };
        let mut reader = store.reader(name)?;
        while walk.next < start {
            walk.last = Some(walk.next);
            walk.next = match frame_len(reader.as_mut(), walk.next, 0, &[])? {
                Some(len) => walk.next + len,
                None => u64::MAX,
            };
        }
        Ok(walk)
    }

    /// Masks the frame headers in `chunk`, which holds the bytes from `pos`.
    fn mask(&mut self, reader: &mut dyn ByteReader, pos: u64, chunk: &mut [u8]) -> anyhow::Result<()> {
        // A header that straddles the chunk start had its first bytes masked in the chunk before.
        if let Some(last) = self.last {
            mask_box(last, pos, chunk);
        }
        let end = pos + chunk.len() as u64;
        while self.next < end {
            let at = self.next;
            // The length first: it is among the bytes the box header replaces.
            self.next = match frame_len(reader, at, pos, chunk)? {
                Some(len) => at + len,
                None => u64::MAX,
            };
            mask_box(at, pos, chunk);
            self.last = Some(at);
        }
        Ok(())
    }
}

/// The length of the frame whose header is at `at`: decoded from `chunk` (the bytes from `pos`) when the
/// header is all in it, else read from the store; `None` when no complete header is there yet.
fn frame_len(reader: &mut dyn ByteReader, at: u64, pos: u64, chunk: &[u8]) -> anyhow::Result<Option<u64>> {
    let mut h = [0u8; FRAME_HEADER_LEN];
    let inside = at >= pos && at + FRAME_HEADER_LEN as u64 <= pos + chunk.len() as u64;
    if inside {
        let from = (at - pos) as usize;
        h.copy_from_slice(&chunk[from..from + FRAME_HEADER_LEN]);
    } else if !read_exact_at(reader, at, &mut h)? {
        return Ok(None);
    }
    Ok(Some(FrameHeader::decode(&h)?.frame_len() as u64))
}

/// Writes the `free` box header over the part of the frame header at `at` that falls in `chunk`.
fn mask_box(at: u64, pos: u64, chunk: &mut [u8]) {
    let end = pos + chunk.len() as u64;
    for (k, byte) in FREE_BOX.iter().enumerate() {
        let offset = at + k as u64;
        if offset >= pos && offset < end {
            chunk[(offset - pos) as usize] = *byte;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hindsight_store::video::{IndexPolicy, VideoWriter};
    use hindsight_store::{StoreUri, Timestamp};

    /// Every range, in chunks of every size from 1 byte up, reads as the whole stream masked in one piece:
    /// headers that straddle chunk or range boundaries are masked all the same.
    #[test]
    fn headers_are_masked_across_chunk_and_range_boundaries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StoreUri::embedded(dir.path()).open_new().expect("store");
        let name = StreamName::parse("site/cam").expect("name");
        let mut w = VideoWriter::open(store.as_ref(), &name, IndexPolicy::default()).expect("writer");
        let t0 = Timestamp::parse_rfc3339("2025-03-01T10:00:00Z").expect("time");
        let mut frames = Vec::new();
        for i in 0..40u64 {
            // Uneven sizes so frame starts fall everywhere relative to the chunks.
            let payload = vec![(i as u8).wrapping_mul(31); 7 + (i as usize * 13) % 57];
            let at = w.data_tail();
            w.append(
                &payload,
                t0.saturating_add(std::time::Duration::from_millis(40 * i)),
                i % 10 == 0,
            )
            .expect("append");
            frames.push(at);
        }
        w.finish(None).expect("finish");
        let tail = store.info(&name).expect("info").tail;
        let mut whole = Vec::new();
        read_masked(store.as_ref(), &name, 0, tail, tail as usize, |c| {
            whole.extend_from_slice(&c);
            true
        })
        .expect("whole");
        for at in &frames {
            let at = *at as usize;
            assert_eq!(&whole[at..at + 8], &FREE_BOX, "the header at {at}");
        }
        for chunk in [1, 3, 8, 19, 20, 21, 64] {
            for (start, end) in [
                (0, tail),
                (5, tail - 3),
                (frames[7] + 4, frames[30] + 2),
                (frames[3] + 19, frames[4] + 1),
            ] {
                let mut got = Vec::new();
                read_masked(store.as_ref(), &name, start, end, chunk, |c| {
                    got.extend_from_slice(&c);
                    true
                })
                .expect("range");
                assert!(
                    got == whole[start as usize..end as usize],
                    "chunks of {chunk}, {start}..{end}"
                );
            }
        }
    }
}
