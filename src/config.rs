//! Build-time configuration. Meson passes these as environment variables at compile time; plain `cargo`
//! builds fall back to development values so a fresh clone builds and runs without meson.

/// Application id (reverse DNS), `.Devel` for development builds.
pub const APP_ID: &str = match option_env!("HINDSIGHT_APP_ID") {
    Some(id) => id,
    None => "io.github.hindsight.Hindsight.Devel",
};

/// Version shown in `--version` and the About window.
pub const VERSION: &str = match option_env!("HINDSIGHT_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

/// Gettext domain.
pub const GETTEXT_PACKAGE: &str = "hindsight";

/// Where compiled translations live: meson's locale dir when installed, else the copies `build.rs` compiled
/// for development builds, else the system's.
pub const LOCALEDIR: &str = match option_env!("HINDSIGHT_LOCALEDIR") {
    Some(dir) => dir,
    None => match option_env!("HINDSIGHT_DEV_LOCALEDIR") {
        Some(dir) => dir,
        None => "/usr/share/locale",
    },
};

/// The GResource path of the app's resources (style sheet, keyboard shortcuts window), the same for
/// development builds whose app id ends in `.Devel`.
pub const RESOURCE_BASE_PATH: &str = "/io/github/hindsight/Hindsight";
