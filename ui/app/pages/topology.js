// pages/topology.js: who talks to whom (GET /api/v1/topology, docs/topology.md) drawn with
// cytoscape (the global `cytoscape`): systems and outside endpoints as nodes (kind by shape and
// colour), edges labelled with their port, connections and bytes/s. Click a node, or focus the
// graph and walk its nodes with the arrow keys and press Enter, to open its system's page. The
// same edges and nodes follow as tables, for keyboard and screen-reader users.
// URL: #/topology?group_by=none|host|image&at=TIME&connected=1

import { h, table, clear, fmtNum } from '../dom.js';
import { ensureCss, getRetry, select, field, suggestInput, systemLink, pageHash, fmtRate } from '../form.js';

export const title = 'Topology';

// Shape and colour per node kind (the legend repeats them in words).
const KINDS = {
  host: { shape: 'round-rectangle', color: '#1f6fd1', label: 'host' },
  container: { shape: 'ellipse', color: '#15803d', label: 'container' },
  vm: { shape: 'hexagon', color: '#7c3aed', label: 'VM' },
  image: { shape: 'barrel', color: '#0e7490', label: 'image (grouped)' },
  external: { shape: 'diamond', color: '#6b7280', label: 'outside endpoint' },
};
const OPENABLE = new Set(['host', 'container', 'vm']);

let cy = null;

export function dispose() {
  if (cy) cy.destroy();
  cy = null;
}

function edgeTraffic(e) {
  const b = e.bytes_per_s;
  if (!b) return null;
  return (b.to_server || 0) + (b.to_client || 0);
}

