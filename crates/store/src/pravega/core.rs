//! The async side of the Pravega backend: resolved segments, connections to segment stores, delegation
//! tokens and the writer lease tables, shared by the store and its readers and writers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use pravega_client::client_factory::ClientFactoryAsync;
use pravega_client::sync::table::Table;
use pravega_client_auth::DelegationTokenProvider;
use pravega_client_shared::{PravegaNodeUri, Scope, ScopedSegment, ScopedStream, Segment, Stream};
use pravega_wire_protocol::commands::{GetStreamSegmentInfoCommand, StreamSegmentInfoCommand};
use pravega_wire_protocol::connection_factory::ConnectionFactory;
use pravega_wire_protocol::wire_commands::{Replies, Requests};

use crate::error::{Result, StoreError};
use crate::name::StreamName;

use super::conn::{request_id, SegmentConn};
use super::errors::{controller_err, join_err, unexpected};
use super::lease;

/// A resolved byte stream: its one segment and what requests about it need.
pub(crate) struct SegmentHandle {
    pub(crate) name: StreamName,
    pub(crate) stream: ScopedStream,
    /// Qualified segment name as the segment store knows it.
    pub(crate) qualified: String,
    segment: ScopedSegment,
    tokens: DelegationTokenProvider,
    endpoint: Mutex<Option<PravegaNodeUri>>,
    /// Bumped by every truncation through this store, so that its readers drop bytes they fetched ahead.
    pub(crate) truncations: AtomicU64,
}

/// State shared by async work. Holds no runtime, so tasks may own it.
pub(crate) struct Core {
    pub(crate) factory: ClientFactoryAsync,
    conn_factory: Box<dyn ConnectionFactory>,
    handles: Mutex<HashMap<StreamName, Arc<SegmentHandle>>>,
    meta_conns: tokio::sync::Mutex<HashMap<PravegaNodeUri, Arc<SegmentConn>>>,
    /// The lease table of each scope, opened once: a scope's first users wait for its one opening, other
    /// scopes' tables open meanwhile (a listing across scopes opens them all at once).
    tables: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Arc<Table>>>>>,
    /// The store was opened with credentials: requests carry delegation tokens from the controller.
    auth: bool,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn scoped(name: &StreamName) -> ScopedStream {
    ScopedStream {
        scope: Scope::from(name.scope().to_owned()),
        stream: Stream::from(name.stream().to_owned()),
    }
}

impl Core {
    /// `auth`: the store has credentials (without them no token can be had, and none is asked for).
    pub(crate) fn new(
        factory: ClientFactoryAsync,
        conn_factory: Box<dyn ConnectionFactory>,
        auth: bool,
    ) -> Self {
        Core {
            factory,
            conn_factory,
            handles: Mutex::default(),
            meta_conns: tokio::sync::Mutex::default(),
            tables: Mutex::default(),
            auth,
        }
    }

    pub(crate) fn factory(&self) -> &ClientFactoryAsync {
        &self.factory
    }

    /// Resolves the one segment of a stream (cached). [`StoreError::NotFound`] if the stream does not exist.
    pub(crate) async fn handle(&self, name: &StreamName) -> Result<Arc<SegmentHandle>> {
        if let Some(h) = lock(&self.handles).get(name) {
            return Ok(h.clone());
        }
        let stream = scoped(name);
        let controller = self.factory.controller_client();
        // Asked straight away (a listing resolves every stream: one round trip less each); only when that fails
        // or finds nothing does the existence check tell a missing stream from a failure.
        let heads = match controller.get_head_segments(&stream).await {
            Ok(heads) if !heads.is_empty() => heads,
            other => {
                if !self.stream_exists(name).await? {
                    return Err(StoreError::NotFound(name.clone()));
                }
                other.map_err(|e| controller_err(format!("cannot get the segments of {name}"), e.error))?
            }
        };
        if heads.len() != 1 {
            return Err(StoreError::Inconsistent(format!(
                "stream {name} has {} segments; byte streams have exactly one",
                heads.len()
            )));
        }
        let Some(number) = heads.keys().next().map(|s| s.number) else {
            return Err(StoreError::Inconsistent(format!("stream {name} has no segment")));
        };
        let segment = ScopedSegment {
            scope: stream.scope.clone(),
            stream: stream.stream.clone(),
            segment: Segment::from(number),
        };
        let handle = Arc::new(SegmentHandle {
            name: name.clone(),
            qualified: segment.to_string(),
            tokens: DelegationTokenProvider::new(stream.clone()),
            stream,
            segment,
            endpoint: Mutex::new(None),
            truncations: AtomicU64::new(0),
        });
        lock(&self.handles).insert(name.clone(), handle.clone());
        Ok(handle)
    }

