//! `hindsight import`: create a stream from wire-format files, validating everything before writing.
//!
//! The data file must be whole frames and the index file whole 20-byte records whose offsets point at frame
//! starts (or at the end, for an end record). A dump of a truncated stream starts at its data head, so when
//! offsets do not fit as they are, they are rebased to the first record's offset.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use anyhow::{bail, Context};
use hindsight_store::format::{FrameHeader, FRAME_HEADER_LEN, INDEX_RECORD_LEN};
use hindsight_store::video::VideoStreamNames;
use hindsight_store::{Backend, IndexRecord, StreamName};

/// Frame starts and total length of a data file, checking every header.
fn scan_frames(path: &Path) -> anyhow::Result<(HashSet<u64>, u64)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut starts = HashSet::new();
    let mut at = 0u64;
    let mut header = [0u8; FRAME_HEADER_LEN];
    let mut sink = vec![0u8; 1 << 16];
    loop {
        match read_full(&mut reader, &mut header)
            .with_context(|| format!("cannot read {}", path.display()))?
        {
            0 => break,
            FRAME_HEADER_LEN => {}
            n => bail!(
                "{}: incomplete frame header at offset {at} ({n} bytes)",
                path.display()
            ),
        }
        let h = FrameHeader::decode(&header)
            .with_context(|| format!("{}: bad frame at offset {at}", path.display()))?;
        let mut left = h.payload_len;
        while left > 0 {
            let chunk = left.min(sink.len());
            if read_full(&mut reader, &mut sink[..chunk])? != chunk {
                bail!(
                    "{}: frame at offset {at} is cut short (torn last frame)",
                    path.display()
                );
            }
            left -= chunk;
        }
        starts.insert(at);
        at += h.frame_len() as u64;
    }
    Ok((starts, at))
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match reader.read(&mut buf[done..])? {
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}

fn read_index(path: &Path) -> anyhow::Result<Vec<IndexRecord>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() % INDEX_RECORD_LEN != 0 {
        bail!(
            "{}: {} bytes is not a whole number of 20-byte index records",
            path.display(),
            bytes.len()
        );
    }
    bytes
        .chunks_exact(INDEX_RECORD_LEN)
        .enumerate()
        .map(|(i, raw)| {
            IndexRecord::decode(raw).with_context(|| format!("{}: bad index record {i}", path.display()))
        })
        .collect()
}

/// The offset base that makes every record point at a frame start (or the end, for non-key records).
fn find_base(records: &[IndexRecord], starts: &HashSet<u64>, data_len: u64) -> Option<u64> {
    let fits = |base: u64| {
        records.iter().all(|r| {
            r.offset
                .checked_sub(base)
                .is_some_and(|rel| starts.contains(&rel) || (rel == data_len && !r.flags.random_access()))
        })
    };
    let first = records.first().map_or(0, |r| r.offset);
    [0, first].into_iter().find(|&b| fits(b))
}

/// Runs the command.
pub fn run(
    store: &dyn Backend,
    name: &StreamName,
    data: &Path,
    index: &Path,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let names = VideoStreamNames::new(name)?;
    for n in [&names.data, &names.index] {
        if store.exists(n)? && store.info(n)?.tail > 0 {
            bail!("stream {n} already exists and holds data; import needs a new stream name");
        }
    }
    let (starts, data_len) = scan_frames(data)?;
    let records = read_index(index)?;
    let base = find_base(&records, &starts, data_len).with_context(|| {
        format!(
            "{} does not match {}: index offsets do not point at frame starts",
            index.display(),
            data.display()
        )
    })?;

    store.create(&names.data)?;
    store.create(&names.index)?;
    let mut data_writer = store.writer(&names.data)?;
    let mut index_writer = store.writer(&names.index)?;
    let file = File::open(data).with_context(|| format!("cannot open {}", data.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut frame = Vec::new();
    let mut frames = 0u64;
    loop {
        frame.resize(FRAME_HEADER_LEN, 0);
        if read_full(&mut reader, &mut frame)? == 0 {
            break;
        }
        let h = FrameHeader::decode(&frame)?;
        frame.resize(h.frame_len(), 0);
        if read_full(&mut reader, &mut frame[FRAME_HEADER_LEN..])? != h.payload_len {
            bail!("{} changed while importing", data.display());
        }
        data_writer.append(&frame)?;
        frames += 1;
    }
    data_writer.sync()?;
    for r in &records {
        let rebased = IndexRecord {
            offset: r.offset - base,
            ..*r
        };
        index_writer.append(&rebased.encode())?;
    }
    index_writer.sync()?;
    writeln!(
        out,
        "imported {name}: {frames} frames ({data_len} bytes), {} index records{}",
        records.len(),
        if base > 0 {
            format!(", offsets rebased by {base}")
        } else {
            String::new()
        }
    )?;
    Ok(())
}
