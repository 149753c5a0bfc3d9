//! Readers of an embedded byte stream: reads across segment files, and tail waits on inotify and the caller's
//! interrupt eventfd.

use std::fs::File;
use std::io::{self};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::Instant;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::backend::{ByteReader, StreamInfo, WaitOutcome};
use crate::error::{Result, StoreError};
use crate::interrupt::Interrupt;
use crate::name::StreamName;

use super::*;

pub(super) struct EmbeddedReader {
    pub(super) name: StreamName,
    pub(super) dir: PathBuf,
    /// Segment starts as last listed.
    pub(super) segments: Vec<u64>,
    /// The most recently read segment, kept open.
    pub(super) open: Option<(u64, File)>,
    pub(super) inotify: Option<Inotify>,
    /// The head marker as last read.
    pub(super) head: HeadCache,
}

/// The head marker as last read, and which file it was read from. A truncation writes a new marker and
/// renames it over the old one, so an unchanged file (inode, size, change times) means an unchanged head: a
/// reader checks the head on every read with one `stat` instead of opening and reading the marker.
#[derive(Debug, Default)]
pub(super) struct HeadCache {
    /// `None`: not read yet, or the marker was too fresh to trust its file times.
    stamp: Option<MarkerStamp>,
    head: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MarkerStamp {
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl MarkerStamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        MarkerStamp {
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            ctime_ns: meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
        }
    }

    /// File times tick coarsely (a few ms): a marker replaced twice within one tick, its new file reusing
    /// the inode of the one cached, would look unchanged. A marker changed that recently is read again.
    fn settled(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        now - self.ctime_ns.max(self.mtime_ns) > 100_000_000
    }
}

impl EmbeddedReader {
    fn refresh(&mut self) -> Result<()> {
        if !self.dir.is_dir() {
            return Err(StoreError::NotFound(self.name.clone()));
        }
        self.segments = list_segments(&self.dir)?;
        Ok(())
    }

    /// The current head: from the cache while the marker file is unchanged.
    fn current_head(&mut self) -> Result<u64> {
        let path = self.dir.join(HEAD_FILE);
        let stamp = match std::fs::metadata(&path) {
            Ok(meta) => MarkerStamp::of(&meta),
            // No truncation yet.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.head = HeadCache::default();
                return Ok(0);
            }
            Err(e) => return Err(io_err("stat", &path)(e)),
        };
        if self.head.stamp == Some(stamp) {
            return Ok(self.head.head);
        }
        // Stat before reading: a marker replaced in between leaves the old stamp cached, so the next call
        // reads again, never the other way round.
        let head = read_head(&self.dir)?;
        self.head = HeadCache {
            stamp: stamp.settled().then_some(stamp),
            head,
        };
        Ok(head)
    }

    /// The tail, from the segments already known: the last one's size, following rolls (a new segment starts
    /// exactly at the tail, named by its offset). Two `stat`s instead of listing the directory.
    fn current_tail(&mut self, head: u64) -> Result<u64> {
        if self.segments.is_empty() {
            self.refresh()?;
        }
        let mut relisted = false;
        loop {
            let Some(&last) = self.segments.last() else {
                return Ok(head);
            };
            let path = segment_path(&self.dir, last);
            match std::fs::metadata(&path) {
                Ok(meta) => {
                    let end = last + meta.len();
                    if end > last && segment_path(&self.dir, end).exists() {
                        self.segments.push(end);
                        continue;
                    }
                    return Ok(end.max(head));
                }
                // Cut off by a repair or deleted by a truncation: list again, once.
                Err(e) if e.kind() == io::ErrorKind::NotFound && !relisted => {
                    self.refresh()?;
                    relisted = true;
                }
                Err(e) => return Err(io_err("stat", &path)(e)),
            }
        }
    }

    fn segment_for(&self, offset: u64) -> Option<(usize, u64)> {
        let idx = self.segments.partition_point(|&s| s <= offset);
        idx.checked_sub(1).map(|i| (i, self.segments[i]))
    }

    fn file_for(&mut self, start: u64) -> io::Result<&File> {
        if self.open.as_ref().map(|(s, _)| *s) != Some(start) {
            let file = File::open(segment_path(&self.dir, start))?;
            self.open = Some((start, file));
        }
        match &self.open {
            Some((_, f)) => Ok(f),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    fn try_read(&mut self, offset: u64, buf: &mut [u8]) -> Result<Option<usize>> {
        let Some((idx, start)) = self.segment_for(offset) else {
            return Ok(None);
        };
        let is_last = idx + 1 == self.segments.len();
        let limit = if is_last {
            buf.len()
        } else {
            // Never read past the segment end into bytes that belong to the next file's range.
            buf.len().min((self.segments[idx + 1] - offset) as usize)
        };
        let file = match self.file_for(start) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("open", &segment_path(&self.dir, start))(e)),
        };
        let n = file
            .read_at(&mut buf[..limit], offset - start)
            .map_err(io_err("read", &segment_path(&self.dir, start)))?;
        if n == 0 && is_last {
            return Ok(None);
        }
        Ok(Some(n))
    }
}

