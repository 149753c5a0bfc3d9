// Shared by the pages: the access token of the page's URL goes on every request.
'use strict';
const hindsight = (() => {
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  function url(path, query) {
    const q = new URLSearchParams(query || {});
    if (token) q.set('token', token);
    const s = q.toString();
    return s ? path + '?' + s : path;
  }
  async function json(path) {
    const r = await fetch(url(path));
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || ('HTTP ' + r.status));
    return body;
  }
  function streamPath(name) {
    const [scope, stream] = name.split('/');
    return encodeURIComponent(scope) + '/' + encodeURIComponent(stream);
  }
  function local(iso) {
    return iso ? new Date(iso).toLocaleString() : '–';
  }
  function size(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + units[i];
  }
  return { params, token, url, json, streamPath, local, size };
})();
