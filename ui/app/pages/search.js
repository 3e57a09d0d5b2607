// pages/search.js: records across every system (GET /api/v1/search, docs/search.md), grouped
// by system, each system's name a link to its page. A bad query shows the server's message with
// a caret under the column it names. URL: #/search?q=QUERY[&at=TIME][&limit=N].

import { getJSON } from '../api.js';
import { h, table, clear } from '../dom.js';
import { ensureCss, getRetry, field, suggestInput, systemLink, pageHash, brief, statusLine } from '../form.js';

export const title = 'Search';

const EXAMPLES = [
  'system kind=container',
  'connection state=LISTEN',
  'process user=root',
  'package name=openssl version<3.0.14',
  'has package name=openssl and has package name=curl',
  'config content~port',
];

export async function render(el, params, app) {
  const css = ensureCss();
  const q = params.q.get('q') || '';
  const at = params.q.get('at') || '';
  const limit = params.q.get('limit') || '';

  el.append(h('h1', null, 'Search'));
  const qIn = h('input', { type: 'search', name: 'q', value: q, autocomplete: 'off', spellcheck: 'false', placeholder: 'package name=openssl version<3.0.14' });
  const atIn = suggestInput(['-1h', '-6h', '-1d'], { name: 'at', value: at, placeholder: 'now', size: 10 });
  const form = h(
    'form',
    {
      class: 'search-form',
      role: 'search',
      'aria-label': 'Search the records of every system',
      onsubmit: (e) => {
        e.preventDefault();
        app.navigate(pageHash('search', { q: qIn.value.trim(), at: atIn.value.trim(), limit }));
      },
    },
    h('div', { class: 'field q' }, h('label', { for: 'search-q' }, 'Query'), qIn),
    field('At', atIn, 'blank: the latest state'),
    atIn.datalist,
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
  );
  qIn.id = 'search-q';
  el.append(form);
  el.append(
    h(
      'p',
      { class: 'examples muted' },
      'Examples: ',
      EXAMPLES.map((x) => h('a', { href: pageHash('search', { q: x }) }, h('code', null, x))),
      ' — a bare word searches every field of every record; ',
      h('code', null, 'and'),
      ', ',
      h('code', null, 'or'),
      ', ',
      h('code', null, 'not'),
      ', ',
      h('code', null, 'has'),
      ' combine selectors (docs/search.md).',
    ),
  );
  const status = statusLine();
  const out = h('section', { class: 'results', 'aria-label': 'Results' });
  el.append(status, out);
  await css;
  if (!q) {
    qIn.focus();
    return;
  }

  status.set('Searching…');
  // A bare word (no field, operator or keyword) is also looked for among the systems' names and
  // images, which the full text search does not cover (the system feature needs a field).
  const bare = /^[^\s=~<>!()"]+$/.test(q) && !/^(and|or|not|has|system|os|process|connection|module|package|config|file|interface|library)$/i.test(q);
  const named = bare
    ? getJSON('/api/v1/search', { q: `system name~"${q}" or system image~"${q}" or system id~"${q}"`, at: at || undefined, limit: 200 }, { signal: app.signal, quiet: true }).catch(() => null)
    : Promise.resolve(null);
  let r;
  try {
    r = await getRetry('/api/v1/search', { q, at: at || undefined, limit: limit || 1000 }, { signal: app.signal, quiet: true });
  } catch (e) {
    if (e.name === 'AbortError' || !app.isCurrent()) return;
    status.set('');
    const col = e.body?.column;
    clear(out).append(
      h('div', { class: 'error', role: 'alert' }, h('p', null, e.body?.error ? `Bad query${col ? ` at column ${col}` : ''}: ${e.body.error}` : e.message), col ? h('pre', { class: 'caret' }, `${q}\n${' '.repeat(Math.max(0, col - 1))}^`) : null),
    );
    qIn.setAttribute('aria-invalid', 'true');
    return;
  }
  if (!app.isCurrent()) return;

  // Group by system, keeping the answer's order (system id, then feature and key).
  const groups = new Map();
  for (const x of r.results) {
    if (!groups.has(x.system)) groups.set(x.system, { system: x.system, name: x.name, rows: [] });
    groups.get(x.system).rows.push(x);
  }
  status.set(
    `${r.systems} system${r.systems === 1 ? '' : 's'}, ${r.total} result${r.total === 1 ? '' : 's'}${r.truncated ? ` (the first ${r.results.length} shown)` : ''}${r.at ? ` at ${r.at}` : ''}.`,
  );
  out.dataset.total = String(r.total);
  clear(out);
  const sys = await named;
  if (!app.isCurrent()) return;
  if (sys?.results?.length) {
    const seen = new Set();
    const list = h('ul', { class: 'named' });
    for (const x of sys.results) {
      if (seen.has(x.system)) continue;
      seen.add(x.system);
      const v = x.value || {};
      list.append(h('li', { dataset: { system: x.system } }, systemLink(x.system, x.name), ' ', h('span', { class: 'muted' }, [v.kind, v.runtime, v.image].filter(Boolean).join(', '))));
    }
    out.append(h('section', { class: 'named-systems', 'aria-label': 'Systems whose name, image or id matches' }, h('h2', null, `Systems matching “${q}” by name, image or id`), list));
  }
  if (!groups.size) {
    out.append(h('p', null, 'No system has a matching record.'));
    return;
  }
  // Many systems: a summary table of systems first, each linking to its group below.
  if (groups.size > 8) {
    out.append(
      table(
        [
          { key: 'name', label: 'System', fmt: (v, g) => h('a', { href: `#/system/${encodeURIComponent(g.system)}` }, v || g.system) },
          { key: 'system', label: 'Id' },
          { key: 'n', label: 'Results', num: true, value: (g) => g.rows.filter((x) => x.feature).length },
        ],
        [...groups.values()],
        { filter: true, label: 'matching systems', sort: 'n', desc: true },
      ),
    );
  }
  for (const g of groups.values()) {
    const rows = g.rows.filter((x) => x.feature);
    const sec = h(
      'section',
      { 'aria-label': g.name || g.system, dataset: { system: g.system } },
      h('h2', null, systemLink(g.system, g.name), ' ', h('span', { class: 'muted mono' }, g.system), ' ', h('span', { class: 'muted' }, rows.length ? `(${rows.length} record${rows.length === 1 ? '' : 's'})` : '(matches through not)')),
    );
    if (rows.length) {
      sec.append(
        table(
          [
            { key: 'feature', label: 'Feature' },
            { key: 'key', label: 'Key', fmt: (v) => h('span', { class: 'mono' }, v) },
            { key: 'value', label: 'Value', text: (x) => JSON.stringify(x.value), fmt: (v) => valueCell(v) },
          ],
          rows,
          { label: `records of ${g.name || g.system}`, limit: 50 },
        ),
      );
    }
    out.append(sec);
  }
}

function valueCell(v) {
  const s = brief(v, 200);
  if (JSON.stringify(v).length <= 200) return h('span', { class: 'val mono' }, s);
  return h('details', { class: 'json' }, h('summary', { class: 'mono' }, s), h('pre', null, JSON.stringify(v, null, 2)));
}
