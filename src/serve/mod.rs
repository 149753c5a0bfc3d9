//! `hindsight serve`: HLS from the index for any browser, a JSON API of the streams and their recorded ranges,
//! and a browser player. Playlists are built from index records ([`hindsight_store::hls`]); media is the data
//! stream's bytes by HTTP range, streamed from the store. Nothing is transcoded or copied.
//!
//! Safe by default: loopback only unless `--listen` says otherwise, and then a token is required (given, or
//! made and printed once); stream names are validated like everywhere else; CORS only for an origin given with
//! `--cors`. Slow clients cannot hold the server: headers must arrive within [`HEADER_TIMEOUT`] and at most
//! [`MAX_CONNECTIONS`] connections are served at once. Ctrl-C stops accepting and lets running requests finish.
//!
//! Built on axum (routing and extractors over hyper, tower middleware for logs and CORS): the well-kept
//! choice on the tokio stack the store's Pravega client already runs on.

mod api;
mod assets;
mod auth;
mod cache;
mod error;
mod media;
mod playlist;
mod range;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::routing::get;
use axum::Router;
use hindsight_store::Backend;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// The request headers must arrive within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the listen queue.
pub const MAX_CONNECTIONS: usize = 512;
/// What `hindsight serve` logs besides warnings by default: a line per request (method, path, status,
/// latency) and the server's own notes.
pub const LOG_FILTER: &str = "tower_http::trace=info,hindsight::serve=info";
/// Running requests get this long to finish after Ctrl-C.
const DRAIN: Duration = Duration::from_secs(10);

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The access token; required (made when `None`) for addresses other than loopback.
    pub token: Option<String>,
    /// The one origin allowed cross-origin requests.
    pub cors: Option<String>,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    store: Arc<dyn Backend>,
    token: Option<Arc<str>>,
    cache: Arc<cache::Cache>,
}

/// The routes.
fn router(state: AppState, cors: Option<&str>) -> anyhow::Result<Router> {
    let mut app = Router::new()
        .route("/", get(assets::index))
        .route("/player.html", get(assets::player))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/streams", get(api::streams))
        .route("/api/streams/{scope}/{stream}", get(api::stream))
        .route("/streams/{scope}/{stream}/index.m3u8", get(playlist::media))
        .route("/streams/{scope}/{stream}/iframes.m3u8", get(playlist::iframes))
        .route("/streams/{scope}/{stream}/data", get(media::data))
        // The same bytes under a name with a media extension: players (ffmpeg among them) fetch segment URIs
        // only when they end in one they know.
        .route("/streams/{scope}/{stream}/data.mp4", get(media::data))
        .fallback(|| async { error::ApiError::not_found("no such page") })
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require))
        .with_state(state);
    if let Some(origin) = cors {
        let origin = origin
            .parse::<axum::http::HeaderValue>()
            .with_context(|| format!("bad --cors origin {origin:?}"))?;
        app = app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::exact(origin))
                .allow_headers([axum::http::header::RANGE, axum::http::header::AUTHORIZATION])
                .expose_headers([
                    axum::http::header::CONTENT_RANGE,
                    axum::http::header::CONTENT_LENGTH,
                ]),
        );
    }
    // A span per request with its method and path (never the query: it may hold the token), and a line when
    // the response starts, with status and latency.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &axum::http::Request<_>| {
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
        })
        .on_request(())
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO));
    Ok(app.layer(trace))
}

/// Serves `store` until Ctrl-C.
pub fn run(store: Arc<dyn Backend>, opts: Options) -> anyhow::Result<()> {
    let token = match (&opts.token, opts.listen.ip().is_loopback()) {
        (Some(t), _) if t.trim().is_empty() => anyhow::bail!("--token must not be empty"),
        (Some(t), _) => Some(t.clone()),
        (None, true) => None,
        (None, false) => {
            let t = auth::generate()?;
            // Printed once, so the person who started the server can hand it out.
            println!("access token (needed from other machines): {t}");
            Some(t)
        }
    };
    let state = AppState {
        store,
        token: token.map(Arc::from),
        cache: Arc::default(),
    };
    let app = router(state.clone(), opts.cors.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("serve")
        .build()
        .context("cannot start the server runtime")?;
    rt.block_on(serve(app, state, opts.listen))
}

async fn serve(app: Router, state: AppState, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let token = state
        .token
        .as_deref()
        .map(|t| format!("?token={t}"))
        .unwrap_or_default();
    // One line a script can read the port from.
    println!("serving {} on http://{addr}/{token}", state.store.uri());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut stop = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.context("the connection limit closed")?,
            _ = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    eprintln!("stopping: letting running requests finish");
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN) => eprintln!("some requests were still running; stopped"),
    }
    Ok(())
}
