// Drives headless Chromium over the DevTools protocol on a pipe (fds 3 and 4; no npm packages, no browser
// download): opens PAGE_URL, polls `window.__hindsight` (the player page's status) until PREDICATE holds or
// TIMEOUT_S passes, prints the last status as JSON, optionally saves a screenshot.
//
//   node drive.js CHROMIUM PAGE_URL TIMEOUT_S PREDICATE_JS [SCREENSHOT_PNG]
//
// PREDICATE_JS is a JavaScript expression over `s` (the status object), e.g. "s.frames > 10".
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [chromium, pageUrl, timeoutS, predicate, screenshot] = process.argv.slice(2);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-chromium-'));
const browser = spawn(chromium, [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--mute-audio', '--remote-debugging-pipe',
  '--autoplay-policy=no-user-gesture-required', '--user-data-dir=' + profile, '--no-first-run',
  '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding', '--window-size=1000,800', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let chromeLog = '';
browser.stderr.on('data', d => { chromeLog = (chromeLog + d).slice(-4000); });

let id = 0, inbox = '';
const waiting = new Map();
const events = [];
browser.stdio[4].on('data', d => {
  inbox += d.toString('utf8');
  for (let end; (end = inbox.indexOf('\0')) >= 0; inbox = inbox.slice(end + 1)) {
    const msg = JSON.parse(inbox.slice(0, end));
    if (msg.id !== undefined && waiting.has(msg.id)) {
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(JSON.stringify(msg.error))); else w.resolve(msg.result);
    } else {
      events.push(msg);
    }
  }
});
function call(method, params, sessionId) {
  const msgId = ++id;
  const msg = { id: msgId, method, params: params || {} };
  if (sessionId) msg.sessionId = sessionId;
  browser.stdio[3].write(JSON.stringify(msg) + '\0');
  return new Promise((resolve, reject) => waiting.set(msgId, { resolve, reject }));
}
let finished = false;
function finish(code, out) {
  if (finished) return;
  finished = true;
  console.log(JSON.stringify(out));
  try { browser.kill('SIGKILL'); } catch (e) { /* already gone */ }
  // The profile may still be written to while the browser dies; a leftover temp dir is harmless.
  setTimeout(() => {
    try { fs.rmSync(profile, { recursive: true, force: true }); } catch (e) { /* left behind */ }
    process.exit(code);
  }, 300);
}
browser.on('exit', (c, s) => finish(3, { driverError: 'chromium exited: ' + (c ?? s), log: chromeLog }));
setTimeout(() => finish(3, { driverError: 'no answer from chromium', log: chromeLog }), (Number(timeoutS) + 20) * 1000);

(async () => {
  const { targetInfos } = await call('Target.getTargets');
  const target = targetInfos.find(t => t.type === 'page');
  const { sessionId } = await call('Target.attachToTarget', { targetId: target.targetId, flatten: true });
  await call('Page.enable', {}, sessionId);
  await call('Runtime.enable', {}, sessionId);
  await call('Page.navigate', { url: pageUrl }, sessionId);
  const until = Date.now() + Number(timeoutS) * 1000;
  const check = new Function('s', 'return (' + predicate + ');');
  let status = null;
  while (Date.now() < until) {
    await new Promise(r => setTimeout(r, 250));
    const r = await call('Runtime.evaluate', {
      expression: 'window.__hindsight ? JSON.stringify(window.__hindsight) : ""', returnByValue: true,
    }, sessionId);
    if (r.result && r.result.value) {
      status = JSON.parse(r.result.value);
      if (check(status)) break;
    }
  }
  if (screenshot) {
    const shot = await call('Page.captureScreenshot', { format: 'png' }, sessionId);
    fs.writeFileSync(screenshot, Buffer.from(shot.data, 'base64'));
  }
  const exceptions = events
    .filter(e => e.method === 'Runtime.exceptionThrown')
    .map(e => e.params.exceptionDetails.text + ' ' + ((e.params.exceptionDetails.exception || {}).description || ''));
  const ok = status !== null && !!check(status);
  browser.removeAllListeners('exit');
  finish(ok ? 0 : 1, { ok, status, exceptions });
})().catch(e => finish(3, { driverError: String(e), log: chromeLog }));
