// Strict RFC 8216 check of playlists with hls-parser (npm, installed by scripts/install-deps in web/):
//   node lint.js URL...     exit 0 when every playlist parses strictly and every date-time is a date
'use strict';
const HLS = require(require.resolve('hls-parser', { paths: [process.env.WEB_MODULES || ''] }));
HLS.setOptions({ strictMode: true, silent: true });
(async () => {
  let bad = 0;
  for (const url of process.argv.slice(2)) {
    try {
      const text = await (await fetch(url)).text();
      const pl = HLS.parse(text);
      const segs = pl.segments || [];
      if (segs.some(s => s.programDateTime && isNaN(s.programDateTime.getTime()))) {
        throw new Error('an EXT-X-PROGRAM-DATE-TIME does not parse');
      }
      console.log('ok ' + url + ' v' + pl.version + ' target=' + pl.targetDuration + ' segments=' + segs.length);
    } catch (e) {
      bad++;
      console.log('FAIL ' + url + ': ' + e.message);
    }
  }
  process.exit(bad ? 1 : 0);
})();
