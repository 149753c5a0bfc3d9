//! fMP4 payloads from arbitrary bytes, as the sink assembles them from a muxer and the source retimes them
//! while reading: neither ever panics, and a retimed payload keeps its top-level box layout (a 32-bit decode
//! time becomes a 64-bit one, so boxes may grow by 4 bytes per track fragment).

#![no_main]

use hindsight_store::fmp4::{self, Assembler, BufferMeta, Retimer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte splits the input into the muxer's buffers, the second sets their flags.
    let (Some(&cut), Some(&flags)) = (data.first(), data.get(1)) else {
        return;
    };
    let body = &data[2..];
    let step = usize::from(cut).max(1);
    let mut assembler = Assembler::new();
    for (i, chunk) in body.chunks(step).enumerate() {
        let meta = BufferMeta {
            pts: (flags & 1 != 0).then_some(i as u64 * 40_000_000),
            dts: (flags & 2 != 0).then_some(i as u64 * 40_000_000),
            duration: (flags & 4 != 0).then_some(40_000_000),
            delta_unit: flags & 8 != 0 && i % 3 != 0,
        };
        if assembler.push(chunk, meta).is_err() {
            break;
        }
    }

    let mut retimer = Retimer::new();
    if let Ok(out) = retimer.retime(body, 1_700_000_000_000_000_000) {
        let before = fmp4::children(body, 0, body.len());
        let after = fmp4::children(&out, 0, out.len());
        if let (Ok(before), Ok(after)) = (before, after) {
            assert!(out.len() >= body.len(), "retiming lost bytes");
            let kinds = |b: &[fmp4::BoxRef]| b.iter().map(|b| b.kind).collect::<Vec<_>>();
            assert_eq!(kinds(&before), kinds(&after));
        }
    }
    // Twice in a row, as when a reader retimes every frame of a stream.
    let _ = retimer.retime(body, u64::MAX);
    if let Ok(top) = fmp4::children(body, 0, body.len()) {
        for b in top.iter().filter(|b| &b.kind == b"moov") {
            let _ = fmp4::tracks(body, b);
            let _ = fmp4::track_timescales(body, b);
        }
        for b in top.iter().filter(|b| &b.kind == b"moof") {
            let _ = fmp4::moof_track_id(body, b);
            let _ = fmp4::moof_starts_with_sync_sample(body, b);
        }
    }
});
