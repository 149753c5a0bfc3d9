//! `hindsight bookmarks` and `hindsight hold`: the marks kept beside a stream ([`hindsight_store::marks`]), and
//! the retention options of `hindsight record`.

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context};
use hindsight_store::marks::{self, Bookmark, Hold};
use hindsight_store::{Backend, RetentionPolicy, StreamName, Timestamp};
use serde::Serialize;

/// What `hindsight bookmarks` changes before it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookmarkChange {
    /// Nothing: list only.
    None,
    /// Add a bookmark `title` at `at` (RFC 3339).
    Add {
        /// Its name.
        title: String,
        /// Its time, as typed.
        at: String,
    },
    /// Remove the bookmark with this id.
    Remove(String),
}

/// What `hindsight hold` changes before it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldChange {
    /// Nothing: list only.
    None,
    /// Hold `from..to` (RFC 3339) with a note.
    Place {
        /// Start, as typed.
        from: String,
        /// End, as typed.
        to: String,
        /// Why.
        note: String,
    },
    /// Release the hold with this id.
    Release(String),
}

#[derive(Serialize)]
struct BookmarkJson<'a> {
    id: &'a str,
    at: String,
    name: &'a str,
}

#[derive(Serialize)]
struct HoldJson<'a> {
    id: &'a str,
    from: String,
    to: String,
    note: &'a str,
}

fn time(text: &str, what: &str) -> anyhow::Result<Timestamp> {
    Timestamp::parse_rfc3339(text).with_context(|| format!("bad {what} time {text:?}"))
}

/// Runs `hindsight bookmarks`.
pub fn bookmarks(
    store: &dyn Backend,
    name: &StreamName,
    change: BookmarkChange,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match change {
        BookmarkChange::None => {}
        BookmarkChange::Add { title, at } => {
            let b = marks::add_bookmark(store, name, time(&at, "--at")?, &title)
                .with_context(|| format!("cannot bookmark {name}"))?;
            if !json {
                writeln!(out, "added {} at {}", b.id, b.at.to_rfc3339())?;
            }
        }
        BookmarkChange::Remove(id) => {
            if !marks::remove_bookmark(store, name, &id).with_context(|| format!("cannot change {name}"))? {
                bail!("{name} has no bookmark {id}");
            }
            if !json {
                writeln!(out, "removed {id}")?;
            }
        }
    }
    let list = marks::read(store, name)
        .with_context(|| format!("cannot read the bookmarks of {name}"))?
        .bookmarks;
    if json {
        let rows: Vec<BookmarkJson> = list
            .iter()
            .map(|b: &Bookmark| BookmarkJson {
                id: &b.id,
                at: b.at.to_rfc3339(),
                name: &b.name,
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
    } else if list.is_empty() {
        writeln!(out, "{name} has no bookmarks")?;
    } else {
        for b in &list {
            writeln!(out, "{}  {}  {}", b.at.to_rfc3339(), b.id, b.name)?;
        }
    }
    Ok(())
}

/// Runs `hindsight hold`.
pub fn holds(
    store: &dyn Backend,
    name: &StreamName,
    change: HoldChange,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match change {
        HoldChange::None => {}
        HoldChange::Place { from, to, note } => {
            let h = marks::add_hold(store, name, time(&from, "--from")?, time(&to, "--to")?, &note)
                .with_context(|| format!("cannot hold footage of {name}"))?;
            if !json {
                writeln!(
                    out,
                    "placed {} on {} .. {}",
                    h.id,
                    h.from.to_rfc3339(),
                    h.to.to_rfc3339()
                )?;
            }
        }
        HoldChange::Release(id) => {
            if !marks::release_hold(store, name, &id).with_context(|| format!("cannot change {name}"))? {
                bail!("{name} has no hold {id}");
            }
            if !json {
                writeln!(out, "released {id}")?;
            }
        }
    }
    let list = marks::read(store, name)
        .with_context(|| format!("cannot read the holds of {name}"))?
        .holds;
    if json {
        let rows: Vec<HoldJson> = list
            .iter()
            .map(|h: &Hold| HoldJson {
                id: &h.id,
                from: h.from.to_rfc3339(),
                to: h.to.to_rfc3339(),
                note: &h.note,
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
    } else if list.is_empty() {
        writeln!(out, "{name} has no holds")?;
    } else {
        for h in &list {
            writeln!(
                out,
                "{} .. {}  {}  {}",
                h.from.to_rfc3339(),
                h.to.to_rfc3339(),
                h.id,
                h.note
            )?;
        }
    }
    Ok(())
}

/// Parses a size such as `500M`, `20G`, `1.5T`, `64MiB` or a plain number of bytes.
pub fn parse_bytes(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .with_context(|| format!("{text:?} is not a size like 500M, 20G or 1T"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => bail!("unknown size unit {other:?} in {text:?}: use K, M, G, T (or KiB, MiB, GiB, TiB)"),
    };
    let bytes = value * factor;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        bail!("{text:?} is not a size a stream can be kept at");
    }
    Ok(bytes as u64)
}

/// The retention policy of `--retain-days` and `--retain-size`.
pub fn retention(days: Option<f64>, size: Option<&str>) -> anyhow::Result<RetentionPolicy> {
    let max_age = days
        .map(|d| {
            if !(d > 0.0 && d <= 36_500.0) {
                bail!("--retain-days {d} must be more than 0 and at most 36500");
            }
            Ok(Duration::from_secs_f64(d * 86_400.0))
        })
        .transpose()?;
    let max_bytes = size.map(parse_bytes).transpose().context("bad --retain-size")?;
    Ok(RetentionPolicy { max_age, max_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_bytes("500M").expect("500M"), 500_000_000);
        assert_eq!(parse_bytes("20G").expect("20G"), 20_000_000_000);
        assert_eq!(parse_bytes("1.5T").expect("1.5T"), 1_500_000_000_000);
        assert_eq!(parse_bytes("64MiB").expect("64MiB"), 64 << 20);
        assert_eq!(parse_bytes("12345").expect("bytes"), 12345);
        for bad in ["", "M", "-5G", "5X", "0", "1e999G", "five"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn retention_options_make_a_policy() {
        let p = retention(Some(7.0), Some("10G")).expect("policy");
        assert_eq!(p.max_age, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(p.max_bytes, Some(10_000_000_000));
        assert!(retention(None, None).expect("none").is_unlimited());
        assert!(retention(Some(0.0), None).is_err());
        assert!(retention(Some(f64::NAN), None).is_err());
    }
}
