//! TLS to Pravega: a test server speaking TLS with a certificate authority made by the test (openssl); a
//! recording, playback through `pravegasrc` and a copy over `tls://`; and a wrong CA, no CA (the system bundle)
//! and an IP address instead of the certificate's host name, each a clear error naming the problem, fast.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use common::{collect_pts, ok, pravega_controller, PrivatePravega};

/// Runs openssl with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (ca.pem), a server certificate it signs for localhost and 127.0.0.1 (server.pem, server.key; also
/// for client authentication, which the server's own ZooKeeper connection asks for), and an unrelated CA
/// (other-ca.pem).
fn make_certificates(dir: &Path) {
    let ca_subject = "/CN=Hindsight test CA";
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days",
            "2", "-subj", ca_subject,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .expect("write extensions");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other-ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Another CA",
        ],
    );
}

/// `hindsight` on `store` with `ca` as the CA file to trust (`None`: unset, so the system bundle).
fn hindsight_tls(store: &str, ca: Option<&Path>, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hindsight"));
    c.arg("--store")
        .arg(store)
        .args(args)
        .env_remove("HINDSIGHT_STORE");
    match ca {
        Some(ca) => c.env("HINDSIGHT_PRAVEGA_TLS_CERT", ca),
        None => c.env_remove("HINDSIGHT_PRAVEGA_TLS_CERT"),
    };
    c.output().expect("run hindsight")
}

#[test]
fn recording_playing_and_copying_over_tls_and_certificate_problems_named() {
    if pravega_controller().is_none() {
        return;
    }
    let certs = tempfile::tempdir().expect("tempdir");
    make_certificates(certs.path());
    let ca = certs.path().join("ca.pem");
    let server = PrivatePravega::start_tls(certs.path());
    let uri = server.uri();
    assert!(uri.starts_with("tls://localhost:"), "{uri}");

    // Record a few seconds over TLS.
    let mut rec = Command::new(env!("CARGO_BIN_EXE_hindsight"))
        .args([
            "--store", &uri, "record", "--stream", "site/cam", "--source", "test", "--size", "160x120",
        ])
        .env("HINDSIGHT_PRAVEGA_TLS_CERT", &ca)
        .env_remove("HINDSIGHT_STORE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start recording");
    std::thread::sleep(Duration::from_secs(7));
    let status = common::interrupt(&mut rec, Duration::from_secs(30)).expect("the recorder stops");
    assert!(status.success(), "recording over TLS failed: {status}");
    let listed = ok(&hindsight_tls(&uri, Some(&ca), &["list"]));
    assert!(listed.contains("site/cam"), "{listed}");

    // Play it back through the elements, in this process.
    std::env::set_var("HINDSIGHT_PRAVEGA_TLS_CERT", &ca);
    let decoded = collect_pts(&format!(
        "pravegasrc store={uri} stream=site/cam end-mode=latest ! qtdemux ! h264parse ! avdec_h264 ! \
         fakesink name=out sync=false"
    ));
    println!("{listed}decoded {} frames", decoded.len());
    assert!(
        decoded.len() > 60,
        "only {} frames decoded over TLS",
        decoded.len()
    );

    // Copy it to the embedded store.
    let local = tempfile::tempdir().expect("tempdir");
    let out = ok(&hindsight_tls(
        &uri,
        Some(&ca),
        &[
            "copy",
            "site/cam",
            &format!("{}/site/cam", local.path().display()),
        ],
    ));
    assert!(out.contains("copied"), "{out}");
    let inspected = ok(&common::hindsight(local.path(), &["inspect", "site/cam"]));
    assert!(!inspected.is_empty());

    // Certificate problems: each a clear error at once, naming the problem.
    let other = certs.path().join("other-ca.pem");
    let ip_uri = uri.replace("localhost", "127.0.0.1");
    let cases: [(&str, Option<&Path>, &[&str]); 3] = [
        (&uri, Some(&other), &["unknown issuer", "other-ca.pem"]),
        (&uri, None, &["unknown issuer", "/etc/ssl/certs"]),
        (&ip_uri, Some(&ca), &["host names only", "tls://localhost:"]),
    ];
    for (store, ca, expect) in cases {
        let started = Instant::now();
        let o = hindsight_tls(store, ca, &["list"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{store} {ca:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        for e in expect {
            assert!(err.contains(e), "{store} {ca:?}: the error lacks {e:?}: {err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{store}: took {:?}",
            started.elapsed()
        );
    }
}