impl ByteReader for EmbeddedReader {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = match self.try_read(offset, buf)? {
            Some(n) => n,
            None => {
                // The listing may be stale: a new segment, or segments deleted by truncation.
                self.refresh()?;
                self.try_read(offset, buf)?.unwrap_or(0)
            }
        };
        // Checked after reading: a truncation that raced the read may have freed the bytes just read (an open
        // segment reads zeros where its blocks were punched out), and its marker is written before that.
        let head = self.current_head()?;
        if offset < head {
            return Err(StoreError::Truncated {
                stream: self.name.clone(),
                offset,
                head,
            });
        }
        Ok(n)
    }

    fn extent(&mut self) -> Result<(u64, u64)> {
        let head = self.current_head()?;
        let tail = self.current_tail(head)?;
        Ok((head, tail))
    }

    fn info(&mut self) -> Result<StreamInfo> {
        self.refresh()?;
        let head = read_head(&self.dir)?;
        let tail = compute_tail(&self.dir, &self.segments, head)
            .or_else(|_| {
                // The last segment vanished between listing and stat (truncation raced us): list again.
                self.segments = list_segments(&self.dir)?;
                compute_tail(&self.dir, &self.segments, head)
            })?
            .max(head);
        Ok(StreamInfo {
            head,
            tail,
            sealed: self.dir.join(SEALED_FILE).exists(),
            writer_active: Some(writer_active(&self.dir).unwrap_or(false)),
        })
    }

    fn wait_beyond(&mut self, offset: u64, deadline: Instant, interrupt: &Interrupt) -> Result<WaitOutcome> {
        if self.inotify.is_none() {
            let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
                .map_err(|e| StoreError::io("cannot create inotify instance", e.into()))?;
            inotify
                .add_watch(
                    &self.dir,
                    AddWatchFlags::IN_MODIFY
                        | AddWatchFlags::IN_CREATE
                        | AddWatchFlags::IN_MOVED_TO
                        | AddWatchFlags::IN_DELETE_SELF
                        | AddWatchFlags::IN_ATTRIB,
                )
                .map_err(|e| StoreError::io(format!("cannot watch {}", self.dir.display()), e.into()))?;
            self.inotify = Some(inotify);
        }
        loop {
            if interrupt.is_set() {
                return Ok(WaitOutcome::Interrupted);
            }
            // Checked after the watch exists, so an append between check and poll still wakes us.
            let info = self.info()?;
            if info.tail > offset {
                return Ok(WaitOutcome::Data);
            }
            if info.sealed {
                return Ok(WaitOutcome::Sealed);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(WaitOutcome::TimedOut);
            }
            let left = deadline - now;
            let millis = u16::try_from(left.as_millis().saturating_add(1)).unwrap_or(u16::MAX);
            let Some(inotify) = &self.inotify else {
                return Err(StoreError::Inconsistent("inotify watch missing".into()));
            };
            let mut fds = [
                PollFd::new(inotify.as_fd(), PollFlags::POLLIN),
                PollFd::new(interrupt.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::from(millis)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(StoreError::io("poll failed", e.into())),
            }
            // Drain; the events themselves do not matter, only that something changed.
            while let Ok(events) = inotify.read_events() {
                if events.is_empty() {
                    break;
                }
            }
        }
    }
}
