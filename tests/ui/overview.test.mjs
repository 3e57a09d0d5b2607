// tests/ui/overview.test.mjs: the overview page lists the test container, the filter box
// narrows the table, the search box (the search language) finds the container by name, and a
// row links to the system page. Run by tests/ui/run.mjs (tests/integration/dashboard.sh):
// VANTAGE_TEST_CTR names a running test container.
import path from 'node:path';

const shots = process.env.VANTAGE_ARTIFACTS || 'build/artifacts/ui';

export default async function (page, base, t) {
  const ctr = process.env.VANTAGE_TEST_CTR;
  t.ok(!!ctr, 'VANTAGE_TEST_CTR is set');
  await page.goto(`${base}/#/`);
  await page.waitForSelector('.page-overview table.data tbody tr a');
  const rows = () => page.$$eval('.page-overview table.data tbody tr', (trs) => trs.map((tr) => tr.textContent));
  const all = await rows();
  t.ok(all.length >= 2, `the overview lists the systems (${all.length} rows)`);
  const link = await page.$(`.page-overview table.data a:text-is("${ctr}")`);
  t.ok(!!link, `the test container ${ctr} is listed`);
  const row = all.find((r) => r.includes(ctr)) || '';
  t.ok(/container/.test(row) && /present/.test(row), `its row names its kind and health: ${row.slice(0, 160)}`);
  t.eq(await page.title(), 'Overview · Vantage', 'the page title');
  t.eq(await page.getAttribute('.nav a[data-route="overview"]', 'aria-current'), 'page', 'the nav bar marks Overview');

  // The filter box narrows in the browser.
  await page.fill('#ov-filter', ctr);
  const filtered = await rows();
  t.ok(filtered.length >= 1 && filtered.length < all.length, `the filter narrows ${all.length} rows to ${filtered.length}`);
  t.ok(filtered.every((r) => r.toLowerCase().includes(ctr.toLowerCase())), 'every row left holds the filter text');
  await page.fill('#ov-filter', 'no-such-system-xyz');
  t.eq(await page.$$eval('.page-overview table.data tbody tr', (trs) => trs.length === 1 && /No row matches/.test(trs[0].textContent)), true, 'a filter matching nothing says so');
  await page.fill('#ov-filter', '');

  // The search box runs the search language on the server.
  await page.fill('#ov-search', `system name=${ctr}`);
  const answer = page.waitForResponse((r) => r.url().includes('/api/v1/search'));
  await page.press('#ov-search', 'Enter');
  const resp = await answer;
  t.eq(resp.status(), 200, 'GET /api/v1/search answers 200');
  await page.waitForFunction(() => /match/.test(document.querySelector('.ov-search [aria-live]').textContent));
  const found = await rows();
  t.ok(found.length >= 1 && found.every((r) => r.includes(ctr)), `the search keeps the container (${found.length} row(s))`);
  t.ok(page.url().includes('search='), 'the search is kept in the address');
  await page.screenshot({ path: path.join(shots, 'overview-search.png') });

  // A bad query is shown next to the box with its column (in a second tab: the answer's
  // expected 400 is logged by the browser as a console error, which the runner counts).
  const u = new URL(page.url());
  const hash = new URLSearchParams(u.hash.split('?')[1] || '');
  hash.set('search', 'package name=');
  const tab = await page.context().newPage();
  await tab.goto(`${base}/#/?${hash}`);
  await tab.waitForSelector('.ov-search .error:not([hidden])', { timeout: 10000 }).catch(() => {});
  t.ok(/column/.test((await tab.textContent('.ov-search .error').catch(() => '')) || ''), 'a bad query names its column');
  await tab.close();
  await page.click('.ov-search button:text-is("Clear search")').catch(() => {});
  await page.fill('#ov-search', '');
  await page.press('#ov-search', 'Enter');
  await page.waitForFunction((n) => document.querySelectorAll('.page-overview table.data tbody tr').length === n, all.length);
  await page.screenshot({ path: path.join(shots, 'overview-page.png') });

  // The global search box goes to the search page.
  await page.fill('#gq', ctr);
  await page.press('#gq', 'Enter');
  await page.waitForFunction(() => location.hash.startsWith('#/search?q='));
  t.ok(decodeURIComponent(page.url()).includes(`q=${ctr}`), 'the global search box goes to #/search?q=');

  // A row opens its system page.
  await page.goto(`${base}/#/`);
  await page.click(`.page-overview table.data a:text-is("${ctr}")`);
  await page.waitForSelector('.page-system h1');
  t.ok(page.url().includes('#/system/'), 'a row links to #/system/ID');
  t.ok((await page.textContent('.page-system h1')).includes(ctr), 'the system page names the container');
  await page.goto(`${base}/#/`);
  await page.waitForSelector('.page-overview table.data tbody tr a');
}
