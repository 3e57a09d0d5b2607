// bench/dashboard.mjs - the browser half of bench/dashboard (read its top
// comment): node bench/dashboard.mjs BASEURL, with DAY_ID (the system
// holding a day at 10 s) and RUNS in the environment.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'ui', 'package.json'));
const { chromium } = require('playwright-core');

const base = (process.argv[2] || '').replace(/\/+$/, '');
const runs = Number(process.env.RUNS || 5);
const dayId = process.env.DAY_ID;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
const max = (a) => Math.max(...a);
const fmt = (v) => v.toFixed(1);
const line = (what, v, target, unit = 'ms') =>
  console.log(`  ${what}: ${fmt(v)} ${unit} (target ${target} ${unit}: ${(v / target).toFixed(2)}x)`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});

// Load a page in a fresh context (cold cache), wait for its first chart
// (or, on a page without one, its first table row), return the timings.
async function load(hash) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/${hash}`, { waitUntil: 'commit' });
  const got = await page.waitForFunction(() => {
    const m = performance.getEntriesByName('chart-drawn');
    if (m.length) return { kind: 'chart', at: m[0].startTime };
    const row = document.querySelector('main table tbody tr');
    if (row && !window.__bench_row) window.__bench_row = performance.now();
    if (window.__bench_row && performance.now() - window.__bench_row > 1500)
      return { kind: 'table row', at: window.__bench_row }; // no chart came: the row's time
    return null;
  }, null, { timeout: 20000, polling: 'raf' }).then((h) => h.jsonValue()).catch(() => null);
  await page.waitForLoadState('networkidle').catch(() => {});
  const res = await page.evaluate(() => performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation')).map((e) => ({
    name: e.name, type: e.entryType, start: e.startTime, end: e.responseEnd, dur: e.responseEnd - e.startTime,
    wait: e.responseStart - e.requestStart, transfer: e.transferSize, decoded: e.decodedBodySize,
  })));
  await context.close();
  return { got, res, errors };
}

function apiCalls(res) {
  return res.filter((r) => r.name.includes('/api/'))
    .map((r) => ({ path: r.name.replace(base, '').replace(/\?.*/, '?...').replace(/%3A[0-9a-f]{64}|%3Abench/g, '%3A…'), dur: r.dur, wait: r.wait }));
}

const summary = [];
for (const [label, hash] of [['overview', '#/'], ['system page', `#/system/${encodeURIComponent(dayId)}`]]) {
  const times = [];
  const calls = {};
  let kind = '', assets = null, errors = [];
  for (let i = 0; i < runs; i++) {
    const r = await load(hash);
    errors = errors.concat(r.errors);
    if (!r.got) { console.log(`  ${label}: nothing drawn within 20 s (run ${i + 1})`); continue; }
    kind = r.got.kind;
    times.push(r.got.at);
    for (const c of apiCalls(r.res)) (calls[c.path] = calls[c.path] || []).push(c);
    if (!assets) {
      const files = r.res.filter((x) => !x.name.includes('/api/'));
      assets = { n: files.length, transfer: files.reduce((a, x) => a + x.transfer, 0), decoded: files.reduce((a, x) => a + x.decoded, 0) };
    }
  }
  if (!times.length) continue;
  line(`${label}: first load, navigation to the first ${kind} drawn (median of ${times.length})`, median(times), 1000);
  for (const [p, d] of Object.entries(calls)) {
    const dur = d.map((c) => c.dur);
    const wait = d.map((c) => c.wait);
    line(`  ${p}: request to response end, median of ${d.length}`, median(dur), 50);
    console.log(`      max ${fmt(max(dur))} ms; time to first byte median ${fmt(median(wait))} ms, max ${fmt(max(wait))} ms`);
  }
  if (assets) console.log(`    assets: ${assets.n} files, ${(assets.transfer / 1024).toFixed(0)} KB transferred, ${(assets.decoded / 1024).toFixed(0)} KB decoded`);
  if (errors.length) console.log(`    page errors: ${[...new Set(errors)].slice(0, 3).join('; ')}`);
  summary.push(label);
}

// A day at 10 s on one chart: the chart endpoint's answer for 24 h
// (width 1366), then lineChart() of ui/app/chart.js timed from the data in
// hand to its first draw, on a page already loaded.
{
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/#/`, { waitUntil: 'load' });
  const r = await page.evaluate(async ({ id, n }) => {
    const t0 = performance.now();
    const q = new URLSearchParams({ system: id, metric: 'cgroup.mem_usage_bytes', from: '-24h', to: 'now', width: '1366' });
    q.append('metric', 'cgroup.mem_limit_bytes');
    const resp = await fetch(`/api/v1/chart?${q}`);
    const data = await resp.json();
    const t1 = performance.now();
    const { lineChart } = await import('/ui/app/chart.js');
    const times = [];
    for (let i = 0; i < n; i++) {
      const el = document.createElement('div');
      el.style.width = '1366px';
      document.body.appendChild(el);
      const before = window.__vantage_charts_drawn || 0;
      const s = performance.now();
      const series = data.series.filter((x) => x.metric === 'cgroup.mem_usage_bytes').map((x) => ({ label: 'usage', t: x.t, v: x.v }));
      const limits = data.series.filter((x) => x.metric === 'cgroup.mem_limit_bytes').map((x) => ({ label: 'limit', t: x.t, v: x.v }));
      const c = lineChart(el, { title: 'memory', series, limits, height: 240 });
      while ((window.__vantage_charts_drawn || 0) === before && performance.now() - s < 5000)
        await new Promise((ok) => requestAnimationFrame(ok));
      times.push(performance.now() - s);
      c.destroy();
      el.remove();
    }
    return { fetch: t1 - t0, points: data.series.reduce((a, x) => a + x.t.length, 0), bucket: data.bucket_ms, source: data.source, times };
  }, { id: dayId, n: runs }).catch((e) => ({ error: String(e) }));
  if (r.error) {
    console.log(`  a day at 10 s: ${r.error}`);
  } else {
    line(`a day at 10 s (8,640 points per series -> ${r.points} points, ${r.bucket} ms buckets, ${r.source}): the chart call`, r.fetch, 50);
    line(`a day at 10 s: lineChart() to its first draw (median of ${r.times.length}, requestAnimationFrame resolution)`, median(r.times), 50);
  }
  await context.close();
}
await browser.close();
