use super::text::civil_from_days;
use super::*;
use crate::format::Flags;

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

fn rec(secs: f64, offset: u64, key: bool, dis: bool) -> IndexRecord {
    IndexRecord {
        flags: Flags::new(false, key, dis),
        timestamp: Timestamp::from_nanos(T0 + (secs * 1e9) as u64),
        offset,
    }
}

fn opts(live: bool) -> PlaylistOptions {
    PlaylistOptions {
        media_uri: "data".into(),
        target: Duration::from_secs(1),
        gap: Duration::from_secs(12),
        begin: None,
        end: None,
        live,
    }
}

/// Two runs of key frames every second, each closed by an end record; the second starts 60 s later.
fn two_runs() -> Vec<IndexRecord> {
    let mut r = vec![rec(0.0, 0, true, true)];
    for i in 1..5 {
        r.push(rec(i as f64, i * 1000, true, false));
    }
    r.push(rec(4.9, 4900, false, false)); // end record of run 1
    r.push(rec(65.0, 4900, true, true));
    for i in 1..3 {
        r.push(rec(65.0 + i as f64, 4900 + i * 1000, true, false));
    }
    r.push(rec(68.5, 7400, false, false)); // end record of run 2
    r
}

#[test]
fn one_segment_per_gop_with_a_discontinuity_between_runs() {
    let segs = segments(&two_runs(), &opts(false));
    let spans: Vec<(u64, u64, bool)> = segs.iter().map(|s| (s.start, s.end, s.discontinuity)).collect();
    assert_eq!(
        spans,
        vec![
            (0, 1000, false),
            (1000, 2000, false),
            (2000, 3000, false),
            (3000, 4000, false),
            (4000, 4900, false),
            (4900, 5900, true),
            (5900, 6900, false),
            (6900, 7400, false),
        ]
    );
    assert_eq!(segs[4].duration, Duration::from_millis(900));
    assert_eq!(segs[7].duration, Duration::from_millis(1500));
}

#[test]
fn forced_records_are_not_boundaries_and_the_open_gop_of_a_live_stream_waits() {
    // Key frames every 4 s with a forced (not seekable) record in between; the writer is still going.
    let r = vec![
        rec(0.0, 0, true, true),
        rec(2.0, 500, false, false),
        rec(4.0, 1000, true, false),
        rec(6.0, 1500, false, false),
    ];
    let live = segments(&r, &opts(true));
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!((live[0].start, live[0].end), (0, 1000));
    // Finished (the writer stopped without an end record): the last record closes the last GOP.
    let done = segments(&r, &opts(false));
    assert_eq!(done.len(), 2);
    assert_eq!((done[1].start, done[1].end), (1000, 1500));
}

#[test]
fn a_run_cut_off_by_a_crash_keeps_a_sane_duration() {
    let r = vec![
        rec(0.0, 0, true, true),
        rec(1.0, 1000, true, false),
        rec(300.0, 2000, true, true), // a new writer, five minutes later
        rec(301.0, 3000, true, false),
    ];
    let segs = segments(&r, &opts(false));
    assert_eq!(segs.len(), 3, "{segs:?}");
    assert_eq!(
        segs[1].duration,
        Duration::from_secs(1),
        "estimated from the GOP before"
    );
    assert!(segs[2].discontinuity);
}

#[test]
fn gaps_without_a_new_run_are_discontinuities_too() {
    let r = vec![
        rec(0.0, 0, true, true),
        rec(1.0, 1000, true, false),
        rec(2.0, 2000, true, false),
        rec(40.0, 3000, true, false), // a camera that paused 38 s with the writer open
        rec(41.0, 4000, true, false),
        rec(41.5, 4500, false, false),
    ];
    let segs = segments(&r, &opts(false));
    let dis: Vec<bool> = segs.iter().map(|s| s.discontinuity).collect();
    assert_eq!(dis, vec![false, false, false, true, false], "{segs:?}");
}

#[test]
fn gops_merge_up_to_the_target_and_never_across_runs() {
    let mut o = opts(false);
    o.target = Duration::from_secs(3);
    let segs = segments(&two_runs(), &o);
    let spans: Vec<(u64, u64)> = segs.iter().map(|s| (s.start, s.end)).collect();
    assert_eq!(spans, vec![(0, 3000), (3000, 4900), (4900, 6900), (6900, 7400)]);
    assert_eq!(target_duration(&segs), 3);
}

#[test]
fn ranges_keep_the_segments_they_overlap() {
    let mut o = opts(false);
    o.begin = Some(Timestamp::from_nanos(T0 + 2 * SEC + SEC / 2));
    o.end = Some(Timestamp::from_nanos(T0 + 65 * SEC + SEC / 2));
    let segs = segments(&two_runs(), &o);
    let starts: Vec<u64> = segs.iter().map(|s| s.start).collect();
    assert_eq!(starts, vec![2000, 3000, 4000, 4900]);
}

