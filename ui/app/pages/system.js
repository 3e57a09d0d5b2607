// pages/system.js: one system. Its identity, labels, health and alarm states; its metric
// charts over a chosen range (15m to 7d, live every 10 s) in groups, ONE /api/v1/chart call per
// group, with the system's own limits (cgroup memory limit, CPU quota, pids limit, disk size,
// RAM) drawn as step series and the thresholds of the alarms covering it as horizontal lines;
// and the tables of its latest frame (processes, connections, packages, modules, libraries),
// each loaded when its tab is opened, with a filter box.

import { getJSON } from '../api.js';
import { lineChart } from '../chart.js';
import { clear, fmtAge, fmtBytes, fmtNum, fmtTime, h, table, uid } from '../dom.js';
import { alarmsBySystem, goneText, stateBadge } from './overview.js';

export const title = 'System';

const RANGES = [
  ['15m', 15 * 60],
  ['1h', 3600],
  ['6h', 6 * 3600],
  ['24h', 86400],
  ['7d', 7 * 86400],
];
const LIVE_MS = 10000;

const pct = (v) => (v === null || v === undefined ? '' : `${+v.toFixed(1)}%`);
const bytes = (v) => fmtBytes(v);
const rate = (v) => (v === null || v === undefined ? '' : `${fmtBytes(v)}/s`);
const num = (v) => fmtNum(v);
const noLabels = (l) => !l || Object.keys(l).length === 0;

// The chart groups for a system, from the names of its series (GET .../metrics). A chart:
// {title, fmt, series: [{metric, label, where(labels), scale}], limits: [same], split: LABEL
// (one chart per value of that label)}. Limits are the system's own stored series.
export function groupsFor(sys, names) {
  const has = (m) => names.has(m);
  const pick = (list) => list.filter((s) => has(s.metric));
  const groups = [];
  const cpu = [];
  if (sys.kind === 'container' && has('cgroup.cpu_pct')) {
    cpu.push({
      title: 'CPU (100% = one core)',
      fmt: pct,
      series: [{ metric: 'cgroup.cpu_pct', label: 'CPU used' }],
      limits: pick([{ metric: 'cgroup.cpu_limit_cores', label: 'CPU quota', scale: 100 }]),
    });
  } else if (has('cpu.busy_pct')) {
    cpu.push({
      title: 'CPU (% of all CPUs)',
      fmt: pct,
      series: pick([
        { metric: 'cpu.busy_pct', label: 'busy', where: noLabels },
        { metric: 'cpu.user_pct', label: 'user', where: noLabels },
        { metric: 'cpu.system_pct', label: 'system', where: noLabels },
        { metric: 'cpu.iowait_pct', label: 'iowait', where: noLabels },
      ]),
      limits: [],
    });
  } else if (has('cgroup.cpu_pct')) {
    cpu.push({ title: 'CPU (100% = one core)', fmt: pct, series: [{ metric: 'cgroup.cpu_pct', label: 'CPU used' }], limits: [] });
  }
  if (has('cgroup.pids_current') && sys.kind === 'container') {
    cpu.push({ title: 'Tasks', fmt: num, series: [{ metric: 'cgroup.pids_current', label: 'tasks' }], limits: pick([{ metric: 'cgroup.pids_limit', label: 'pids limit' }]) });
  } else if (has('load.load1')) {
    cpu.push({
      title: 'Load average',
      fmt: num,
      series: pick([
        { metric: 'load.load1', label: '1 min' },
        { metric: 'load.load5', label: '5 min' },
        { metric: 'load.load15', label: '15 min' },
      ]),
      limits: [],
    });
  }
  if (cpu.length) groups.push({ name: 'CPU', charts: cpu });

  if (sys.kind === 'container' && has('cgroup.mem_usage_bytes')) {
    groups.push({
      name: 'Memory',
      charts: [
        {
          title: 'Memory',
          fmt: bytes,
          series: pick([
            { metric: 'cgroup.mem_usage_bytes', label: 'used' },
            { metric: 'cgroup.mem_cache_bytes', label: 'page cache' },
          ]),
          limits: pick([{ metric: 'cgroup.mem_limit_bytes', label: 'memory limit' }]),
        },
      ],
    });
  } else if (has('memory.used_kb')) {
    groups.push({
      name: 'Memory',
      charts: [
        {
          title: 'Memory',
          fmt: bytes,
          series: pick([
            { metric: 'memory.used_kb', label: 'used', scale: 1024 },
            { metric: 'memory.cached_kb', label: 'cached', scale: 1024 },
          ]),
          limits: pick([{ metric: 'memory.total_kb', label: sys.kind === 'vm' ? 'VM RAM' : 'RAM', scale: 1024 }]),
        },
      ],
    });
  }
  if (has('disk.used_bytes')) {
    groups.push({
      name: 'Disk',
      charts: [
        {
          title: 'Disk',
          fmt: bytes,
          split: 'mountpoint',
          series: [{ metric: 'disk.used_bytes', label: 'used' }],
          limits: pick([{ metric: 'disk.size_bytes', label: 'size' }]),
        },
      ],
    });
  }
  if (has('net.rx_bytes_per_s')) {
    groups.push({
      name: 'Network',
      charts: [
        {
          title: 'Network',
          fmt: rate,
          perLabel: 'interface',
          series: pick([
            { metric: 'net.rx_bytes_per_s', label: 'rx' },
            { metric: 'net.tx_bytes_per_s', label: 'tx' },
          ]),
          limits: [],
        },
      ],
    });
  }
  return groups;
}

