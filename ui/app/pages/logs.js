// pages/logs.js: the log lines of the systems (docs/logs.md). A search box (full-text words,
// GET /api/v1/logs?q=), filters by system, level, source and time range, the lines newest
// last as text (never HTML: a line is a text node), and a live tail that can be paused:
// GET /api/v1/logs/tail streamed as NDJSON through fetch() (so the bearer token goes in its
// header), the lines appended as they are stored; paused, the lines that arrive are counted
// and shown on resume. URL: #/logs[?system=ID][&q=WORDS][&level=err][&source=S][&since=1h]
// [&live=0].

import { getJSON, url } from '../api.js';
import { h, clear } from '../dom.js';
import { ensureCss, field, select, statusLine, systemLink } from '../form.js';

export const title = 'Logs';

const LEVELS = [
  ['', 'any level'],
  ['err', 'err and worse'],
  ['warning', 'warning and worse'],
  ['notice', 'notice and worse'],
  ['info', 'info and worse'],
];
const RANGES = [
  ['15m', 'the last 15 minutes'],
  ['1h', 'the last hour'],
  ['6h', 'the last 6 hours'],
  ['24h', 'the last 24 hours'],
  ['7d', 'the last 7 days'],
];
const LIMIT = 500;
const MAX_SHOWN = 5000; // lines kept in the page: the oldest go first

let tail = null; // {ctrl}
export function dispose() {
  if (tail) tail.ctrl.abort();
  tail = null;
}

function headers() {
  const hd = { Accept: 'application/x-ndjson' };
  try {
    const token = localStorage.getItem('vantage.token');
    if (token) hd.Authorization = `Bearer ${token}`;
  } catch {
    /* storage disabled */
  }
  return hd;
}

// The page's own rules are in pages2.css (the page's policy allows no inline <style>).
function ensureStyle() {
  ensureCss();
}

const LEVEL_CLASS = { emerg: 'lv-err', alert: 'lv-err', crit: 'lv-err', err: 'lv-err', warning: 'lv-warn' };

