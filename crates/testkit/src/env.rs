//! The test environment: CI or a developer's machine, and the Pravega server `make test` starts.

/// True under CI (`CI` set and not `false`/`0`), where tests that need a Pravega server must run, never skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The controller URI of the Pravega server `make test` starts (scripts/with-pravega sets
/// `HINDSIGHT_PRAVEGA_CONTROLLER`).
///
/// Without one: a panic under CI, where `what` must run, and otherwise `None` with a "skipped" note on stderr
/// (a developer's `cargo test` without Java).
pub fn pravega_controller(what: &str) -> Option<String> {
    let uri = std::env::var("HINDSIGHT_PRAVEGA_CONTROLLER")
        .ok()
        .filter(|v| !v.is_empty());
    if uri.is_none() {
        assert!(
            !in_ci(),
            "HINDSIGHT_PRAVEGA_CONTROLLER is not set, but CI is: {what} must run \
             (`make test` starts a server with scripts/with-pravega)"
        );
        eprintln!(
            "{what}: skipped, HINDSIGHT_PRAVEGA_CONTROLLER is not set (run under scripts/with-pravega)"
        );
    }
    uri
}

/// A Pravega scope name (letters, digits, `-`) that no other run on a shared server uses.
pub fn unique_scope(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    #[test]
    fn scopes_differ_between_calls() {
        let a = super::unique_scope("t");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = super::unique_scope("t");
        assert_ne!(a, b);
        assert!(
            a.starts_with("t-") && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{a}"
        );
    }
}
