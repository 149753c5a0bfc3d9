//! Child writers for the crash tests: the test binary re-executed to run one `#[ignore]`d test function that
//! writes until it is killed.

use std::io::{BufRead, BufReader, Lines};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

/// Starts this test binary running only `test` (an ignored test that does nothing without its environment),
/// with `env` set, and waits until it prints a line containing `ready`. Returns the child and the rest of its
/// output, line by line.
pub fn spawn(test: &str, env: &[(&str, &str)], ready: &str) -> (Child, Lines<BufReader<ChildStdout>>) {
    let exe = std::env::current_exe().expect("path of the test binary");
    let mut command = Command::new(exe);
    command
        .args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn child writer");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let is_ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains(ready));
    assert!(
        is_ready,
        "the child exited before it was ready (see its stderr above)"
    );
    (child, lines)
}

/// In the child: the store directory from `dir_env` and the seed from `seed_env` (1 when unset), or `None` when
/// this process is not a child (the ignored test was run directly).
pub fn child_env(dir_env: &str, seed_env: &str) -> Option<(PathBuf, u64)> {
    let dir = std::env::var_os(dir_env)?;
    let seed = std::env::var(seed_env)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    Some((PathBuf::from(dir), seed))
}

/// Lets a child write for `delay`, then kills it with SIGKILL and reaps it; fails if it had ended by itself.
pub fn kill_after(child: &mut Child, delay: Duration, round: usize) {
    std::thread::sleep(delay);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill child");
    let status = child.wait().expect("reap child");
    assert_eq!(
        status.signal(),
        Some(9),
        "round {round}: the child ended by itself: {status}"
    );
}