#[test]
fn the_playlist_is_rfc_8216() {
    let r = two_runs();
    let o = opts(false);
    let segs = segments(&r, &o);
    let text = media_playlist(&segs, &o, |s| Some(InitSection::in_frame(s.start, 700)));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "#EXTM3U");
    assert!(lines.contains(&"#EXT-X-VERSION:7"));
    assert!(
        lines.contains(&"#EXT-X-TARGETDURATION:2"),
        "the 1.5 s GOP rounds up: {text}"
    );
    assert!(lines.contains(&"#EXT-X-PLAYLIST-TYPE:VOD"));
    assert_eq!(lines.last(), Some(&"#EXT-X-ENDLIST"));
    assert_eq!(text.matches("#EXT-X-PROGRAM-DATE-TIME:").count(), segs.len());
    assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 1);
    // One init section per run, right after the first key frame's header.
    assert_eq!(text.matches("#EXT-X-MAP:").collect::<Vec<_>>().len(), 2, "{text}");
    assert!(
        text.contains("#EXT-X-MAP:URI=\"data\",BYTERANGE=\"700@20\""),
        "{text}"
    );
    assert!(
        text.contains("#EXT-X-MAP:URI=\"data\",BYTERANGE=\"700@4920\""),
        "{text}"
    );
    // T0 is TAI; UTC is 37 s behind it.
    assert!(text.contains(
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:12:43.000Z\n#EXTINF:1.000,\n#EXT-X-BYTERANGE:1000@0\ndata\n"
    ));
    // Every EXTINF rounds to at most the target duration.
    let target: f64 = 2.0;
    for l in lines.iter().filter(|l| l.starts_with("#EXTINF:")) {
        let d: f64 = l[8..l.len() - 1].parse().expect("duration");
        assert!(d.round() <= target, "{l}");
    }
}

#[test]
fn live_playlists_grow_without_an_end() {
    let mut r = two_runs();
    r.pop(); // the second run is still being written
    let o = opts(true);
    let segs = segments(&r, &o);
    assert_eq!(
        segs.last().map(|s| s.end),
        Some(6900),
        "the open GOP is not listed"
    );
    let text = media_playlist(&segs, &o, |_| None);
    assert!(text.contains("#EXT-X-PLAYLIST-TYPE:EVENT"));
    assert!(!text.contains("#EXT-X-ENDLIST"));
    assert!(!text.contains("#EXT-X-MAP"));
    // An end asked for makes the range complete.
    let mut o = o;
    o.end = Some(Timestamp::from_nanos(T0 + 3 * SEC));
    assert!(media_playlist(&segments(&r, &o), &o, |_| None).ends_with("#EXT-X-ENDLIST\n"));
}

#[test]
fn iframe_playlists_list_each_key_frame() {
    let r = two_runs();
    let o = opts(false);
    let frames: Vec<KeyFrame> = segments(&r, &o)
        .into_iter()
        .map(|gop| KeyFrame { gop, len: 300 })
        .collect();
    let text = iframe_playlist(&frames, &o, |s| Some(InitSection::in_frame(s.start, 100)));
    assert!(text.contains("#EXT-X-I-FRAMES-ONLY"));
    assert_eq!(text.matches("#EXT-X-BYTERANGE:300@").count(), 8);
    assert!(text.contains("#EXT-X-BYTERANGE:300@4900"));
}

#[test]
fn dates_are_utc_with_milliseconds() {
    let mut s = String::new();
    push_date_time(
        &mut s,
        Timestamp::parse_rfc3339("2024-02-29T23:59:58.123456Z").expect("t"),
    );
    assert_eq!(s, "2024-02-29T23:59:58.123Z");
    s.clear();
    push_date_time(
        &mut s,
        Timestamp::parse_rfc3339("1999-12-31T00:00:00Z").expect("t"),
    );
    assert_eq!(s, "1999-12-31T00:00:00.000Z");
    for (days, ymd) in [(0, (1970, 1, 1)), (19_782, (2024, 2, 29)), (-1, (1969, 12, 31))] {
        assert_eq!(civil_from_days(days), ymd);
    }
    // The hand-written formatter agrees with the time crate over two centuries, at instants
    // scattered over them (a step of 37 days and some hours, minutes and milliseconds).
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let mut ms: i64 = 0; // 1970-01-01, the first time a Timestamp holds
    while ms < 7_258_118_400_000 {
        // 2200-01-01
        let t = Timestamp::from_unix_nanos(i128::from(ms) * 1_000_000).expect("in range");
        s.clear();
        push_date_time(&mut s, t);
        let want = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .expect("in range")
            .format(&fmt)
            .expect("format");
        assert_eq!(s, want, "{ms}");
        ms += 86_400_000 * 37 + 3_723_456;
    }
}

#[test]
fn empty_and_hostile_inputs_give_valid_playlists() {
    let o = opts(false);
    let text = media_playlist(&segments(&[], &o), &o, |_| None);
    assert!(text.starts_with("#EXTM3U\n") && text.ends_with("#EXT-X-ENDLIST\n"));
    // Records out of order or pointing backwards are skipped, never a panic.
    let r = vec![
        rec(5.0, 5000, true, false),
        rec(1.0, 1000, true, false),
        rec(6.0, 6000, true, false),
    ];
    let segs = segments(&r, &o);
    assert!(
        segs.iter().all(|s| s.end > s.start && !s.duration.is_zero()),
        "{segs:?}"
    );
}
