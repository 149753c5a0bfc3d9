//! Child processes of tests and benchmarks: servers and writers that must not outlive the run.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts the app `bin` on `store` with `args` (e.g. `play SCOPE/STREAM`), writing its status report to
/// `status`, with in-memory settings and its output discarded: how benchmarks time the real app.
pub fn spawn_app(bin: &Path, store: &Path, args: &[&str], status: &Path) -> std::io::Result<Child> {
    Command::new(bin)
        .arg("--store")
        .arg(store)
        .args(args)
        .env("HINDSIGHT_STATUS_FILE", status)
        .env("GSETTINGS_BACKEND", "memory")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// A child process, killed and reaped when stopped or dropped (a failed assertion must not leave it running).
pub struct Reaped(Child);

impl Reaped {
    /// Starts `cmd`.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Self> {
        cmd.spawn().map(Reaped)
    }

    /// Kills and reaps it (again harmless).
    pub fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// The process.
    pub fn child(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A server started and listening: the process, its base URL and what it printed before the URL.
pub struct Served {
    pub process: Reaped,
    /// `http://HOST:PORT`, from the first line of its standard output that holds an `http://` URL.
    pub base: String,
    /// The lines it printed before that one.
    pub before: Vec<String>,
}

/// Starts the server `cmd` and waits for it to print its URL; its standard output is read on after that, so a
/// chatty server never blocks on a full pipe. Panics when it exits without printing one.
pub fn serve(cmd: &mut Command) -> Served {
    let mut process =
        Reaped::spawn(cmd.stdout(Stdio::piped()).stderr(Stdio::null())).expect("start the server");
    let out = process.child().stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let mut before = Vec::new();
    let mut base = None;
    for line in lines.by_ref().map_while(Result::ok) {
        let url = line.split_whitespace().find(|w| w.starts_with("http://"));
        if let Some(url) = url {
            base = Some(url.split('/').take(3).collect::<Vec<_>>().join("/"));
            break;
        }
        before.push(line);
    }
    std::thread::spawn(move || for _ in lines {});
    Served {
        process,
        base: base.expect("the server printed its address"),
        before,
    }
}
