// pages/overview.js: every system with its kind, runtime, image, health (present or gone, why,
// last seen) and alarm state (the worst over its alarms). Two API calls in all (systems and
// alarms), refreshed every 15 s; a text filter narrows the table in the browser, the search
// box runs the search language (GET /api/v1/search, docs/search.md) and keeps the systems
// that match.

import { getJSON } from '../api.js';
import { fmtAge, fmtTime, h, table } from '../dom.js';

export const title = 'Overview';

const RANK = { ALARM: 3, INSUFFICIENT_DATA: 2, OK: 1 };
let timer = null;

export function goneText(s) {
  if (!s.gone) return '';
  const r = s.gone_reason;
  if (!r) return 'gone';
  if (typeof r !== 'object') return `gone: ${r}`;
  const parts = [r.reason || 'gone'];
  if (r.exit_code !== undefined && r.exit_code !== null) parts[0] += ` ${r.exit_code}`;
  if (r.oom_killed) parts.push('oom_kill');
  if (r.how && r.how !== r.reason) parts.push(r.how);
  return `gone: ${parts.join(', ')}`;
}

export function stateBadge(state) {
  const cls = state === 'ALARM' ? 'alarm' : state === 'OK' ? 'ok' : state ? 'insufficient' : '';
  return h('span', { class: `badge ${cls}` }, state === 'INSUFFICIENT_DATA' ? 'NO DATA' : state || 'none');
}

// {systemId: {worst, alarms: [{name, state}]}} from GET /api/v1/alarms.
export function alarmsBySystem(alarms) {
  const out = new Map();
  for (const a of Array.isArray(alarms) ? alarms : alarms?.alarms || []) {
    for (const st of a.states || []) {
      const e = out.get(st.system) || { worst: null, alarms: [] };
      e.alarms.push({ name: a.name, state: st.state });
      if (!e.worst || (RANK[st.state] || 0) > (RANK[e.worst] || 0)) e.worst = st.state;
      out.set(st.system, e);
    }
  }
  return out;
}

