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
        if let Err(e) = produce(store.as_ref(), &name, start, end, &tx) {
            tracing::warn!(stream = %name, start, end, error = %e, "data response cut short");
            // The client sees the connection end before Content-Length: an aborted transfer, not bad bytes.
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}

fn produce(
    store: &dyn Backend,
    name: &StreamName,
    start: u64,
    end: u64,
    tx: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> anyhow::Result<()> {
    let mut reader = store.reader(name)?;
    let mut headers = HeaderWalk::new(store, name, start)?;
    let mut pos = start;
    let mut buf = vec![0u8; CHUNK];
    while pos < end {
        let want = ((end - pos) as usize).min(CHUNK);
        let chunk = &mut buf[..want];
        if !read_exact_at(reader.as_mut(), pos, chunk)? {
            anyhow::bail!("the stream ended at {pos} before {end}");
        }
        headers.mask(reader.as_mut(), pos, chunk)?;
        if tx.blocking_send(Ok(Bytes::copy_from_slice(chunk))).is_err() {
            return Ok(()); // The client went away.
        }
        pos += want as u64;
    }
    Ok(())
}

/// Where the frame headers are, walked from a known frame start (an index record) by their lengths.
struct HeaderWalk {
    /// Offset of the next frame header not yet passed.
    next: u64,
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
        let mut walk = HeaderWalk { next: from };
        let mut reader = store.reader(name)?;
        while walk.next < start {
            walk.next = walk.after(reader.as_mut())?;
        }
        Ok(walk)
    }

    /// The offset after the frame whose header is at `self.next`.
    fn after(&self, reader: &mut dyn ByteReader) -> anyhow::Result<u64> {
        let mut h = [0u8; FRAME_HEADER_LEN];
        if !read_exact_at(reader, self.next, &mut h)? {
            // No complete header there yet: nothing further to mask.
            return Ok(u64::MAX);
        }
        Ok(self.next + FrameHeader::decode(&h)?.frame_len() as u64)
    }

    /// Masks the frame headers in `chunk`, which holds the bytes from `pos`.
    fn mask(&mut self, reader: &mut dyn ByteReader, pos: u64, chunk: &mut [u8]) -> anyhow::Result<()> {
        let end = pos + chunk.len() as u64;
        while self.next < end {
            // The header's first 8 bytes (type code and length) become the box header; a header that straddles
            // the chunk start had its first part masked in the chunk before.
            for k in 0..FREE_BOX.len() as u64 {
                let at = self.next + k;
                if at >= pos && at < end {
                    chunk[(at - pos) as usize] = FREE_BOX[k as usize];
                }
            }
            let after = self.after(reader)?;
            if after == u64::MAX {
                break;
            }
            self.next = after;
        }
        Ok(())
    }
}
