//! The access token: a server listening beyond loopback answers only requests that carry it, as
//! `Authorization: Bearer TOKEN` or `?token=TOKEN` (for the browser page and the URIs in its playlists).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// A new random token (128 bits from the kernel's random source, hex).
pub fn generate() -> anyhow::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| anyhow::anyhow!("cannot make an access token: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The token a request carries.
pub fn presented(req: &Request) -> Option<String> {
    let bearer = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    bearer.or_else(|| {
        req.uri().query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "token")
                .map(|(_, v)| v.to_owned())
        })
    })
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses requests without the token, when the server has one.
pub async fn require(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match &state.token {
        Some(token) if !presented(&req).is_some_and(|t| same(&t, token)) => ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: "an access token is needed: Authorization: Bearer TOKEN or ?token=TOKEN".into(),
        }
        .into_response(),
        _ => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_whole() {
        let a = generate().expect("token");
        assert_eq!(a.len(), 32);
        assert_ne!(a, generate().expect("token"));
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd") && !same("abc", "abcd") && !same("", "a"));
    }

    #[test]
    fn the_token_comes_from_the_header_or_the_query() {
        let req = Request::builder()
            .uri("/x?a=1&token=t0k")
            .body(axum::body::Body::empty())
            .expect("request");
        assert_eq!(presented(&req).as_deref(), Some("t0k"));
        let req = Request::builder()
            .uri("/x")
            .header("Authorization", "Bearer s3")
            .body(axum::body::Body::empty())
            .expect("request");
        assert_eq!(presented(&req).as_deref(), Some("s3"));
    }
}
