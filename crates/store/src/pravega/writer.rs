//! The Pravega byte writer behind the blocking [`ByteWriter`] trait: appends through pravega-client's
//! `ByteWriter`, exclusive through a lease.

use std::sync::Arc;
use std::time::Duration;

use pravega_client::byte::ByteWriter as PravegaByteWriter;
use pravega_client::error::Error as ClientError;
use pravega_wire_protocol::commands::SealSegmentCommand;
use pravega_wire_protocol::wire_commands::{Replies, Requests};

use super::core::{Core, SegmentHandle};
use super::errors::{classify, join_err, unexpected};
use super::lease::Lease;
use super::store::Shared;
use super::MAX_APPEND;
use crate::backend::ByteWriter;
use crate::error::{Result, StoreError};
use crate::name::StreamName;

/// How long releasing a lease on drop may take.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

async fn open_byte_writer(core: &Core, h: &SegmentHandle) -> Result<(PravegaByteWriter, u64)> {
    let factory = core.factory().clone();
    let stream = h.stream.clone();
    // `create_byte_writer` and `seek_to_tail` panic when the server is unreachable: contain that in a task.
    tokio::spawn(async move {
        let mut w = factory.create_byte_writer(stream).await;
        w.seek_to_tail().await;
        let tail = w.current_offset();
        (w, tail)
    })
    .await
    .map_err(|e| join_err(format_args!("cannot open a Pravega writer for {}", h.name), e))
}

/// The exclusive appender of one Pravega byte stream (see the module docs of [`super`]).
pub(crate) struct PravegaWriter {
    shared: Arc<Shared>,
    handle: Arc<SegmentHandle>,
    /// None after a failure: the next append opens a new client writer at the tail.
    inner: Option<PravegaByteWriter>,
    tail: u64,
    lease: Option<Lease>,
    sealed: bool,
}

impl PravegaWriter {
    pub(crate) fn open(shared: Arc<Shared>, name: &StreamName) -> Result<Self> {
        let core = shared.core.clone();
        let name = name.clone();
        let (handle, lease, w, tail) = shared.run(&format!("open writer of {name}"), async move {
            let h = core.handle(&name).await?;
            let info = core.segment_info(&h, None).await?;
            if info.is_sealed {
                return Err(StoreError::Sealed(name));
            }
            // Each writer is its own owner: two writers of one process exclude each other too.
            let owner = super::lease::owner_id();
            let lease = core
                .with_table(name.scope(), |table| {
                    let (name, owner) = (name.clone(), owner.clone());
                    async move { Lease::acquire(table, &name, &owner).await }
                })
                .await?;
            match open_byte_writer(&core, &h).await {
                Ok((w, tail)) => Ok((h, lease, w, tail)),
                Err(e) => {
                    lease.release().await;
                    Err(e)
                }
            }
        })?;
        tracing::debug!(stream = %handle.name, tail, "opened Pravega writer");
        Ok(PravegaWriter {
            shared,
            handle,
            inner: Some(w),
            tail,
            lease: Some(lease),
            sealed: false,
        })
    }

    fn name(&self) -> &StreamName {
        &self.handle.name
    }

    /// After a failed append: is the stream sealed (or gone)?
    fn classify(&self, error: String) -> StoreError {
        let core = self.shared.core.clone();
        let h = self.handle.clone();
        match self.shared.run(
            "check stream state",
            async move { core.segment_info(&h, None).await },
        ) {
            Ok(info) if info.is_sealed => StoreError::Sealed(self.name().clone()),
            Err(StoreError::NotFound(n)) => StoreError::NotFound(n),
            _ => classify(format_args!("append to {} failed", self.name()), &error),
        }
    }
}