const skey = (s) => `${s.metric}${JSON.stringify(s.labels || {})}`;
const SKIP_MOUNT = /^\/(var\/lib\/(containers|docker)|run\/netns|sys\/|proc\/|run\/user\/)|\/userdata\/shm$/;

// Mount points worth a chart: present in the data, size > 0, not container storage; "/" first,
// then the largest; at most 6.
function mounts(raw) {
  const size = new Map();
  for (const s of raw.values()) {
    const mp = s.labels?.mountpoint;
    if (!mp || SKIP_MOUNT.test(mp)) continue;
    if (s.metric === 'disk.size_bytes' || s.metric === 'disk.used_bytes') size.set(mp, Math.max(size.get(mp) || 0, ...s.v.filter((x) => x !== null)));
  }
  const list = [...size].filter(([, n]) => n > 0).sort((a, b) => (a[0] === '/' ? -1 : b[0] === '/' ? 1 : b[1] - a[1]));
  // Bind mounts of one file system (/etc/hosts in a container) repeat its numbers: keep the first.
  const seen = new Set();
  const last = (m, mp) => {
    for (const s of raw.values()) if (s.metric === m && s.labels?.mountpoint === mp) return s.v[s.v.length - 1];
    return null;
  };
  return list
    .filter(([mp]) => {
      const sig = `${last('disk.size_bytes', mp)}/${last('disk.used_bytes', mp)}`;
      if (seen.has(sig)) return false;
      seen.add(sig);
      return true;
    })
    .slice(0, 6)
    .map(([m]) => m);
}

// The data of one chart from the group's raw series.
function chartData(spec, raw, labelValue) {
  // Interfaces: loopback only when no other interface moved a byte.
  const busy = spec.perLabel && [...raw.values()].some((s) => s.labels?.[spec.perLabel] && s.labels[spec.perLabel] !== 'lo' && s.v.some((x) => x));
  const take = (list, isLimit) => {
    const out = [];
    for (const d of list) {
      for (const s of raw.values()) {
        if (s.metric !== d.metric) continue;
        if (d.where && !d.where(s.labels)) continue;
        if (spec.split && s.labels?.[spec.split] !== labelValue) continue;
        let label = d.label;
        if (spec.perLabel) {
          const iv = s.labels?.[spec.perLabel];
          if (!s.v.some((x) => x) || (iv === 'lo' && busy)) continue;
          label = `${iv} ${d.label}`;
        }
        const sc = d.scale || 1;
        out.push({ label: isLimit ? `${label} (limit)` : label, t: s.t, v: sc === 1 ? s.v : s.v.map((x) => (x === null ? null : x * sc)), metric: d.metric, labels: s.labels });
      }
    }
    return out;
  };
  let series = take(spec.series, false);
  if (spec.perLabel && series.length > 8) series = series.slice(0, 8);
  return { series, limits: take(spec.limits, true) };
}

function parseSelector(metric) {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(metric || '');
  if (!m) return { name: metric, labels: {} };
  const labels = {};
  for (const p of (m[2] || '').matchAll(/(\w+)\s*=\s*"([^"]*)"/g)) labels[p[1]] = p[2];
  return { name: m[1].trim(), labels };
}

let state = null;

