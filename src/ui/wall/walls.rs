//! Named walls, kept in `$XDG_CONFIG_HOME/hindsight/walls.json` and reopened at start. A file that does not
//! parse is reported, kept as `walls.json.bak`, and replaced by an empty wall; nothing is lost.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::layout::Layout;

/// Version of the file format.
const VERSION: u32 = 1;

/// One wall: a name, a layout and the streams in tile order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WallDef {
    /// Shown in the wall switcher.
    pub name: String,
    /// How the tiles are arranged.
    #[serde(default)]
    pub layout: Layout,
    /// SCOPE/STREAM of each tile, in order.
    #[serde(default)]
    pub streams: Vec<String>,
}

impl WallDef {
    /// An empty wall.
    pub fn new(name: &str) -> Self {
        WallDef {
            name: name.to_owned(),
            layout: Layout::Auto,
            streams: Vec::new(),
        }
    }
}

/// Every wall and which one is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Walls {
    /// Format version.
    pub version: u32,
    /// Index of the wall shown.
    #[serde(default)]
    pub current: usize,
    /// The walls; never empty once loaded.
    pub walls: Vec<WallDef>,
}

/// The name of the wall there is when there is none yet.
pub const DEFAULT_NAME: &str = "Wall";

impl Default for Walls {
    fn default() -> Self {
        Walls {
            version: VERSION,
            current: 0,
            walls: vec![WallDef::new(DEFAULT_NAME)],
        }
    }
}

impl Walls {
    /// The wall shown.
    pub fn current(&self) -> &WallDef {
        let i = self.current.min(self.walls.len().saturating_sub(1));
        &self.walls[i]
    }

    /// The wall shown, to change.
    pub fn current_mut(&mut self) -> &mut WallDef {
        let i = self.current.min(self.walls.len().saturating_sub(1));
        &mut self.walls[i]
    }

    /// Repairs what a hand-edited file may hold: no walls, an index past the end.
    fn normalized(mut self) -> Self {
        if self.walls.is_empty() {
            self.walls.push(WallDef::new(DEFAULT_NAME));
        }
        self.current = self.current.min(self.walls.len() - 1);
        self
    }

    /// A new empty wall with a name not taken yet; it becomes the current one.
    pub fn add(&mut self, base: &str) -> usize {
        let mut name = base.to_owned();
        let mut n = 2;
        while self.walls.iter().any(|w| w.name == name) {
            name = format!("{base} {n}");
            n += 1;
        }
        self.walls.push(WallDef::new(&name));
        self.current = self.walls.len() - 1;
        self.current
    }

    /// Makes a wall of exactly `streams` current (`hindsight wall A B`): the wall that has them already, else
    /// an empty wall filled with them (a first start has one), else a new wall named after `base`.
    pub fn show(&mut self, streams: Vec<String>, base: &str) {
        if let Some(i) = self.walls.iter().position(|w| w.streams == streams) {
            self.current = i;
            return;
        }
        match self.walls.iter().position(|w| w.streams.is_empty()) {
            Some(i) => self.current = i,
            None => {
                self.add(base);
            }
        }
        self.current_mut().streams = streams;
    }

    /// Removes the current wall (the last one is emptied instead).
    pub fn remove_current(&mut self) {
        if self.walls.len() > 1 {
            let i = self.current.min(self.walls.len() - 1);
            self.walls.remove(i);
            self.current = i.saturating_sub(1).min(self.walls.len() - 1);
        } else {
            self.walls[0].streams.clear();
        }
    }
}

/// Where the walls are kept.
pub fn default_path() -> PathBuf {
    gtk4_config_dir().join("hindsight").join("walls.json")
}

fn gtk4_config_dir() -> PathBuf {
    relm4::gtk::glib::user_config_dir()
}

/// Loads the walls. A missing file is an empty wall; a broken one is moved to `.bak` and reported in the second
/// value (one sentence), and an empty wall takes its place.
pub fn load(path: &Path) -> (Walls, Option<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Walls::default(), None),
        Err(e) => {
            return (
                Walls::default(),
                Some(format!("cannot read {}: {e}", path.display())),
            )
        }
    };
    match serde_json::from_str::<Walls>(&text) {
        Ok(walls) => (walls.normalized(), None),
        Err(e) => {
            let bak = path.with_extension("json.bak");
            let kept = match std::fs::rename(path, &bak) {
                Ok(()) => format!("kept as {}", bak.display()),
                Err(re) => format!("could not keep it as {}: {re}", bak.display()),
            };
            (
                Walls::default(),
                Some(format!("{} does not parse ({e}); {kept}", path.display())),
            )
        }
    }
}

/// Saves the walls atomically (a temporary file renamed over the old one).
pub fn save(path: &Path, walls: &Walls) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(walls).context("cannot encode the walls")?;
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walls_round_trip_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cfg/walls.json");
        let (mut walls, problem) = load(&path);
        assert_eq!((walls.clone(), problem), (Walls::default(), None));
        walls.current_mut().streams = vec!["a/b".into(), "a/c".into()];
        walls.current_mut().layout = Layout::Two;
        assert_eq!(walls.add("Lobby"), 1);
        walls.current_mut().streams.push("x/y".into());
        save(&path, &walls).expect("save");
        let (again, problem) = load(&path);
        assert_eq!(problem, None);
        assert_eq!(again, walls);
        assert_eq!(again.current().name, "Lobby");
    }

    #[test]
    fn a_broken_file_is_kept_and_replaced_by_an_empty_wall() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("walls.json");
        std::fs::write(&path, "{ not json").expect("write");
        let (walls, problem) = load(&path);
        assert_eq!(walls, Walls::default());
        let problem = problem.expect("reported");
        assert!(
            problem.contains("does not parse") && problem.contains(".bak"),
            "{problem}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("walls.json.bak")).expect("kept"),
            "{ not json"
        );
        assert!(!path.exists());
    }

    #[test]
    fn hand_edited_files_are_repaired() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("walls.json");
        std::fs::write(&path, r#"{"version":1,"current":7,"walls":[]}"#).expect("write");
        let (walls, problem) = load(&path);
        assert_eq!(problem, None);
        assert_eq!(walls.walls.len(), 1);
        assert_eq!(walls.current, 0);
        let mut w = walls;
        assert_eq!(w.add(DEFAULT_NAME), 1);
        assert_eq!(w.current().name, "Wall 2");
        // Showing given cameras: into an empty wall first, the wall that has them next time.
        w.show(vec!["a/b".into()], "Wall");
        assert_eq!(
            (w.current, w.current().streams.len()),
            (0, 1),
            "the empty first wall"
        );
        w.show(vec!["c/d".into()], "Wall");
        assert_eq!(w.current, 1, "the other empty wall");
        w.show(vec!["e/f".into()], "Wall");
        assert_eq!((w.walls.len(), w.current().name.as_str()), (3, "Wall 3"));
        w.show(vec!["a/b".into()], "Wall");
        assert_eq!((w.walls.len(), w.current), (3, 0), "the wall that has them");
        w.walls.truncate(2);
        w.current = 1;
        w.walls[1].streams.clear();
        w.remove_current();
        assert_eq!((w.walls.len(), w.current), (1, 0));
        w.current_mut().streams.push("a/b".into());
        w.remove_current();
        assert!(
            w.current().streams.is_empty(),
            "the last wall is emptied, not removed"
        );
    }
}
