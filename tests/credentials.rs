//! The store password lives in the desktop's Secret Service: a real GNOME Keyring on the test's own session
//! bus, a Pravega server with password authentication, the app opening the store saved in its preferences
//! (GSettings' keyfile backend, so what is saved can be read back). The password must never reach GSettings,
//! the app's log or its status report, and the app must still open the store with it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::app::PrivateDisplay;
use common::{interrupt, pravega_controller, PrivatePravega};

const PASSWORD: &str = "k3yring-only-pw";

/// A session bus of the test's own with GNOME Keyring on it (unlocked, its files in a temporary home).
struct KeyringSession {
    bus: Child,
    keyring: Child,
    address: String,
    home: tempfile::TempDir,
}

impl KeyringSession {
    fn start() -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        let runtime = home.path().join("run");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("runtime dir mode");
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start dbus-daemon");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("bus stdout"))
            .read_line(&mut address)
            .expect("the bus address");
        let address = address.trim().to_owned();
        let mut keyring = in_session(&address, home.path(), "gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        // --unlock reads the login keyring's password from stdin (it creates the keyring the first time).
        let mut stdin = keyring.stdin.take().expect("keyring stdin");
        stdin.write_all(b"login-keyring-pw").expect("unlock password");
        drop(stdin);
        let session = KeyringSession {
            bus,
            keyring,
            address,
            home,
        };
        session.wait_for_secret_service();
        session
    }

    /// A command in this session.
    fn command(&self, program: &str) -> Command {
        in_session(&self.address, self.home.path(), program)
    }