    /// After a moved segment or a refused token: locate the segment store and fetch a token again.
    pub(crate) fn forget_endpoint(&self, h: &SegmentHandle) {
        *lock(&h.endpoint) = None;
        h.tokens.signal_token_expiry();
    }

    pub(crate) fn forget(&self, name: &StreamName) {
        lock(&self.handles).remove(name);
    }

    pub(crate) async fn stream_exists(&self, name: &StreamName) -> Result<bool> {
        let controller = self.factory.controller_client();
        match controller.check_stream_exists(&scoped(name)).await {
            Ok(exists) => Ok(exists),
            Err(e) => {
                // A missing scope is reported as an error by some controllers: that stream does not exist.
                let scope = Scope::from(name.scope().to_owned());
                match controller.check_scope_exists(&scope).await {
                    Ok(false) => Ok(false),
                    _ => Err(controller_err(
                        format!("cannot check whether {name} exists"),
                        e.error,
                    )),
                }
            }
        }
    }

    pub(crate) async fn scope_exists(&self, scope: &str) -> Result<bool> {
        let controller = self.factory.controller_client();
        controller
            .check_scope_exists(&Scope::from(scope.to_owned()))
            .await
            .map_err(|e| controller_err(format!("cannot check whether scope {scope} exists"), e.error))
    }

    /// The segment store that owns a segment (cached per handle).
    async fn endpoint(&self, h: &SegmentHandle) -> Result<PravegaNodeUri> {
        if let Some(e) = lock(&h.endpoint).clone() {
            return Ok(e);
        }
        let e = self
            .factory
            .controller_client()
            .get_endpoint_for_segment(&h.segment)
            .await
            .map_err(|e| controller_err(format!("cannot locate the segment store of {}", h.name), e.error))?;
        *lock(&h.endpoint) = Some(e.clone());
        Ok(e)
    }

    /// Opens a dedicated connection to a segment's store.
    pub(crate) async fn connect(&self, h: &SegmentHandle) -> Result<Arc<SegmentConn>> {
        let endpoint = self.endpoint(h).await?;
        Ok(Arc::new(
            SegmentConn::connect(&*self.conn_factory, endpoint).await?,
        ))
    }

    /// The shared connection for metadata requests to a segment's store.
    async fn meta_conn(&self, h: &SegmentHandle) -> Result<Arc<SegmentConn>> {
        let endpoint = self.endpoint(h).await?;
        let mut conns = self.meta_conns.lock().await;
        if let Some(c) = conns.get(&endpoint).filter(|c| c.is_alive()) {
            return Ok(c.clone());
        }
        let c = Arc::new(SegmentConn::connect(&*self.conn_factory, endpoint.clone()).await?);
        conns.insert(endpoint, c.clone());
        Ok(c)
    }

    /// The delegation token for requests about `h`'s segment. Without credentials the request goes without
    /// one: a server without auth ignores it and one with auth refuses us either way, and asking the
    /// controller costs a round trip per stream (most of a listing's time).
    pub(crate) async fn token(&self, h: &SegmentHandle) -> String {
        if !self.auth {
            return String::new();
        }
        h.tokens.retrieve_token(self.factory.controller_client()).await
    }

