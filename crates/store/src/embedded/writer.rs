//! The exclusive writer of an embedded byte stream: appends to the current segment file, rolls to a new one at
//! the segment size, repairs a torn tail, seals.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use crate::backend::ByteWriter;
use crate::error::{Result, StoreError};
use crate::name::StreamName;

use super::*;

pub(super) struct Segment {
    pub(super) start: u64,
    pub(super) len: u64,
    pub(super) file: File,
}

pub(super) struct EmbeddedWriter {
    pub(super) name: StreamName,
    pub(super) dir: PathBuf,
    /// Holds the OFD lock for as long as the writer lives.
    pub(super) _lock: File,
    pub(super) current: Option<Segment>,
    pub(super) tail: u64,
    pub(super) segment_size: u64,
    /// A failed append whose partial bytes could not be taken back: the file no longer ends at `tail`, so
    /// appending more would put frames at offsets other than the ones reported. Only reopening (which repairs
    /// the torn tail) writes again.
    pub(super) torn: bool,
}

impl EmbeddedWriter {
    fn roll(&mut self) -> Result<()> {
        if let Some(old) = self.current.take() {
            // The finished segment becomes durable before a new one appears after it.
            old.file
                .sync_data()
                .map_err(io_err("sync", &segment_path(&self.dir, old.start)))?;
        }
        let path = segment_path(&self.dir, self.tail);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err("create", &path))?;
        sync_dir(&self.dir)?;
        self.current = Some(Segment {
            start: self.tail,
            len: 0,
            file,
        });
        Ok(())
    }
}

impl ByteWriter for EmbeddedWriter {
    fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        if self.torn {
            return Err(StoreError::Inconsistent(format!(
                "{}: a failed append could not be taken back; open the stream again to repair it",
                self.name
            )));
        }
        let needs_roll = match &self.current {
            None => true,
            Some(seg) => seg.len > 0 && seg.len + bytes.len() as u64 > self.segment_size,
        };
        let offset = self.tail;
        if needs_roll {
            self.roll()?;
        }
        let Some(segment) = self.current.as_mut() else {
            return Err(StoreError::Inconsistent("no current segment".into()));
        };
        if let Err(e) = segment.file.write_all(bytes) {
            // Take back a partial write so the stream never holds a torn append.
            if let Err(undo) = segment.file.set_len(segment.len) {
                tracing::error!(stream = %self.name, error = %undo, "cannot take back a failed append");
                self.torn = true;
            }
            return Err(io_err("append to", &segment_path(&self.dir, segment.start))(e));
        }
        segment.len += bytes.len() as u64;
        self.tail += bytes.len() as u64;
        Ok(offset)
    }

    fn tail(&self) -> u64 {
        self.tail
    }

    fn sync(&mut self) -> Result<()> {
        if let Some(seg) = &self.current {
            seg.file
                .sync_data()
                .map_err(io_err("sync", &segment_path(&self.dir, seg.start)))?;
        }
        Ok(())
    }

    fn truncate_tail(&mut self, new_tail: u64) -> Result<()> {
        if new_tail >= self.tail {
            return Ok(());
        }
        let segments = list_segments(&self.dir)?;
        for &start in segments.iter().rev() {
            let path = segment_path(&self.dir, start);
            if start > new_tail {
                fs::remove_file(&path).map_err(io_err("delete", &path))?;
                continue;
            }
            let file = OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(io_err("open", &path))?;
            file.set_len(new_tail - start)
                .and_then(|_| file.sync_all())
                .map_err(io_err("truncate", &path))?;
            self.current = Some(Segment {
                start,
                len: new_tail - start,
                file,
            });
            break;
        }
        tracing::warn!(stream = %self.name, from = self.tail, to = new_tail, "dropped torn tail");
        self.tail = new_tail;
        sync_dir(&self.dir)
    }

    fn seal(&mut self) -> Result<()> {
        self.sync()?;
        let path = self.dir.join(SEALED_FILE);
        File::create(&path).map_err(io_err("create", &path))?;
        sync_dir(&self.dir)
    }
}