export async function render(el, params, app) {
  await ensureCss();
  ensureStyle();
  const q = params.q;
  el.append(h('h1', null, 'Logs'));
  const sys = await getJSON('/api/v1/systems', null, { signal: app.signal });
  if (!app.isCurrent()) return;
  const systems = sys.systems.slice().sort((a, b) => a.gone - b.gone || String(a.name).localeCompare(String(b.name)));
  const names = new Map(systems.map((s) => [s.id, s.name || s.id]));

  // --- the form ----------------------------------------------------------------------------
  const fq = h('input', { type: 'search', id: 'logs-q', name: 'q', value: q.get('q') || '', placeholder: 'connection refused', autocomplete: 'off', spellcheck: 'false' });
  const fsys = select([['', 'every system'], ...systems.map((s) => [s.id, `${s.name || s.id}${s.gone ? ' (gone)' : ''}`])], q.get('system') || '', { id: 'logs-system', name: 'system' });
  const flevel = select(LEVELS, q.get('level') || '', { id: 'logs-level', name: 'level' });
  const fsource = h('input', { type: 'text', id: 'logs-source', name: 'source', value: q.get('source') || '', placeholder: 'stdout, file:/var/log/syslog', autocomplete: 'off', spellcheck: 'false' });
  const frange = select(RANGES, q.get('since') || '1h', { id: 'logs-since', name: 'since' });
  const form = h(
    'form',
    { class: 'logs-form', role: 'search', 'aria-label': 'Search the logs' },
    field('Words', fq, 'whole words, all of them; "a phrase"; OR'),
    field('System', fsys),
    field('Level', flevel),
    field('Source', fsource),
    field('Time', frange),
    h('div', { class: 'field' }, h('button', { type: 'submit', id: 'logs-search' }, 'Search')),
  );
  const liveBtn = h('button', { type: 'button', id: 'logs-live', 'aria-pressed': 'false' }, 'Pause');
  const status = statusLine();
  const more = h('span', { class: 'muted', id: 'logs-pending', 'aria-live': 'polite' });
  const out = h('div', { class: 'loglines', id: 'logs-lines', role: 'log', 'aria-label': 'Log lines', tabindex: '0' });
  el.append(form, h('div', { class: 'toolbar' }, liveBtn, more, status), out);

  const st = { live: q.get('live') !== '0', paused: [], shown: 0 };

  function filters() {
    return {
      system: fsys.value || undefined,
      q: fq.value.trim() || undefined,
      level: flevel.value || undefined,
      source: fsource.value.trim() || undefined,
    };
  }

  // One line as text nodes: time, system (a link), source, level, the line itself.
  function lineEl(l) {
    const lv = l.level || '-';
    return h(
      'div',
      { class: `logline ${LEVEL_CLASS[l.level] || ''}`, dataset: { id: String(l.id) } },
      h('span', { class: 'lt' }, l.time),
      ' ',
      h('span', { class: 'ls' }, systemLink(l.system, names.get(l.system) || l.system)),
      ' ',
      h('span', { class: 'lsrc' }, l.source),
      ' ',
      h('span', { class: 'll' }, lv),
      ' ',
      h('span', { class: 'lx' }, l.line),
    );
  }

  function append(lines) {
    const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    for (const l of lines) frag.append(lineEl(l));
    out.append(frag);
    st.shown += lines.length;
    while (out.childElementCount > MAX_SHOWN) out.firstElementChild.remove();
    if (atEnd) out.scrollTop = out.scrollHeight;
  }

  function setLiveButton() {
    liveBtn.textContent = st.live ? 'Pause' : 'Resume live tail';
    liveBtn.setAttribute('aria-pressed', String(!st.live));
    more.textContent = !st.live && st.paused.length ? `${st.paused.length} new line${st.paused.length === 1 ? '' : 's'} while paused` : '';
  }

  // The live tail: NDJSON lines after `after`, as long as the page lives.
  async function startTail(after) {
    dispose();
    const ctrl = new AbortController();
    tail = { ctrl };
    app.signal.addEventListener('abort', () => ctrl.abort());
    const f = filters();
    let r;
    try {
      r = await fetch(url('/api/v1/logs/tail', { ...f, after }), { headers: headers(), signal: ctrl.signal });
    } catch (e) {
      if (e.name !== 'AbortError') status.set(`The live tail stopped: ${e.message}`);
      return;
    }
    if (!r.ok || !r.body) {
      status.set(`The live tail is not available (${r.status})`);
      return;
    }
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        return; // aborted
      }
      if (chunk.done) break;
      buf += dec.decode(chunk.value, { stream: true });
      const parts = buf.split('\n');
      buf = parts.pop();
      const lines = [];
      for (const p of parts) {
        if (!p.trim()) continue; // keep-alive
        try {
          const l = JSON.parse(p);
          if (l.error) status.set(`The live tail stopped: ${l.error}`);
          else lines.push(l);
        } catch {
          /* a partial line never happens: the server writes whole lines */
        }
      }
      if (!lines.length) continue;
      if (st.live) append(lines);
      else {
        st.paused.push(...lines);
        setLiveButton();
      }
    }
    if (tail && tail.ctrl === ctrl) status.set('The live tail ended (the server stopped?)');
  }

  liveBtn.addEventListener('click', () => {
    st.live = !st.live;
    if (st.live && st.paused.length) {
      append(st.paused);
      st.paused = [];
    }
    setLiveButton();
  });

  async function search() {
    const f = filters();
    const since = frange.value;
    const hash = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...f, since })) if (v) hash.set(k, v);
    app.replace(`#/logs?${hash}`);
    status.set('Searching…');
    let ans;
    try {
      ans = await getJSON('/api/v1/logs', { ...f, since: `-${since}`, limit: LIMIT }, { signal: app.signal, quiet: true });
    } catch (e) {
      if (e.name === 'AbortError') return;
      status.set(e.status === 400 && e.body ? `Bad search: ${e.body.error}` : e.message);
      fq.setAttribute('aria-invalid', 'true');
      return;
    }
    if (!app.isCurrent()) return;
    fq.removeAttribute('aria-invalid');
    clear(out);
    st.shown = 0;
    st.paused = [];
    const lines = ans.lines.slice().reverse(); // oldest first, the newest at the bottom
    if (!lines.length) out.append(h('p', { class: 'muted empty' }, 'No line matches.'));
    append(lines);
    out.scrollTop = out.scrollHeight;
    status.set(`${lines.length}${lines.length === LIMIT ? '+' : ''} line${lines.length === 1 ? '' : 's'}; live tail of new lines ${st.live ? 'on' : 'paused'}`);
    setLiveButton();
    startTail(ans.newest_id);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    search();
  });
  for (const s of [fsys, flevel, frange]) s.addEventListener('change', () => search());
  setLiveButton();
  await search();
}
