//! What people and recorders say about a video stream, kept beside it so every client of the store sees the
//! same: bookmarks, retention holds and the retention policy the recording applies.
//!
//! A fourth byte stream, `NAME-marks` (next to `NAME-index` and `NAME-chain`), holds one JSON object per line,
//! each an event: a bookmark added or removed, a hold placed or released, the retention policy set. Reading
//! folds the events in order. Appends are short and rare, so each takes the stream's writer for a moment (the
//! embedded store's lock, Pravega's lease) and retries while another client holds it. A line cut off by a
//! crash has no newline: it is skipped when read, and the next append starts a new line first.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::error::{Result, StoreError};
use crate::name::StreamName;
use crate::retention::RetentionPolicy;
use crate::timestamp::Timestamp;

#[cfg(test)]
mod tests;

/// Suffix of the marks stream's name.
pub const MARKS_SUFFIX: &str = "-marks";

/// Longest a bookmark's name or a hold's note may be, in characters.
pub const MAX_TEXT: usize = 200;

/// The marks stream of a video stream.
pub fn marks_name(video: &StreamName) -> Result<StreamName> {
    Ok(StreamName::new(
        video.scope(),
        &format!("{}{MARKS_SUFFIX}", video.stream()),
    )?)
}

/// A named moment of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bookmark {
    /// Unique within the stream.
    pub id: String,
    /// The stored time it points at.
    pub at: Timestamp,
    /// What it is called.
    pub name: String,
}

/// A range kept from retention and truncation until released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Unique within the stream.
    pub id: String,
    /// Start of the range (footage from the key frame at or before it is kept).
    pub from: Timestamp,
    /// End of the range.
    pub to: Timestamp,
    /// Why it is kept.
    pub note: String,
}

/// Everything said about a stream so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marks {
    /// Bookmarks, in time order.
    pub bookmarks: Vec<Bookmark>,
    /// Holds in force, by start.
    pub holds: Vec<Hold>,
    /// The retention policy its recording applies, when one was set.
    pub retention: Option<RetentionPolicy>,
}

impl Marks {
    /// The earliest time retention or truncation may not delete: the start of the first hold.
    pub fn protected_from(&self) -> Option<Timestamp> {
        self.holds.iter().map(|h| h.from).min()
    }

    /// Where a cut meant at `t` may go: `t`, or the start of the first hold before it.
    pub fn allowed_cut(&self, t: Timestamp) -> Timestamp {
        self.protected_from().map_or(t, |p| p.min(t))
    }
}

/// One line of the marks stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
enum Event {
    Bookmark {
        id: String,
        at: u64,
        name: String,
    },
    Unbookmark {
        id: String,
    },
    Hold {
        id: String,
        from: u64,
        to: u64,
        note: String,
    },
    Release {
        id: String,
    },
    Retention {
        max_age_secs: Option<u64>,
        max_bytes: Option<u64>,
    },
}

/// Reads the marks of `video` (none when it has no marks stream).
pub fn read(backend: &dyn Backend, video: &StreamName) -> Result<Marks> {
    let name = marks_name(video)?;
    let mut reader = match backend.reader(&name) {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => return Ok(Marks::default()),
        Err(e) => return Err(e),
    };
    let info = reader.info()?;
    let mut bytes = vec![0u8; (info.tail - info.head) as usize];
    crate::video::read_exact_at(reader.as_mut(), info.head, &mut bytes)?;
    Ok(fold(&bytes))
}

/// Folds the events of a marks stream's bytes; lines that do not parse (a torn last line, a future event kind)
/// are skipped.
fn fold(bytes: &[u8]) -> Marks {
    let mut marks = Marks::default();
    // Only whole lines: the last one without its newline may be cut off.
    let whole = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) => &bytes[..end],
        None => &[][..],
    };
    for line in whole.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(event) = serde_json::from_slice::<Event>(line) else {
            tracing::debug!(line = %String::from_utf8_lossy(line), "skipping a marks line");
            continue;
        };
        match event {
            Event::Bookmark { id, at, name } => {
                marks.bookmarks.retain(|b| b.id != id);
                marks.bookmarks.push(Bookmark {
                    id,
                    at: Timestamp::from_nanos(at),
                    name,
                });
            }
            Event::Unbookmark { id } => marks.bookmarks.retain(|b| b.id != id),
            Event::Hold { id, from, to, note } => {
                marks.holds.retain(|h| h.id != id);
                marks.holds.push(Hold {
                    id,
                    from: Timestamp::from_nanos(from),
                    to: Timestamp::from_nanos(to),
                    note,
                });
            }
            Event::Release { id } => marks.holds.retain(|h| h.id != id),
            Event::Retention {
                max_age_secs,
                max_bytes,
            } => {
                let policy = RetentionPolicy {
                    max_age: max_age_secs.map(Duration::from_secs),
                    max_bytes,
                };
                marks.retention = (!policy.is_unlimited()).then_some(policy);
            }
        }
    }
    marks.bookmarks.sort_by_key(|b| (b.at, b.id.clone()));
    marks.holds.sort_by_key(|h| (h.from, h.id.clone()));
    marks
}

/// How long an append waits for another client's append to finish.
const BUSY_WAIT: Duration = Duration::from_secs(5);