    fn wait_for_secret_service(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let out = self
                .command("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .expect("run dbus-send");
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "GNOME Keyring did not come up on the test bus"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// GSettings' keyfile, where the keyfile backend keeps the app's preferences.
    fn settings_file(&self) -> PathBuf {
        self.home.path().join("config/glib-2.0/settings/keyfile")
    }

    fn write_settings(&self, lines: &[String]) {
        let file = self.settings_file();
        std::fs::create_dir_all(file.parent().expect("settings dir")).expect("settings dir");
        let text = format!("[io/github/hindsight/Hindsight]\n{}\n", lines.join("\n"));
        std::fs::write(&file, text).expect("write settings");
    }

    /// Starts the app with no --store (it opens what its preferences name), logging everything to `log`.
    fn start_app(&self, display: &str, status: &Path, log: &Path) -> Child {
        let log = std::fs::File::create(log).expect("log file");
        self.command(env!("CARGO_BIN_EXE_hindsight"))
            .env("DISPLAY", display)
            .env("GDK_BACKEND", "x11")
            .env("GSK_RENDERER", "cairo")
            .env("NO_AT_BRIDGE", "1")
            .env("GSETTINGS_BACKEND", "keyfile")
            .env("HINDSIGHT_STATUS_FILE", status)
            .env("HINDSIGHT_LOG", "debug")
            .env_remove("HINDSIGHT_STORE")
            .env_remove("HINDSIGHT_PRAVEGA_USERNAME")
            .env_remove("HINDSIGHT_PRAVEGA_PASSWORD")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start hindsight")
    }
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        for child in [&mut self.keyring, &mut self.bus] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A command on the session bus at `address`, with `home` for its home and XDG directories, so that no real
/// keyring or settings are touched.
fn in_session(address: &str, home: &Path, program: &str) -> Command {
    let mut c = Command::new(program);
    c.env("DBUS_SESSION_BUS_ADDRESS", address)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_RUNTIME_DIR", home.join("run"));
    c
}

/// The log, checked for the password in clear and in the base64 of an `authorization` header.
fn log_without_password(log: &Path) -> String {
    let logged = std::fs::read_to_string(log).expect("log");
    assert!(!logged.contains(PASSWORD), "the log shows the password");
    assert_eq!(
        logged.matches("Basic ").count(),
        logged.matches("Basic <redacted>").count(),
        "the log shows an authorization header"
    );
    logged
}

/// Waits until `stream` in `store` has `count` key frames indexed (a fixed sleep is not enough: the recorder's
/// first start on a fresh machine scans the GStreamer registry before it records anything).
fn wait_for_key_frames(store: &str, stream: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new(env!("CARGO_BIN_EXE_hindsight"))
            .args(["--store", store, "inspect", stream, "--json", "--records"])
            .env_remove("HINDSIGHT_STORE")
            .output()
            .expect("run hindsight inspect");
        let indexed = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|json| json["records"].as_array().map(Vec::len))
            .unwrap_or(0);
        if indexed >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{stream} has {indexed} index records after 60 s: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits until the app plays `stream` (which needs the store opened with the right password), then stops it.
fn plays(mut app: Child, status: &Path, log: &Path, stream: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = serde_json::Value::Null;
    let playing = loop {
        if let Some(s) = std::fs::read_to_string(status)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        {
            if s["stream"] == stream && s["scrub"]["frames"].as_u64().unwrap_or(0) > 0 {
                break Some(s);
            }
            last = s;
        }
        if Instant::now() > deadline || app.try_wait().ok().flatten().is_some() {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = app.kill();
    let _ = app.wait();
    playing.unwrap_or_else(|| {
        let logged = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = logged.lines().rev().take(40).collect();
        panic!(
            "the app did not play {stream}; last status: {last}; the log ends:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    })
}

#[test]
fn the_store_password_lives_in_the_keyring_not_in_settings_logs_or_status() {
    if pravega_controller().is_none() {
        return;
    }
    let server = PrivatePravega::start(Some(&format!("admin:{PASSWORD}")));
    let work = tempfile::tempdir().expect("tempdir");
    // A few seconds of the test pattern, recorded with the password in the address.
    let with_password = server
        .uri()
        .replace("tcp://", &format!("tcp://admin:{PASSWORD}@"));
    let mut recorder = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args(["--store", &with_password, "record", "--stream", "site/cam1"])
        .args(["--source", "test", "--size", "320x180"])
        .env_remove("HINDSIGHT_STORE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start recording");
    wait_for_key_frames(&with_password, "site/cam1", 3);
    let stopped = interrupt(&mut recorder, Duration::from_secs(30)).expect("the recorder stops");
    assert!(stopped.success(), "recorder exited with {stopped}");

    let session = KeyringSession::start();
    let x = PrivateDisplay::start();
    // An older version saved the address with its password in GSettings.
    session.write_settings(&[
        format!("store-uri='{with_password}'"),
        "last-stream='site/cam1'".to_owned(),
    ]);
    let (status, log) = (work.path().join("status.json"), work.path().join("app.log"));
    let shown = plays(
        session.start_app(&x.name, &status, &log),
        &status,
        &log,
        "site/cam1",
    );

    let public = server.uri().replace("tcp://", "tcp://admin@");
    let settings = std::fs::read_to_string(session.settings_file()).expect("settings");
    assert!(
        !settings.contains(PASSWORD),
        "GSettings keeps the password: {settings}"
    );
    assert!(settings.contains(&format!("store-uri='{public}'")), "{settings}");
    let logged = log_without_password(&log);
    assert!(
        logged.contains("moved the store password from the preferences to the keyring"),
        "{logged}"
    );
    assert!(
        !shown.to_string().contains(PASSWORD),
        "the status shows the password: {shown}"
    );

    // Started again, the password comes from the keyring alone.
    let shown = plays(
        session.start_app(&x.name, &status, &log),
        &status,
        &log,
        "site/cam1",
    );
    assert!(!shown.to_string().contains(PASSWORD));
    let logged = log_without_password(&log);
    assert!(!logged.contains("has no password"), "{logged}");

    // A user the keyring has no password for: the store refuses, and the app says so rather than hanging.
    session.write_settings(&[
        format!("store-uri='{}'", server.uri().replace("tcp://", "tcp://nobody@")),
        "last-stream='site/cam1'".to_owned(),
    ]);
    let _ = std::fs::remove_file(&status);
    let mut app = session.start_app(&x.name, &status, &log);
    std::thread::sleep(Duration::from_secs(10));
    let alive = app.try_wait().expect("app state").is_none();
    x.screenshot(&work.path().join("no-password.png"));
    // Preferences (main menu, first item): the password row says the keyring has none for this user.
    x.click(777, 28, 1);
    std::thread::sleep(Duration::from_secs(1));
    x.click(727, 125, 1);
    std::thread::sleep(Duration::from_secs(2));
    x.screenshot(&work.path().join("preferences.png"));
    let _ = app.kill();
    let _ = app.wait();
    let logged = log_without_password(&log);
    assert!(alive, "the app stays up and shows the store's error: {logged}");
    assert!(
        logged.contains("the keyring has no password for tcp://nobody@127.0.0.1"),
        "{logged}"
    );
    // The library shows "Cannot Read the Store" (the server refused the credentials); nothing is played.
    let shown = std::fs::read_to_string(&status).unwrap_or_default();
    assert!(!shown.contains("site/cam1"), "{shown}");
}
