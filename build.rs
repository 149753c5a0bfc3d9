//! Compiles the GSettings schema next to the build output, so that `cargo run` / `make run` finds it without
//! an installed copy (meson installs the schema system-wide instead). A machine without
//! glib-compile-schemas still builds; the app then runs without saved preferences and says so in its log.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let schema = "data/io.github.hindsight.Hindsight.gschema.xml";
    println!("cargo:rerun-if-changed={schema}");
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    let dir = out.join("schemas");
    let copied = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::copy(schema, dir.join("io.github.hindsight.Hindsight.gschema.xml")).map(|_| ())
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
