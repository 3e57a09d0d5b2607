// chart.js: time-series charts over uPlot (the global `uPlot`, loaded by index.html).
// lineChart(el, {title, series, limits, thresholds, markers, height, fmt, sync}):
//   series:     [{label, t: [unix s...], v: [...]}]   drawn as lines
//   limits:     the same shape, drawn as dashed STEP series (a limit holds until it changes)
//   thresholds: [{label, value}]                       horizontal lines, labelled 'LABEL VALUE'
//   markers:    [{label, t}]                           vertical lines
//   x:          [from, to] (unix s)                    the x axis spans at least this range
//   fmt:        value -> text for the axis and legend; sync: cursor-sync key (default 'page')
// Returns {update({series, limits, thresholds, markers}), destroy(), uplot}.
// The legend shows the values under the cursor, else the latest ones.
// For tests and the bench: window.__vantage_charts lists the charts on the page as
// {title, thresholds: [values], series: [{label, n, limit, last}]} (n = points held), window.__vantage_charts_drawn counts
// the charts drawn at least once, and each chart's first draw sets performance.mark('chart-drawn').

import { fmtTime } from './dom.js';

const registry = (window.__vantage_charts = window.__vantage_charts || []);
window.__vantage_charts_drawn = window.__vantage_charts_drawn || 0;

function palette() {
  const cs = getComputedStyle(document.documentElement);
  const v = (name, dflt) => cs.getPropertyValue(name).trim() || dflt;
  return {
    lines: [v('--c1', '#1f6fd1'), v('--c2', '#7c3aed'), v('--c3', '#15803d'), v('--c4', '#0e7490'), v('--c5', '#be185d'), v('--c6', '#4b5563')],
    limit: v('--limit', '#b45309'),
    threshold: v('--threshold', '#dc2626'),
    marker: v('--marker', '#6b7280'),
    axis: v('--fg-muted', '#555'),
    grid: v('--grid', 'rgba(0,0,0,0.08)'),
  };
}

// Joins series with their own timestamps into uPlot's columnar layout: one sorted x array,
// one value array per series (null where a series has no point at that time).
export function align(all) {
  const xs = new Set();
  for (const s of all) for (const t of s.t) xs.add(t);
  const x = Float64Array.from(xs).sort();
  const pos = new Map();
  x.forEach((t, i) => pos.set(t, i));
  const cols = all.map((s) => {
    const col = new Array(x.length).fill(null);
    for (let i = 0; i < s.t.length; i++) col[pos.get(s.t[i])] = s.v[i];
    return col;
  });
  return [Array.from(x), ...cols];
}

