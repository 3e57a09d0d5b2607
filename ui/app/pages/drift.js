// pages/drift.js: what changed between two frames, the likely cause first (GET /api/v1/diff,
// docs/drift.md). Pick frame A (a system and a time) and frame B (the same or another system,
// and a time; blank is its latest frame); the ranked entries follow, each with its evidence:
// changed fields before -> after, a config file's changed lines and keys, the record of an
// added or removed one, and why it ranks where it does (prior and rule, the process using it,
// peers, history). The selection lives in the URL: #/drift?a=ID@TIME&b=ID@TIME[&all=1].
// #/drift?a=ID@TIME alone compares that frame with the system's latest.

import { h, fmtTime, clear } from '../dom.js';
import { ensureCss, getRetry, field, select, suggestInput, systemLink, pageHash, brief, jsonDetails, statusLine } from '../form.js';

export const title = 'Drift';

const PRESETS = [
  ['', 'latest frame'],
  ['-1m', 'a minute ago'],
  ['-5m', '5 minutes ago'],
  ['-15m', '15 minutes ago'],
  ['-1h', 'an hour ago'],
  ['-6h', '6 hours ago'],
  ['-1d', 'a day ago'],
  ['-1w', 'a week ago'],
];

// 'ID@TIME' -> {system, time}; the time is after the last '@' (ids hold no '@').
export function splitRef(ref) {
  if (!ref) return { system: '', time: '' };
  const i = ref.lastIndexOf('@');
  return i < 0 ? { system: ref, time: '' } : { system: ref.slice(0, i), time: ref.slice(i + 1) };
}
const joinRef = (system, time) => (time ? `${system}@${time}` : system);

