//! [`PravegaStore`]: the storage API on a Pravega cluster, blocking calls running as tasks on the store's runtime.

use std::future::Future;
use std::net::ToSocketAddrs;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use pravega_client::client_factory::ClientFactoryAsync;
use pravega_client_config::credentials::Credentials;
use pravega_client_config::ClientConfigBuilder;
use pravega_client_retry::retry_policy::RetryWithBackoff;
use pravega_client_shared::{
    CToken, PravegaNodeUri, Retention, ScaleType, Scaling, Scope, StreamConfiguration,
};
use pravega_wire_protocol::commands::TruncateSegmentCommand;
use pravega_wire_protocol::connection_factory::{ConnectionFactory, ConnectionFactoryConfig};
use pravega_wire_protocol::wire_commands::{Replies, Requests};

use crate::backend::{Backend, ByteReader, ByteWriter, StreamInfo};
use crate::error::{Result, StoreError};
use crate::name::StreamName;
use crate::uri::PravegaAddress;

use super::core::{scoped, Core};
use super::errors::{controller_err, join_err, unexpected};
use super::options::PravegaOptions;
use super::runtime::Rt;
use super::{lease, reader, writer, INDEX_TAG, VIDEO_TAG};

/// What blocking handles (store, readers, writers) share: the runtime plus the async state.
pub(crate) struct Shared {
    // Field order matters: the core (and the client objects in it) goes before the runtime that drives them.
    pub(crate) core: Arc<Core>,
    pub(crate) op_timeout: Duration,
    pub(crate) uri: String,
    /// With the credentials: only ever passed on (Backend::open_uri), never shown.
    connect_uri: String,
    rt: Rt,
}

impl Shared {
    /// Runs `fut` under the operation timeout.
    pub(crate) fn run<T, F>(&self, what: &str, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.rt.run(what, Some(self.op_timeout), fut)
    }

    /// Runs `fut` with no timeout (it has its own deadline).
    pub(crate) fn run_unbounded<T, F>(&self, what: &str, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.rt.run(what, None, fut)
    }

    /// Runs `fut` with a timeout of its own.
    pub(crate) fn run_limited<T, F>(&self, what: &str, limit: Duration, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.rt.run(what, Some(limit), fut)
    }
}

/// A Pravega cluster as a store of byte streams. Cheap to clone; clones share one client and runtime.
#[derive(Clone)]
pub struct PravegaStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PravegaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PravegaStore")
            .field("uri", &self.shared.uri)
            .finish()
    }
}

impl PravegaStore {
    /// Opens the store a `tcp://` or `tls://` URI names (not shared: [`crate::StoreUri::open`] shares). Connects
    /// lazily: an unreachable controller shows up as an error of the first operation.
    pub fn open(uri: &str) -> Result<Self> {
        Self::with_options(PravegaOptions::from_uri(uri)?)
    }

    /// Opens the store at a parsed address, completed from the environment.
    pub fn open_address(address: &PravegaAddress) -> Result<Self> {
        // Passed on as given (credentials from the environment are added again where it is opened), so that an
        // element opening `open_uri()` in this process finds this very store among the shared ones.
        Self::build(PravegaOptions::from_address(address)?, address.connect_uri())
    }

    /// Opens a store from explicit options.
    pub fn with_options(opts: PravegaOptions) -> Result<Self> {
        let connect_uri = opts.address.connect_uri();
        Self::build(opts, connect_uri)
    }

