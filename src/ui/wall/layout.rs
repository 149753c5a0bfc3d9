//! Wall layouts: a fixed grid (1, 2×2, 3×3, 4×4) or automatic (the smallest square grid that holds every tile).

use serde::{Deserialize, Serialize};

/// How tiles are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Layout {
    /// One tile fills the wall.
    #[serde(rename = "1")]
    One,
    /// 2 × 2.
    #[serde(rename = "2x2")]
    Two,
    /// 3 × 3.
    #[serde(rename = "3x3")]
    Three,
    /// 4 × 4.
    #[serde(rename = "4x4")]
    Four,
    /// As many columns as needed for a square grid.
    #[default]
    #[serde(rename = "auto")]
    Auto,
}

impl Layout {
    /// Every layout, in menu order.
    pub const ALL: [Layout; 5] = [
        Layout::Auto,
        Layout::One,
        Layout::Two,
        Layout::Three,
        Layout::Four,
    ];

    /// Parses `1`, `2x2`, `3x3`, `4x4` or `auto`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "1" | "1x1" => Some(Layout::One),
            "2x2" | "2" => Some(Layout::Two),
            "3x3" | "3" => Some(Layout::Three),
            "4x4" | "4" => Some(Layout::Four),
            "auto" => Some(Layout::Auto),
            _ => None,
        }
    }

    /// The name shown and parsed.
    pub fn name(self) -> &'static str {
        match self {
            Layout::One => "1",
            Layout::Two => "2x2",
            Layout::Three => "3x3",
            Layout::Four => "4x4",
            Layout::Auto => "auto",
        }
    }

    /// Columns and rows for `tiles` tiles. Fixed layouts keep their size (tiles beyond it are not shown, a
    /// smaller count leaves cells empty); automatic grows a square grid, at least 1 × 1.
    pub fn grid(self, tiles: usize) -> (usize, usize) {
        let side = match self {
            Layout::One => 1,
            Layout::Two => 2,
            Layout::Three => 3,
            Layout::Four => 4,
            Layout::Auto => {
                let mut side = 1;
                while side * side < tiles {
                    side += 1;
                }
                side
            }
        };
        (side, side)
    }

    /// How many tiles the wall shows of `tiles`.
    pub fn visible(self, tiles: usize) -> usize {
        let (c, r) = self.grid(tiles);
        tiles.min(c * r)
    }

    /// Column and row of tile `index`.
    pub fn cell(self, tiles: usize, index: usize) -> (usize, usize) {
        let (cols, _) = self.grid(tiles);
        (index % cols, index / cols)
    }
}

/// Moves the tile at `from` to `to`, shifting the ones between (drag to reorder).
pub fn reorder<T>(items: &mut Vec<T>, from: usize, to: usize) -> bool {
    if from >= items.len() || to >= items.len() || from == to {
        return false;
    }
    let item = items.remove(from);
    items.insert(to, item);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_fit_the_tiles() {
        assert_eq!(Layout::Auto.grid(0), (1, 1));
        assert_eq!(Layout::Auto.grid(1), (1, 1));
        assert_eq!(Layout::Auto.grid(4), (2, 2));
        assert_eq!(Layout::Auto.grid(5), (3, 3));
        assert_eq!(Layout::Auto.grid(16), (4, 4));
        assert_eq!(Layout::Auto.grid(17), (5, 5));
        assert_eq!(Layout::Two.grid(9), (2, 2));
        assert_eq!(Layout::Two.visible(9), 4);
        assert_eq!(Layout::Four.visible(3), 3);
        assert_eq!(Layout::Three.cell(9, 4), (1, 1));
        assert_eq!(Layout::Three.cell(9, 7), (1, 2));
    }

    #[test]
    fn names_round_trip() {
        for l in Layout::ALL {
            assert_eq!(Layout::parse(l.name()), Some(l));
        }
        assert_eq!(Layout::parse("3X3"), Some(Layout::Three));
        assert_eq!(Layout::parse("5x5"), None);
        assert_eq!(serde_json::to_string(&Layout::Four).expect("json"), "\"4x4\"");
    }

    #[test]
    fn reordering_moves_one_tile() {
        let mut v = vec!["a", "b", "c", "d"];
        assert!(reorder(&mut v, 0, 2));
        assert_eq!(v, ["b", "c", "a", "d"]);
        assert!(reorder(&mut v, 3, 0));
        assert_eq!(v, ["d", "b", "c", "a"]);
        assert!(!reorder(&mut v, 1, 1));
        assert!(!reorder(&mut v, 9, 0));
    }
}