impl ByteWriter for PravegaWriter {
    fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        if self.sealed {
            return Err(StoreError::Sealed(self.name().clone()));
        }
        if bytes.len() > MAX_APPEND {
            return Err(StoreError::TooLarge {
                len: bytes.len(),
                max: MAX_APPEND,
            });
        }
        if self.lease.as_ref().is_some_and(Lease::is_lost) {
            return Err(StoreError::WriterBusy(self.name().clone()));
        }
        let w = match self.inner.take() {
            Some(w) => w,
            None => {
                let core = self.shared.core.clone();
                let h = self.handle.clone();
                let lease = self.lease.as_ref().map(Lease::handle);
                let (w, tail) =
                    self.shared
                        .run(&format!("reopen writer of {}", self.name()), async move {
                            // After a failure (server restart, outage) make sure we still hold the stream.
                            if let Some(lease) = lease {
                                core.with_table(h.name.scope(), |table| {
                                    let lease = lease.clone();
                                    async move { lease.reassert(table).await }
                                })
                                .await?;
                            }
                            open_byte_writer(&core, &h).await
                        })?;
                tracing::info!(stream = %self.name(), tail, "reopened Pravega writer after a failure");
                self.tail = tail;
                w
            }
        };
        let data = bytes.to_vec();
        let offset = self.tail;
        let outcome = self
            .shared
            .run(&format!("append to {}", self.name()), async move {
                let mut w = w;
                // One write of the whole append, then flush: atomic, and readers see it at once.
                let r = match w.write(&data).await {
                    Ok(_) => w.flush().await,
                    Err(e) => Err(e),
                };
                Ok((w, r))
            })?;
        match outcome {
            (w, Ok(())) => {
                self.tail = w.current_offset();
                self.inner = Some(w);
                Ok(offset)
            }
            (_, Err(ClientError::ConditionalCheckFailure { msg })) => {
                // Someone else appended at our offset: another writer despite the lease.
                tracing::warn!(stream = %self.name(), %msg, "conditional append failed");
                Err(StoreError::WriterBusy(self.name().clone()))
            }
            (_, Err(e)) => Err(self.classify(e.to_string())),
        }
    }

    fn tail(&self) -> u64 {
        self.tail
    }

    fn sync(&mut self) -> Result<()> {
        // Every append is flushed (acknowledged durable by Pravega) before it returns.
        Ok(())
    }

    fn truncate_tail(&mut self, new_tail: u64) -> Result<()> {
        if new_tail == self.tail {
            return Ok(());
        }
        Err(StoreError::Unsupported(format!(
            "cannot drop bytes {new_tail}..{} of {}: Pravega appends are atomic and final",
            self.tail,
            self.name()
        )))
    }

    fn seal(&mut self) -> Result<()> {
        self.inner = None;
        let core = self.shared.core.clone();
        let h = self.handle.clone();
        self.shared.run(&format!("seal {}", self.name()), async move {
            let seg = h.qualified.clone();
            let reply = core
                .segment_call(&h, None, |request_id, delegation_token| {
                    Requests::SealSegment(SealSegmentCommand {
                        request_id,
                        segment: seg.clone(),
                        delegation_token,
                    })
                })
                .await?;
            match reply {
                Replies::SegmentSealed(_) | Replies::SegmentIsSealed(_) => {}
                other => return Err(unexpected(&h.name, "sealing", &other)),
            }
            // Tell the controller too, so its view (and stream deletion, which needs a sealed stream) agrees.
            if let Err(e) = core.factory().controller_client().seal_stream(&h.stream).await {
                tracing::warn!(stream = %h.name, error = %e.error, "segment sealed but the controller did not record it");
            }
            Ok(())
        })?;
        self.sealed = true;
        Ok(())
    }
}

impl Drop for PravegaWriter {
    fn drop(&mut self) {
        self.inner = None;
        if let Some(lease) = self.lease.take() {
            // Release now so that a new writer (e.g. a restarted recording) need not wait for expiry.
            let release = lease.release();
            drop(lease);
            let r = self
                .shared
                .run_limited("release writer lease", RELEASE_TIMEOUT, async move {
                    release.await;
                    Ok(())
                });
            if let Err(e) = r {
                tracing::debug!(stream = %self.handle.name, error = %e, "writer lease not released; it will expire");
            }
        }
    }
}