    fn build(opts: PravegaOptions, connect_uri: String) -> Result<Self> {
        let addr = &opts.address;
        let shown = addr.display_uri();
        // pravega-client panics on names it cannot resolve; check here to report it as an error.
        let resolved = (addr.host.as_str(), addr.port)
            .to_socket_addrs()
            .map_err(|e| StoreError::Uri {
                uri: shown.clone(),
                reason: format!("cannot resolve {}: {e}", addr.host),
            })?
            .next();
        super::tls_check::check(&opts, resolved)?;
        let rt = Rt::new()?;
        let scheme = if addr.tls { "tls" } else { "tcp" };
        let mut builder = ClientConfigBuilder::default();
        builder
            .controller_uri(PravegaNodeUri::from(format!(
                "{scheme}://{}:{}",
                addr.host, addr.port
            )))
            .is_tls_enabled(addr.tls)
            .trustcerts(opts.trust_certs.clone())
            .disable_cert_verification(opts.insecure)
            // Fail in seconds, not minutes: the caller retries (the client's default back-off grows to 10 s).
            .retry_policy(
                RetryWithBackoff::default_setting()
                    .initial_delay(Duration::from_millis(10))
                    .backoff_coefficient(2)
                    .max_delay(Duration::from_millis(500))
                    .max_attempt(6),
            )
            .request_timeout(opts.op_timeout);
        match &addr.credentials {
            Some((user, password)) => {
                builder
                    .is_auth_enabled(true)
                    .credentials(Credentials::basic(user.clone(), password.clone()));
            }
            None => {
                builder.credentials(Credentials::basic(String::new(), String::new()));
            }
        }
        let config = builder.build().map_err(|e| StoreError::Uri {
            uri: shown.clone(),
            reason: e.to_string(),
        })?;
        let auth = addr.credentials.is_some();
        let conn_factory = <dyn ConnectionFactory>::create(ConnectionFactoryConfig::from(&config));
        // The controller client connects lazily, but with auth it fetches a token while being built: do that on
        // a runtime thread where a panic stays contained.
        let handle = rt.handle()?.clone();
        let factory = futures::executor::block_on(handle.spawn_blocking({
            let handle = handle.clone();
            move || ClientFactoryAsync::new(config, handle)
        }))
        .map_err(|e| join_err(format_args!("cannot create the Pravega client for {shown}"), e))?;
        let core = Arc::new(Core::new(factory, conn_factory, auth));
        tracing::debug!(uri = %shown, "opened Pravega store");
        Ok(PravegaStore {
            shared: Arc::new(Shared {
                core,
                op_timeout: opts.op_timeout,
                uri: shown,
                connect_uri,
                rt,
            }),
        })
    }

    /// The tags of a stream (streams this backend creates carry [`VIDEO_TAG`], index streams also
    /// [`INDEX_TAG`]).
    pub fn stream_tags(&self, name: &StreamName) -> Result<Vec<String>> {
        let core = self.shared.core.clone();
        let name = name.clone();
        self.run(&format!("tags of {name}"), async move {
            if !core.stream_exists(&name).await? {
                return Err(StoreError::NotFound(name));
            }
            let tags = core
                .factory
                .controller_client()
                .get_stream_tags(&scoped(&name))
                .await
                .map_err(|e| controller_err(format!("cannot read the tags of {name}"), e.error))?;
            Ok(tags.unwrap_or_default())
        })
    }

    fn run<T, F>(&self, what: &str, fut: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.shared.run(what, fut)
    }
}

impl Backend for PravegaStore {
    fn uri(&self) -> String {
        self.shared.uri.clone()
    }

    fn open_uri(&self) -> String {
        self.shared.connect_uri.clone()
    }

    fn create(&self, name: &StreamName) -> Result<()> {
        let core = self.shared.core.clone();
        let name = name.clone();
        self.run(&format!("create {name}"), async move {
            let controller = core.factory.controller_client();
            let scope = Scope::from(name.scope().to_owned());
            controller
                .create_scope(&scope)
                .await
                .map_err(|e| controller_err(format!("cannot create scope {}", name.scope()), e.error))?;
            let mut tags = vec![VIDEO_TAG.to_owned()];
            if name.is_index() {
                tags.push(INDEX_TAG.to_owned());
            }
            let config = StreamConfiguration {
                scoped_stream: scoped(&name),
                scaling: Scaling {
                    scale_type: ScaleType::FixedNumSegments,
                    target_rate: 0,
                    scale_factor: 0,
                    min_num_segments: 1,
                },
                retention: Retention::default(),
                tags: Some(tags),
            };
            let created = controller
                .create_stream(&config)
                .await
                .map_err(|e| controller_err(format!("cannot create stream {name}"), e.error))?;
            if created {
                tracing::debug!(stream = %name, "created Pravega stream");
            }
            Ok(())
        })
    }

    fn exists(&self, name: &StreamName) -> Result<bool> {
        let core = self.shared.core.clone();
        let name = name.clone();
        self.run(&format!("check {name}"), async move {
            core.stream_exists(&name).await
        })
    }

    fn scope_exists(&self, name: &StreamName) -> Result<bool> {
        let core = self.shared.core.clone();
        let scope = name.scope().to_owned();
        self.run(&format!("check scope {scope}"), async move {
            core.scope_exists(&scope).await
        })
    }

