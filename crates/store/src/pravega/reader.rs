//! The Pravega byte reader behind the blocking [`ByteReader`] trait: reads and tail waits over the segment
//! store's wire protocol, with read-ahead.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pravega_wire_protocol::commands::{ReadSegmentCommand, StreamSegmentInfoCommand};
use pravega_wire_protocol::wire_commands::{Replies, Requests};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::conn::{request_id, PendingReply, SegmentConn};
use super::core::{Core, SegmentHandle};
use super::errors::unexpected;
use super::read_cache::Cache;
use super::store::Shared;
use crate::backend::{ByteReader, StreamInfo, WaitOutcome};
use crate::error::{Result, StoreError};
use crate::interrupt::Interrupt;
use crate::name::StreamName;
/// Bytes asked for by a read below the tail (more arrive in one round trip than a frame header needs).
const MIN_READ: usize = 256 * 1024;
/// Upper bound of one read request.
const MAX_READ: usize = 4 * 1024 * 1024;
/// Bytes asked for by a tail wait: whatever gets appended next, up to this.
const POLL_READ: i32 = 1024 * 1024;
/// A waiting reader also re-checks the tail this often, in case a long-polling read got lost.
const RECHECK_EVERY: Duration = Duration::from_secs(1);

pub(crate) fn i64_to_u64(v: i64) -> u64 {
    v.max(0) as u64
}

/// An outstanding tail read, kept across waits so that a wait that timed out or was interrupted does not lose
/// its place in the server's queue.
struct Poll {
    at: u64,
    conn: Arc<SegmentConn>,
    reply: PendingReply,
}

enum ReadResult {
    Data { data: Vec<u8>, tail: Option<u64> },
    Truncated(u64),
    End(u64),
}

enum Step {
    Data { at: u64, data: Vec<u8> },
    Again,
    Tail { tail: u64, sealed: bool },
    Truncated(u64),
    Sealed,
    TimedOut,
    Interrupted,
}

/// Reads one Pravega byte stream over its own segment-store connection.
pub(crate) struct PravegaReader {
    shared: Arc<Shared>,
    handle: Arc<SegmentHandle>,
    conn: Option<Arc<SegmentConn>>,
    cache: Cache,
    /// A tail seen earlier; the real tail is never below it.
    known_tail: Option<u64>,
    poll: Option<Poll>,
    /// Consecutive tail reads that came back empty at once (a server that does not hold reads at the tail):
    /// back off instead of spinning.
    empty_polls: u32,
}

impl PravegaReader {
    pub(crate) fn open(shared: Arc<Shared>, name: &StreamName) -> Result<Self> {
        let core = shared.core.clone();
        let name = name.clone();
        let handle = shared.run(&format!("open reader of {name}"), async move {
            core.handle(&name).await
        })?;
        Ok(PravegaReader {
            shared,
            handle,
            conn: None,
            cache: Cache::default(),
            known_tail: None,
            poll: None,
            empty_polls: 0,
        })
    }

    fn name(&self) -> &StreamName {
        &self.handle.name
    }

