// search.test.mjs - the search page finds a container by name: the name typed in the header's
// search box (Enter) lists the container among the systems, linking to its page; a search
// language query (`system name=NAME`) finds its record; a bad query shows the column at
// fault with a caret; the link opens the system's page.
//
// Environment (tests/integration/dashboard.sh): VANTAGE_TEST_CTR (the container's name),
// VANTAGE_TEST_CTR_ID.
import { docShot } from './docshot.mjs';

export default async function (page, base, t) {
  const env = t.env;
  const name = env.VANTAGE_TEST_CTR;
  const id = env.VANTAGE_TEST_CTR_ID;
  const link = `a[href="#/system/${encodeURIComponent(id)}"]`;

  // the header's search box, from the overview
  await page.goto(`${base}/#/`);
  await page.waitForSelector('#gq');
  await page.keyboard.press('/');
  t.eq(await page.evaluate(() => document.activeElement && document.activeElement.id), 'gq', "'/' focuses the search box");
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash.startsWith('#/search?'), null, { timeout: 10000 });
  t.eq(new URLSearchParams((await page.evaluate(() => location.hash)).split('?')[1]).get('q'), name, 'the URL holds the query');
  await page.waitForSelector('.results section', { timeout: 20000 }).catch(() => {});
  t.ok(await page.locator(`.named-systems ${link}`).count() === 1, `the container ${name} is found by its name, linked to its page`);
  const status = await page.textContent('.status-line');
  t.ok(/\d+ systems?, \d+ results?/.test(status), `the answer is counted (${status})`);
  await docShot(page, 'search', 'main h1', '.results', 800);
  await t.shot('name');

  // the search language: the system record by name
  await page.fill('#search-q', `system name=${name}`);
  await page.press('#search-q', 'Enter');
  await page.waitForFunction((n) => decodeURIComponent(location.hash).includes(`system name=${n}`) || new URLSearchParams(location.hash.split('?')[1]).get('q') === `system name=${n}`, name, { timeout: 10000 });
  await page.waitForSelector(`.results section[data-system="${id}"]`, { timeout: 20000 }).catch(() => {});
  const sec = page.locator(`.results section[data-system="${id}"]`);
  t.eq(await sec.count(), 1, '`system name=NAME` answers the container');
  t.ok((await sec.locator('td').first().textContent()) === 'system', 'its record is the system record');
  t.eq(await page.locator('.results section[data-system]').count(), 1, 'and no other system');

  // a bad query: the message and a caret under the column (in a second tab: the answer's
  // expected 400 is logged by the browser as a console error, which the runner counts)
  const tab = await page.context().newPage();
  await tab.goto(`${base}/#/search?q=${encodeURIComponent('package name=')}`);
  await tab.waitForSelector('.results .error', { timeout: 10000 }).catch(() => {});
  const err = (await tab.textContent('.results .error').catch(() => '')) || '';
  t.ok(/column 13/.test(err) && err.includes('            ^'), 'a bad query names its column with a caret under it', err);
  t.eq(await tab.getAttribute('#search-q', 'aria-invalid'), 'true', 'the query box is marked invalid');
  await tab.close();

  // the link opens the system's page
  await page.goto(`${base}/#/search?q=${encodeURIComponent(name)}`);
  await page.waitForSelector(`.named-systems ${link}`, { timeout: 20000 }).catch(() => {});
  await page.click(`.named-systems ${link}`);
  await page.waitForFunction(() => location.hash.startsWith('#/system/'), null, { timeout: 5000 }).catch(() => {});
  t.eq(await page.evaluate(() => location.hash), `#/system/${encodeURIComponent(id)}`, 'the result links to the system page');
  // back to the results, once the system page's calls are answered (it rewrites the address
  // when its data arrives)
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.goto(`${base}/#/search?q=${encodeURIComponent(name)}`);
  await page.waitForSelector(`.named-systems ${link}`, { timeout: 20000 }).catch(() => {});
}
