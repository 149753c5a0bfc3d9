//! Where there is no graphics device, GTK's OpenGL renderer runs on Mesa's software rasterizer: starting it
//! costs more than a hundred milliseconds (LLVM and shader compilation, measured under Xvfb: `hindsight play`
//! exec to first frame 600–700 ms with it, 250–340 ms without), and each frame is drawn on the CPU anyway. On
//! such machines (a VM without a virtual GPU, a remote X display, CI) the app starts GTK with OpenGL off, which
//! makes it draw with cairo. Nothing changes where a GPU is present or where the user chose for themselves.

use std::path::Path;

/// GTK's switches; a user who set one of them has chosen, and is left alone.
const USER_CHOICES: [&str; 3] = ["GDK_DEBUG", "GSK_RENDERER", "GDK_GL"];

/// Device nodes of a GPU driver: DRM (Mesa, NVIDIA with its DRM module) and NVIDIA's own.
fn has_gpu(dev: &Path) -> bool {
    let dri = std::fs::read_dir(dev.join("dri"))
        .map(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("renderD") || name.starts_with("card")
            })
        })
        .unwrap_or(false);
    dri || dev.join("nvidia0").exists()
}

/// What to set, if anything, given the environment and the device directory.
fn choice(env: impl Fn(&str) -> Option<String>, dev: &Path) -> Option<(&'static str, &'static str)> {
    if USER_CHOICES.iter().any(|k| env(k).is_some_and(|v| !v.is_empty())) || has_gpu(dev) {
        return None;
    }
    Some(("GDK_DEBUG", "gl-disable"))
}

/// Turns GTK's OpenGL off on a machine without a GPU. Call before any thread starts (it sets an environment
/// variable) and before GTK initialises.
pub fn prefer_cpu_drawing_without_gpu() {
    if let Some((key, value)) = choice(|k| std::env::var(k).ok(), Path::new("/dev")) {
        tracing::debug!(key, value, "no GPU device: GTK draws without OpenGL");
        std::env::set_var(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gl_goes_off_only_without_a_gpu_and_without_a_user_choice() {
        let none = |_: &str| None;
        let empty = tempfile::tempdir().expect("dir");
        assert_eq!(choice(none, empty.path()), Some(("GDK_DEBUG", "gl-disable")));

        let render = tempfile::tempdir().expect("dir");
        std::fs::create_dir(render.path().join("dri")).expect("dri");
        std::fs::write(render.path().join("dri/renderD128"), b"").expect("node");
        assert_eq!(choice(none, render.path()), None);

        let nvidia = tempfile::tempdir().expect("dir");
        std::fs::write(nvidia.path().join("nvidia0"), b"").expect("node");
        assert_eq!(choice(none, nvidia.path()), None);

        // An empty dri directory (a container that hides the devices) is no GPU.
        let bare = tempfile::tempdir().expect("dir");
        std::fs::create_dir(bare.path().join("dri")).expect("dri");
        assert!(choice(none, bare.path()).is_some());

        for key in USER_CHOICES {
            let set = |k: &str| (k == key).then(|| "ngl".to_owned());
            assert_eq!(choice(set, empty.path()), None, "{key}");
        }
        let blank = |_: &str| Some(String::new());
        assert!(choice(blank, empty.path()).is_some());
    }
}