    /// Sends a request about `h`'s segment on `conn` (or the shared connection), handling the replies every
    /// request may get: a moved segment (asks the controller again, once) and an expired token (once).
    pub(crate) async fn segment_call(
        &self,
        h: &SegmentHandle,
        conn: Option<&Arc<SegmentConn>>,
        make: impl Fn(i64, String) -> Requests,
    ) -> Result<Replies> {
        let mut retried = false;
        loop {
            let c = match conn {
                Some(c) => c.clone(),
                None => self.meta_conn(h).await?,
            };
            let token = self.token(h).await;
            let reply = c.call(&make(request_id(), token)).await?;
            match reply {
                Replies::WrongHost(_) if !retried => {
                    *lock(&h.endpoint) = None;
                    retried = true;
                    if conn.is_some() {
                        return Err(StoreError::Unreachable(format!(
                            "segment of {} moved to another segment store; reconnecting",
                            h.name
                        )));
                    }
                }
                Replies::AuthTokenCheckFailed(_) if !retried => {
                    h.tokens.signal_token_expiry();
                    retried = true;
                }
                Replies::AuthTokenCheckFailed(c) => {
                    return Err(StoreError::PermissionDenied(format!(
                        "Pravega refused access to {}: {}",
                        h.name, c.server_stack_trace
                    )))
                }
                Replies::NoSuchSegment(_) => {
                    // Gone (deleted, or a server that restarted empty): resolve it afresh next time.
                    self.forget(&h.name);
                    return Err(StoreError::NotFound(h.name.clone()));
                }
                other => return Ok(other),
            }
        }
    }

    /// Head, tail and sealed state of a segment.
    pub(crate) async fn segment_info(
        &self,
        h: &SegmentHandle,
        conn: Option<&Arc<SegmentConn>>,
    ) -> Result<StreamSegmentInfoCommand> {
        let seg = h.qualified.clone();
        let reply = self
            .segment_call(h, conn, |request_id, delegation_token| {
                Requests::GetStreamSegmentInfo(GetStreamSegmentInfoCommand {
                    request_id,
                    segment_name: seg.clone(),
                    delegation_token,
                })
            })
            .await?;
        match reply {
            Replies::StreamSegmentInfo(info) if info.exists && !info.is_deleted => Ok(info),
            Replies::StreamSegmentInfo(_) => Err(StoreError::NotFound(h.name.clone())),
            other => Err(unexpected(&h.name, "segment info", &other)),
        }
    }

    /// Drops the cached lease table of a scope after it failed (e.g. a server restart lost it), so that the next
    /// use creates it again.
    pub(crate) async fn forget_table(&self, scope: &str) {
        lock(&self.tables).remove(scope);
    }

    /// Runs a lease-table operation, once more with a fresh table if the first attempt failed for a reason
    /// other than the answer itself.
    pub(crate) async fn with_table<T, F, Fut>(&self, scope: &str, op: F) -> Result<T>
    where
        F: Fn(Arc<Table>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        match op(self.table(scope).await?).await {
            Err(e) if e.is_transient() => {
                tracing::debug!(scope, error = %e, "lease table failed; opening it again");
                self.forget_table(scope).await;
                op(self.table(scope).await?).await
            }
            other => other,
        }
    }

    /// The writer lease table of a scope (created on first use).
    pub(crate) async fn table(&self, scope: &str) -> Result<Arc<Table>> {
        let cell = lock(&self.tables).entry(scope.to_owned()).or_default().clone();
        let table = cell
            .get_or_try_init(|| async {
                let factory = self.factory.clone();
                let scope_owned = scope.to_owned();
                // Table creation panics on some failures: keep that inside its own task.
                let table = tokio::spawn(async move {
                    factory
                        .create_table(Scope::from(scope_owned), lease::TABLE_NAME.to_owned())
                        .await
                })
                .await
                .map_err(|e| {
                    join_err(
                        format_args!("cannot open the writer lease table of scope {scope}"),
                        e,
                    )
                })?;
                Ok::<_, StoreError>(Arc::new(table))
            })
            .await?;
        Ok(table.clone())
    }
}
