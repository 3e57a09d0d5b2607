// tests/ui/system.test.mjs: the system page of the test container draws its charts with data
// points, its memory limit as a series of its own frames (at least one value), updates live,
// switches range, filters its tables, and the keyboard reaches the range picker. Run by
// tests/ui/run.mjs (tests/integration/dashboard.sh): VANTAGE_TEST_CTR names a running test
// container started with a memory limit; VANTAGE_TEST_CTR_ID (optional) is its system id;
// VANTAGE_TEST_LIMIT_STEP=1 when the suite changed that limit before (the line must step).
// The test PUTs (and then DELETEs) an alarm, so the daemon must be `vantage serve`.
import path from 'node:path';

const shots = process.env.VANTAGE_ARTIFACTS || 'build/artifacts/ui';

export default async function (page, base, t) {
  const ctr = process.env.VANTAGE_TEST_CTR;
  let id = process.env.VANTAGE_TEST_CTR_ID;
  if (!id || !id.includes(':')) {
    const r = await page.request.get(`${base}/api/v1/systems?kind=container&gone=false`);
    const s = (await r.json()).systems.find((x) => x.name === ctr || (id && x.id.includes(id)));
    id = s && s.id;
  }
  t.ok(!!id, `the test container has a system id (${id})`);
  if (!id) return;

  // An alarm on the container's memory: its threshold is drawn on the memory chart.
  const alarm = `ui-test-mem-${process.pid}`;
  const put = await page.request.put(`${base}/api/v1/alarms/${alarm}`, {
    data: { metric: 'cgroup.mem_usage_bytes', system: id, comparison: '>', threshold: 50000000, period: '10s' },
  });
  t.eq(put.status(), 200, 'PUT an alarm on the container (for its threshold line)');

  const chartCalls = [];
  page.on('request', (r) => r.url().includes('/api/v1/chart') && chartCalls.push(r.url()));
  await page.goto(`${base}/#/system/${encodeURIComponent(id)}?range=15m`);
  await page.waitForSelector('.page-system h1');
  t.ok((await page.textContent('.page-system h1')).includes(ctr), 'the header names the container');
  t.ok(/podman|docker|container/.test(await page.textContent('.page-system dl.kv')), 'the header shows its kind and runtime');
  // Every group answered: each group wrapper holds its cards.
  await page.waitForFunction(
    () => window.__vantage_charts_drawn >= 1 && [...document.querySelectorAll('.chart-group')].every((g) => g.querySelector('.chart-card')),
    null,
    { timeout: 15000 },
  );
  const charts = await page.evaluate(() => window.__vantage_charts);
  t.ok(charts.length >= 3, `charts on the page: ${charts.map((c) => c.title).join(', ')}`);
  const withData = charts.filter((c) => c.series.some((s) => !s.limit && s.n > 0));
  t.ok(withData.length >= 2, `${withData.length} charts hold data points`);
  const mem = charts.find((c) => c.title === 'Memory');
  t.ok(!!mem && mem.series.some((s) => !s.limit && s.n > 0), `the memory chart holds usage points (${JSON.stringify(mem && mem.series)})`);
  const limit = mem && mem.series.find((s) => s.limit);
  t.ok(!!limit && limit.n >= 1 && limit.last > 0, `the memory chart draws the container's memory limit (${limit && limit.n} points, last ${limit && limit.last})`);
  // With VANTAGE_TEST_LIMIT_STEP=1 the suite changed the limit (podman update --memory) before
  // this test: the limit line holds two values, a step.
  if (process.env.VANTAGE_TEST_LIMIT_STEP === '1') t.ok(!!limit && limit.values >= 2, `the memory limit steps (${limit && limit.values} values)`);
  t.ok(!!mem && mem.thresholds.includes(50000000), `the memory chart draws the alarm's threshold (${mem && JSON.stringify(mem.thresholds)})`);
  const groups = await page.$$eval('.page-system .chart-group', (gs) => gs.map((x) => x.dataset.group));
  t.ok(groups.includes('CPU') && groups.includes('Memory'), `chart groups: ${groups.join(', ')}`);
  const calls = chartCalls.length;
  t.eq(calls, groups.length, 'one /api/v1/chart call per group');
  t.ok(chartCalls.every((u) => /width=\d+/.test(u) && /metric=/.test(u)), 'chart calls name their metrics and width');
  const canvases = await page.$$eval('.page-system .chart canvas', (cs) => cs.length);
  t.ok(canvases >= 2, `uPlot drew ${canvases} canvases`);
  await page.screenshot({ path: path.join(shots, 'system-charts.png') });

  // Keyboard: Tab from the top of the page reaches the range picker.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.focus('body');
  let reached = false;
  for (let i = 0; i < 60 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => !!document.activeElement.closest('#sys-range'));
  }
  t.ok(reached, 'Tab reaches the time-range picker');
  const focusRing = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  t.ok(focusRing !== 'none', `the focused button shows a focus ring (${focusRing})`);

  // Range: 6h by keyboard.
  await page.focus('#sys-range button[data-range="6h"]');
  const more = page.waitForRequest((r) => r.url().includes('/api/v1/chart'));
  await page.keyboard.press('Enter');
  const req6 = await more;
  const u6 = new URL(req6.url());
  t.ok(Number(u6.searchParams.get('to')) - Number(u6.searchParams.get('from')) === 6 * 3600 * 1000, 'the 6h button asks for 6 hours');
  t.eq(await page.getAttribute('#sys-range button[data-range="6h"]', 'aria-pressed'), 'true', 'the 6h button is pressed');
  t.ok(page.url().includes('range=6h'), 'the range is kept in the address');
  await page.waitForFunction(() => window.__vantage_charts.some((c) => c.title === 'Memory' && c.series.some((s) => s.n > 0)));

  // Live: within a live period a chart call asks for the points after the last one.
  const live = await page.waitForRequest((r) => r.url().includes('/api/v1/chart'), { timeout: 15000 }).catch(() => null);
  const lf = live && Number(new URL(live.url()).searchParams.get('from'));
  t.ok(!!live && lf > Date.now() - 120000, 'live update asks for the recent points only');

  // Tables: processes, filtered.
  await page.waitForSelector('#sys-table table.data tbody tr');
  const procRows = () => page.$$eval('#sys-table table.data tbody tr', (trs) => trs.map((tr) => tr.textContent));
  const procs = await procRows();
  t.ok(procs.length >= 1, `the processes table has ${procs.length} rows`);
  const comm = await page.$eval('#sys-table table.data tbody tr td:nth-child(3)', (td) => td.textContent);
  await page.fill('#sys-table input.filter', comm);
  const left = await procRows();
  t.ok(left.length >= 1 && left.every((r) => r.includes(comm)), `the filter keeps the rows holding "${comm}" (${left.length} of ${procs.length})`);
  await page.fill('#sys-table input.filter', 'zz-no-such-process');
  t.ok(/No row matches/.test((await procRows()).join('')), 'a filter matching nothing says so');

  // Other tabs load their table on demand; arrow keys move between tabs.
  await page.focus('#tab-process');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => document.querySelector('#tab-connection').getAttribute('aria-selected') === 'true');
  await page.waitForSelector('#sys-table table.data, #sys-table p.muted:not(:empty)');
  t.ok(await page.evaluate(() => document.activeElement.id === 'tab-connection'), 'ArrowRight moves to the Connections tab');
  await page.click('#tab-package');
  await page.waitForSelector('#sys-table [data-feature="package"], #sys-table p.muted');
  t.ok(true, 'the Packages tab loads');

  // The drift link names this system.
  t.ok((await page.getAttribute('#sys-drift', 'href')).startsWith(`#/drift?a=${encodeURIComponent(id)}`), 'the drift link names this system');
  await page.click('#tab-process');
  await page.waitForSelector('#sys-table table.data tbody tr');
  await page.evaluate(() => window.scrollTo(0, 0));
  // The dark theme follows prefers-color-scheme.
  await page.emulateMedia({ colorScheme: 'dark' });
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.waitForTimeout(300); // the charts redraw in the dark palette
  t.ok(bg !== 'rgb(255, 255, 255)', `prefers-color-scheme: dark gives a dark page (${bg})`);
  await page.screenshot({ path: path.join(shots, 'system-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });

  // The address changes at once, its hashchange (the route) only later: a system page whose
  // own update runs in between (here the Live button, which keeps its state in the address)
  // must not put its address back over the one the user went to.
  await page.evaluate(() => {
    location.hash = '#/topology';
    document.getElementById('sys-live').click();
  });
  await page.waitForFunction(() => document.querySelector('main .page-topology'), null, { timeout: 10000 }).catch(() => {});
  t.eq(await page.evaluate(() => [location.hash, !!document.querySelector('main .page-topology')]), ['#/topology', true],
    'a system page updating as the user leaves it does not take the address back');
  const del = await page.request.delete(`${base}/api/v1/alarms/${alarm}`);
  t.eq(del.status(), 200, 'the test alarm is deleted');
}