export async function render(el, params, app) {
  const css = ensureCss();
  const q = params.q;
  const A = splitRef(q.get('a'));
  let B = splitRef(q.get('b'));
  if (A.system && !B.system) B = { system: A.system, time: '' };
  const all = q.get('all') === '1';

  el.append(h('h1', null, 'Drift'), h('p', { class: 'muted' }, 'Two frames compared: what changed, ranked with the likely cause first, each change with its evidence.'));

  const { systems } = await getRetry('/api/v1/systems', null, { signal: app.signal });
  if (!app.isCurrent()) return;
  systems.sort((x, y) => (x.gone - y.gone) || String(x.name).localeCompare(String(y.name)));
  const options = systems.map((s) => [s.id, `${s.name} (${s.kind}${s.gone ? ', gone' : ''})`]);
  if (A.system && !systems.some((s) => s.id === A.system)) options.unshift([A.system, A.system]);
  if (B.system && B.system !== A.system && !systems.some((s) => s.id === B.system)) options.unshift([B.system, B.system]);

  const aSys = select(options, A.system || systems[0]?.id, { name: 'a-system' });
  const aTime = suggestInput(PRESETS.filter((p) => p[0]), { name: 'a-time', value: A.system ? A.time : '-1h', placeholder: 'latest frame' });
  const bSys = select(options, B.system || A.system || systems[0]?.id, { name: 'b-system' });
  const bTime = suggestInput(PRESETS.filter((p) => p[0]), { name: 'b-time', value: B.time, placeholder: 'latest frame' });
  const same = h('input', { type: 'checkbox', id: 'drift-same', checked: !B.system || B.system === (A.system || aSys.value) });
  const allBox = h('input', { type: 'checkbox', id: 'drift-all', checked: all });
  const byId = new Map(systems.map((s) => [s.id, s]));
  const span = (sel) => {
    const s = byId.get(sel.value);
    return s ? `frames from ${fmtTime(s.first_seen)} to ${fmtTime(s.last_seen)}` : '';
  };
  const aSpan = h('small', { class: 'muted', 'aria-live': 'polite' }, span(aSys));
  const bSpan = h('small', { class: 'muted', 'aria-live': 'polite' }, span(bSys));
  aSys.addEventListener('change', () => (aSpan.textContent = span(aSys)));
  const syncB = () => {
    if (same.checked) bSys.value = aSys.value;
    bSys.disabled = same.checked;
    bSpan.textContent = span(bSys);
  };
  bSys.addEventListener('change', syncB);
  aSys.addEventListener('change', syncB);
  same.addEventListener('change', syncB);
  syncB();
  const hint = 'blank: the latest frame; -1h (that long ago), 2026-12-06T10:00:00Z, epoch seconds';
  const swap = () => {
    const [s, t] = [aSys.value, aTime.value];
    aSys.value = bSys.value;
    aTime.value = bTime.value;
    bSys.value = s;
    bTime.value = t;
    same.checked = aSys.value === bSys.value;
    syncB();
  };
  const form = h(
    'form',
    {
      'aria-label': 'The two frames to compare',
      onsubmit: (e) => {
        e.preventDefault();
        app.navigate(
          pageHash('drift', {
            a: joinRef(aSys.value, aTime.value.trim()),
            b: joinRef(same.checked ? aSys.value : bSys.value, bTime.value.trim()),
            all: allBox.checked ? '1' : '',
          }),
        );
      },
    },
    h(
      'div',
      { class: 'drift-frames' },
      h('fieldset', null, h('legend', null, 'Frame A (before)'), h('div', { class: 'form-grid' }, field('System', aSys), field('At', aTime, hint)), aSpan, aTime.datalist),
      h(
        'fieldset',
        null,
        h('legend', null, 'Frame B (after)'),
        h('div', { class: 'form-grid' }, field('System', bSys), field('At', bTime, hint)),
        bSpan,
        bTime.datalist,
        h('div', { class: 'inline' }, same, h('label', { for: 'drift-same' }, 'The same system as A')),
      ),
    ),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, 'Compare'),
      h('button', { type: 'button', onclick: swap }, 'Swap A and B'),
      h('span', { class: 'inline' }, allBox, h('label', { for: 'drift-all' }, 'Also the changes below the noise line')),
    ),
  );
  el.append(form);
  const status = statusLine();
  const out = h('section', { class: 'drift-result', 'aria-label': 'Changes' });
  el.append(status, out);
  await css;

  if (!A.system) {
    status.set('Choose two frames and press Compare.');
    return;
  }
  status.set('Comparing…');
  let d;
  try {
    d = await getRetry('/api/v1/diff', { a: joinRef(A.system, A.time), b: joinRef(B.system, B.time), all: all ? 1 : undefined, limit: 500 }, { signal: app.signal, quiet: true });
  } catch (e) {
    if (e.name === 'AbortError' || !app.isCurrent()) return;
    status.set(e.message, 'error');
    return;
  }
  if (!app.isCurrent()) return;
  status.set('');
  showDiff(out, d, all);
}

function frameLine(label, f) {
  return [
    h('dt', null, label),
    h('dd', null, systemLink(f.system, f.name), ` at ${fmtTime(f.time)}`, h('span', { class: 'muted' }, ` (${f.time}${f.image ? `, image ${f.image}` : ''})`)),
  ];
}

function showDiff(out, d, all) {
  clear(out);
  const above = d.entries.filter((e) => !e.sunk).length;
  out.append(
    h('h2', null, 'Changes'),
    h('dl', { class: 'kv drift-head' }, frameLine('A', d.a), frameLine('B', d.b)),
    h(
      'p',
      { class: 'drift-count', 'data-entries': String(above) },
      `${above} change${above === 1 ? '' : 's'} above the noise line`,
      d.sunk ? `; ${d.sunk} below it${all ? ' (shown dimmed)' : ' (tick "Also the changes below the noise line" to see them)'}` : '',
      `. Records: ${d.records[0]} in A, ${d.records[1]} in B.`,
    ),
  );
  if (d.a.system === d.b.system && d.a.time === d.b.time) out.append(h('p', { class: 'muted' }, 'Both times resolve to the same frame: pick an earlier time for A.'));
  if (d.entries.length) {
    const ol = h('ol', { class: 'entries', 'aria-label': 'Ranked changes' });
    d.entries.forEach((e, i) => ol.append(entry(e, i + 1)));
    out.append(ol);
  } else {
    out.append(h('p', null, 'No change above the noise line between these two frames.'));
  }
  if (d.volatile?.length) {
    out.append(h('p', { class: 'muted' }, 'Volatile fields that changed (not ranked): ', d.volatile.join(', ')));
  }
}