export async function render(el, params, app) {
  const q0 = params.q.get('search') || '';
  const status = h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading…');
  const summary = h('p', { class: 'summary' });
  const kind = h(
    'select',
    { id: 'ov-kind', onchange: () => draw() },
    ['', 'host', 'container', 'vm', 'image'].map((k) => h('option', { value: k }, k ? `${k}s` : 'every kind')),
  );
  const sq = h('input', { id: 'ov-search', type: 'search', value: q0, placeholder: 'process comm=httpd or package name=openssl', autocomplete: 'off', spellcheck: 'false', size: 40 });
  const serr = h('span', { class: 'error', role: 'alert', hidden: true });
  const sinfo = h('span', { class: 'muted', 'aria-live': 'polite' });
  const sclear = h('button', { type: 'button', hidden: true, onclick: () => ((sq.value = ''), runSearch()) }, 'Clear search');
  const sform = h(
    'form',
    { class: 'ov-search', role: 'search', 'aria-label': 'Narrow the systems with a search', onsubmit: (e) => (e.preventDefault(), runSearch()) },
    h('label', { for: 'ov-search' }, 'Systems holding '),
    sq,
    h('button', { type: 'submit' }, 'Search'),
    sclear,
    sinfo,
    serr,
  );

  let systems = [];
  let byAlarm = new Map();
  let matched = null; // null: no search; else Map id -> [records]

  const cols = [
    { key: 'name', label: 'Name', value: (s) => s.name || s.id, fmt: (v, s) => h('a', { href: `#/system/${encodeURIComponent(s.id)}`, title: s.id }, v) },
    { key: 'kind', label: 'Kind' },
    { key: 'runtime', label: 'Runtime' },
    { key: 'image', label: 'Image' },
    { key: 'host', label: 'Host' },
    {
      key: 'health',
      label: 'Health',
      value: (s) => (s.gone ? 1 : 0),
      fmt: (v, s) => (s.gone ? h('span', { class: 'badge gone', title: s.gone_at ? `gone at ${fmtTime(s.gone_at)}` : null }, goneText(s)) : h('span', { class: 'badge ok' }, 'present')),
      text: (s) => (s.gone ? goneText(s) : 'present'),
    },
    { key: 'last_seen', label: 'Last seen', value: (s) => s.last_seen, sort: (s) => -Date.parse(s.last_seen), fmt: (v) => h('time', { datetime: v, title: fmtTime(v) }, fmtAge(v)) },
    {
      key: 'alarm',
      label: 'Alarms',
      value: (s) => byAlarm.get(s.id)?.worst || '',
      sort: (s) => -(RANK[byAlarm.get(s.id)?.worst] || 0),
      fmt: (v, s) => {
        const e = byAlarm.get(s.id);
        if (!e) return h('span', { class: 'muted' }, '–');
        const bad = e.alarms.filter((a) => a.state === 'ALARM').map((a) => a.name);
        return h('a', { href: '#/alarms', title: e.alarms.map((a) => `${a.name}: ${a.state}`).join('\n') }, stateBadge(e.worst), ' ', bad.length ? bad.join(', ') : `${e.alarms.length} alarm${e.alarms.length > 1 ? 's' : ''}`);
      },
    },
    {
      key: 'labels',
      label: 'Labels',
      value: (s) => Object.entries(s.labels || {}).map(([k, v]) => `${k}=${v}`).join(' '),
    },
  ];
  const tbl = table(cols, [], { filter: true, label: 'systems', sort: 'health', limit: 1000 });
  tbl.input.id = 'ov-filter';

  el.append(
    h('h1', null, 'Systems'),
    summary,
    h('div', { class: 'toolbar' }, h('label', { for: 'ov-kind', class: 'sr-only' }, 'Kind'), kind, sform),
    tbl,
    status,
  );

  function draw() {
    let rows = systems;
    if (kind.value) rows = rows.filter((s) => s.kind === kind.value);
    if (matched) rows = rows.filter((s) => matched.has(s.id));
    tbl.update(rows);
    const gone = systems.filter((s) => s.gone).length;
    const inAlarm = systems.filter((s) => byAlarm.get(s.id)?.worst === 'ALARM').length;
    summary.textContent = `${systems.length} systems: ${systems.length - gone} present, ${gone} gone, ${inAlarm} in ALARM`;
  }

  async function load() {
    const [sys, alarms] = await Promise.all([
      getJSON('/api/v1/systems', null, { signal: app.signal }),
      getJSON('/api/v1/alarms', null, { signal: app.signal, quiet: true }).catch((e) => {
        if (e.name === 'AbortError') throw e;
        return [];
      }),
    ]);
    systems = (sys.systems || []).sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id, undefined, { numeric: true }));
    byAlarm = alarmsBySystem(alarms);
    draw();
    status.textContent = `Updated ${fmtTime(Date.now())}`;
  }

  async function runSearch() {
    const q = sq.value.trim();
    serr.hidden = true;
    const qs = new URLSearchParams(params.q);
    if (q) qs.set('search', q);
    else qs.delete('search');
    const s = qs.toString();
    app.replace(`#/${s ? `?${s}` : ''}`);
    if (!q) {
      matched = null;
      sinfo.textContent = '';
      sclear.hidden = true;
      draw();
      return;
    }
    sinfo.textContent = 'Searching…';
    try {
      const r = await getJSON('/api/v1/search', { q, limit: 10000 }, { signal: app.signal, quiet: true });
      matched = new Map();
      for (const x of r.results || []) {
        if (!matched.has(x.system)) matched.set(x.system, []);
        matched.get(x.system).push(x);
      }
      sinfo.textContent = `${matched.size} system${matched.size === 1 ? '' : 's'} match (${r.total} record${r.total === 1 ? '' : 's'})`;
      sclear.hidden = false;
      draw();
    } catch (e) {
      if (e.name === 'AbortError') return;
      sinfo.textContent = '';
      const b = e.body;
      serr.textContent = b && b.column ? `${b.error} (at column ${b.column})` : e.message;
      serr.hidden = false;
    }
  }

  await load();
  if (q0) await runSearch();
  timer = setInterval(() => load().catch(() => {}), 15000);
}

export function dispose() {
  clearInterval(timer);
  timer = null;
}
