//! The coded samples of an exported MP4, read with the `mp4` crate (no decoding: the hashes cover the bytes).

use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{anyhow, Context};
use sha2::{Digest, Sha256};

/// SHA-256 of every sample of the MP4's video track, in sample (decode) order.
pub fn sample_digests(path: &Path) -> anyhow::Result<Vec<[u8; 32]>> {
    let mut out = Vec::new();
    for_each_sample(path, |_, digest| {
        out.push(digest);
        Ok(())
    })?;
    Ok(out)
}

/// Calls `f(sample number from 0, SHA-256)` for each video sample. A sample that cannot be read (a truncated
/// file) ends the walk with an error; the caller knows which one from the samples it was given.
pub fn for_each_sample(
    path: &Path,
    mut f: impl FnMut(usize, [u8; 32]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    // Only the boxes up to the `moov` are parsed up front (exports put it first): a file cut short in its
    // `mdat` still yields every sample it holds, and the first one missing is named.
    let header_end = moov_end(&mut file, size).unwrap_or(size);
    std::io::Seek::rewind(&mut file).with_context(|| format!("cannot read {}", path.display()))?;
    let mut mp4 = mp4::Mp4Reader::read_header(BufReader::new(file), header_end)
        .map_err(|e| anyhow!("{} is not a readable MP4: {e}", path.display()))?;
    let track = mp4
        .tracks()
        .values()
        .find(|t| matches!(t.track_type(), Ok(mp4::TrackType::Video)))
        .map(|t| t.track_id())
        .ok_or_else(|| anyhow!("{} has no video track", path.display()))?;
    let count = mp4
        .sample_count(track)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    for id in 1..=count {
        let n = (id - 1) as usize;
        let sample = match mp4.read_sample(track, id) {
            Ok(Some(sample)) => sample,
            Ok(None) => return Err(anyhow!("missing from the MP4")),
            Err(e) => {
                return Err(anyhow!(
                    "cannot be read from the MP4: the file was cut short or damaged ({e})"
                ))
            }
        };
        f(n, Sha256::digest(&sample.bytes).into())?;
    }
    Ok(())
}

/// Where the top-level `moov` box ends, reading box headers only; `None` when there is none before the end.
fn moov_end(file: &mut std::fs::File, size: u64) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let mut at = 0u64;
    while at + 8 <= size {
        file.seek(SeekFrom::Start(at)).ok()?;
        let mut h = [0u8; 16];
        file.read_exact(&mut h[..8]).ok()?;
        let mut box_size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
        if box_size == 1 {
            file.read_exact(&mut h[8..16]).ok()?;
            box_size = u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
        }
        if box_size < 8 {
            return None;
        }
        if &h[4..8] == b"moov" {
            return Some((at + box_size).min(size));
        }
        at += box_size;
    }
    None
}

/// SHA-256 of a whole file.
pub fn file_digest(path: &Path) -> anyhow::Result<[u8; 32]> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
    }
}