export async function render(el, params, app) {
  const id = params.path.slice(1).join('/');
  const rangeName = RANGES.some(([n]) => n === params.q.get('range')) ? params.q.get('range') : '1h';
  const st = (state = { id, range: rangeName, live: params.q.get('live') !== '0', charts: [], groups: [], timer: null, app, busy: false });

  const [sysList, names, alarms] = await Promise.all([
    getJSON('/api/v1/systems', null, { signal: app.signal }),
    getJSON(`/api/v1/systems/${encodeURIComponent(id)}/metrics`, null, { signal: app.signal, quiet: true }).catch((e) => {
      if (e.name === 'AbortError') throw e;
      return { metrics: [] };
    }),
    getJSON('/api/v1/alarms', null, { signal: app.signal, quiet: true }).catch((e) => {
      if (e.name === 'AbortError') throw e;
      return [];
    }),
  ]);
  const sys = (sysList.systems || []).find((s) => s.id === id);
  if (!sys) {
    app.setTitle('Unknown system');
    el.append(h('h1', null, 'Unknown system'), h('p', null, 'No system ', h('code', null, id), ' in the store. ', h('a', { href: '#/' }, 'Back to the overview'), '.'));
    return;
  }
  app.setTitle(sys.name || sys.id);
  if (sys.gone && !params.q.has('live')) st.live = false; // nothing new will come
  const alarmList = Array.isArray(alarms) ? alarms : alarms.alarms || [];
  const mine = alarmsBySystem(alarmList).get(id);

  // Header
  const labels = Object.entries(sys.labels || {});
  el.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Systems'), ' / ', sys.kind),
    h('h1', null, sys.name || sys.id, ' ', sys.gone ? h('span', { class: 'badge gone' }, goneText(sys)) : h('span', { class: 'badge ok' }, 'present'), mine ? [' ', stateBadge(mine.worst)] : null),
    h(
      'dl',
      { class: 'kv' },
      h('dt', null, 'Id'),
      h('dd', null, h('code', null, sys.id)),
      h('dt', null, 'Kind'),
      h('dd', null, [sys.kind, sys.runtime].filter(Boolean).join(' · ')),
      sys.image ? [h('dt', null, 'Image'), h('dd', null, sys.image)] : null,
      sys.host ? [h('dt', null, 'Host'), h('dd', null, sys.host)] : null,
      h('dt', null, 'Labels'),
      h('dd', { class: 'labels' }, labels.length ? labels.map(([k, v]) => h('code', null, `${k}=${v}`)) : h('span', { class: 'muted' }, 'none')),
      h('dt', null, 'Seen'),
      h('dd', null, `${fmtTime(sys.first_seen)} to ${fmtTime(sys.last_seen)} (${fmtAge(sys.last_seen)})`),
      mine
        ? [
            h('dt', null, 'Alarms'),
            h(
              'dd',
              null,
              mine.alarms.map((a) => h('span', { class: 'alarm-ref' }, stateBadge(a.state), ' ', h('a', { href: '#/alarms' }, a.name), ' ')),
            ),
          ]
        : null,
    ),
  );

  // Range picker, live toggle, links
  const rangeBtns = RANGES.map(([n]) =>
    h('button', { type: 'button', 'aria-pressed': String(n === st.range), dataset: { range: n }, onclick: () => setRange(n) }, n),
  );
  const liveBtn = h('button', { type: 'button', id: 'sys-live', 'aria-pressed': String(st.live), onclick: () => setLive(!st.live), title: 'Update every 10 s' }, 'Live');
  const driftLink = h('a', { id: 'sys-drift' }, 'What changed in this range (drift)');
  const logsLink = h('a', { id: 'sys-logs', href: `#/logs?system=${encodeURIComponent(id)}` }, 'Logs');
  const updated = h('span', { class: 'muted', 'aria-live': 'off' });
  el.append(
    h(
      'div',
      { class: 'toolbar' },
      h('div', { class: 'seg', role: 'group', 'aria-label': 'Time range', id: 'sys-range' }, rangeBtns),
      liveBtn,
      driftLink,
      logsLink,
      updated,
    ),
  );
  const chartsEl = h('section', { 'aria-label': 'Metrics' });
  el.append(chartsEl);

  // Tables
  const tabsEl = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Latest frame' });
  const panel = h('div', { role: 'tabpanel', id: 'sys-table', tabindex: '0' });
  el.append(h('h2', null, 'Latest frame'), tabsEl, panel);

  // Thresholds: metric alarms covering this system, by metric name.
  const thresholds = [];
  for (const a of alarmList) {
    const d = a.definition || {};
    const covers = (a.states || []).some((s) => s.system === id) || d.system === id || (d.system && d.system === sys.name);
    if (!d.metric || !covers) continue;
    const sel = parseSelector(d.metric);
    thresholds.push({ alarm: a.name, metric: sel.name, labels: sel.labels, value: Number(d.threshold ?? 0), label: `${a.name} ${d.comparison || '>'}` });
  }

  // Charts
  const nameSet = new Set(names.metrics || []);
  const groups = groupsFor(sys, nameSet);
  const drawn = new Set(groups.flatMap((g) => g.charts.flatMap((c) => [...c.series, ...c.limits].map((s) => s.metric))));
  const extra = thresholds.filter((t) => !drawn.has(t.metric) && nameSet.has(t.metric));
  if (extra.length) {
    groups.push({
      name: 'Alarmed metrics',
      charts: [...new Set(extra.map((t) => t.metric))].map((m) => ({ title: m, fmt: num, series: [{ metric: m, label: m, where: (l) => extra.filter((t) => t.metric === m).some((t) => Object.entries(t.labels).every(([k, v]) => l?.[k] === v)) }], limits: [] })),
    });
  }
  st.groups = groups.map((g) => ({ ...g, raw: new Map(), cards: [], el: null }));
  // One grid for every chart; each group's cards sit in a wrapper that does not box them.
  const grid = h('div', { class: 'charts' });
  chartsEl.append(h('h2', { class: 'sr-only' }, 'Metrics'), grid);
  for (const g of st.groups) {
    g.el = h('div', { class: 'chart-group', dataset: { group: g.name } });
    grid.append(g.el);
  }
  if (!st.groups.length) chartsEl.append(h('p', { class: 'muted' }, 'This system has no metric series in the store.'));

  function thresholdsFor(spec, data) {
    const ms = new Set(data.series.map((s) => s.metric));
    const scaleOf = (m) => spec.series.find((s) => s.metric === m)?.scale || 1;
    return thresholds.filter((t) => ms.has(t.metric)).map((t) => ({ label: t.label, value: t.value * scaleOf(t.metric) }));
  }

  function syncLinks() {
    if (!app.isCurrent()) return; // the user went elsewhere while data loaded
    const secs = RANGES.find(([n]) => n === st.range)[1];
    const from = new Date(Date.now() - secs * 1000).toISOString();
    driftLink.href = `#/drift?a=${encodeURIComponent(`${id}@${from}`)}&b=${encodeURIComponent(id)}`;
    const qs = new URLSearchParams();
    if (st.range !== '1h') qs.set('range', st.range);
    if (!st.live) qs.set('live', '0');
    const s = qs.toString();
    app.replace(`#/system/${encodeURIComponent(id)}${s ? `?${s}` : ''}`);
  }

  function drawGroup(g) {
    const specs = [];
    for (const spec of g.charts) {
      if (spec.split) for (const v of mounts(g.raw)) specs.push({ spec, v, title: `${spec.title} ${v}` });
      else specs.push({ spec, v: null, title: spec.title });
    }
    const keyOf = (x) => x.title;
    // Rebuild the cards when the set of charts changed; else update them in place.
    if (g.cards.map((c) => c.key).join('\n') !== specs.map(keyOf).join('\n')) {
      for (const c of g.cards) c.chart.destroy();
      clear(g.el);
      g.cards = specs.map((x) => {
        const hid = uid('chart');
        const card = h('figure', { class: 'chart-card', 'aria-labelledby': hid }, h('h3', { id: hid }, x.title));
        g.el.append(card);
        const data = chartData(x.spec, g.raw, x.v);
        const chart = lineChart(card, { title: x.title, fmt: x.spec.fmt, sync: `system:${id}`, height: 170, ...data, thresholds: thresholdsFor(x.spec, data), x: st.x });
        return { key: keyOf(x), chart, x };
      });
    } else {
      for (const c of g.cards) {
        const data = chartData(c.x.spec, g.raw, c.x.v);
        c.chart.update({ ...data, thresholds: thresholdsFor(c.x.spec, data), x: st.x });
      }
    }
  }

  const metricsOf = (g) => [...new Set(g.charts.flatMap((c) => [...c.series, ...c.limits].map((s) => s.metric)))];
  // The plot's width in pixels: a card's width (the grid's width over its columns).
  const widthOf = () => {
    const w = grid.clientWidth || 1200;
    const cols = Math.max(1, Math.floor((w + 16) / (380 + 16)));
    return Math.max(200, Math.min(2000, Math.round(w / cols - 90)));
  };

  async function loadAll() {
    const secs = RANGES.find(([n]) => n === st.range)[1];
    const to = Date.now();
    const from = to - secs * 1000;
    st.x = [from / 1000, to / 1000];
    await Promise.all(
      st.groups.map(async (g) => {
        const r = await getJSON('/api/v1/chart', { system: id, metric: metricsOf(g), from, to, width: widthOf(g) }, { signal: app.signal });
        if (state !== st) return;
        g.raw = new Map((r.series || []).map((s) => [skey(s), { ...s, t: [...s.t], v: [...s.v] }]));
        drawGroup(g);
      }),
    );
    updated.textContent = `Updated ${fmtTime(Date.now())}`;
  }

  // Live: ask each group for the points after its last one, append them, drop those before
  // the range.
  async function tick() {
    if (st.busy || state !== st) return;
    st.busy = true;
    try {
      const secs = RANGES.find(([n]) => n === st.range)[1];
      const now = Date.now();
      const cut = now / 1000 - secs;
      st.x = [cut, now / 1000];
      await Promise.all(
        st.groups.map(async (g) => {
          let last = 0;
          for (const s of g.raw.values()) if (s.t.length) last = Math.max(last, s.t[s.t.length - 1]);
          const from = last ? Math.floor(last * 1000) + 1 : now - secs * 1000;
          const r = await getJSON('/api/v1/chart', { system: id, metric: metricsOf(g), from, to: now, width: widthOf(g) }, { signal: app.signal, quiet: true });
          if (state !== st) return;
          for (const s of r.series || []) {
            const k = skey(s);
            const cur = g.raw.get(k);
            if (!cur) {
              g.raw.set(k, { ...s, t: [...s.t], v: [...s.v] });
              continue;
            }
            const lastT = cur.t.length ? cur.t[cur.t.length - 1] : -Infinity;
            for (let i = 0; i < s.t.length; i++) {
              if (s.t[i] > lastT) {
                cur.t.push(s.t[i]);
                cur.v.push(s.v[i]);
              }
            }
          }
          for (const s of g.raw.values()) {
            let i = 0;
            while (i < s.t.length && s.t[i] < cut) i++;
            if (i) {
              s.t.splice(0, i);
              s.v.splice(0, i);
            }
          }
          drawGroup(g);
        }),
      );
      updated.textContent = `Updated ${fmtTime(Date.now())}`;
    } catch (e) {
      if (e.name !== 'AbortError') updated.textContent = `Live update failed: ${e.message}`;
    } finally {
      st.busy = false;
    }
  }

  function setLive(on) {
    st.live = on;
    liveBtn.setAttribute('aria-pressed', String(on));
    clearInterval(st.timer);
    st.timer = on ? setInterval(tick, LIVE_MS) : null;
    syncLinks();
  }

  async function setRange(n) {
    st.range = n;
    for (const b of rangeBtns) b.setAttribute('aria-pressed', String(b.dataset.range === n));
    syncLinks();
    await loadAll().catch((e) => {
      if (e.name !== 'AbortError') updated.textContent = e.message;
    });
  }

  // Tables of the latest frame, one feature per tab, loaded when first shown.
  const TABLES = [
    {
      feature: 'process',
      label: 'Processes',
      sort: 'rss_kb',
      desc: true,
      cols: [
        { key: 'pid', label: 'PID', num: true },
        { key: 'user', label: 'User' },
        { key: 'comm', label: 'Command' },
        { key: 'cmdline', label: 'Command line', fmt: (v) => h('code', null, v || '') },
        { key: 'state', label: 'State' },
        { key: 'threads', label: 'Threads', num: true },
        { key: 'rss_kb', label: 'RSS', num: true, fmt: (v) => (v === null || v === undefined ? '' : fmtBytes(v * 1024)) },
        { key: 'cpu', label: 'CPU time', num: true, value: (r) => (r.cpu_user_s || 0) + (r.cpu_system_s || 0), fmt: (v) => `${+v.toFixed(2)} s` },
        { key: 'fds', label: 'FDs', num: true },
        { key: 'start_time', label: 'Started', fmt: (v) => fmtTime(v) },
      ],
    },
    {
      feature: 'connection',
      label: 'Connections',
      sort: 'state',
      cols: [
        { key: 'proto', label: 'Proto' },
        { key: 'state', label: 'State' },
        { key: 'local', label: 'Local', value: (r) => `${r.local_addr}:${r.local_port}` },
        { key: 'remote', label: 'Remote', value: (r) => (r.remote_port ? `${r.remote_addr}:${r.remote_port}` : '') },
        { key: 'comm', label: 'Process', value: (r) => (r.comm ? `${r.comm}${r.pid ? ` (${r.pid})` : ''}` : '') },
        { key: 'uid', label: 'UID', num: true },
      ],
    },
    {
      feature: 'package',
      label: 'Packages',
      sort: 'name',
      cols: [
        { key: 'name', label: 'Name' },
        { key: 'version', label: 'Version' },
        { key: 'arch', label: 'Arch' },
        { key: 'manager', label: 'Manager' },
        { key: 'source', label: 'Source' },
        { key: 'size_kb', label: 'Size', num: true, fmt: (v) => (v === null || v === undefined ? '' : fmtBytes(v * 1024)) },
      ],
    },
    {
      feature: 'module',
      label: 'Modules',
      sort: 'name',
      cols: [
        { key: 'name', label: 'Name' },
        { key: 'size', label: 'Size', num: true, fmt: (v) => fmtBytes(v) },
        { key: 'refcount', label: 'Refs', num: true },
        { key: 'state', label: 'State' },
        { key: 'used_by', label: 'Used by', value: (r) => (r.used_by || []).join(', ') },
      ],
    },
    {
      feature: 'library',
      label: 'Libraries',
      sort: 'processes',
      desc: true,
      cols: [
        { key: 'path', label: 'Path', fmt: (v) => h('code', null, v || '') },
        { key: 'processes', label: 'Processes', num: true },
        { key: 'deleted', label: 'Deleted', value: (r) => (r.deleted ? 'deleted' : '') },
        { key: 'executable', label: 'Executable', value: (r) => (r.executable ? 'yes' : '') },
        { key: 'pids', label: 'PIDs', value: (r) => [...new Set(r.pids || [])].join(' ') },
      ],
    },
  ];
  const tabs = TABLES.map((t, i) =>
    h('button', { type: 'button', role: 'tab', id: `tab-${t.feature}`, 'aria-controls': 'sys-table', 'aria-selected': String(i === 0), tabindex: i === 0 ? '0' : '-1', onclick: () => showTab(i), onkeydown: (e) => tabKey(e, i) }, t.label),
  );
  tabsEl.append(...tabs);
  const cache = new Map();
  function tabKey(e, i) {
    const n = e.key === 'ArrowRight' ? (i + 1) % tabs.length : e.key === 'ArrowLeft' ? (i + tabs.length - 1) % tabs.length : e.key === 'Home' ? 0 : e.key === 'End' ? tabs.length - 1 : -1;
    if (n < 0) return;
    e.preventDefault();
    tabs[n].focus();
    showTab(n);
  }
  async function showTab(i) {
    const t = TABLES[i];
    tabs.forEach((b, k) => {
      b.setAttribute('aria-selected', String(k === i));
      b.tabIndex = k === i ? 0 : -1;
    });
    panel.setAttribute('aria-labelledby', tabs[i].id);
    if (!cache.has(t.feature)) {
      clear(panel).append(h('p', { class: 'muted' }, 'Loading…'));
      try {
        const r = await getJSON(`/api/v1/systems/${encodeURIComponent(id)}/frame`, { feature: t.feature }, { signal: app.signal, quiet: true });
        cache.set(t.feature, { rows: (r.records || []).map((x) => x.value || {}), time: r.frame?.time });
      } catch (e) {
        if (e.name === 'AbortError') return;
        cache.set(t.feature, { rows: [], error: e.status === 404 ? `No ${t.label.toLowerCase()} in this system's frames.` : e.message });
      }
    }
    const c = cache.get(t.feature);
    if (tabs[i].getAttribute('aria-selected') !== 'true') return;
    clear(panel);
    if (c.error) {
      panel.append(h('p', { class: 'muted' }, c.error));
      return;
    }
    if (c.time) panel.append(h('p', { class: 'muted' }, `From the frame of ${fmtTime(c.time)} (${fmtAge(c.time)}).`));
    const tb = table(t.cols, c.rows, { filter: true, label: t.label.toLowerCase(), sort: t.sort, desc: t.desc });
    tb.dataset.feature = t.feature;
    panel.append(tb);
  }

  syncLinks();
  const first = loadAll();
  showTab(0);
  await first;
  if (state === st && st.live) setLive(true);
}

export function dispose() {
  if (!state) return;
  clearInterval(state.timer);
  for (const g of state.groups) for (const c of g.cards) c.chart.destroy();
  state = null;
}