    fn truncations(&self) -> u64 {
        self.handle.truncations.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn see_tail(&mut self, tail: u64) {
        self.known_tail = Some(self.known_tail.map_or(tail, |t| t.max(tail)));
    }
}

/// The reader's connection, reconnecting if it died.
async fn live_conn(
    core: &Core,
    h: &SegmentHandle,
    conn: Option<Arc<SegmentConn>>,
) -> Result<Arc<SegmentConn>> {
    match conn {
        Some(c) if c.is_alive() => Ok(c),
        _ => core.connect(h).await,
    }
}

/// The tail of the segment `info` describes when `offset` is inside it, else what a read there gets: below the
/// head it was truncated, at or past the tail there is nothing yet.
fn place(info: &StreamSegmentInfoCommand, offset: u64) -> std::result::Result<u64, ReadResult> {
    let (head, tail) = (i64_to_u64(info.start_offset), i64_to_u64(info.write_offset));
    if offset < head {
        Err(ReadResult::Truncated(head))
    } else if offset >= tail {
        Err(ReadResult::End(tail))
    } else {
        Ok(tail)
    }
}

/// Starts a read at `offset` on `conn` without waiting for it: answered at once where there is data, and held
/// by the server until there is where `offset` is the tail.
async fn tail_read(
    core: &Core,
    h: &SegmentHandle,
    conn: &Arc<SegmentConn>,
    offset: u64,
    len: i32,
) -> Result<Poll> {
    let reply = conn.start(&Requests::ReadSegment(ReadSegmentCommand {
        segment: h.qualified.clone(),
        offset: offset as i64,
        suggested_length: len,
        delegation_token: core.token(h).await,
        request_id: request_id(),
    }))?;
    Ok(Poll {
        at: offset,
        conn: conn.clone(),
        reply,
    })
}

fn interrupt_fd(interrupt: &Interrupt) -> Option<AsyncFd<OwnedFd>> {
    // A duplicate, so that several waits on one interrupt register separately with the reactor.
    let fd = interrupt.as_fd().try_clone_to_owned().ok()?;
    // SAFETY: the AsyncFd owns `fd`, which stays open (and the same description) until the AsyncFd is dropped.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.ok()
}

/// Resolves when the interrupt fires: through its eventfd, or by checking it every 10 ms if that is unusable.
async fn interrupted(interrupt: &Interrupt, fd: Option<&AsyncFd<OwnedFd>>) {
    match fd {
        Some(fd) => {
            while !interrupt.is_set() {
                match fd.readable().await {
                    // Readable while set; a clear() may have raced us, so check the flag again.
                    Ok(mut guard) => {
                        if interrupt.is_set() {
                            return;
                        }
                        guard.clear_ready();
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        }
        None => {
            while !interrupt.is_set() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

impl ByteReader for PravegaReader {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let truncations = self.truncations();
        if let Some(n) = self.cache.copy_to(offset, buf, truncations) {
            return Ok(n);
        }
        let core = self.shared.core.clone();
        let h = self.handle.clone();
        let conn = self.conn.take();
        let known = self.known_tail;
        let want = buf.len().clamp(MIN_READ, MAX_READ) as i32;
        let at_tail = known.is_none_or(|t| offset >= t);
        // A tail read already waiting at this offset answers this read as well.
        let poll = self.poll.take().filter(|p| p.at == offset && p.conn.is_alive());
        let (conn, result, poll) = self.shared.run(&format!("read {}", self.name()), async move {
            let conn = live_conn(&core, &h, conn).await?;
            let mut tail = None;
            if at_tail {
                // Not known to be there: ask how far the segment goes and, in the same round trip, read at the
                // offset. Where there is data the read brings it; where there is none yet the server holds the
                // read until there is, and it stays outstanding as the tail wait that follows (see
                // `wait_beyond`). Reading the rest of a frame whose start a tail wait brought costs one round
                // trip instead of two: Pravega answers a tail wait with the bytes up to a 4 KiB boundary of the
                // segment, so most frames arrive in two pieces.
                let mut pending = match poll.filter(|p| Arc::ptr_eq(&p.conn, &conn)) {
                    Some(p) => p,
                    None => tail_read(&core, &h, &conn, offset, want).await?,
                };
                let asking = conn.clone();
                let info = core.segment_info(&h, Some(&asking));
                tokio::pin!(info);
                // Whichever answers first: data from the read needs no word on the tail.
                let read_first = tokio::select! {
                    reply = &mut pending.reply => Some(reply?),
                    done = &mut info => match place(&done?, offset) {
                        Ok(t) => {
                            tail = Some(t);
                            None
                        }
                        Err(ReadResult::End(t)) if t == offset => {
                            return Ok((conn, ReadResult::End(t), Some(pending)));
                        }
                        Err(outside) => return Ok((conn, outside, None)),
                    }
                };
                let reply = match read_first {
                    Some(reply) => reply,
                    None => pending.reply.await?,
                };
                match reply {
                    Replies::SegmentRead(cmd) if !cmd.data.is_empty() => {
                        return Ok((conn, ReadResult::Data { data: cmd.data, tail }, None));
                    }
                    Replies::SegmentIsTruncated(cmd) => {
                        return Ok((conn, ReadResult::Truncated(i64_to_u64(cmd.start_offset)), None));
                    }
                    // Anything else (a token that expired meanwhile, a moved segment): the plain read below,
                    // which handles those, says what is there, once the tail is known (a read at the tail
                    // would wait for data).
                    _ => {}
                }
                if tail.is_none() {
                    match place(&info.await?, offset) {
                        Ok(t) => tail = Some(t),
                        Err(outside) => return Ok((conn, outside, None)),
                    }
                }
            }
            let seg = h.qualified.clone();
            let reply = core
                .segment_call(&h, Some(&conn), |request_id, delegation_token| {
                    Requests::ReadSegment(ReadSegmentCommand {
                        segment: seg.clone(),
                        offset: offset as i64,
                        suggested_length: want,
                        delegation_token,
                        request_id,
                    })
                })
                .await?;
            let result = match reply {
                Replies::SegmentRead(cmd) => ReadResult::Data { data: cmd.data, tail },
                Replies::SegmentIsTruncated(cmd) => ReadResult::Truncated(i64_to_u64(cmd.start_offset)),
                Replies::SegmentIsSealed(_) => ReadResult::End(offset),
                other => return Err(unexpected(&h.name, "read", &other)),
            };
            Ok((conn, result, None))
        })?;
        self.conn = Some(conn);
        self.poll = poll;
        match result {
            ReadResult::Data { data, tail } => {
                if let Some(t) = tail {
                    self.see_tail(t);
                }
                if data.is_empty() {
                    return Ok(0);
                }
                self.see_tail(offset + data.len() as u64);
                self.cache.put(offset, data, truncations);
                Ok(self.cache.copy_to(offset, buf, truncations).unwrap_or(0))
            }
            ReadResult::Truncated(head) => Err(StoreError::Truncated {
                stream: self.name().clone(),
                offset,
                head,
            }),
            ReadResult::End(tail) => {
                self.see_tail(tail);
                Ok(0)
            }
        }
    }

    fn info(&mut self) -> Result<StreamInfo> {
        let core = self.shared.core.clone();
        let h = self.handle.clone();
        let conn = self.conn.take();
        let (conn, info) = self
            .shared
            .run(&format!("stream info of {}", self.name()), async move {
                let conn = live_conn(&core, &h, conn).await?;
                let info = core.segment_info(&h, Some(&conn)).await?;
                Ok((conn, info))
            })?;
        self.conn = Some(conn);
        let tail = i64_to_u64(info.write_offset);
        self.see_tail(tail);
        Ok(StreamInfo {
            head: i64_to_u64(info.start_offset),
            tail,
            sealed: info.is_sealed,
            // Asking the lease table costs a round trip per call; the store's `info` answers this.
            writer_active: None,
        })
    }

    fn wait_beyond(&mut self, offset: u64, deadline: Instant, interrupt: &Interrupt) -> Result<WaitOutcome> {
        let mut asked = false;
        loop {
            if interrupt.is_set() {
                return Ok(WaitOutcome::Interrupted);
            }
            if self.known_tail.is_some_and(|t| t > offset) {
                return Ok(WaitOutcome::Data);
            }
            if Instant::now() >= deadline {
                // Past the deadline, still report data (or a seal) that is there: ask the server once.
                if !asked {
                    asked = true;
                    if self.info()?.sealed && self.known_tail.is_some_and(|t| t <= offset) {
                        return Ok(WaitOutcome::Sealed);
                    }
                    continue;
                }
                return Ok(WaitOutcome::TimedOut);
            }
            let core = self.shared.core.clone();
            let h = self.handle.clone();
            let conn = self.conn.take();
            let known = self.known_tail;
            // Keep an outstanding tail read only if it is still the one we want (same place, same connection).
            let poll = self
                .poll
                .take()
                .filter(|p| Some(p.at) == known && p.conn.is_alive());
            let backoff = match self.empty_polls {
                0 => None,
                n => Some(Duration::from_millis(1u64 << n.min(5)).min(Duration::from_millis(20))),
            };
            let interrupt2 = interrupt.clone();
            let op_timeout = self.shared.op_timeout;
            let (conn, poll, step) = self.shared.run_unbounded("wait for data", async move {
                let wake = interrupt_fd(&interrupt2);
                let deadline = tokio::time::Instant::from_std(deadline);
                let setup = async {
                    let conn = live_conn(&core, &h, conn).await?;
                    let at = match known {
                        Some(t) => t,
                        None => {
                            let info = core.segment_info(&h, Some(&conn)).await?;
                            return Ok((
                                conn,
                                None,
                                Step::Tail {
                                    tail: i64_to_u64(info.write_offset),
                                    sealed: info.is_sealed,
                                },
                            ));
                        }
                    };
                    let poll = match poll {
                        Some(p) => p,
                        None => {
                            if let Some(b) = backoff {
                                tokio::time::sleep(b).await;
                            }
                            tail_read(&core, &h, &conn, at, POLL_READ).await?
                        }
                    };
                    Ok::<_, StoreError>((conn, Some(poll), Step::Again))
                };
                // Setting up (connecting, a first tail query) is bounded by the operation timeout and still
                // gives way to the caller's deadline and interrupt.
                let (conn, poll, first) = tokio::select! {
                    r = tokio::time::timeout(op_timeout, setup) => match r {
                        Ok(r) => r?,
                        Err(_) => return Err(StoreError::Timeout(format!(
                            "wait for data in {}: no answer from Pravega within {:.1} s",
                            h.name, op_timeout.as_secs_f64()))),
                    },
                    _ = interrupted(&interrupt2, wake.as_ref()) => return Ok((None, None, Step::Interrupted)),
                    _ = tokio::time::sleep_until(deadline) => return Ok((None, None, Step::TimedOut)),
                };
                let Some(mut poll) = poll else {
                    return Ok((Some(conn), None, first));
                };
                let started = tokio::time::Instant::now();
                let step = tokio::select! {
                    reply = &mut poll.reply => {
                        let at = poll.at;
                        let step = match reply? {
                            Replies::SegmentRead(cmd) if !cmd.data.is_empty() => Step::Data { at, data: cmd.data },
                            Replies::SegmentRead(cmd) if cmd.end_of_segment => Step::Sealed,
                            Replies::SegmentRead(_) => Step::Again,
                            Replies::SegmentIsSealed(_) => Step::Sealed,
                            Replies::SegmentIsTruncated(cmd) => Step::Truncated(i64_to_u64(cmd.start_offset)),
                            Replies::NoSuchSegment(_) => return Err(StoreError::NotFound(h.name.clone())),
                            Replies::WrongHost(_) | Replies::AuthTokenCheckFailed(_) => {
                                // Look the segment store up again / fetch a fresh token, then wait again.
                                core.forget_endpoint(&h);
                                return Ok((None, None, Step::Again));
                            }
                            other => return Err(unexpected(&h.name, "tail read", &other)),
                        };
                        let quick = started.elapsed() < Duration::from_millis(5);
                        let step = match step {
                            Step::Again if quick => Step::Tail { tail: at, sealed: false },
                            s => s,
                        };
                        // Read on at once from where the data ends: the rest of a frame the server cut at a
                        // 4 KiB boundary comes back without waiting for the caller to ask, and otherwise this
                        // is the next tail wait, already in the server's queue.
                        let next = match &step {
                            Step::Data { at, data } => {
                                tail_read(&core, &h, &conn, at + data.len() as u64, POLL_READ).await.ok()
                            }
                            _ => None,
                        };
                        return Ok((Some(conn), next, step));
                    }
                    _ = interrupted(&interrupt2, wake.as_ref()) => Step::Interrupted,
                    _ = tokio::time::sleep_until(deadline) => Step::TimedOut,
                    _ = tokio::time::sleep(RECHECK_EVERY) => {
                        let info = core.segment_info(&h, Some(&conn)).await?;
                        Step::Tail { tail: i64_to_u64(info.write_offset), sealed: info.is_sealed }
                    }
                };
                Ok((Some(conn), Some(poll), step))
            })?;
            self.conn = conn;
            self.poll = poll;
            match step {
                Step::Data { at, data } => {
                    self.empty_polls = 0;
                    self.see_tail(at + data.len() as u64);
                    let truncations = self.truncations();
                    self.cache.put(at, data, truncations);
                }
                Step::Again => {}
                Step::Tail { tail, sealed } => {
                    // Also how an immediately empty tail read comes back: count those to back off.
                    if self.known_tail == Some(tail) && !sealed && self.poll.is_none() {
                        self.empty_polls += 1;
                    }
                    self.see_tail(tail);
                    if sealed && tail <= offset {
                        return Ok(WaitOutcome::Sealed);
                    }
                }
                Step::Truncated(head) => self.see_tail(head),
                Step::Sealed => return Ok(WaitOutcome::Sealed),
                Step::TimedOut => return Ok(WaitOutcome::TimedOut),
                Step::Interrupted => return Ok(WaitOutcome::Interrupted),
            }
        }
    }
}