function edgeLabel(e) {
  const parts = [];
  if (e.port !== null && e.port !== undefined) parts.push(`:${e.port}`);
  const b = e.bytes_per_s;
  if (b) {
    parts.push(`${fmtRate(b.to_server)} → ${fmtRate(b.to_client)} ←`);
  }
  if (!b || e.connections > 1) parts.push(`${e.connections} conn${e.connections === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

function listening(n) {
  return (n.listening || []).map((l) => `${l.proto} ${l.addr}:${l.port}${l.comm ? ` (${l.comm})` : ''}`).join(', ');
}

export async function render(el, params, app) {
  window.__vantage_topology = null;
  const css = ensureCss();
  const q = params.q;
  const groupBy = q.get('group_by') || 'none';
  const at = q.get('at') || '';
  const connectedOnly = q.get('connected') === '1';

  el.append(h('h1', null, 'Topology'));

  // The toolbar: grouping, time, only connected nodes.
  const gsel = select(
    [
      ['none', 'each system'],
      ['host', 'host'],
      ['image', 'image'],
    ],
    groupBy,
    { name: 'group_by' },
  );
  const atIn = suggestInput(['-5m', '-15m', '-1h', '-6h', '-1d'], { name: 'at', value: at, placeholder: 'now', size: 14 });
  const conn = h('input', { type: 'checkbox', id: 'topo-connected', checked: connectedOnly });
  const go = () => app.navigate(pageHash('topology', { group_by: gsel.value === 'none' ? '' : gsel.value, at: atIn.value.trim(), connected: conn.checked ? '1' : '' }));
  const form = h(
    'form',
    { class: 'toolbar', 'aria-label': 'Topology options', onsubmit: (e) => (e.preventDefault(), go()) },
    field('Group by', gsel),
    field('At', atIn, 'blank: now; -1h, ISO time'),
    atIn.datalist,
    h('div', { class: 'inline' }, conn, h('label', { for: 'topo-connected' }, 'Only nodes with connections')),
    h('button', { type: 'submit' }, 'Show'),
  );
  gsel.addEventListener('change', go);
  conn.addEventListener('change', go);
  el.append(form);

  const g = await getRetry('/api/v1/topology', { group_by: groupBy === 'none' ? undefined : groupBy, at: at || undefined }, { signal: app.signal });
  if (!app.isCurrent()) return;

  const linked = new Set();
  for (const e of g.edges) {
    linked.add(e.from);
    linked.add(e.to);
  }
  const nodes = connectedOnly ? g.nodes.filter((n) => linked.has(n.id)) : g.nodes;
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const degree = new Map();
  for (const e of g.edges) {
    degree.set(e.from, (degree.get(e.from) || 0) + 1);
    degree.set(e.to, (degree.get(e.to) || 0) + 1);
  }
  const nameOf = (id) => byId.get(id)?.name || id;

  el.append(
    h(
      'p',
      { class: 'topo-summary muted' },
      `${g.systems} systems, ${g.connections} connections${g.unresolved ? ` (${g.unresolved} to outside endpoints)` : ''}, ${g.nodes.length} nodes, ${g.edges.length} edges`,
      g.time ? ` at ${g.time}` : ', latest frames',
      connectedOnly ? `; ${g.nodes.length - nodes.length} nodes without connections hidden` : '',
      '.',
    ),
  );

  const legend = h(
    'div',
    { class: 'topo-legend', 'aria-hidden': 'true' },
    Object.values(KINDS).map((k) => h('span', { style: `--sw: ${k.color}` }, `${k.label} (${k.shape.replace('round-', 'rounded ')})`)),
  );
  const graph = h('div', {
    class: 'topo-graph',
    id: 'topo-graph',
    tabindex: '0',
    role: 'application',
    'aria-roledescription': 'network graph',
    'aria-label': `Topology graph of ${nodes.length} nodes and ${g.edges.length} edges. Arrow keys move between nodes, Enter opens the selected system. The tables below list the same nodes and edges.`,
    'aria-describedby': 'topo-selected',
  });
  const selected = h('p', { class: 'topo-selected', id: 'topo-selected', 'aria-live': 'polite' }, 'Click a node, or focus the graph and use the arrow keys, to select one.');
  el.append(h('div', { class: 'topo-wrap' }, legend, graph, selected));

  // Tables: the edges, then the nodes.
  el.append(h('h2', { id: 'topo-edges' }, 'Edges'));
  el.append(
    table(
      [
        { key: 'from', label: 'From', value: (e) => nameOf(e.from), fmt: (v, e) => nodeLink(byId.get(e.from), e.from) },
        { key: 'to', label: 'To', value: (e) => nameOf(e.to), fmt: (v, e) => nodeLink(byId.get(e.to), e.to) },
        { key: 'port', label: 'Port', num: true },
        { key: 'directed', label: 'Directed', fmt: (v) => (v ? 'yes' : 'no') },
        { key: 'connections', label: 'Connections', num: true },
        { key: 'to_server', label: 'To server', num: true, value: (e) => e.bytes_per_s?.to_server ?? null, fmt: (v) => (v === null ? '—' : fmtRate(v)) },
        { key: 'to_client', label: 'To client', num: true, value: (e) => e.bytes_per_s?.to_client ?? null, fmt: (v) => (v === null ? '—' : fmtRate(v)) },
        { key: 'rtt_ms', label: 'RTT ms', num: true, fmt: (v) => (v === null || v === undefined ? '' : String(+v.toPrecision(3))) },
        { key: 'retransmits', label: 'Retransmits', num: true, fmt: (v) => fmtNum(v) },
      ],
      g.edges,
      { filter: true, label: 'edges', sort: 'to_server', desc: true, empty: 'No connection between the systems' },
    ),
  );
  el.append(h('h2', null, 'Nodes'));
  el.append(
    table(
      [
        { key: 'name', label: 'Name', fmt: (v, n) => nodeLink(n, n.id) },
        { key: 'kind', label: 'Kind' },
        { key: 'image', label: 'Image' },
        { key: 'host', label: 'Host' },
        { key: 'systems', label: 'Systems', num: true },
        { key: 'listening', label: 'Listening', value: listening },
        { key: 'degree', label: 'Edges', num: true, value: (n) => degree.get(n.id) || 0 },
      ],
      nodes,
      { filter: true, label: 'nodes', sort: 'degree', desc: true },
    ),
  );

  await css;
  if (!app.isCurrent()) return;
  window.__vantage_topology = { nodes: nodes.map((n) => ({ id: n.id, name: n.name, kind: n.kind })), edges: g.edges.length, drawn: false };
  drawGraph(graph, selected, nodes, g.edges, app);
}

function nodeLink(n, id) {
  if (!n) return id;
  if (OPENABLE.has(n.kind) && n.systems === 1) return systemLink(n.id, n.name);
  const s = h('span', null, n.name || id);
  if (n.addresses?.length) s.title = n.addresses.join(', ');
  return s;
}

function drawGraph(box, selected, nodes, edges, app) {
  if (typeof cytoscape !== 'function') {
    clear(box).append(h('p', { class: 'error' }, 'The graph library (cytoscape) did not load; the tables below list the topology.'));
    return;
  }
  const cs = getComputedStyle(document.documentElement);
  const fg = cs.getPropertyValue('--fg').trim() || '#1b1d21';
  const bg = cs.getPropertyValue('--bg').trim() || '#ffffff';
  const muted = cs.getPropertyValue('--fg-muted').trim() || '#4f5661';
  const accent = cs.getPropertyValue('--accent').trim() || '#0b57d0';
  const ids = new Set(nodes.map((n) => n.id));
  const traffic = edges.map(edgeTraffic).filter((x) => x !== null);
  const maxT = Math.max(1, ...traffic);
  const elements = [];
  for (const n of nodes) {
    const k = KINDS[n.kind] || KINDS.external;
    elements.push({ group: 'nodes', data: { id: n.id, label: n.name || n.id, kind: n.kind, color: k.color, shape: k.shape, openable: OPENABLE.has(n.kind) && n.systems === 1 ? 1 : 0 } });
  }
  edges.forEach((e, i) => {
    if (!ids.has(e.from) || !ids.has(e.to)) return;
    const t = edgeTraffic(e);
    const w = t === null ? 1 : 1 + 5 * (Math.log1p(t) / Math.log1p(maxT));
    elements.push({ group: 'edges', data: { id: `e${i}`, source: e.from, target: e.to, label: edgeLabel(e), width: w, arrow: e.directed ? 'triangle' : 'none' } });
  });
  const many = nodes.length > 250;
  const started = performance.now();
  cy = cytoscape({
    container: box,
    elements,
    boxSelectionEnabled: false,
    minZoom: 0.05,
    maxZoom: 1.4,
    autoungrabify: false,
    style: [
      {
        selector: 'node',
        style: {
          shape: 'data(shape)',
          'background-color': 'data(color)',
          label: 'data(label)',
          color: fg,
          'font-size': 11,
          'min-zoomed-font-size': 6,
          'text-valign': 'bottom',
          'text-margin-y': 3,
          'text-outline-color': bg,
          'text-outline-width': 2,
          width: 26,
          height: 26,
          'border-width': 1,
          'border-color': bg,
        },
      },
      { selector: 'node[kind = "external"]', style: { 'border-style': 'dashed', 'border-color': muted, 'border-width': 2 } },
      { selector: 'node:selected', style: { 'border-width': 4, 'border-color': accent, 'font-weight': 'bold' } },
      {
        selector: 'edge',
        style: {
          width: 'data(width)',
          'line-color': muted,
          'target-arrow-color': muted,
          'target-arrow-shape': 'data(arrow)',
          'curve-style': 'bezier',
          label: edges.length > 60 ? '' : 'data(label)',
          'min-zoomed-font-size': 7,
          'font-size': 10,
          color: fg,
          'text-rotation': 'none',
          'text-background-color': bg,
          'text-background-opacity': 0.85,
          'text-background-padding': 1,
          'arrow-scale': 0.9,
        },
      },
      { selector: 'edge:selected, edge.near', style: { 'line-color': accent, 'target-arrow-color': accent, label: 'data(label)', 'z-index': 10 } },
    ],
    layout: many
      ? { name: 'grid', animate: false, avoidOverlap: true }
      : { name: 'cose', animate: false, randomize: false, nodeRepulsion: () => 400000, idealEdgeLength: () => 220, nodeOverlap: 20, componentSpacing: 80, numIter: 250, padding: 40 },
  });
  const ro = new ResizeObserver(() => cy && cy.resize());
  ro.observe(box);
  cy.on('destroy', () => ro.disconnect());
  window.__vantage_topology.drawn = true;
  window.__vantage_topology.graph_nodes = cy.nodes().length;
  window.__vantage_topology.graph_edges = cy.edges().length;
  // for tests: where a node is drawn, in pixels from the graph box's top left
  window.__vantage_topology.position = (id) => {
    const n = cy && cy.getElementById(id);
    return n && n.length ? n.renderedPosition() : null;
  };
  window.__vantage_topology.layout_ms = Math.round(performance.now() - started);

  const order = cy.nodes().sort((a, b) => String(a.data('label')).localeCompare(String(b.data('label'))));
  let pos = -1;
  const describe = (n) => {
    const d = n.data();
    const out = n.outgoers('edge').length;
    const inc = n.incomers('edge').length;
    return `${d.label} (${KINDS[d.kind]?.label || d.kind}): ${out} outgoing, ${inc} incoming edge${inc === 1 ? '' : 's'}${d.openable ? '. Enter opens its page.' : '.'}`;
  };
  const choose = (n) => {
    cy.elements().unselect();
    cy.edges('.near').removeClass('near');
    n.select();
    n.connectedEdges().addClass('near');
    pos = order.indexOf(n);
    selected.textContent = describe(n);
  };
  const open = (n) => {
    if (n.data('openable')) app.navigate(`#/system/${encodeURIComponent(n.id())}`);
  };
  cy.on('tap', 'node', (ev) => {
    choose(ev.target);
    open(ev.target);
  });
  cy.on('mouseover', 'node', (ev) => {
    box.style.cursor = ev.target.data('openable') ? 'pointer' : 'default';
  });
  cy.on('mouseout', 'node', () => {
    box.style.cursor = 'default';
  });
  box.addEventListener('keydown', (ev) => {
    if (!order.length) return;
    if (['ArrowRight', 'ArrowDown', 'ArrowLeft', 'ArrowUp', 'Home', 'End'].includes(ev.key)) {
      ev.preventDefault();
      if (ev.key === 'Home') pos = 0;
      else if (ev.key === 'End') pos = order.length - 1;
      else pos = (pos + (ev.key === 'ArrowRight' || ev.key === 'ArrowDown' ? 1 : -1) + order.length) % order.length;
      const n = order[pos];
      choose(n);
      cy.animate({ center: { eles: n } }, { duration: 0 });
    } else if (ev.key === 'Enter' && pos >= 0) {
      ev.preventDefault();
      open(order[pos]);
    } else if (ev.key === '+' || ev.key === '=') {
      cy.zoom({ level: cy.zoom() * 1.25, renderedPosition: { x: box.clientWidth / 2, y: box.clientHeight / 2 } });
    } else if (ev.key === '-') {
      cy.zoom({ level: cy.zoom() / 1.25, renderedPosition: { x: box.clientWidth / 2, y: box.clientHeight / 2 } });
    } else if (ev.key === '0') {
      cy.fit(undefined, 30);
    }
  });
}
