// The stream list: /api/streams, refreshed every few seconds.
'use strict';
(() => {
  const body = document.querySelector('#streams tbody');
  const status = document.getElementById('status');
  const cell = (text, cls) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  };
  async function refresh() {
    try {
      const rows = await hindsight.json('/api/streams');
      body.replaceChildren(...rows.map(r => {
        const tr = document.createElement('tr');
        const name = document.createElement('td');
        const a = document.createElement('a');
        a.textContent = r.name;
        a.href = hindsight.url('/player.html', { stream: r.name });
        name.appendChild(a);
        const state = cell(r.recording ? 'Recording' : r.sealed ? 'Finished' : '');
        if (r.recording) state.firstChild && (state.className = 'rec');
        tr.append(name, cell(hindsight.local(r.first)), cell(hindsight.local(r.last)), cell(hindsight.size(r.bytes), 'size'), state);
        if (r.recording) {
          const b = document.createElement('span');
          b.className = 'badge';
          b.textContent = 'REC';
          state.replaceChildren(b);
        }
        return tr;
      }));
      document.getElementById('streams').hidden = rows.length === 0;
      status.textContent = rows.length ? '' : 'No streams yet: record one with hindsight record.';
    } catch (e) {
      status.textContent = 'Cannot list the streams: ' + e.message;
    }
  }
  refresh();
  setInterval(refresh, 5000);
})();
