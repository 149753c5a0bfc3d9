//! `hindsight dump`: copy a stream's two byte streams to files, byte for byte from the head.
//!
//! Offsets inside index records stay as they are in the store; when the stream was truncated, the data file
//! starts at the data head and `import` rebases the offsets.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use hindsight_store::video::VideoStreamNames;
use hindsight_store::{Backend, StoreError, StreamName};

/// Copies one byte stream from head to tail into `path`; returns `(head, bytes)`.
pub fn copy_byte_stream(store: &dyn Backend, name: &StreamName, path: &Path) -> anyhow::Result<(u64, u64)> {
    let mut reader = store
        .reader(name)
        .with_context(|| format!("cannot open {name}"))?;
    let info = reader.info().with_context(|| format!("cannot read {name}"))?;
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut buf = vec![0u8; 1 << 20];
    let mut at = info.head;
    while at < info.tail {
        let want = buf.len().min((info.tail - at) as usize);
        let n = match reader.read_at(at, &mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(StoreError::Truncated { head, .. }) => {
                anyhow::bail!("{name} was truncated to offset {head} while being dumped; run dump again")
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {name} at offset {at}")),
        };
        out.write_all(&buf[..n])
            .with_context(|| format!("cannot write {}", path.display()))?;
        at += n as u64;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((info.head, at - info.head))
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
    let (data_head, data_bytes) = copy_byte_stream(store, &names.data, data)?;
    let (index_head, index_bytes) = copy_byte_stream(store, &names.index, index)?;
    writeln!(
        out,
        "dumped {name}: {data_bytes} data bytes from offset {data_head} to {}, {} index records from record {} to {}",
        data.display(),
        index_bytes / 20,
        index_head / 20,
        index.display()
    )?;
    Ok(())
}
