//! A running `hindsight serve` and the browser that plays its pages (hls.js in Debian's Chromium, driven by
//! tests/browser/drive.js). Shared by the serve and sound tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running `hindsight serve`; stopped when dropped.
pub struct Server {
    _process: hindsight_testkit::process::Reaped,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The token it printed, if any.
    pub token: Option<String>,
}

impl Server {
    pub fn start(store: &Path, args: &[&str]) -> Self {
        let served = hindsight_testkit::process::serve(
            Command::new(env!("CARGO_BIN_EXE_hindsight"))
                .arg("--store")
                .arg(store)
                .arg("serve")
                .args(args)
                .env_remove("HINDSIGHT_STORE")
                .env_remove("HINDSIGHT_SERVE_TOKEN"),
        );
        let token = served.before.iter().find_map(|l| {
            l.strip_prefix("access token (needed from other machines): ")
                .map(str::to_owned)
        });
        Server {
            _process: served.process,
            base: served.base.replace("0.0.0.0", "127.0.0.1"),
            token,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Debian's Chromium (scripts/install-deps installs it).
fn chromium() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("chromium is missing: run scripts/install-deps")
}

/// Opens the player page in headless Chromium until `predicate` (over the page's status `s`) holds.
pub fn browse(url: &str, predicate: &str, seconds: u32, shot: Option<&Path>) -> serde_json::Value {
    let chromium = chromium();
    let mut cmd = Command::new("node");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/drive.js"))
        .arg(&chromium)
        .arg(url)
        .arg(seconds.to_string())
        .arg(predicate);
    if let Some(s) = shot {
        cmd.arg(s);
    }
    let out = cmd.output().expect("run node");
    let text = String::from_utf8_lossy(&out.stdout);
    let result: serde_json::Value =
        serde_json::from_str(text.trim()).unwrap_or_else(|_| panic!("driver: {text}"));
    assert!(out.status.success(), "the page did not get there: {result}");
    result["status"].clone()
}
