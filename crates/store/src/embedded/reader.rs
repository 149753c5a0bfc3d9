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
}

impl EmbeddedReader {
    fn refresh(&mut self) -> Result<()> {
        if !self.dir.is_dir() {
            return Err(StoreError::NotFound(self.name.clone()));
        }
        self.segments = list_segments(&self.dir)?;
        Ok(())
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
        let head = read_head(&self.dir).map_err(|e| {
            if self.dir.is_dir() {
                e
            } else {
                StoreError::NotFound(self.name.clone())
            }
        })?;
        if offset < head {
            return Err(StoreError::Truncated {
                stream: self.name.clone(),
                offset,
                head,
            });
        }
        if let Some(n) = self.try_read(offset, buf)? {
            return Ok(n);
        }
        // The listing may be stale: a new segment, or segments deleted by truncation.
        self.refresh()?;
        if let Some(n) = self.try_read(offset, buf)? {
            return Ok(n);
        }
        let head = read_head(&self.dir)?;
        if offset < head {
            return Err(StoreError::Truncated {
                stream: self.name.clone(),
                offset,
                head,
            });
        }
        Ok(0)
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
