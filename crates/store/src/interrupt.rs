//! [`Interrupt`]: wakes a thread blocked in a tail wait from another thread, at once.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::eventfd::{EfdFlags, EventFd};

use crate::error::{Result, StoreError};

/// Wakes a blocked tail wait from another thread at once (GStreamer's `unlock`). It stays set until
/// [`Interrupt::clear`] so that a wait started just after the interrupt also returns.
#[derive(Debug, Clone)]
pub struct Interrupt {
    inner: Arc<InterruptInner>,
}

#[derive(Debug)]
struct InterruptInner {
    set: AtomicBool,
    fd: EventFd,
}

impl Interrupt {
    /// A new, clear interrupt.
    pub fn new() -> Result<Self> {
        let fd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| StoreError::io("cannot create eventfd", e.into()))?;
        Ok(Interrupt {
            inner: Arc::new(InterruptInner {
                set: AtomicBool::new(false),
                fd,
            }),
        })
    }

    /// Wakes current and future waits until cleared.
    pub fn interrupt(&self) {
        self.inner.set.store(true, Ordering::SeqCst);
        // A full counter only means a wake-up is already pending.
        let _ = self.inner.fd.write(1);
    }

    /// Lets waits block again.
    pub fn clear(&self) {
        self.inner.set.store(false, Ordering::SeqCst);
        let _ = self.inner.fd.read();
    }

    /// True while interrupted.
    pub fn is_set(&self) -> bool {
        self.inner.set.load(Ordering::SeqCst)
    }

    /// The file descriptor that becomes readable on interrupt, for `poll`.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.fd.as_fd()
    }
}
