//! The files of one embedded byte stream: segment files, the head marker, the sealed marker and the writer lock.

use std::fs::{self, File};
use std::io::{self};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;

use crate::error::{Result, StoreError};

pub(super) const HEAD_FILE: &str = "head";
pub(super) const SEALED_FILE: &str = "sealed";
pub(super) const LOCK_FILE: &str = "writer.lock";
pub(super) const SEGMENT_EXT: &str = "seg";

pub(super) fn io_err(what: &str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_path_buf();
    let what = what.to_owned();
    move |e| {
        let mut context = format!("cannot {what} {}", path.display());
        // A full disk says how full: the user has to free space or set retention.
        if matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)) {
            if let Some(space) = free_space(&path) {
                context.push_str(&format!(" ({space})"));
            }
        }
        StoreError::io(context, e)
    }
}

/// "N free of M on its file system", for the file system holding `path` (or its nearest existing parent).
fn free_space(path: &Path) -> Option<String> {
    let dir = path.ancestors().find(|p| p.exists())?;
    let st = nix::sys::statvfs::statvfs(dir).ok()?;
    let block = st.fragment_size() as u64;
    let mib = |blocks: u64| blocks * block / (1024 * 1024);
    let free = st.blocks_available() as u64 * block;
    Some(format!(
        "{} KiB free of {} MiB on its file system",
        free / 1024,
        mib(st.blocks() as u64)
    ))
}

pub(super) fn segment_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{start:020}.{SEGMENT_EXT}"))
}

/// Start offsets of the segment files, ascending.
pub(super) fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let mut starts = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(start) = name
            .strip_suffix(".seg")
            .filter(|s| s.len() == 20)
            .and_then(|s| s.parse::<u64>().ok())
        {
            starts.push(start);
        }
    }
    starts.sort_unstable();
    Ok(starts)
}

pub(super) fn read_head(dir: &Path) -> Result<u64> {
    let path = dir.join(HEAD_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map_err(|_| {
            StoreError::io(
                format!("corrupt head marker {}", path.display()),
                io::Error::from(io::ErrorKind::InvalidData),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(io_err("read", &path)(e)),
    }
}

/// Tail from the last segment's start and size; the head when there are no segments.
pub(super) fn compute_tail(dir: &Path, segments: &[u64], head: u64) -> Result<u64> {
    match segments.last() {
        Some(&start) => {
            let path = segment_path(dir, start);
            let len = fs::metadata(&path).map_err(io_err("stat", &path))?.len();
            Ok(start + len)
        }
        None => Ok(head),
    }
}

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync", dir))
}

pub(super) fn ofd_lock(kind: libc::c_short) -> libc::flock {
    // SAFETY: flock is a plain C struct; all-zero is a valid value before the fields are set.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock
}

/// Takes the writer lock on `lock` (an OFD write lock on the whole file): `Ok(false)` when another writer holds
/// it.
///
/// A refusal is retried for a short while before it counts: an OFD lock belongs to the open file description,
/// and a process that forks (any thread of it spawning a child) shares that description with the child until the
/// child's exec closes the descriptor. A writer dropped in that window still holds its lock for a moment, and
/// reopening the stream at once, as a recorder restarting does, would be refused by a lock nobody holds.
pub(super) fn lock_writer(lock: &File) -> Result<bool, nix::errno::Errno> {
    const PATIENCE: std::time::Duration = std::time::Duration::from_millis(300);
    let want = ofd_lock(libc::F_WRLCK as libc::c_short);
    let started = std::time::Instant::now();
    loop {
        match fcntl(lock.as_raw_fd(), FcntlArg::F_OFD_SETLK(&want)) {
            Ok(_) => return Ok(true),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) if started.elapsed() < PATIENCE => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}

/// True when a writer holds the stream's lock, tested without taking it.
pub(super) fn writer_active(dir: &Path) -> Option<bool> {
    let file = File::open(dir.join(LOCK_FILE)).ok()?;
    let mut probe = ofd_lock(libc::F_WRLCK as libc::c_short);
    fcntl(file.as_raw_fd(), FcntlArg::F_OFD_GETLK(&mut probe)).ok()?;
    Some(probe.l_type != libc::F_UNLCK as libc::c_short)
}

/// Frees the disk blocks of the first `len` bytes of a segment file (whole 4 KiB blocks only), keeping its size
/// and the offsets of everything after them. A file system without hole punching keeps the blocks until the
/// whole segment goes.
pub(super) fn punch_hole(path: &Path, len: u64) -> Result<()> {
    use nix::fcntl::{fallocate, FallocateFlags};

    let len = len / 4096 * 4096;
    if len == 0 {
        return Ok(());
    }
    let file = match fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        // Deleted meanwhile by another truncation: nothing left to free.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let flags = FallocateFlags::FALLOC_FL_PUNCH_HOLE | FallocateFlags::FALLOC_FL_KEEP_SIZE;
    match fallocate(file.as_raw_fd(), flags, 0, len as i64) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EOPNOTSUPP) => {
            tracing::debug!(path = %path.display(), "the file system cannot punch holes");
            Ok(())
        }
        Err(e) => Err(io_err("free truncated bytes of", path)(e.into())),
    }
}
