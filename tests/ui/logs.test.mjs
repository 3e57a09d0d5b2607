// logs.test.mjs - the logs page: lines written into the store for the host (build/tests/log_tool,
// as the collector stores them) are listed as text, a line holding HTML shows its tags as
// text (no element made of it); the words box and the level filter narrow the list; the live
// tail appends a new line; paused, it counts the new lines and shows them on resume; the
// navigation bar and the system page link to it.
//
// Environment (tests/integration/dashboard.sh): VANTAGE_TEST_DB (the store),
// VANTAGE_TEST_HOST_ID (the host's system id).
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export default async function (page, base, t) {
  const env = t.env;
  const host = env.VANTAGE_TEST_HOST_ID;
  const tag = `uitest${process.pid}`;
  const put = (lines) =>
    execFileSync(resolve(root, 'build/tests/log_tool'), ['put', env.VANTAGE_TEST_DB, host, 'file:/var/log/ui-test.log'], { input: lines.map((l) => `${l}\n`).join('') });
  put([`INFO ${tag} started`, `WARN ${tag} slow answer`, `ERROR ${tag} failure <b>bold</b> <img src=x onerror=alert(1)>`]);

  // the navigation bar's link
  await page.goto(`${base}/#/`);
  await page.waitForSelector('.nav a[data-route="logs"]');
  await page.click('.nav a[data-route="logs"]');
  await page.waitForSelector('#logs-lines .logline', { timeout: 15000 });
  t.eq(await page.evaluate(() => location.hash.split('?')[0]), '#/logs', 'the navigation bar links to the logs page');
  const texts = await page.$$eval('#logs-lines .logline .lx', (els) => els.map((e) => e.textContent));
  t.ok(texts.includes(`INFO ${tag} started`), 'the stored lines are listed', texts.slice(-5).join('\n'));
  t.ok(texts.some((x) => x.includes('<b>bold</b> <img src=x onerror=alert(1)>')), 'a line holding HTML shows it as text');
  t.eq(await page.locator('#logs-lines b, #logs-lines img').count(), 0, '... and no element is made of it');
  const last = await page.$eval('#logs-lines .logline:last-child .lx', (e) => e.textContent);
  t.ok(last.startsWith(`ERROR ${tag}`), 'the newest line is at the bottom', last);

  // words and level
  await page.fill('#logs-q', `${tag} failure`);
  await page.press('#logs-q', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('#logs-lines .logline').length === 1, null, { timeout: 10000 }).catch(() => {});
  t.eq(await page.locator('#logs-lines .logline').count(), 1, 'the words narrow the list to the one line');
  t.ok((await page.evaluate(() => location.hash)).includes('q='), 'the URL holds the search');
  await page.fill('#logs-q', tag);
  await page.selectOption('#logs-level', 'warning');
  await page.waitForFunction(() => document.querySelectorAll('#logs-lines .logline').length === 2, null, { timeout: 10000 }).catch(() => {});
  const lv = await page.$$eval('#logs-lines .logline .ll', (els) => els.map((e) => e.textContent));
  t.eq(lv, ['warning', 'err'], 'the level filter keeps warning and worse');
  await t.shot('filtered');

  // the live tail
  await page.selectOption('#logs-level', '');
  await page.waitForFunction(() => document.querySelectorAll('#logs-lines .logline').length === 3, null, { timeout: 10000 }).catch(() => {});
  await page.waitForTimeout(500); // the tail's request is made after the search's answer
  put([`INFO ${tag} live one`]);
  await page.waitForFunction((x) => [...document.querySelectorAll('#logs-lines .lx')].some((e) => e.textContent === x), `INFO ${tag} live one`, { timeout: 15000 }).catch(() => {});
  t.ok(await page.locator(`#logs-lines .lx:text-is("INFO ${tag} live one")`).count() === 1, 'the live tail appends a new line');
  await page.click('#logs-live');
  t.eq(await page.getAttribute('#logs-live', 'aria-pressed'), 'true', 'Pause pauses the tail');
  put([`INFO ${tag} while paused`]);
  await page.waitForFunction(() => /1 new line/.test(document.getElementById('logs-pending').textContent), null, { timeout: 15000 }).catch(() => {});
  t.ok(/1 new line while paused/.test(await page.textContent('#logs-pending')), 'paused, the new lines are counted');
  t.eq(await page.locator(`#logs-lines .lx:text-is("INFO ${tag} while paused")`).count(), 0, '... not shown');
  await page.click('#logs-live');
  t.eq(await page.locator(`#logs-lines .lx:text-is("INFO ${tag} while paused")`).count(), 1, 'resumed, they are shown');

  // the system page links to its lines
  await page.goto(`${base}/#/system/${encodeURIComponent(host)}`);
  await page.waitForSelector('#sys-logs', { timeout: 15000 });
  await page.click('#sys-logs');
  await page.waitForSelector('#logs-lines .logline', { timeout: 15000 });
  t.eq(await page.inputValue('#logs-system'), host, "the system page's Logs link opens its lines");
}