    fn list(&self) -> Result<Vec<StreamName>> {
        let core = self.shared.core.clone();
        self.run("list streams", async move {
            let controller = core.factory.controller_client();
            let mut scopes = Vec::new();
            let mut token = CToken::empty();
            while let Some((page, next)) = controller
                .list_scopes(&token)
                .await
                .map_err(|e| controller_err("cannot list scopes", e.error))?
            {
                scopes.extend(page);
                token = next;
            }
            let mut names = Vec::new();
            for scope in scopes {
                // Pravega's own scopes and streams (`_system`, `_RG...`, `_MARK...`) are not ours.
                if scope.name.starts_with('_') {
                    continue;
                }
                let mut token = CToken::empty();
                while let Some((page, next)) = controller.list_streams(&scope, &token).await.map_err(|e| {
                    controller_err(format!("cannot list streams of scope {}", scope.name), e.error)
                })? {
                    for s in page {
                        if s.stream.name.starts_with('_') {
                            continue;
                        }
                        if let Ok(n) = StreamName::new(&s.scope.name, &s.stream.name) {
                            names.push(n);
                        }
                    }
                    token = next;
                }
            }
            names.sort();
            names.dedup();
            Ok(names)
        })
    }

    fn delete(&self, name: &StreamName) -> Result<()> {
        let core = self.shared.core.clone();
        let name = name.clone();
        let result = self.run(&format!("delete {name}"), {
            let core = core.clone();
            let name = name.clone();
            async move {
                if !core.stream_exists(&name).await? {
                    return Err(StoreError::NotFound(name));
                }
                let controller = core.factory.controller_client();
                let stream = scoped(&name);
                // Pravega deletes only sealed streams.
                controller
                    .seal_stream(&stream)
                    .await
                    .map_err(|e| controller_err(format!("cannot seal {name} before deleting it"), e.error))?;
                controller
                    .delete_stream(&stream)
                    .await
                    .map_err(|e| controller_err(format!("cannot delete {name}"), e.error))?;
                // A stale lease would only confuse `writer_active` of a later stream of that name.
                if let Ok(table) = core.table(name.scope()).await {
                    let _ = lease::remove_any(&table, &name).await;
                }
                Ok(())
            }
        });
        core.forget(&name);
        result
    }

    fn info(&self, name: &StreamName) -> Result<StreamInfo> {
        let core = self.shared.core.clone();
        let name = name.clone();
        self.run(&format!("stream info of {name}"), async move {
            let h = core.handle(&name).await?;
            let info = core.segment_info(&h, None).await?;
            let writer_active = core
                .with_table(name.scope(), |table| {
                    let name = name.clone();
                    async move { lease::is_held(&table, &name).await }
                })
                .await
                .ok();
            Ok(StreamInfo {
                head: info.start_offset.max(0) as u64,
                tail: info.write_offset.max(0) as u64,
                sealed: info.is_sealed,
                writer_active,
            })
        })
    }

    fn truncate_before(&self, name: &StreamName, offset: u64) -> Result<()> {
        let core = self.shared.core.clone();
        let name = name.clone();
        self.run(&format!("truncate {name}"), async move {
            let h = core.handle(&name).await?;
            let info = core.segment_info(&h, None).await?;
            let (head, tail) = (info.start_offset.max(0) as u64, info.write_offset.max(0) as u64);
            if offset > tail {
                return Err(StoreError::PastTail {
                    stream: name,
                    offset,
                    tail,
                });
            }
            if offset <= head {
                return Ok(());
            }
            let seg = h.qualified.clone();
            let reply = core
                .segment_call(&h, None, |request_id, delegation_token| {
                    Requests::TruncateSegment(TruncateSegmentCommand {
                        request_id,
                        segment: seg.clone(),
                        truncation_offset: offset as i64,
                        delegation_token,
                    })
                })
                .await?;
            match reply {
                Replies::SegmentTruncated(_) | Replies::SegmentIsTruncated(_) => {
                    h.truncations.fetch_add(1, Ordering::SeqCst);
                    tracing::debug!(stream = %name, offset, "truncated");
                    Ok(())
                }
                other => Err(unexpected(&name, "truncation", &other)),
            }
        })
    }

    fn writer(&self, name: &StreamName) -> Result<Box<dyn ByteWriter>> {
        Ok(Box::new(writer::PravegaWriter::open(self.shared.clone(), name)?))
    }

    fn reader(&self, name: &StreamName) -> Result<Box<dyn ByteReader>> {
        Ok(Box::new(reader::PravegaReader::open(self.shared.clone(), name)?))
    }
}