/// Appends `events` as lines, taking the marks stream's writer for the moment it takes.
fn append(backend: &dyn Backend, video: &StreamName, events: &[Event]) -> Result<()> {
    let name = marks_name(video)?;
    backend.create(&name)?;
    let deadline = std::time::Instant::now() + BUSY_WAIT;
    let mut writer = loop {
        match backend.writer(&name) {
            Ok(w) => break w,
            Err(StoreError::WriterBusy(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    };
    let mut text = Vec::new();
    // A line torn by a crash is ended first, so it stays one (skipped) line of its own.
    let tail = writer.tail();
    if tail > 0 {
        let mut reader = backend.reader(&name)?;
        let head = reader.info()?.head;
        if tail > head {
            let mut last = [0u8; 1];
            crate::video::read_exact_at(reader.as_mut(), tail - 1, &mut last)?;
            if last[0] != b'\n' {
                text.push(b'\n');
            }
        }
    }
    for e in events {
        serde_json::to_writer(&mut text, e).map_err(|e| StoreError::io("cannot encode a mark", e.into()))?;
        text.push(b'\n');
    }
    writer.append(&text)?;
    writer.sync()
}

/// A new id: the kind's letter and the time it was made, with random bits against clients making one at the
/// same nanosecond.
fn new_id(kind: char) -> String {
    let mut r = [0u8; 4];
    let _ = getrandom::getrandom(&mut r);
    format!("{kind}{:x}{}", Timestamp::now().nanos(), hex::encode(r))
}

fn clean_text(text: &str, what: &str) -> Result<String> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err(StoreError::invalid(format!(
            "a {what} cannot hold control characters"
        )));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(StoreError::invalid(format!(
            "a {what} is at most {MAX_TEXT} characters"
        )));
    }
    Ok(text.to_owned())
}

/// Adds a bookmark named `name` at `at`.
pub fn add_bookmark(
    backend: &dyn Backend,
    video: &StreamName,
    at: Timestamp,
    name: &str,
) -> Result<Bookmark> {
    let name = clean_text(name, "bookmark name")?;
    if name.is_empty() {
        return Err(StoreError::invalid("a bookmark needs a name".to_owned()));
    }
    let b = Bookmark {
        id: new_id('b'),
        at,
        name,
    };
    append(
        backend,
        video,
        &[Event::Bookmark {
            id: b.id.clone(),
            at: at.nanos(),
            name: b.name.clone(),
        }],
    )?;
    Ok(b)
}

/// Removes the bookmark `id`; false when there is none.
pub fn remove_bookmark(backend: &dyn Backend, video: &StreamName, id: &str) -> Result<bool> {
    if !read(backend, video)?.bookmarks.iter().any(|b| b.id == id) {
        return Ok(false);
    }
    append(backend, video, &[Event::Unbookmark { id: id.to_owned() }])?;
    Ok(true)
}

/// Places a hold on `from..=to`.
pub fn add_hold(
    backend: &dyn Backend,
    video: &StreamName,
    from: Timestamp,
    to: Timestamp,
    note: &str,
) -> Result<Hold> {
    if to < from {
        return Err(StoreError::invalid("a hold must end after it starts".to_owned()));
    }
    let h = Hold {
        id: new_id('h'),
        from,
        to,
        note: clean_text(note, "hold note")?,
    };
    append(
        backend,
        video,
        &[Event::Hold {
            id: h.id.clone(),
            from: from.nanos(),
            to: to.nanos(),
            note: h.note.clone(),
        }],
    )?;
    Ok(h)
}

/// Releases the hold `id`; false when there is none.
pub fn release_hold(backend: &dyn Backend, video: &StreamName, id: &str) -> Result<bool> {
    if !read(backend, video)?.holds.iter().any(|h| h.id == id) {
        return Ok(false);
    }
    append(backend, video, &[Event::Release { id: id.to_owned() }])?;
    Ok(true)
}

/// Records the retention policy a recording applies (unlimited: none), so players can show what goes next.
/// Nothing is written when it is the one already recorded.
pub fn set_retention(backend: &dyn Backend, video: &StreamName, policy: RetentionPolicy) -> Result<()> {
    let current = read(backend, video)?.retention;
    let wanted = (!policy.is_unlimited()).then_some(policy);
    if current == wanted {
        return Ok(());
    }
    append(
        backend,
        video,
        &[Event::Retention {
            max_age_secs: policy.max_age.map(|d| d.as_secs()),
            max_bytes: policy.max_bytes,
        }],
    )
}

/// Removes the bookmarks before `head` (footage deleted by truncation or retention); returns how many.
pub fn prune_bookmarks_before(backend: &dyn Backend, video: &StreamName, head: Timestamp) -> Result<usize> {
    let gone: Vec<Event> = read(backend, video)?
        .bookmarks
        .into_iter()
        .filter(|b| b.at < head)
        .map(|b| Event::Unbookmark { id: b.id })
        .collect();
    if !gone.is_empty() {
        append(backend, video, &gone)?;
    }
    Ok(gone.len())
}

/// Deletes the marks stream of `video`, if any.
pub fn delete(backend: &dyn Backend, video: &StreamName) -> Result<()> {
    match backend.delete(&marks_name(video)?) {
        Ok(()) | Err(StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
