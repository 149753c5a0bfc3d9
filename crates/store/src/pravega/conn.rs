//! One multiplexed connection to a Pravega segment store, for reads and segment metadata.
//!
//! Replies carry the id of their request, so many requests (including long-polling tail reads that the
//! server answers only when data arrives) can be in flight on one connection. Two tasks own the socket: a
//! writer task sends encoded requests from a channel and a reader task routes each reply to the request that
//! waits for it. Neither socket operation is ever cancelled half-way, which keeps the byte stream in sync
//! even when a caller gives up on a request (a deadline, an interrupt): its late reply is simply dropped.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use pravega_client_shared::PravegaNodeUri;
use pravega_wire_protocol::commands::{Reply, Request, MAX_WIRECOMMAND_SIZE};
use pravega_wire_protocol::connection::{ConnectionReadHalf, ConnectionWriteHalf};
use pravega_wire_protocol::connection_factory::ConnectionFactory;
use pravega_wire_protocol::wire_commands::{Decode, Encode, Replies, Requests};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::{Result, StoreError};

type Waiters = Arc<Mutex<HashMap<i64, oneshot::Sender<Replies>>>>;

/// Request ids unique within this process; the server echoes them in its replies.
static NEXT_REQUEST_ID: AtomicI64 = AtomicI64::new(1);

/// A fresh request id.
pub(crate) fn request_id() -> i64 {
    NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed)
}

/// A connection to one segment store.
pub(crate) struct SegmentConn {
    endpoint: PravegaNodeUri,
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
    waiters: Waiters,
    alive: Arc<AtomicBool>,
    tasks: [JoinHandle<()>; 2],
}

impl SegmentConn {
    /// Connects (TCP or TLS as configured in `factory`) and exchanges the protocol hello. Must run inside the
    /// backend's runtime.
    pub(crate) async fn connect(factory: &dyn ConnectionFactory, endpoint: PravegaNodeUri) -> Result<Self> {
        let mut conn = factory
            .establish_connection(endpoint.clone())
            .await
            .map_err(|e| {
                StoreError::Unreachable(format!(
                    "cannot connect to Pravega segment store {}: {e}",
                    endpoint.0
                ))
            })?;
        let (read_half, write_half) = conn.split();
        let waiters: Waiters = Arc::default();
        let alive = Arc::new(AtomicBool::new(true));
        let (outgoing, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(read_half, waiters.clone(), alive.clone()));
        let writer = tokio::spawn(write_loop(write_half, rx, waiters.clone(), alive.clone()));
        tracing::debug!(endpoint = %endpoint.0, "connected to segment store");
        Ok(SegmentConn {
            endpoint,
            outgoing,
            waiters,
            alive,
            tasks: [reader, writer],
        })
    }

    /// False once the socket failed; a new connection is needed then.
    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Sends a request; the returned future resolves to its reply. Dropping the future forgets the request
    /// (its reply will be discarded) without disturbing the connection.
    pub(crate) fn start(&self, request: &Requests) -> Result<PendingReply> {
        let id = request.get_request_id();
        let bytes = request
            .write_fields()
            .map_err(|e| StoreError::Inconsistent(format!("cannot encode Pravega request: {e}")))?;
        if !self.is_alive() {
            return Err(self.lost());
        }
        let (tx, rx) = oneshot::channel();
        lock(&self.waiters).insert(id, tx);
        let pending = PendingReply {
            id,
            rx,
            waiters: self.waiters.clone(),
            endpoint: self.endpoint.clone(),
        };
        if self.outgoing.send(bytes).is_err() {
            return Err(self.lost());
        }
        Ok(pending)
    }

    /// Sends a request and waits for its reply.
    pub(crate) async fn call(&self, request: &Requests) -> Result<Replies> {
        self.start(request)?.await
    }

    fn lost(&self) -> StoreError {
        StoreError::Unreachable(format!(
            "connection to Pravega segment store {} was lost",
            self.endpoint.0
        ))
    }
}

impl Drop for SegmentConn {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The reply to one request, as a future. Forgets the request when dropped.
pub(crate) struct PendingReply {
    id: i64,
    rx: oneshot::Receiver<Replies>,
    waiters: Waiters,
    endpoint: PravegaNodeUri,
}

impl Future for PendingReply {
    type Output = Result<Replies>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let endpoint = self.endpoint.clone();
        Pin::new(&mut self.rx).poll(cx).map(|r| {
            r.map_err(|_| {
                StoreError::Unreachable(format!(
                    "connection to Pravega segment store {} was lost",
                    endpoint.0
                ))
            })
        })
    }
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        lock(&self.waiters).remove(&self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock cannot leave the map inconsistent: recover the guard.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Ends every waiting request with "connection lost" (their senders are dropped).
fn fail_all(waiters: &Waiters, alive: &AtomicBool) {
    alive.store(false, Ordering::SeqCst);
    lock(waiters).clear();
}

async fn read_loop(mut read_half: Box<dyn ConnectionReadHalf>, waiters: Waiters, alive: Arc<AtomicBool>) {
    const HEADER: usize = 8;
    loop {
        let mut header = [0u8; HEADER];
        if let Err(e) = read_half.read_async(&mut header).await {
            tracing::debug!(error = %e, "segment store connection closed");
            break;
        }
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        if len > MAX_WIRECOMMAND_SIZE {
            tracing::warn!(
                len,
                "segment store sent an oversized reply; dropping the connection"
            );
            break;
        }
        let mut frame = vec![0u8; HEADER + len as usize];
        frame[..HEADER].copy_from_slice(&header);
        if let Err(e) = read_half.read_async(&mut frame[HEADER..]).await {
            tracing::debug!(error = %e, "segment store connection closed mid-reply");
            break;
        }
        let reply = match Replies::read_from(&frame) {
            Ok(reply) => reply,
            Err(e) => {
                tracing::warn!(error = %e, "undecodable reply from segment store; dropping the connection");
                break;
            }
        };
        let id = reply.get_request_id();
        let waiter = lock(&waiters).remove(&id);
        match waiter {
            Some(tx) => {
                let _ = tx.send(reply);
            }
            // A reply to a request its caller gave up on (or a keep-alive): nothing waits for it.
            None => tracing::trace!(id, "unclaimed reply"),
        }
    }
    fail_all(&waiters, &alive);
}

async fn write_loop(
    mut write_half: Box<dyn ConnectionWriteHalf>,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    waiters: Waiters,
    alive: Arc<AtomicBool>,
) {
    while let Some(bytes) = rx.recv().await {
        if let Err(e) = write_half.send_async(&bytes).await {
            tracing::debug!(error = %e, "cannot write to segment store");
            break;
        }
    }
    fail_all(&waiters, &alive);
}
