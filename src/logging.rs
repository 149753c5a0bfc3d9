//! Logs and panic messages on stderr, with credentials blanked out: the Pravega client's gRPC errors carry the
//! request's `authorization` header (the user and password in base64), at any log level.

/// Warnings by default, except from the Pravega client crates: they retry by themselves and log every attempt
/// (a stack trace per reconnect), and their gRPC error dumps include the request's `authorization` header,
/// i.e. the credentials. The store layer reports what failed once, in words. `HINDSIGHT_LOG` overrides this.
const DEFAULT_LOG_FILTER: &str =
    "warn,pravega_client=off,pravega_controller_client=off,pravega_wire_protocol=off,pravega_connection_pool=off";

/// Panics inside the Pravega client carry its gRPC status, whose metadata includes the `authorization` header
/// (the credentials in base64). Print panics with any such header blanked out.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current().name().unwrap_or("unnamed").to_owned();
        eprintln!(
            "hindsight: internal error in thread {thread}{at}: {}",
            blank_credentials(&msg)
        );
    }));
}

/// `Basic <base64>` and `Bearer <token>` values replaced by `<redacted>`.
fn blank_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = ["Basic ", "Bearer "]
        .iter()
        .filter_map(|k| rest.find(k).map(|i| (i, k.len())))
        .min()
    {
        let (start, klen) = i;
        out.push_str(&rest[..start + klen]);
        out.push_str("<redacted>");
        let tail = &rest[start + klen..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "+/=-._~".contains(c)))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Logs to stderr by `$HINDSIGHT_LOG`, else warnings only; a server (`serve`) also logs each request, as an
/// access log would.
pub fn init(serve: bool) {
    let default = if serve {
        format!("{DEFAULT_LOG_FILTER},{}", crate::serve::LOG_FILTER)
    } else {
        DEFAULT_LOG_FILTER.to_owned()
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HINDSIGHT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours for a terminal only: logs redirected to a file or a journal stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(|| RedactedStderr)
        .init();
}

/// Stderr with `Basic`/`Bearer` credentials blanked out of every write. The log formatter writes each event
/// whole, so a credential is never split between two writes.
struct RedactedStderr;

impl std::io::Write for RedactedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(blank_credentials(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_lose_their_credentials() {
        let text = r#"controller error: Status { metadata: {"authorization": "Basic YWRtaW46czNjcmV0"} }"#;
        let clean = blank_credentials(text);
        assert!(!clean.contains("YWRt"), "{clean}");
        assert!(clean.contains(r#""Basic <redacted>"} }"#), "{clean}");
        assert_eq!(blank_credentials("no secrets"), "no secrets");
        assert_eq!(
            blank_credentials("Bearer abc.def and Basic x="),
            "Bearer <redacted> and Basic <redacted>"
        );
    }
}
