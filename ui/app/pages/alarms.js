// pages/alarms.js: the alarms (docs/alarms.md). Their states per system, coloured as CloudWatch
// does (red ALARM, grey INSUFFICIENT_DATA, plain OK); the alarms with Edit, Backtest,
// Silence, Acknowledge and Delete; silences and acknowledgements; the history (state changes,
// the notification log, configuration changes: GET /api/v1/alarms/history?type=); and a form
// that defines an alarm, previews it with a backtest (POST /api/v1/alarms/NAME/test: the
// metric over the backtest range from /api/v1/chart, the threshold as a line, the transitions
// as markers and a table) and saves it (PUT /api/v1/alarms/NAME). States and history refresh
// every 10 s. URL: #/alarms[?edit=NAME][&history=state|action|config].

import { send } from '../api.js';
import { h, table, clear, fmtTime, fmtAge, fmtDuration } from '../dom.js';
import { lineChart } from '../chart.js';
import { ensureCss, getRetry, field, select, suggestInput, stateBadge, systemLink, statusLine, brief } from '../form.js';

export const title = 'Alarms';

const STATS = ['avg', 'min', 'max', 'sum', 'count', 'p50', 'p90', 'p95', 'p99'];
const COMPARISONS = [
  ['>', '> greater than'],
  ['>=', '>= greater or equal'],
  ['<', '< less than'],
  ['<=', '<= less or equal'],
];
const MISSING = [
  ['missing', 'missing (INSUFFICIENT_DATA)'],
  ['notBreaching', 'notBreaching (good)'],
  ['breaching', 'breaching (bad)'],
  ['ignore', 'ignore (keep the state)'],
];
const RULES = ['listen', 'package', 'config', 'process_gone'];
const RANGES = [
  ['15m', 'the last 15 minutes'],
  ['1h', 'the last hour'],
  ['6h', 'the last 6 hours'],
  ['24h', 'the last 24 hours'],
];

let timer = null;
let charts = [];

export function dispose() {
  if (timer) clearInterval(timer);
  timer = null;
  for (const c of charts) c.destroy();
  charts = [];
}

const isActive = (s) => !s.until || Date.parse(s.until) > Date.now();

function condition(d) {
  if (d.type === 'drift' || d.rule) return `drift rule ${d.rule}${d.pattern ? ` ${d.pattern}` : ''}`;
  const m = d.datapoints ?? d.evaluation_periods ?? 1;
  const n = d.evaluation_periods ?? 1;
  return `${d.stat} over ${fmtDuration(+d.period)} ${d.comparison} ${d.threshold}, ${m} of ${n}, missing: ${d.missing}`;
}