function fmtVal(v) {
  if (v === null || v === undefined) return '∅';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function entry(e, rank) {
  const li = h('li', { class: `ch-${e.change}${e.sunk ? ' sunk' : ''}`, dataset: { feature: e.feature, key: e.key, change: e.change } });
  const pct = Math.max(0, Math.min(1, e.score || 0));
  li.append(
    h(
      'div',
      { class: 'entry-head' },
      h('span', { class: 'rank' }, `${rank}.`),
      h('span', { class: 'score', title: 'score: prior × relevance × peers × history' }, h('span', { class: 'score-bar', 'aria-hidden': 'true' }, h('i', { style: `width:${Math.round(pct * 100)}%` })), (e.score ?? 0).toFixed(2)),
      h('span', { class: 'chg' }, e.change),
      h('span', { class: 'muted' }, e.feature),
      h('span', { class: 'key mono' }, e.key),
      e.record_key && e.record_key !== e.key ? h('span', { class: 'muted mono' }, `(record ${e.record_key})`) : null,
      e.sunk ? h('span', { class: 'muted' }, 'below the noise line') : null,
    ),
  );
  const ev = h('div', { class: 'evidence' });
  // changed fields, before -> after
  if (e.fields && Object.keys(e.fields).length) {
    const vol = new Set(e.volatile_fields || []);
    const dl = h('dl', { class: 'kv' });
    for (const [f, pair] of Object.entries(e.fields)) {
      const [before, after] = Array.isArray(pair) ? pair : [undefined, pair];
      dl.append(h('dt', null, f, vol.has(f) ? ' (volatile)' : ''), h('dd', { class: 'field-change' }, h('code', null, brief(fmtVal(before), 120)), '→', h('code', null, brief(fmtVal(after), 120))));
    }
    ev.append(dl);
  }
  if (e.keys && Object.keys(e.keys).length) {
    const dl = h('dl', { class: 'kv', 'aria-label': 'changed keys' });
    for (const [k, pair] of Object.entries(e.keys)) dl.append(h('dt', null, `key ${k}`), h('dd', { class: 'field-change' }, h('code', null, fmtVal(pair[0])), '→', h('code', null, fmtVal(pair[1]))));
    ev.append(dl);
  }
  if (e.lines?.length) {
    const pre = h('pre', { class: 'lines', 'aria-label': 'changed lines' });
    for (const l of e.lines) pre.append(h('span', { class: l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : '' }, l), l.startsWith('+') || l.startsWith('-') ? '' : '\n');
    ev.append(pre);
  }
  if (e.value !== undefined && e.value !== null) ev.append(jsonDetails(`${e.change === 'removed' ? 'Removed' : 'Added'} record: ${brief(e.value, 110)}`, e.value));
  if (e.folded) ev.append(h('p', null, `Folded: ${e.folded}`));
  if (e.explains?.length) ev.append(h('p', null, `Explains ${e.explains.length} change${e.explains.length === 1 ? '' : 's'}: ${e.explains.join(', ')}`));
  if (e.explained_by) ev.append(h('p', null, `Explained by ${e.explained_by}`));
  const w = e.why || {};
  const why = [];
  if (w.prior !== undefined) why.push(`prior ${(+w.prior).toFixed(2)}${w.rule ? ` (${w.rule}${w.field ? `, field ${w.field}` : ''})` : ''}`);
  if (w.relevance !== undefined) why.push(w.used_by ? `used: ${w.used_by}` : `relevance ${w.relevance}`);
  if (w.peers !== undefined) why.push(`peers ${(+w.peers).toFixed(2)}${w.peer_detail ? ` (${w.peer_detail})` : ''}`);
  if (w.history !== undefined) why.push(`history ${(+w.history).toFixed(2)}`);
  for (const [k, v] of Object.entries(w)) {
    if (['prior', 'rule', 'field', 'relevance', 'used_by', 'peers', 'history', 'peer_detail'].includes(k)) continue;
    why.push(`${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  }
  if (why.length) ev.append(h('p', { class: 'muted why' }, 'Why: ', why.join('; ')));
  li.append(ev);
  return li;
}
