//! The browser pages, built into the binary: the stream list, the player, and hls.js (a pinned copy from npm,
//! `web/vendor/`; no CDN). Plain HTML, JavaScript and CSS: nothing is built at run time.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Every file: name, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../../web/static/index.html"),
    ),
    (
        "player.html",
        "text/html; charset=utf-8",
        include_bytes!("../../web/static/player.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../web/static/style.css"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/static/common.js"),
    ),
    (
        "list.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/static/list.js"),
    ),
    (
        "player.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/static/player.js"),
    ),
    (
        "hls.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/vendor/hls.min.js"),
    ),
];

fn file(name: &str) -> Result<Response, ApiError> {
    let (_, kind, bytes) = FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| ApiError::not_found(format!("no such file: {name}")))?;
    Ok((
        [(header::CONTENT_TYPE, *kind), (header::CACHE_CONTROL, "no-cache")],
        *bytes,
    )
        .into_response())
}

/// `GET /`: the stream list.
pub async fn index() -> Result<Response, ApiError> {
    file("index.html")
}

/// `GET /player.html?stream=SCOPE/STREAM`.
pub async fn player() -> Result<Response, ApiError> {
    file("player.html")
}

/// `GET /assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    file(&name)
}
