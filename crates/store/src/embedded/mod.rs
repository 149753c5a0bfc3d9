//! The embedded backend: byte streams as directories of segment files, zero setup.
//!
//! Layout of one byte stream `<root>/<scope>/<stream>/`:
//! - `<20-digit start offset>.seg`: consecutive segment files; concatenated they are the stream's bytes from the
//!   head on. New segments start when the current one would pass the segment size, so truncation frees disk by
//!   deleting whole old segments.
//! - `head`: the truncation point as decimal text, replaced atomically by rename (absent = 0).
//! - `sealed`: present once the stream is sealed.
//! - `writer.lock`: an open-file-description lock held by the one writer; other processes test it without
//!   taking it, which is how the library shows "recording now".
//!
//! Tail waits use inotify on the stream directory plus the caller's [`Interrupt`] eventfd, so a waiting reader
//! wakes on the writer's `write()` with no polling.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::backend::{Backend, ByteReader, ByteWriter, StreamInfo};
use crate::error::{Result, StoreError};
use crate::name::StreamName;

mod files;
mod reader;
mod writer;

use files::*;
use reader::EmbeddedReader;
use writer::{EmbeddedWriter, Segment};

/// Default segment size: large enough for few files, small enough that retention frees disk steadily.
pub const DEFAULT_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;

/// A directory of byte streams.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    root: PathBuf,
    segment_size: u64,
}

impl EmbeddedStore {
    /// Opens the store rooted at `root`. The directory is created by the first stream created in it; reading
    /// a store that does not exist is an error.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        if root.exists() && !root.is_dir() {
            return Err(StoreError::Uri {
                uri: root.display().to_string(),
                reason: "not a directory".into(),
            });
        }
        Ok(EmbeddedStore {
            root,
            segment_size: DEFAULT_SEGMENT_SIZE,
        })
    }

    /// Changes the segment size for writers opened from now on (tests use small segments).
    pub fn with_segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes.max(1);
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, name: &StreamName) -> PathBuf {
        self.root.join(name.scope()).join(name.stream())
    }

    fn existing_dir(&self, name: &StreamName) -> Result<PathBuf> {
        let dir = self.dir(name);
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(StoreError::NotFound(name.clone()))
        }
    }

    fn check_root(&self) -> Result<()> {
        if self.root.is_dir() {
            Ok(())
        } else {
            Err(StoreError::StoreMissing(self.root.display().to_string()))
        }
    }
}