export function lineChart(el, opts) {
  let pal = palette();
  const fmt = opts.fmt || ((v) => (v === null || v === undefined ? '' : String(+v.toPrecision(4))));
  const height = opts.height || 180;
  let thresholds = opts.thresholds || [];
  let markers = opts.markers || [];
  let xRange = opts.x || null; // [from, to] in unix seconds: the x axis spans the range asked
  let u = null;
  let drawn = false;
  let key = '';
  const entry = { title: opts.title || '', series: [] };
  registry.push(entry);

  const box = document.createElement('div');
  box.className = 'chart';
  const empty = document.createElement('p');
  empty.className = 'chart-empty muted';
  empty.textContent = 'No data in this range';
  el.append(box, empty);

  const drawLines = (uu) => {
    const ctx = uu.ctx;
    const { left, top, width, height: hgt } = uu.bbox;
    ctx.save();
    ctx.lineWidth = 1.5 * devicePixelRatio;
    for (const th of thresholds) {
      const y = Math.round(uu.valToPos(th.value, 'y', true));
      if (y < top || y > top + hgt) continue;
      ctx.strokeStyle = pal.threshold;
      ctx.setLineDash([6 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = pal.threshold;
      ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
      ctx.textAlign = 'left';
      ctx.textBaseline = 'bottom';
      ctx.fillText(th.label ? `${th.label} ${fmt(th.value)}` : fmt(th.value), left + 4 * devicePixelRatio, y - 2 * devicePixelRatio);
    }
    for (const m of markers) {
      const x = Math.round(uu.valToPos(m.t, 'x', true));
      if (x < left || x > left + width) continue;
      ctx.strokeStyle = pal.marker;
      ctx.setLineDash([2 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + hgt);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.restore();
  };

  function build(series, limits) {
    const all = [...series, ...limits];
    const data = align(all);
    const stepped = uPlot.paths.stepped({ align: 1 });
    // With the cursor off the chart, the legend shows each series' latest value.
    const value = (uu, v, sidx, idx) => {
      if (idx === null || idx === undefined) {
        const col = uu.data[sidx] || [];
        for (let i = col.length - 1; i >= 0; i--) if (col[i] !== null && col[i] !== undefined) return fmt(col[i]);
        return '';
      }
      return fmt(v);
    };
    const uSeries = [{ label: 'Time', value: (uu, v, sidx, idx) => (idx === null || idx === undefined || v === null ? 'latest' : fmtTime(v * 1000)) }];
    series.forEach((s, i) => {
      uSeries.push({ label: s.label, stroke: pal.lines[i % pal.lines.length], width: 1.5, spanGaps: true, value, points: { show: false } });
    });
    limits.forEach((s) => {
      uSeries.push({ label: s.label, stroke: pal.limit, width: 2, dash: [8, 4], spanGaps: true, paths: stepped, value, points: { show: false } });
    });
    const width = Math.max(240, el.clientWidth || 600);
    const uopts = {
      width,
      height,
      series: uSeries,
      cursor: { sync: { key: opts.sync || 'page', setSeries: false }, drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: { time: true, range: (uu, min, max) => (xRange ? [Math.min(xRange[0], min ?? xRange[0]), Math.max(xRange[1], max ?? xRange[1])] : [min, max]) },
        y: {
          range: (uu, min, max) => {
            let lo = min ?? 0;
            let hi = max ?? 1;
            for (const th of thresholds) hi = Math.max(hi, th.value);
            lo = Math.min(0, lo);
            if (hi === lo) hi = lo + 1;
            return [lo, hi + (hi - lo) * 0.05];
          },
        },
      },
      axes: [
        { stroke: pal.axis, grid: { stroke: pal.grid }, ticks: { stroke: pal.grid } },
        { stroke: pal.axis, grid: { stroke: pal.grid }, ticks: { stroke: pal.grid }, size: 70, values: (uu, splits) => splits.map(fmt) },
      ],
      hooks: {
        draw: [
          (uu) => {
            drawLines(uu);
            if (!drawn) {
              drawn = true;
              window.__vantage_charts_drawn++;
              performance.mark('chart-drawn');
            }
          },
        ],
      },
    };
    if (u) u.destroy();
    u = new uPlot(uopts, data, box);
    u.root.setAttribute('role', 'img');
    u.root.setAttribute('aria-label', `${opts.title || 'Chart'}: ${all.map((s) => s.label).join(', ')}`);
    key = all.map((s) => s.label).join('\u0001');
    return data;
  }

  function record(series, limits) {
    entry.thresholds = thresholds.map((t) => t.value);
    entry.series = [
      ...series.map((s) => ({ label: s.label, n: s.v.filter((x) => x !== null && x !== undefined).length, limit: false, last: s.v.length ? s.v[s.v.length - 1] : null })),
      ...limits.map((s) => ({ label: s.label, n: s.v.filter((x) => x !== null && x !== undefined).length, limit: true, last: s.v.length ? s.v[s.v.length - 1] : null, values: [...new Set(s.v)].length })),
    ];
  }

  let last = { series: [], limits: [] };
  function update(d) {
    const series = d.series || [];
    const limits = d.limits || [];
    last = { series, limits };
    if (d.thresholds) thresholds = d.thresholds;
    if (d.markers) markers = d.markers;
    if (d.x) xRange = d.x;
    const all = [...series, ...limits];
    const points = all.reduce((n, s) => n + s.t.length, 0);
    empty.hidden = points > 0;
    box.hidden = points === 0;
    record(series, limits);
    if (points === 0) {
      if (u) {
        u.destroy();
        u = null;
      }
      return;
    }
    if (u && key === all.map((s) => s.label).join('\u0001')) u.setData(align(all));
    else build(series, limits);
  }

  const ro = new ResizeObserver(() => {
    if (u && el.clientWidth && Math.abs(el.clientWidth - u.width) > 2) u.setSize({ width: el.clientWidth, height });
  });
  ro.observe(el);
  // The theme changed (prefers-color-scheme): draw again in its colours.
  const mq = matchMedia('(prefers-color-scheme: dark)');
  const onScheme = () => {
    pal = palette();
    if (u) build(last.series, last.limits);
  };
  mq.addEventListener('change', onScheme);
  update(opts);

  return {
    update,
    get uplot() {
      return u;
    },
    destroy() {
      ro.disconnect();
      mq.removeEventListener('change', onScheme);
      if (u) u.destroy();
      u = null;
      const i = registry.indexOf(entry);
      if (i >= 0) registry.splice(i, 1);
      box.remove();
      empty.remove();
    },
  };
}
