//! Build-time data for development builds, so that `cargo run` / `make run` work without installing anything
//! (meson installs these system-wide instead):
//! - the GResource bundle (style sheet, keyboard shortcuts window), compiled into the binary;
//! - the GSettings schema, compiled next to the build output (`HINDSIGHT_DEV_SCHEMA_DIR`);
//! - the translations, `po/*.po` compiled to `.mo` files under the build output (`HINDSIGHT_DEV_LOCALEDIR`).
//!
//! A machine without glib-compile-schemas or msgfmt still builds; the app then runs without saved preferences
//! or without translations and says so in its log. The resources are required (glib-compile-resources comes
//! with the GLib development tools the build needs anyway).

use std::path::{Path, PathBuf};
use std::process::Command;

const SCHEMA: &str = "data/io.github.hindsight.Hindsight.gschema.xml";

fn main() {
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    glib_build_tools::compile_resources(
        &["data/resources"],
        "data/resources/resources.gresource.xml",
        "hindsight.gresource",
    );
    compile_schema(&out);
    compile_translations(&out);
}

fn compile_schema(out: &Path) {
    println!("cargo:rerun-if-changed={SCHEMA}");
    let dir = out.join("schemas");
    let copied = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::copy(SCHEMA, dir.join("io.github.hindsight.Hindsight.gschema.xml")).map(|_| ())
    });
    if let Err(e) = copied {
        println!("cargo:warning=cannot copy the GSettings schema: {e}");
        return;
    }
    match Command::new("glib-compile-schemas")
        .arg("--strict")
        .arg(&dir)
        .status()
    {
        Ok(s) if s.success() => {
            println!("cargo:rustc-env=HINDSIGHT_DEV_SCHEMA_DIR={}", dir.display());
        }
        Ok(s) => println!("cargo:warning=glib-compile-schemas failed ({s})"),
        Err(e) => println!("cargo:warning=glib-compile-schemas not available: {e}"),
    }
}

/// `po/LANG.po` for every language in `po/LINGUAS`, to `OUT_DIR/locale/LANG/LC_MESSAGES/hindsight.mo`.
fn compile_translations(out: &Path) {
    println!("cargo:rerun-if-changed=po/LINGUAS");
    let Ok(linguas) = std::fs::read_to_string("po/LINGUAS") else {
        println!("cargo:warning=po/LINGUAS is missing: no translations");
        return;
    };
    let root = out.join("locale");
    for lang in linguas
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let po = format!("po/{lang}.po");
        println!("cargo:rerun-if-changed={po}");
        let dir = root.join(lang).join("LC_MESSAGES");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            println!("cargo:warning=cannot create {}: {e}", dir.display());
            return;
        }
        match Command::new("msgfmt")
            .arg("--check")
            .arg("-o")
            .arg(dir.join("hindsight.mo"))
            .arg(&po)
            .status()
        {
            Ok(s) if s.success() => {}
            Ok(s) => {
                println!("cargo:warning=msgfmt failed on {po} ({s})");
                return;
            }
            Err(e) => {
                println!("cargo:warning=msgfmt not available ({e}): no translations");
                return;
            }
        }
    }
    println!("cargo:rustc-env=HINDSIGHT_DEV_LOCALEDIR={}", root.display());
}