impl Backend for EmbeddedStore {
    fn uri(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn create(&self, name: &StreamName) -> Result<()> {
        let dir = self.dir(name);
        fs::create_dir_all(&dir).map_err(io_err("create", &dir))
    }

    fn exists(&self, name: &StreamName) -> Result<bool> {
        Ok(self.dir(name).is_dir())
    }

    fn scope_exists(&self, name: &StreamName) -> Result<bool> {
        self.check_root()?;
        Ok(self.root.join(name.scope()).is_dir())
    }

    fn list(&self) -> Result<Vec<StreamName>> {
        self.check_root()?;
        let mut names = Vec::new();
        for scope in fs::read_dir(&self.root).map_err(io_err("list", &self.root))? {
            let scope = scope.map_err(io_err("list", &self.root))?;
            if !scope.path().is_dir() {
                continue;
            }
            let scope_name = scope.file_name();
            let Some(scope_name) = scope_name.to_str() else {
                continue;
            };
            for stream in fs::read_dir(scope.path()).map_err(io_err("list", &scope.path()))? {
                let stream = stream.map_err(io_err("list", &scope.path()))?;
                if !stream.path().is_dir() {
                    continue;
                }
                let Some(stream_name) = stream.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                // Foreign directories with names we would never create are skipped, not fatal.
                if let Ok(name) = StreamName::new(scope_name, &stream_name) {
                    names.push(name);
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn delete(&self, name: &StreamName) -> Result<()> {
        let dir = self.existing_dir(name)?;
        fs::remove_dir_all(&dir).map_err(io_err("delete", &dir))
    }

    fn info(&self, name: &StreamName) -> Result<StreamInfo> {
        let dir = self.existing_dir(name)?;
        let head = read_head(&dir)?;
        let segments = list_segments(&dir)?;
        let tail = compute_tail(&dir, &segments, head)?.max(head);
        Ok(StreamInfo {
            head,
            tail,
            sealed: dir.join(SEALED_FILE).exists(),
            writer_active: Some(writer_active(&dir).unwrap_or(false)),
        })
    }

    fn truncate_before(&self, name: &StreamName, offset: u64) -> Result<()> {
        let dir = self.existing_dir(name)?;
        let info = self.info(name)?;
        if offset > info.tail {
            return Err(StoreError::PastTail {
                stream: name.clone(),
                offset,
                tail: info.tail,
            });
        }
        if offset <= info.head {
            return Ok(());
        }
        // The marker first: from this moment readers see the new head even before files go.
        let tmp = dir.join(format!("{HEAD_FILE}.tmp.{}", std::process::id()));
        let mut f = File::create(&tmp).map_err(io_err("create", &tmp))?;
        f.write_all(offset.to_string().as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(io_err("write", &tmp))?;
        fs::rename(&tmp, dir.join(HEAD_FILE)).map_err(io_err("replace head marker in", &dir))?;
        sync_dir(&dir)?;
        // Then whole segments that lie before the head. The last segment always stays: a writer may be
        // appending to it.
        let segments = list_segments(&dir)?;
        for pair in segments.windows(2) {
            if pair[1] <= offset {
                let path = segment_path(&dir, pair[0]);
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("delete", &path)(e)),
                }
            }
        }
        // And the bytes before the head inside the segment that holds it, so that retention frees space as it
        // goes rather than a whole segment (64 MiB by default) at a time: a small disk would fill first.
        if let Some(&start) = segments.iter().rev().find(|&&s| s <= offset) {
            files::punch_hole(&segment_path(&dir, start), offset - start)?;
        }
        tracing::debug!(stream = %name, offset, "truncated");
        Ok(())
    }

    fn writer(&self, name: &StreamName) -> Result<Box<dyn ByteWriter>> {
        let dir = self.existing_dir(name)?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("open", &lock_path))?;
        match files::lock_writer(&lock) {
            Ok(true) => {}
            Ok(false) => return Err(StoreError::WriterBusy(name.clone())),
            Err(e) => return Err(io_err("lock", &lock_path)(e.into())),
        }
        if dir.join(SEALED_FILE).exists() {
            return Err(StoreError::Sealed(name.clone()));
        }
        let head = read_head(&dir)?;
        let segments = list_segments(&dir)?;
        let tail = compute_tail(&dir, &segments, head)?.max(head);
        let current = match segments.last() {
            Some(&start) => {
                let path = segment_path(&dir, start);
                let file = OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .map_err(io_err("open", &path))?;
                Some(Segment {
                    start,
                    len: tail - start,
                    file,
                })
            }
            None => None,
        };
        Ok(Box::new(EmbeddedWriter {
            name: name.clone(),
            dir,
            _lock: lock,
            current,
            tail,
            segment_size: self.segment_size,
            torn: false,
        }))
    }

    fn reader(&self, name: &StreamName) -> Result<Box<dyn ByteReader>> {
        let dir = self.existing_dir(name)?;
        Ok(Box::new(EmbeddedReader {
            name: name.clone(),
            dir,
            segments: Vec::new(),
            open: None,
            inotify: None,
            head: Default::default(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::WaitOutcome;
    use crate::interrupt::Interrupt;
    use std::time::{Duration, Instant};

    fn store() -> (tempfile::TempDir, EmbeddedStore, StreamName) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(dir.path())
            .expect("open")
            .with_segment_size(100);
        let name = StreamName::parse("s/a").expect("name");
        store.create(&name).expect("create");
        (dir, store, name)
    }

    fn read_all(r: &mut dyn ByteReader, from: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 37];
        let mut at = from;
        loop {
            let n = r.read_at(at, &mut buf).expect("read");
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
            at += n as u64;
        }
    }

    #[test]
    fn appends_roll_segments_and_read_back() {
        let (_d, store, name) = store();
        let mut w = store.writer(&name).expect("writer");
        let mut expected = Vec::new();
        for i in 0..30u8 {
            let chunk = vec![i; 17];
            assert_eq!(w.append(&chunk).expect("append"), expected.len() as u64);
            expected.extend_from_slice(&chunk);
        }
        assert!(list_segments(&store.dir(&name)).expect("list").len() > 3);
        let mut r = store.reader(&name).expect("reader");
        assert_eq!(read_all(r.as_mut(), 0), expected);
        assert_eq!(read_all(r.as_mut(), 250), expected[250..]);
        let info = store.info(&name).expect("info");
        assert_eq!(info.tail, expected.len() as u64);
        assert_eq!(info.writer_active, Some(true));
        drop(w);
        assert_eq!(store.info(&name).expect("info").writer_active, Some(false));
    }

    #[test]
    fn second_writer_is_refused_and_lock_released_on_drop() {
        let (_d, store, name) = store();
        let w = store.writer(&name).expect("first");
        match store.writer(&name) {
            Err(StoreError::WriterBusy(n)) => assert_eq!(n, name),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("second writer was accepted"),
        }
        drop(w);
        store.writer(&name).expect("writer after release");
    }

    #[test]
    fn truncation_moves_head_and_frees_segments() {
        let (_d, store, name) = store();
        let mut w = store.writer(&name).expect("writer");
        for i in 0..20u8 {
            w.append(&[i; 30]).expect("append");
        }
        let before = list_segments(&store.dir(&name)).expect("list").len();
        store.truncate_before(&name, 450).expect("truncate");
        let after = list_segments(&store.dir(&name)).expect("list").len();
        assert!(after < before);
        let mut r = store.reader(&name).expect("reader");
        match r.read_at(10, &mut [0u8; 4]) {
            Err(StoreError::Truncated { head, .. }) => assert_eq!(head, 450),
            other => panic!("expected truncation, got {other:?}"),
        }
        let rest = read_all(r.as_mut(), 450);
        assert_eq!(rest.len(), 150);
        assert_eq!(rest[0], 15);
        assert!(matches!(
            store.truncate_before(&name, 10_000),
            Err(StoreError::PastTail { .. })
        ));
        // The writer goes on after truncation.
        w.append(&[99; 5]).expect("append after truncate");
        assert_eq!(store.info(&name).expect("info").tail, 605);
    }

    /// A reader that keeps reading while the head moves sees every truncation at once, whether the marker
    /// was just replaced (its file times too fresh to trust) or long settled; its extent follows rolls.
    #[test]
    fn a_reader_sees_each_truncation_and_every_roll() {
        let (_d, store, name) = store();
        let mut w = store.writer(&name).expect("writer");
        for i in 0..20u8 {
            w.append(&[i; 30]).expect("append");
        }
        let mut r = store.reader(&name).expect("reader");
        assert_eq!(r.extent().expect("extent"), (0, 600));
        assert_eq!(read_all(r.as_mut(), 0).len(), 600);
        for (cut, settle) in [(90, false), (120, false), (300, true), (330, true), (360, false)] {
            if settle {
                std::thread::sleep(Duration::from_millis(150));
                // The settled marker is cached now.
                r.read_at(cut - 1, &mut [0u8; 1]).expect("read above the head");
            }
            store.truncate_before(&name, cut).expect("truncate");
            match r.read_at(cut - 1, &mut [0u8; 1]) {
                Err(StoreError::Truncated { head, .. }) => assert_eq!(head, cut),
                other => panic!("after truncating at {cut}: {other:?}"),
            }
            assert_eq!(r.extent().expect("extent").0, cut);
        }
        // Appends past several segment rolls: the extent follows them without listing the directory.
        for i in 0..10u8 {
            w.append(&[i; 45]).expect("append");
        }
        assert_eq!(r.extent().expect("extent"), (360, 1050));
        assert_eq!(
            r.extent().expect("extent"),
            (store.info(&name).expect("info").head, 1050)
        );
        // A repair cuts the tail back, into an earlier segment.
        w.truncate_tail(700).expect("truncate tail");
        assert_eq!(r.extent().expect("extent"), (360, 700));
    }

    #[test]
    fn wait_wakes_on_append_and_on_interrupt() {
        let (_d, store, name) = store();
        let mut r = store.reader(&name).expect("reader");
        let interrupt = Interrupt::new().expect("interrupt");
        let far = Instant::now() + Duration::from_secs(30);
        let store2 = store.clone();
        let name2 = name.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let mut w = store2.writer(&name2).expect("writer");
            w.append(b"hello").expect("append");
        });
        let start = Instant::now();
        assert_eq!(
            r.wait_beyond(0, far, &interrupt).expect("wait"),
            WaitOutcome::Data
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        t.join().expect("writer thread");

        let i2 = interrupt.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            i2.interrupt();
        });
        assert_eq!(
            r.wait_beyond(5, far, &interrupt).expect("wait"),
            WaitOutcome::Interrupted
        );
        t.join().expect("interrupt thread");
        interrupt.clear();
        let soon = Instant::now() + Duration::from_millis(30);
        assert_eq!(
            r.wait_beyond(5, soon, &interrupt).expect("wait"),
            WaitOutcome::TimedOut
        );
    }

    #[test]
    fn sealed_streams_refuse_writers_and_end_waits() {
        let (_d, store, name) = store();
        let mut w = store.writer(&name).expect("writer");
        w.append(b"x").expect("append");
        w.seal().expect("seal");
        drop(w);
        assert!(matches!(store.writer(&name), Err(StoreError::Sealed(_))));
        let mut r = store.reader(&name).expect("reader");
        let interrupt = Interrupt::new().expect("interrupt");
        let far = Instant::now() + Duration::from_secs(30);
        assert_eq!(
            r.wait_beyond(1, far, &interrupt).expect("wait"),
            WaitOutcome::Sealed
        );
    }

    #[test]
    fn missing_streams_and_stores_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EmbeddedStore::open(dir.path().join("nope")).expect("open");
        let name = StreamName::parse("s/missing").expect("name");
        assert!(matches!(store.reader(&name), Err(StoreError::NotFound(_))));
        let err = store.list().expect_err("missing store");
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn truncate_tail_repairs() {
        let (_d, store, name) = store();
        let mut w = store.writer(&name).expect("writer");
        for i in 0..10u8 {
            w.append(&[i; 30]).expect("append");
        }
        w.truncate_tail(125).expect("repair");
        assert_eq!(w.tail(), 125);
        assert_eq!(store.info(&name).expect("info").tail, 125);
        assert_eq!(w.append(b"zz").expect("append"), 125);
    }
}
