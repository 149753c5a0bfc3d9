// The player page: hls.js on the stream's playlist (EVENT while it is recorded, so it grows; VOD when done), a
// timeline of the recorded ranges from the API, go-to-time and a Live button. Times are the stored wall-clock
// times (EXT-X-PROGRAM-DATE-TIME), shown in the browser's time zone.
'use strict';
(() => {
  const name = hindsight.params.get('stream') || '';
  const video = document.getElementById('video');
  const canvas = document.getElementById('timeline');
  const message = document.getElementById('message');
  const clock = document.getElementById('clock');
  const badge = document.getElementById('live-badge');
  // What the page shows, for scripts and tests (as the app's status file).
  const status = { stream: name, ready: false, live: false, recording: false, errors: [], fatal: false };
  window.__hindsight = status;
  document.getElementById('back').href = hindsight.url('/');
  document.getElementById('title').textContent = name;
  if (!/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/.test(name)) {
    message.textContent = 'No stream given: open a stream from the list.';
    return;
  }
  const path = hindsight.streamPath(name);
  let detail = null;
  let hls = null;

  function say(text) {
    message.textContent = text;
  }

  function fragments() {
    const level = hls && hls.levels && hls.levels[Math.max(hls.currentLevel, 0)];
    return (level && level.details && level.details.fragments) || [];
  }

  // Media time of wall-clock time `ms` (the fragment that holds it, or the next one after a gap).
  function mediaTime(ms) {
    for (const f of fragments()) {
      if (!f.programDateTime) continue;
      const end = f.programDateTime + f.duration * 1000;
      if (ms < f.programDateTime) return f.start;
      if (ms < end) return f.start + (ms - f.programDateTime) / 1000;
    }
    return null;
  }

  function goTo(ms) {
    const t = mediaTime(ms);
    if (t === null) {
      say('No footage at or after ' + new Date(ms).toLocaleString());
      return;
    }
    video.currentTime = t;
    video.play().catch(() => {});
  }

  function goLive() {
    if (!status.recording) {
      say('Not being recorded: showing the end');
      const f = fragments();
      if (f.length) video.currentTime = Math.max(0, f[f.length - 1].start);
      return;
    }
    if (hls && hls.liveSyncPosition) video.currentTime = hls.liveSyncPosition;
    video.play().catch(() => {});
  }

  function draw() {
    const w = canvas.clientWidth, h = canvas.height;
    if (canvas.width !== w) canvas.width = w;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#242424';
    ctx.fillRect(0, 0, w, h);
    if (!detail || !detail.ranges.length) return;
    const t0 = Date.parse(detail.ranges[0].start);
    const t1 = Math.max(Date.parse(detail.ranges[detail.ranges.length - 1].end), status.recording ? Date.now() : 0);
    const x = t => ((t - t0) / Math.max(1, t1 - t0)) * w;
    ctx.fillStyle = '#3584e4';
    for (const r of detail.ranges) {
      const a = x(Date.parse(r.start)), b = x(Date.parse(r.end));
      ctx.fillRect(a, 14, Math.max(1, b - a), h - 28);
    }
    ctx.fillStyle = '#bbb';
    ctx.font = '11px sans-serif';
    ctx.fillText(new Date(t0).toLocaleString(), 4, 11);
    const endLabel = new Date(t1).toLocaleString();
    ctx.fillText(endLabel, w - ctx.measureText(endLabel).width - 4, 11);
    if (status.playingDate) {
      ctx.fillStyle = 'white';
      ctx.fillRect(x(Date.parse(status.playingDate)) - 1, 0, 2, h);
    }
    canvas.onclick = e => goTo(t0 + (e.offsetX / w) * (t1 - t0));
  }

  async function loadDetail() {
    try {
      detail = await hindsight.json('/api/streams/' + path);
      status.recording = detail.recording;
    } catch (e) {
      say('Cannot read the stream: ' + e.message);
    }
  }

  function start() {
    if (!window.Hls || !Hls.isSupported()) {
      say('This browser cannot play HLS with Media Source Extensions.');
      status.fatal = true;
      return;
    }
    hls = new Hls({ liveDurationInfinity: true });
    window.hls = hls;
    hls.on(Hls.Events.ERROR, (e, d) => {
      status.errors.push(d.type + ':' + d.details + (d.fatal ? ' (fatal)' : ''));
      if (d.fatal) {
        status.fatal = true;
        say('Playback failed: ' + d.details);
      }
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      status.ready = true;
      const at = hindsight.params.get('at');
      if (at) goTo(Date.parse(at));
      video.play().catch(() => {});
    });
    hls.loadSource(hindsight.url('/streams/' + path + '/index.m3u8'));
    hls.attachMedia(video);
  }

  document.getElementById('live').onclick = goLive;
  document.getElementById('goto-button').onclick = () => {
    const v = document.getElementById('goto').value;
    if (v) goTo(new Date(v).getTime());
  };
  setInterval(() => {
    let pd = null;
    try { pd = hls && hls.playingDate; } catch (e) { pd = null; }
    status.playingDate = pd ? pd.toISOString() : null;
    status.currentTime = video.currentTime;
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : {};
    status.frames = q.totalVideoFrames || 0;
    // Chromium counts the sound it decoded (0 for a stream without sound).
    status.audioBytes = video.webkitAudioDecodedByteCount || 0;
    status.live = !!(status.recording && pd && Date.now() - pd.getTime() < 15000);
    badge.hidden = !status.live;
    clock.textContent = pd ? pd.toLocaleString() : '--';
    draw();
  }, 250);
  setInterval(loadDetail, 5000);
  loadDetail().then(start);
})();
