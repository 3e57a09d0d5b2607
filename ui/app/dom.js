// dom.js: small DOM helpers shared by the pages: h() builds elements, table() a sortable,
// filterable, keyboard-usable table, and the formatters for bytes, times and durations.

let uidCounter = 0;
export const uid = (prefix = 'id') => `${prefix}-${++uidCounter}`;

// h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child, [more]) -> element.
// Attributes: class, style (string or object, set through the CSSOM: the page's
// Content-Security-Policy refuses style attributes), on* (listeners), dataset (object),
// booleans (true sets, false/null/undefined omits), anything else via setAttribute.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'style' && typeof v === 'object') {
        for (const [p, pv] of Object.entries(v)) {
          if (p.startsWith('--')) el.style.setProperty(p, pv);
          else el.style[p] = pv;
        }
      } else if (k === 'style') el.style.cssText = String(v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// table(columns, rows, opts) -> a <div> holding the filter box and the table; .update(rows)
// replaces the rows. columns: [{key, label, value(row), fmt(v, row) -> string|Node,
// sort(row) -> comparable, num: true (right-aligned, numeric sort), text(row) -> filter text}].
// opts: {filter: true, label: 'processes' (names the table and its filter), sort: key,
// desc: true, limit: rows shown before "Show all" (500), empty: 'No rows'}.
export function table(columns, rows, opts = {}) {
  const label = opts.label || 'rows';
  const st = { rows: [], texts: [], sortKey: opts.sort ?? null, dir: opts.desc ? -1 : 1, q: '' };
  const limit = opts.limit ?? 500;
  let shown = limit;
  const val = (c, r) => (c.value ? c.value(r) : r[c.key]);
  const show = (c, r) => {
    const v = val(c, r);
    if (c.fmt) return c.fmt(v, r);
    return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  };
  const ftext = (r) =>
    columns
      .map((c) => {
        if (c.text) return c.text(r);
        const s = show(c, r);
        return s instanceof Node ? s.textContent : s;
      })
      .join('\u0001')
      .toLowerCase();

  const wrap = h('div', { class: 'tbl' });
  const count = h('span', { class: 'count muted', 'aria-live': 'polite' });
  if (opts.filter) {
    const id = uid('filter');
    wrap.input = h('input', {
      id,
      type: 'search',
      class: 'filter',
      placeholder: `Filter ${label}`,
      autocomplete: 'off',
      spellcheck: 'false',
      oninput: () => {
        st.q = wrap.input.value.trim().toLowerCase();
        shown = limit;
        render();
      },
    });
    wrap.append(
      h('div', { class: 'tbl-tools' }, h('label', { for: id, class: 'sr-only' }, `Filter ${label}`), wrap.input, count),
    );
  }
  const heads = columns.map((c) => {
    const btn = h('button', { type: 'button', class: 'sort', onclick: () => sortBy(c.key) }, c.label);
    return h('th', { scope: 'col', class: c.num ? 'num' : null, dataset: { key: c.key } }, btn);
  });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'more', hidden: true, onclick: () => ((shown = Infinity), render()) });
  const tbl = h(
    'table',
    { class: 'data', 'aria-label': label },
    opts.caption ? h('caption', null, opts.caption) : null,
    h('thead', null, h('tr', null, heads)),
    tbody,
  );
  wrap.append(h('div', { class: 'tbl-scroll' }, tbl), more);
  if (!opts.filter) wrap.append(count);

  function sortBy(key) {
    if (st.sortKey === key) st.dir = -st.dir;
    else {
      st.sortKey = key;
      st.dir = columns.find((c) => c.key === key)?.num ? -1 : 1;
    }
    render();
  }

  function cmp(a, b) {
    if (a === b) return 0;
    if (a === null || a === undefined || a === '') return 1;
    if (b === null || b === undefined || b === '') return -1;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function render() {
    let idx = st.rows.map((_, i) => i);
    if (st.q) {
      const words = st.q.split(/\s+/);
      idx = idx.filter((i) => words.every((w) => st.texts[i].includes(w)));
    }
    const col = columns.find((c) => c.key === st.sortKey);
    if (col) {
      const key = (r) => (col.sort ? col.sort(r) : val(col, r));
      const keys = new Map(idx.map((i) => [i, key(st.rows[i])]));
      idx.sort((a, b) => {
        const ka = keys.get(a);
        const kb = keys.get(b);
        const null_a = ka === null || ka === undefined || ka === '';
        const null_b = kb === null || kb === undefined || kb === '';
        if (null_a || null_b) return null_a === null_b ? a - b : null_a ? 1 : -1;
        return st.dir * cmp(ka, kb) || a - b;
      });
    }
    heads.forEach((th) => {
      if (th.dataset.key === st.sortKey) th.setAttribute('aria-sort', st.dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    const frag = document.createDocumentFragment();
    const n = Math.min(idx.length, shown);
    for (let k = 0; k < n; k++) {
      const r = st.rows[idx[k]];
      const tr = document.createElement('tr');
      for (const c of columns) {
        const td = document.createElement('td');
        if (c.num) td.className = 'num';
        const s = show(c, r);
        if (s instanceof Node) td.append(s);
        else td.textContent = s;
        tr.append(td);
      }
      frag.append(tr);
    }
    if (idx.length === 0) {
      frag.append(h('tr', null, h('td', { colspan: columns.length, class: 'muted' }, st.rows.length ? 'No row matches the filter' : opts.empty || 'None')));
    }
    clear(tbody).append(frag);
    more.hidden = idx.length <= n;
    more.textContent = `Show all ${idx.length}`;
    count.textContent = st.q ? `${idx.length} of ${st.rows.length}` : `${st.rows.length} ${label}`;
    wrap.dataset.shown = String(idx.length);
  }

  wrap.update = (newRows) => {
    st.rows = newRows || [];
    st.texts = st.rows.map(ftext);
    render();
  };
  wrap.update(rows);
  return wrap;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
export function fmtBytes(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return '';
  const neg = n < 0;
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${neg ? '-' : ''}${i === 0 ? Math.round(v) : v.toFixed(v >= 100 ? 0 : digits)} ${UNITS[i]}`;
}

// A number with at most 3 significant digits and k/M/G suffixes (1.2k, 35.1M).
export function fmtNum(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '';
  const a = Math.abs(n);
  if (a >= 1e9) return `${+(n / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(n / 1e3).toPrecision(3)}k`;
  if (a >= 100 || Number.isInteger(n)) return String(Math.round(n));
  return String(+n.toPrecision(3));
}

const pad = (n) => String(n).padStart(2, '0');
// A time (Date, ms since the epoch, or ISO text) in local time: 2026-11-22 10:04:05.
export function fmtTime(t) {
  if (t === null || t === undefined || t === '') return '';
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// Seconds as a short duration: 45s, 3m 20s, 2h 5m, 3d 4h.
export function fmtDuration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? ` ${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

// How long ago a time was: "12s ago".
export function fmtAge(t, now = Date.now()) {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (Number.isNaN(ms)) return '';
  return `${fmtDuration((now - ms) / 1000)} ago`;
}