export async function render(el, params, app) {
  const css = ensureCss();
  const q = params.q;
  el.append(h('h1', null, 'Alarms'));

  const [alarms, sys] = await Promise.all([getRetry('/api/v1/alarms', null, { signal: app.signal }), getRetry('/api/v1/systems', null, { signal: app.signal })]);
  if (!app.isCurrent()) return;
  const systems = sys.systems.slice().sort((a, b) => a.gone - b.gone || String(a.name).localeCompare(String(b.name)));
  const sysById = new Map(systems.map((s) => [s.id, s]));
  const state = { alarms, history: q.get('history') || 'state', historyAlarm: '' };

  // --- States -------------------------------------------------------------------------
  const counts = h('p', { class: 'muted', 'aria-live': 'polite' });
  el.append(h('h2', { id: 'states' }, 'States'), counts);
  const silencedFor = (a, system) => (a.silences || []).filter((s) => isActive(s) && (s.system === '*' || s.system === system));
  const stateRows = (list) => {
    const rows = [];
    for (const a of list) {
      if (!a.states?.length) rows.push({ alarm: a.name, a, s: null });
      for (const s of a.states || []) rows.push({ alarm: a.name, a, s });
    }
    return rows;
  };
  const order = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };
  const states = table(
    [
      { key: 'alarm', label: 'Alarm' },
      { key: 'system', label: 'System', value: (r) => r.s?.system_name || r.s?.system || '', fmt: (v, r) => (r.s ? systemLink(r.s.system, r.s.system_name) : h('span', { class: 'muted' }, 'no system yet')) },
      {
        key: 'state',
        label: 'State',
        value: (r) => r.s?.state || '',
        sort: (r) => order[r.s?.state] ?? 3,
        fmt: (v, r) => {
          const b = r.s ? stateBadge(r.s.state, r.s) : h('span', { class: 'muted' }, '—');
          const mutes = r.s ? silencedFor(r.a, r.s.system) : [];
          return mutes.length ? h('span', null, b, ' ', h('span', { class: 'muted' }, mutes.map((m) => `${m.kind === 'ack' ? 'acknowledged' : 'silenced'} until ${fmtTime(m.until)}`).join('; '))) : b;
        },
      },
      { key: 'labels', label: 'Series', value: (r) => (r.s && Object.keys(r.s.labels || {}).length ? Object.entries(r.s.labels).map(([k, v]) => `${k}=${v}`).join(', ') : '') },
      { key: 'since', label: 'Since', value: (r) => r.s?.since || '', fmt: (v) => (v ? h('span', { title: v }, `${fmtTime(v)} (${fmtAge(v)})`) : '') },
      { key: 'reason', label: 'Reason', value: (r) => r.s?.reason || '', fmt: (v) => (v.length > 140 ? h('details', { class: 'reason' }, h('summary', null, brief(v, 140)), v) : h('span', { class: 'reason' }, v)) },
    ],
    stateRows(alarms),
    { filter: true, label: 'alarm states', sort: 'state', empty: 'No alarm yet: define one below' },
  );
  el.append(states);

  // --- Alarms ---------------------------------------------------------------------------
  el.append(h('h2', { id: 'defs' }, 'Alarms'));
  const defs = table(
    [
      { key: 'name', label: 'Name' },
      { key: 'source', label: 'Source', value: (a) => a.source },
      { key: 'watch', label: 'Watches', value: (a) => a.definition.metric || a.definition.expr || (a.definition.rule ? `rule ${a.definition.rule}` : ''), fmt: (v) => h('code', null, v) },
      { key: 'who', label: 'Systems', value: (a) => (a.definition.system ? `system ${a.definition.system}` : `selector ${a.definition.selector}`) },
      { key: 'cond', label: 'Condition', value: (a) => condition(a.definition) },
      { key: 'actions', label: 'Actions', value: (a) => ['webhook', 'alertmanager', 'command'].filter((k) => a.definition[k]).map((k) => `${k} ${a.definition[k]}`).join('; ') },
      { key: 'silences', label: 'Silences', value: (a) => (a.silences || []).filter(isActive).map((s) => `${s.kind} ${s.system === '*' ? 'every system' : sysById.get(s.system)?.name || s.system} until ${fmtTime(s.until)}${s.comment ? `: ${s.comment}` : ''}`).join('; ') },
      {
        key: 'ops',
        label: 'Actions on it',
        value: () => '',
        fmt: (v, a) =>
          h(
            'div',
            { class: 'alarm-actions' },
            h('button', { type: 'button', onclick: () => editAlarm(a), 'aria-label': `Edit ${a.name}`, disabled: a.source === 'file', title: a.source === 'file' ? 'defined in the config file' : null }, 'Edit'),
            h('button', { type: 'button', onclick: () => editAlarm(a, true), 'aria-label': `Backtest ${a.name}` }, 'Backtest'),
            h('button', { type: 'button', onclick: () => muteForm(a, 'silence'), 'aria-label': `Silence ${a.name}` }, 'Silence'),
            h('button', { type: 'button', onclick: () => muteForm(a, 'ack'), 'aria-label': `Acknowledge ${a.name}` }, 'Ack'),
            h('button', { type: 'button', class: 'danger', onclick: () => del(a), 'aria-label': `Delete ${a.name}`, disabled: a.source === 'file', title: a.source === 'file' ? 'defined in the config file: remove its [alarm] section' : null }, 'Delete'),
          ),
      },
    ],
    alarms,
    { filter: true, label: 'alarms', sort: 'name', empty: 'No alarm yet' },
  );
  const defsStatus = statusLine();
  el.append(defs, defsStatus);

  // --- Silence / acknowledge ----------------------------------------------------------
  const mAlarm = select(alarms.map((a) => a.name), '', { name: 'mute-alarm' });
  const mSystem = select([['', 'every system of the alarm']], '', { name: 'mute-system' });
  const mKind = select(
    [
      ['silence', 'silence: mute its actions'],
      ['ack', 'acknowledge a state in ALARM'],
    ],
    'silence',
    { name: 'mute-kind' },
  );
  const mFor = suggestInput(['30m', '1h', '2h', '8h', '1d'], { name: 'mute-for', value: '1h' });
  const mComment = h('input', { type: 'text', name: 'mute-comment', placeholder: 'deploying' });
  const mStatus = statusLine();
  const fillMuteSystems = () => {
    const a = state.alarms.find((x) => x.name === mAlarm.value);
    clear(mSystem).append(h('option', { value: '' }, 'every system of the alarm'));
    for (const s of a?.states || []) mSystem.append(h('option', { value: s.system }, s.system_name || s.system));
  };
  mAlarm.addEventListener('change', fillMuteSystems);
  fillMuteSystems();
  const muteSection = h(
    'form',
    {
      id: 'mute',
      'aria-labelledby': 'mute-h',
      onsubmit: async (e) => {
        e.preventDefault();
        if (!mAlarm.value) return;
        const body = { for: mFor.value.trim() || '1h' };
        if (mSystem.value) body.system = mSystem.value;
        if (mComment.value.trim()) body.comment = mComment.value.trim();
        try {
          await send('POST', `/api/v1/alarms/${encodeURIComponent(mAlarm.value)}/${mKind.value}`, body, { quiet: true });
          mStatus.set(`${mKind.value === 'ack' ? 'Acknowledged' : 'Silenced'} ${mAlarm.value} for ${body.for}.`, 'ok');
          refresh();
        } catch (err) {
          mStatus.set(err.message, 'error');
        }
      },
    },
    h('h2', { id: 'mute-h' }, 'Silence or acknowledge'),
    h('div', { class: 'form-grid' }, field('Alarm', mAlarm), field('System', mSystem), field('What', mKind), field('For', mFor, '30m, 2h, 1d'), field('Comment', mComment)),
    mFor.datalist,
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Apply')),
    mStatus,
  );
  el.append(muteSection);
  function muteForm(a, kind) {
    mAlarm.value = a.name;
    fillMuteSystems();
    mKind.value = kind;
    muteSection.scrollIntoView({ block: 'nearest' });
    mFor.focus();
  }
  async function del(a) {
    if (!window.confirm(`Delete the alarm ${a.name} with its states?`)) return;
    try {
      await send('DELETE', `/api/v1/alarms/${encodeURIComponent(a.name)}`, undefined, { quiet: true });
      defsStatus.set(`Deleted ${a.name}.`, 'ok');
      refresh();
    } catch (err) {
      defsStatus.set(err.message, 'error');
    }
  }

  // --- History -----------------------------------------------------------------------------
  const histTypes = [
    ['state', 'State changes'],
    ['action', 'Notification log'],
    ['config', 'Configuration'],
  ];
  const seg = h('div', { class: 'seg', role: 'radiogroup', 'aria-label': 'History type' });
  const segButtons = histTypes.map(([v, t]) =>
    h(
      'button',
      {
        type: 'button',
        role: 'radio',
        'aria-checked': String(v === state.history),
        tabindex: v === state.history ? '0' : '-1',
        dataset: { type: v },
        onclick: () => setHistory(v),
        onkeydown: (e) => {
          const i = histTypes.findIndex((x) => x[0] === state.history);
          if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
            e.preventDefault();
            const n = histTypes[(i + (e.key === 'ArrowRight' ? 1 : histTypes.length - 1)) % histTypes.length][0];
            setHistory(n);
            segButtons.find((b) => b.dataset.type === n).focus();
          }
        },
      },
      t,
    ),
  );
  seg.append(...segButtons);
  const hAlarm = select([['', 'every alarm'], ...alarms.map((a) => [a.name, a.name])], '', { name: 'history-alarm' });
  hAlarm.addEventListener('change', () => {
    state.historyAlarm = hAlarm.value;
    loadHistory();
  });
  const histCols = {
    base: [
      { key: 'time', label: 'Time', fmt: (v) => h('span', { title: v }, fmtTime(v)) },
      { key: 'alarm', label: 'Alarm' },
      { key: 'system', label: 'System', value: (r) => r.data?.system_name || sysById.get(r.system)?.name || r.system || '', fmt: (v, r) => (r.system ? systemLink(r.system, v) : h('span', { class: 'muted' }, 'every system')) },
    ],
    state: [
      { key: 'change', label: 'Change', value: (r) => (r.data?.from ? `${r.data.from} → ${r.data.to}` : ''), fmt: (v, r) => (r.data?.to ? h('span', null, stateBadge(r.data.from), ' → ', stateBadge(r.data.to)) : '') },
      { key: 'summary', label: 'Reason', fmt: (v) => (v && v.length > 160 ? h('details', { class: 'reason' }, h('summary', null, brief(v, 160)), v) : v) },
    ],
    action: [
      { key: 'action', label: 'Action', value: (r) => r.data?.action || '' },
      { key: 'target', label: 'Target', value: (r) => r.data?.target || '' },
      { key: 'ok', label: 'Result', value: (r) => (r.data?.ok === undefined ? '' : r.data.ok ? 'ok' : 'failed'), fmt: (v, r) => (v === 'failed' ? h('span', { class: 'state st-alarm' }, r.data.final ? 'failed (final)' : 'failed') : v) },
      { key: 'status', label: 'Status', value: (r) => r.data?.status ?? '' },
      { key: 'attempt', label: 'Attempt', num: true, value: (r) => r.data?.attempt ?? null },
      { key: 'summary', label: 'Summary', value: (r) => r.summary || r.data?.error || '' },
    ],
    config: [{ key: 'summary', label: 'Change' }],
  };
  const histBox = h('div');
  el.append(
    h('h2', { id: 'history' }, 'History'),
    h('div', { class: 'toolbar' }, seg, field('Alarm', hAlarm)),
    histBox,
  );
  let histTable = null;
  let histType = null;
  function setHistory(v) {
    state.history = v;
    for (const b of segButtons) {
      const on = b.dataset.type === v;
      b.setAttribute('aria-checked', String(on));
      b.tabIndex = on ? 0 : -1;
    }
    loadHistory();
  }
  async function loadHistory() {
    let rows;
    try {
      rows = await getRetry('/api/v1/alarms/history', { type: state.history, alarm: state.historyAlarm || undefined, limit: 300 }, { signal: app.signal, quiet: true });
    } catch (err) {
      if (err.name !== 'AbortError') clear(histBox).append(h('p', { class: 'error' }, err.message));
      return;
    }
    if (!app.isCurrent()) return;
    if (histType !== state.history || !histTable) {
      histType = state.history;
      histTable = table([...histCols.base, ...histCols[state.history]], rows, { filter: true, label: `${histTypes.find((x) => x[0] === state.history)[1].toLowerCase()} events`, empty: 'Nothing in the history yet' });
      clear(histBox).append(histTable);
    } else histTable.update(rows);
  }

  // --- The form ---------------------------------------------------------------------------
  const f = {};
  f.name = h('input', { type: 'text', name: 'name', required: true, pattern: '[A-Za-z0-9_.:-]+', placeholder: 'mem-high', autocomplete: 'off' });
  f.kind = select(
    [
      ['metric', 'a metric'],
      ['expr', 'metric math'],
      ['rule', 'a drift rule'],
    ],
    'metric',
    { name: 'kind' },
  );
  f.metric = suggestInput([], { name: 'metric', placeholder: 'cgroup.mem_usage_bytes' });
  f.expr = h('input', { type: 'text', name: 'expr', placeholder: 'SUM(memory.used_bytes) / SUM(memory.total_bytes) * 100', spellcheck: 'false' });
  f.rule = select(RULES, 'listen', { name: 'rule' });
  f.pattern = h('input', { type: 'text', name: 'pattern', placeholder: '4444, nginx*, /etc/app/*' });
  f.target = select(
    [
      ['system', 'one system'],
      ['selector', 'a selector'],
    ],
    'system',
    { name: 'target' },
  );
  f.system = select(
    systems.map((s) => [s.name || s.id, `${s.name} (${s.kind}${s.gone ? ', gone' : ''})`]),
    '',
    { name: 'system' },
  );
  f.selector = h('input', { type: 'text', name: 'selector', placeholder: 'name=web-*,kind=container', spellcheck: 'false' });
  f.stat = select(STATS, 'avg', { name: 'stat' });
  f.period = suggestInput(['10s', '30s', '1m', '5m', '15m', '1h'], { name: 'period', value: '1m' });
  f.n = h('input', { type: 'number', name: 'evaluation_periods', min: '1', value: '1', inputmode: 'numeric' });
  f.m = h('input', { type: 'number', name: 'datapoints', min: '1', value: '1', inputmode: 'numeric' });
  f.comparison = select(COMPARISONS, '>', { name: 'comparison' });
  f.threshold = h('input', { type: 'number', name: 'threshold', step: 'any', value: '0' });
  f.missing = select(MISSING, 'missing', { name: 'missing' });
  f.webhook = h('input', { type: 'url', name: 'webhook', placeholder: 'http://127.0.0.1:9099/hook' });
  f.severity = h('input', { type: 'text', name: 'severity', placeholder: 'critical' });
  f.description = h('input', { type: 'text', name: 'description' });
  f.range = select(RANGES, '1h', { name: 'range' });
  const fStatus = statusLine();

  const wrapOf = {};
  const fld = (key, label, hint) => (wrapOf[key] = field(label, f[key], hint));
  const formEl = h(
    'form',
    { id: 'alarm-form', 'aria-labelledby': 'form-h', novalidate: true, onsubmit: (e) => (e.preventDefault(), save()) },
    h('h2', { id: 'form-h' }, 'Define an alarm'),
    h('p', { class: 'muted' }, 'Backtest replays the stored data through the definition without saving it; Save creates the alarm, or replaces the one of that name.'),
    h(
      'fieldset',
      null,
      h('legend', null, 'What it watches'),
      h(
        'div',
        { class: 'form-grid' },
        fld('name', 'Name', 'letters, digits, . _ - :'),
        fld('kind', 'Watch'),
        fld('metric', 'Metric', 'a stored series: disk.used_pct{mountpoint="/"}'),
        fld('expr', 'Expression', 'RATE(), FILL(), SUM(), AVG(), MAX(), MIN(), ABS(), + - * /'),
        fld('rule', 'Rule'),
        fld('pattern', 'Pattern', 'a shell glob; required for process_gone'),
        fld('target', 'Systems'),
        fld('system', 'System'),
        fld('selector', 'Selector', 'key=glob terms: name, kind, image, runtime, host, id, labels'),
      ),
      f.metric.datalist,
      f.period.datalist,
    ),
    h(
      'fieldset',
      { id: 'cond-set' },
      h('legend', null, 'When'),
      h(
        'div',
        { class: 'form-grid' },
        fld('stat', 'Statistic'),
        fld('period', 'Period', 'one datapoint: 10s, 1m, 5m'),
        fld('m', 'Datapoints to alarm (M)', 'M breaching of the last N'),
        fld('n', 'Evaluation periods (N)'),
        fld('comparison', 'Comparison'),
        fld('threshold', 'Threshold'),
        fld('missing', 'Missing data'),
      ),
    ),
    h(
      'fieldset',
      null,
      h('legend', null, 'Notify'),
      h('div', { class: 'form-grid' }, fld('webhook', 'Webhook URL', 'an Alertmanager-shaped POST on every state change'), fld('severity', 'Severity'), fld('description', 'Description')),
    ),
    h(
      'div',
      { class: 'buttons' },
      field('Backtest over', f.range),
      h('button', { type: 'button', id: 'bt-run', onclick: () => backtest() }, 'Backtest'),
      h('button', { type: 'submit', class: 'primary', id: 'save' }, 'Save'),
      h('button', { type: 'button', onclick: () => resetForm() }, 'Clear'),
    ),
    fStatus,
  );
  const btBox = h('section', { class: 'bt', 'aria-label': 'Backtest preview', 'aria-live': 'polite' });
  el.append(formEl, btBox);

  const syncKind = () => {
    const k = f.kind.value;
    wrapOf.metric.hidden = k !== 'metric';
    wrapOf.expr.hidden = k !== 'expr';
    wrapOf.rule.hidden = k !== 'rule';
    wrapOf.pattern.hidden = k !== 'rule';
    document.getElementById('cond-set').hidden = k === 'rule';
    wrapOf.system.hidden = f.target.value !== 'system';
    wrapOf.selector.hidden = f.target.value !== 'selector';
  };
  f.kind.addEventListener('change', syncKind);
  f.target.addEventListener('change', syncKind);
  syncKind();

  // Metric names of the chosen system (or of the first system) as suggestions.
  const metricCache = new Map();
  async function suggestMetrics() {
    const s = f.target.value === 'system' ? systems.find((x) => (x.name || x.id) === f.system.value) : systems.find((x) => !x.gone);
    if (!s) return;
    let names = metricCache.get(s.id);
    if (!names) {
      try {
        names = (await getRetry(`/api/v1/systems/${encodeURIComponent(s.id)}/metrics`, null, { quiet: true, signal: app.signal })).metrics;
      } catch {
        names = [];
      }
      metricCache.set(s.id, names);
    }
    clear(f.metric.datalist).append(...names.map((n) => h('option', { value: n })));
  }
  f.system.addEventListener('change', suggestMetrics);
  f.target.addEventListener('change', suggestMetrics);
  suggestMetrics();

  function definition() {
    const d = {};
    const k = f.kind.value;
    if (k === 'metric') d.metric = f.metric.value.trim();
    else if (k === 'expr') d.expr = f.expr.value.trim();
    else {
      d.rule = f.rule.value;
      if (f.pattern.value.trim()) d.pattern = f.pattern.value.trim();
    }
    if (f.target.value === 'system') d.system = f.system.value;
    else d.selector = f.selector.value.trim();
    if (k !== 'rule') {
      d.stat = f.stat.value;
      d.period = f.period.value.trim() || '60s';
      d.evaluation_periods = Number(f.n.value) || 1;
      d.datapoints = Number(f.m.value) || d.evaluation_periods;
      d.comparison = f.comparison.value;
      d.threshold = Number(f.threshold.value);
      d.missing = f.missing.value;
    }
    for (const key of ['webhook', 'severity', 'description']) if (f[key].value.trim()) d[key] = f[key].value.trim();
    return d;
  }
  const alarmName = () => f.name.value.trim();

  function check() {
    if (!alarmName() || !/^[A-Za-z0-9_.:-]+$/.test(alarmName())) return fail(f.name, 'Give the alarm a name: letters, digits, . _ - :');
    if (f.kind.value === 'metric' && !f.metric.value.trim()) return fail(f.metric, 'Name the metric to watch.');
    if (f.kind.value === 'expr' && !f.expr.value.trim()) return fail(f.expr, 'Write the expression.');
    if (f.target.value === 'selector' && !f.selector.value.trim()) return fail(f.selector, 'Write the selector, or choose one system.');
    if (f.kind.value !== 'rule' && f.threshold.value.trim() === '') return fail(f.threshold, 'Give a threshold.');
    for (const x of Object.values(f)) x.removeAttribute?.('aria-invalid');
    return true;
  }
  function fail(input, msg) {
    input.setAttribute('aria-invalid', 'true');
    fStatus.set(msg, 'error');
    input.focus();
    return false;
  }

  async function save() {
    if (!check()) return;
    try {
      const a = await send('PUT', `/api/v1/alarms/${encodeURIComponent(alarmName())}`, definition(), { quiet: true });
      fStatus.set(`Saved ${a.name}.`, 'ok');
      refresh();
    } catch (err) {
      fStatus.set(err.message, 'error');
    }
  }

  function resetForm() {
    formEl.reset();
    syncKind();
    fStatus.set('');
    for (const c of charts) c.destroy();
    charts = [];
    clear(btBox);
    f.name.focus();
  }

  function editAlarm(a, run) {
    const d = a.definition;
    f.name.value = a.name;
    f.kind.value = d.expr ? 'expr' : d.rule ? 'rule' : 'metric';
    f.metric.value = d.metric || '';
    f.expr.value = d.expr || '';
    if (d.rule) f.rule.value = d.rule;
    f.pattern.value = d.pattern || '';
    f.target.value = d.selector ? 'selector' : 'system';
    if (d.system) {
      const s = systems.find((x) => x.id === d.system || x.name === d.system);
      const v = s ? s.name || s.id : d.system;
      if (![...f.system.options].some((o) => o.value === v)) f.system.append(h('option', { value: v }, v));
      f.system.value = v;
    }
    f.selector.value = d.selector || '';
    if (d.stat) f.stat.value = STATS.includes(d.stat) ? d.stat : 'avg';
    if (d.period) f.period.value = `${d.period}s`;
    f.n.value = d.evaluation_periods ?? 1;
    f.m.value = d.datapoints ?? d.evaluation_periods ?? 1;
    if (d.comparison) f.comparison.value = d.comparison;
    f.threshold.value = d.threshold ?? 0;
    if (d.missing) f.missing.value = d.missing;
    f.webhook.value = d.webhook || '';
    f.severity.value = d.severity || '';
    f.description.value = d.description || '';
    syncKind();
    suggestMetrics();
    formEl.scrollIntoView({ block: 'start' });
    f.name.focus();
    if (run) backtest();
  }

  // --- Backtest ---------------------------------------------------------------------------
  async function backtest() {
    if (!check()) return;
    const def = definition();
    fStatus.set('Backtesting…');
    let bt;
    try {
      bt = await send('POST', `/api/v1/alarms/${encodeURIComponent(alarmName())}/test?since=${encodeURIComponent(f.range.value)}`, def, { quiet: true });
    } catch (err) {
      fStatus.set(err.message, 'error');
      return;
    }
    if (!app.isCurrent()) return;
    fStatus.set(`Backtest over ${RANGES.find((r) => r[0] === f.range.value)?.[1] || f.range.value}: ${bt.transitions.length} transition${bt.transitions.length === 1 ? '' : 's'}.`, 'ok');
    await drawBacktest(bt, def);
  }

  async function drawBacktest(bt, def) {
    for (const c of charts) c.destroy();
    charts = [];
    clear(btBox);
    const from = Date.parse(bt.from);
    const to = Date.parse(bt.to);
    btBox.append(h('h3', null, `Backtest of ${bt.alarm}: ${fmtTime(from)} to ${fmtTime(to)}`));
    const info = { transitions: bt.transitions.length, series: 0, points: 0, threshold: def.threshold ?? null, drawn: false };
    window.__vantage_backtest = info;
    if (def.metric) {
      // the systems to draw: the alarm's one system, else those the transitions name (at most 6)
      let ids = [];
      if (def.system) {
        const s = systems.find((x) => x.id === def.system || x.name === def.system);
        if (s) ids = [s.id];
      }
      if (!ids.length) ids = [...new Set(bt.transitions.map((t) => t.system))].slice(0, 6);
      const m = /^([^{]+)(?:\{(.*)\})?$/.exec(def.metric.trim());
      const base = m ? m[1].trim() : def.metric;
      const want = {};
      for (const part of (m?.[2] || '').split(',')) {
        const mm = /^\s*([A-Za-z_][\w.]*)\s*=\s*"?([^"]*)"?\s*$/.exec(part);
        if (mm) want[mm[1]] = mm[2];
      }
      const chartBox = h('div', { class: 'bt-chart chart-card' });
      btBox.append(chartBox);
      const width = Math.max(400, chartBox.clientWidth || 800);
      const answers = await Promise.all(ids.map((id) => chartData(id, base, from, to, width)));
      if (!app.isCurrent()) return;
      const series = [];
      answers.forEach((ans, i) => {
        for (const s of ans || []) {
          if (!Object.entries(want).every(([k, v]) => s.labels?.[k] === v)) continue;
          const lab = Object.entries(s.labels || {}).map(([k, v]) => `${k}=${v}`).join(',');
          series.push({ label: `${sysById.get(ids[i])?.name || ids[i]}${lab ? ` {${lab}}` : ''}`, t: s.t, v: s.v });
        }
      });
      info.series = series.length;
      info.points = series.reduce((n, s) => n + s.t.length, 0);
      if (!ids.length) chartBox.append(h('p', { class: 'muted' }, 'No system to draw: the selector matched none with a transition in this range.'));
      else {
        const chart = lineChart(chartBox, {
          title: `Backtest ${bt.alarm}`,
          series,
          thresholds: [{ label: `threshold ${def.comparison} ${def.threshold}`, value: def.threshold }],
          markers: bt.transitions.map((t) => ({ label: `${t.system_name}: ${t.from} → ${t.to}`, t: Date.parse(t.time) / 1000 })),
          height: 240,
        });
        charts.push(chart);
        chartBox.append(
          h('p', { class: 'bt-legend muted' }, `${def.metric} as stored (at most two points per pixel); dashed red: the threshold; dotted vertical lines: the transitions below. The alarm evaluates the ${def.stat} of each ${def.period} period.`),
        );
        info.drawn = info.points > 0;
      }
    } else {
      btBox.append(h('p', { class: 'muted' }, def.expr ? 'An expression alarm: its transitions follow (the chart draws stored series only).' : 'A drift rule alarm: its transitions follow.'));
    }
    btBox.append(
      table(
        [
          { key: 'time', label: 'Time', fmt: (v) => h('span', { title: v }, fmtTime(v)) },
          { key: 'system_name', label: 'System', fmt: (v, t) => systemLink(t.system, v) },
          { key: 'labels', label: 'Series', value: (t) => Object.entries(t.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ') },
          { key: 'change', label: 'Change', value: (t) => `${t.from} → ${t.to}`, fmt: (v, t) => h('span', null, stateBadge(t.from), ' → ', stateBadge(t.to)) },
          { key: 'reason', label: 'Reason', fmt: (v) => (v && v.length > 160 ? h('details', { class: 'reason' }, h('summary', null, brief(v, 160)), v) : v) },
        ],
        bt.transitions,
        { label: 'backtest transitions', sort: 'time', empty: 'No transition in this range' },
      ),
    );
  }

  async function chartData(id, metric, from, to, width) {
    try {
      const d = await getRetry('/api/v1/chart', { system: id, metric, from, to, width }, { quiet: true, signal: app.signal });
      return d.series;
    } catch (err) {
      if (err.status !== 404 || err.body?.parameter) return [];
      // no chart endpoint (an older daemon): the series endpoint at about one point per 2 px
      try {
        const step = Math.max(1, Math.round((to - from) / 1000 / (width / 2)));
        const d = await getRetry(`/api/v1/systems/${encodeURIComponent(id)}/metrics/${encodeURIComponent(metric)}`, { since: (from / 1000).toFixed(3), until: (to / 1000).toFixed(3), step: `${step}s` }, { quiet: true, signal: app.signal });
        const list = d.series || [{ labels: d.labels, points: d.points }];
        return list.map((s) => ({ labels: s.labels, t: s.points.map((p) => Date.parse(p[0]) / 1000), v: s.points.map((p) => p[1]) }));
      } catch {
        return [];
      }
    }
  }

  // --- Refresh -------------------------------------------------------------------------------
  function showCounts(list) {
    const c = { ALARM: 0, INSUFFICIENT_DATA: 0, OK: 0 };
    let n = 0;
    for (const a of list) for (const s of a.states || []) (c[s.state] = (c[s.state] || 0) + 1), n++;
    counts.textContent = `${list.length} alarm${list.length === 1 ? '' : 's'}, ${n} state${n === 1 ? '' : 's'}: ${c.ALARM} in ALARM, ${c.INSUFFICIENT_DATA} INSUFFICIENT_DATA, ${c.OK} OK.`;
  }
  async function refresh() {
    let list;
    try {
      list = await getRetry('/api/v1/alarms', null, { quiet: true, signal: app.signal });
    } catch {
      return;
    }
    if (!app.isCurrent()) return;
    state.alarms = list;
    states.update(stateRows(list));
    defs.update(list);
    showCounts(list);
    const keep = mAlarm.value;
    clear(mAlarm).append(...list.map((a) => h('option', { value: a.name, selected: a.name === keep }, a.name)));
    fillMuteSystems();
    const keepH = hAlarm.value;
    clear(hAlarm).append(h('option', { value: '' }, 'every alarm'), ...list.map((a) => h('option', { value: a.name, selected: a.name === keepH }, a.name)));
    loadHistory();
  }
  showCounts(alarms);
  await css;
  await loadHistory();
  const edit = q.get('edit');
  if (edit) {
    const a = alarms.find((x) => x.name === edit);
    if (a) editAlarm(a);
  }
  timer = setInterval(() => {
    if (document.visibilityState === 'visible') refresh();
  }, 10000);
}
