// form.js: helpers shared by the topology, drift, alarms and search pages: labelled form
// fields, alarm state badges coloured as CloudWatch does (red ALARM, grey INSUFFICIENT_DATA,
// plain OK), links to a system's page, a polite status line, the hash of a page with its
// query, and the stylesheet of these pages (pages2.css, loaded once).

import { h, uid } from './dom.js';
import { getJSON, showError } from './api.js';

let cssReady = null;
// Adds <link rel=stylesheet href=/ui/app/pages2.css> to the document once; the promise
// resolves when it has loaded (or failed, or after 2 s), so that a page can measure its boxes.
export function ensureCss() {
  if (cssReady) return cssReady;
  const existing = document.querySelector('link[data-pages2]');
  if (existing) return (cssReady = Promise.resolve());
  const link = h('link', { rel: 'stylesheet', href: '/ui/app/pages2.css', 'data-pages2': '' });
  cssReady = new Promise((resolve) => {
    link.addEventListener('load', resolve);
    link.addEventListener('error', resolve);
    setTimeout(resolve, 2000);
  });
  document.head.append(link);
  return cssReady;
}

// field('Threshold', input, 'hint') -> <div class="field"><label for=..>..</label>input<small>hint</small></div>
// The input gets an id when it has none; the hint is tied to it with aria-describedby.
export function field(label, input, hint) {
  if (!input.id) input.id = uid('f');
  const wrap = h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
  if (hint) {
    const hid = uid('hint');
    input.setAttribute('aria-describedby', hid);
    wrap.append(h('small', { id: hid, class: 'muted' }, hint));
  }
  return wrap;
}

// select(options, value, attrs): options are strings or [value, text] pairs.
export function select(options, value, attrs = {}) {
  const s = h('select', attrs);
  for (const o of options) {
    const [v, t] = Array.isArray(o) ? o : [o, o];
    s.append(h('option', { value: v, selected: String(v) === String(value) }, t));
  }
  return s;
}

// A text input with a <datalist> of suggestions.
export function suggestInput(values, attrs = {}) {
  const listId = uid('dl');
  const list = h('datalist', { id: listId }, values.map((v) => (Array.isArray(v) ? h('option', { value: v[0] }, v[1]) : h('option', { value: v }))));
  const input = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', list: listId, ...attrs });
  input.datalist = list;
  return input;
}

const STATE_CLASS = { ALARM: 'st-alarm', INSUFFICIENT_DATA: 'st-insufficient', OK: 'st-ok' };
// The state as CloudWatch's console colours it; 'gone' and 'warming' flags appended.
export function stateBadge(state, flags = {}) {
  const b = h('span', { class: `state ${STATE_CLASS[state] || 'st-insufficient'}`, dataset: { state: state || '' } }, state || 'no state');
  if (flags.gone) b.append(' (gone)');
  if (flags.warming) b.append(' (warming up)');
  return b;
}

// A link to a system's page; the name shown, the id in the title (and read as the name).
export function systemLink(id, name) {
  if (!id) return h('span', { class: 'muted' }, name || '');
  return h('a', { href: `#/system/${encodeURIComponent(id)}`, title: id }, name || id);
}

// A status line read politely by screen readers; .set(text, kind) where kind is 'ok' or 'error'.
export function statusLine() {
  const el = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite' });
  el.set = (text, kind) => {
    el.textContent = text || '';
    el.className = `status-line${kind ? ` ${kind}` : ''}`;
  };
  return el;
}

// '#/drift?a=..&b=..' from a page name and an object of parameters (empty ones left out). ':'
// and '@' stay readable; everything else is encoded as URLSearchParams would decode it.
export function pageHash(page, params) {
  const parts = [];
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    parts.push(`${k}=${encodeURIComponent(String(v)).replace(/%3A/gi, ':').replace(/%40/g, '@').replace(/%2F/gi, '/')}`);
  }
  return `#/${page}${parts.length ? `?${parts.join('&')}` : ''}`;
}

// Compact JSON of a record's value, cut at max characters.
export function brief(value, max = 160) {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

// <details> with a summary line and the value pretty-printed inside (for long records).
export function jsonDetails(summaryText, value) {
  return h('details', { class: 'json' }, h('summary', null, summaryText), h('pre', null, JSON.stringify(value, null, 2)));
}

// Bytes per second, short: 19.2 KiB/s.
export function fmtRate(bps) {
  if (bps === null || bps === undefined) return '';
  const u = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
  let v = Math.abs(bps);
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v >= 100 ? 0 : 1)} ${u[i]}`;
}

// getJSON that waits and asks again (up to 3 times, 1 s apart) while the store answers 503
// busy (Retry-After: 1), as it may while the daemon writes; errors are shown as getJSON shows
// them, after the last try.
export async function getRetry(path, params, opts = {}) {
  for (let i = 0; ; i++) {
    try {
      return await getJSON(path, params, i < 3 ? { ...opts, quiet: true } : opts);
    } catch (e) {
      if (e.name === 'AbortError' || e.status !== 503 || i >= 3) {
        if (i < 3 && !opts.quiet && e.name !== 'AbortError') showError(e.message);
        throw e;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
