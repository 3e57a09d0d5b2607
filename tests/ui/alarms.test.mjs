// alarms.test.mjs - the alarms page: an alarm defined in the form (memory of the test's
// container above 1 byte: it must breach) previews with a backtest drawn on the chart (the
// stored series with points, the threshold, a transition to ALARM as a marker and in the
// table), is saved (PUT) and then appears in GET /api/v1/alarms/NAME with the form's values,
// in the states table and in the configuration history; Silence and Delete act through the API.
//
// Environment (tests/integration/dashboard.sh): VANTAGE_TEST_CTR (its name: the alarm's
// system), VANTAGE_TEST_CTR_ID. The daemon stores the container's metrics every 2 s.
import { docShot } from './docshot.mjs';

export default async function (page, base, t) {
  const env = t.env;
  const name = `ui-test-${process.pid}`;
  const ctr = env.VANTAGE_TEST_CTR;
  page.on('dialog', (d) => d.accept()); // the Delete confirmation

  await page.goto(`${base}/#/alarms`);
  await page.waitForSelector('#alarm-form');
  await page.fill('input[name="name"]', name);
  await page.selectOption('select[name="kind"]', 'metric');
  await page.fill('input[name="metric"]', 'cgroup.mem_usage_bytes');
  await page.selectOption('select[name="target"]', 'system');
  await page.selectOption('select[name="system"]', ctr);
  await page.selectOption('select[name="stat"]', 'max');
  await page.fill('input[name="period"]', '10s');
  await page.fill('input[name="evaluation_periods"]', '2');
  await page.fill('input[name="datapoints"]', '1');
  await page.selectOption('select[name="comparison"]', '>');
  await page.fill('input[name="threshold"]', '1');
  await page.selectOption('select[name="missing"]', 'notBreaching');
  await page.selectOption('select[name="range"]', '15m');

  // Backtest: nothing is saved, the chart draws
  await page.evaluate(() => (window.__vantage_backtest = null));
  await page.click('#bt-run');
  await page.waitForFunction(() => window.__vantage_backtest && 'drawn' in window.__vantage_backtest, null, { timeout: 20000 }).catch(() => {});
  const bt = await page.evaluate(() => window.__vantage_backtest);
  t.log(`backtest: ${JSON.stringify(bt)}`);
  t.ok(bt && bt.drawn, 'the backtest preview draws the metric', JSON.stringify(bt));
  t.ok(bt && bt.points > 0, 'the preview chart holds data points', JSON.stringify(bt));
  t.ok(bt && bt.transitions >= 1, 'the backtest finds the transition to ALARM', JSON.stringify(bt));
  t.eq(bt && bt.threshold, 1, 'the threshold line is the form\'s threshold');
  const chart = await page.evaluate((n) => (window.__vantage_charts || []).find((c) => c.title === `Backtest ${n}`), name);
  t.ok(chart && chart.series.length >= 1 && chart.series[0].n > 0, 'the chart registry holds the backtest series with points', JSON.stringify(chart));
  t.ok(await page.locator('.bt-chart canvas').count() > 0, 'the backtest chart is drawn on a canvas');
  const btRows = await page.$$eval('table[aria-label="backtest transitions"] tbody tr', (trs) => trs.map((tr) => tr.textContent));
  t.ok(btRows.some((r) => r.includes('ALARM')), 'the transitions table lists a change to ALARM', btRows.join('\n'));
  const before = await page.request.get(`${base}/api/v1/alarms/${name}`);
  t.eq(before.status(), 404, 'a backtest saves nothing');
  await docShot(page, 'alarms', '#cond-set', '.bt', 1100);
  await t.shot('backtest');

  // Save: the alarm is in the API with the form's values
  await page.click('#save');
  await page.waitForFunction(() => /Saved /.test(document.querySelector('#alarm-form .status-line')?.textContent || ''), null, { timeout: 10000 }).catch(() => {});
  const r = await page.request.get(`${base}/api/v1/alarms/${name}`);
  t.eq(r.status(), 200, `GET /api/v1/alarms/${name} finds the saved alarm`);
  if (r.status() === 200) {
    const a = await r.json();
    const d = a.definition;
    t.eq(
      [d.metric, d.system, d.stat, d.period, d.evaluation_periods, d.datapoints, d.comparison, d.threshold, d.missing],
      ['cgroup.mem_usage_bytes', ctr, 'max', 10, 2, 1, '>', 1, 'notBreaching'],
      'the saved definition has the form\'s values',
    );
    t.eq(a.source, 'api', 'the alarm was made through the API');
  }
  // the page lists it (the states table and the alarms table refresh after Save)
  await page.waitForFunction((n) => [...document.querySelectorAll('table[aria-label="alarms"] tbody td')].some((td) => td.textContent === n), name, { timeout: 10000 }).catch(() => {});
  t.ok(await page.locator(`table[aria-label="alarms"] td:text-is("${name}")`).count() === 1, 'the alarms table lists the new alarm');
  t.ok(await page.locator(`table[aria-label="alarm states"] td:text-is("${name}")`).count() >= 1, 'the states table lists the new alarm');

  // it goes to ALARM within a few periods (memory > 1 byte); the state badge is red
  const inAlarm = async () => {
    const x = await (await page.request.get(`${base}/api/v1/alarms/${name}`)).json();
    return (x.states || []).some((s) => s.state === 'ALARM');
  };
  const deadline = Date.now() + 45000;
  while (!(await inAlarm()) && Date.now() < deadline) await page.waitForTimeout(1000);
  t.ok(await inAlarm(), 'the alarm goes to ALARM (memory above 1 byte)');
  await page.waitForFunction((n) => [...document.querySelectorAll('table[aria-label="alarm states"] tbody tr')].some((tr) => tr.cells[0].textContent === n && tr.querySelector('.state.st-alarm')), name, { timeout: 15000 }).catch(() => {});
  const badge = await page.$$eval('table[aria-label="alarm states"] tbody tr', (trs, n) => {
    const tr = trs.find((x) => x.cells[0].textContent === n && x.querySelector('.state'));
    if (!tr) return null;
    const b = tr.querySelector('.state');
    return { text: b.textContent, bg: getComputedStyle(b).backgroundColor };
  }, name);
  t.ok(badge && badge.text === 'ALARM', 'the states table shows ALARM', JSON.stringify(badge));
  if (badge) {
    const [rr, gg, bb] = badge.bg.match(/\d+/g).map(Number);
    t.ok(rr >= gg + 20 && rr >= bb + 20 && Math.abs(gg - bb) < 30, `ALARM is drawn red (${badge.bg})`);
  }

  // History: the configuration change
  await page.click('.seg button[data-type="config"]');
  await page.waitForFunction((n) => [...document.querySelectorAll('table[aria-label="configuration events"] tbody tr')].some((tr) => tr.textContent.includes(n) && tr.textContent.includes('created')), name, { timeout: 10000 }).catch(() => {});
  const hist = await page.$$eval('table[aria-label="configuration events"] tbody tr', (trs) => trs.map((tr) => tr.textContent));
  t.ok(hist.some((x) => x.includes(name) && x.includes('created')), 'the configuration history shows its creation', hist.slice(0, 5).join('\n'));
  await page.click('.seg button[data-type="state"]');
  await page.waitForFunction((n) => [...document.querySelectorAll('table[aria-label="state changes events"] tbody tr')].some((tr) => tr.textContent.includes(n)), name, { timeout: 10000 }).catch(() => {});
  t.ok(await page.locator(`table[aria-label="state changes events"] tr:has-text("${name}")`).count() >= 1, 'the state history shows its change to ALARM');
  await t.shot('saved');

  // Silence for 1h through the form reached from the alarm's row
  await page.click(`button[aria-label="Silence ${name}"]`);
  t.eq(await page.evaluate(() => document.activeElement && document.activeElement.name), 'mute-for', 'Silence moves the focus to the silence form');
  await page.fill('input[name="mute-for"]', '1h');
  await page.fill('input[name="mute-comment"]', 'ui test');
  await page.click('#mute button[type="submit"]');
  await page.waitForFunction(() => /Silenced /.test(document.querySelector('#mute .status-line')?.textContent || ''), null, { timeout: 10000 }).catch(() => {});
  const s = await (await page.request.get(`${base}/api/v1/alarms/${name}`)).json();
  t.ok((s.silences || []).some((x) => x.kind === 'silence' && x.comment === 'ui test'), 'Silence adds a silence to the alarm', JSON.stringify(s.silences));

  // Delete
  await page.click(`button[aria-label="Delete ${name}"]`);
  await page.waitForFunction(() => /Deleted /.test(document.body.textContent), null, { timeout: 10000 }).catch(() => {});
  const gone = await page.request.get(`${base}/api/v1/alarms/${name}`);
  t.eq(gone.status(), 404, 'Delete removes the alarm');
}
