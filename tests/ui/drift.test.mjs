// drift.test.mjs - the drift page shows the change the suite made: a process started in a
// container between two crawls is an entry (process, added, above the noise line) of the
// ranked diff of the frames before and after it, with its record as evidence. The two frames
// are picked in the form (system, time A, time B), the selection lands in the URL
// (#/drift?a=ID@TIME&b=ID@TIME), and that URL alone shows the same diff again.
//
// What tests/integration/dashboard.sh does for it (and exports):
//   - crawls the system's processes every 2 s; waits for a process frame after BEFORE;
//   - starts a process in the container (`podman exec -d SERVER sleep 4242`, or nsenter into
//     the runtime-less container without podman); waits for a process frame after AFTER;
//   VANTAGE_TEST_DRIFT_ID         the system that changed
//   VANTAGE_TEST_DRIFT_BEFORE_MS  a time (epoch ms) before the change, after a process frame
//   VANTAGE_TEST_DRIFT_AFTER_MS   a time after the change and after a process frame holding it
//   VANTAGE_TEST_DRIFT_PROCESS    the command line of the process started ("sleep 4242")
import { docShot } from './docshot.mjs';

export default async function (page, base, t) {
  const env = t.env;
  const id = env.VANTAGE_TEST_DRIFT_ID;
  const before = (Number(env.VANTAGE_TEST_DRIFT_BEFORE_MS) / 1000).toFixed(3);
  const after = (Number(env.VANTAGE_TEST_DRIFT_AFTER_MS) / 1000).toFixed(3);
  const proc = env.VANTAGE_TEST_DRIFT_PROCESS || 'sleep 4242';
  t.ok(id && before > 0 && after > before, 'the suite names the changed system and two times', JSON.stringify({ id, before, after }));

  // The form: system, time A, time B (same system), Compare.
  await page.goto(`${base}/#/drift`);
  await page.waitForSelector('select[name="a-system"]');
  await page.selectOption('select[name="a-system"]', id);
  await page.fill('input[name="a-time"]', before);
  await page.fill('input[name="b-time"]', after);
  t.ok(await page.isChecked('#drift-same'), 'B is the same system as A by default');
  await page.click('button[type="submit"]:has-text("Compare")');
  await page.waitForSelector('.drift-count', { timeout: 20000 });
  const hash = await page.evaluate(() => location.hash);
  const q = new URLSearchParams(hash.slice(hash.indexOf('?') + 1));
  t.eq(q.get('a'), `${id}@${before}`, 'the URL keeps frame A as ID@TIME');
  t.eq(q.get('b'), `${id}@${after}`, 'the URL keeps frame B as ID@TIME');

  const findEntry = () =>
    page.$$eval(
      'ol.entries > li',
      (lis, p) =>
        lis
          .map((li, i) => ({ rank: i + 1, feature: li.dataset.feature, key: li.dataset.key, change: li.dataset.change, sunk: li.classList.contains('sunk'), text: li.textContent }))
          .filter((e) => e.feature === 'process' && e.key.includes(p)),
      proc,
    );
  let found = await findEntry();
  t.log(`entries: ${await page.$$eval('ol.entries > li', (l) => l.length)}; the process: ${JSON.stringify(found.map((e) => ({ rank: e.rank, key: e.key, change: e.change })))}`);
  t.eq(found.length, 1, `one entry for the process '${proc}'`);
  if (found.length) {
    t.eq(found[0].change, 'added', 'the process is added');
    t.ok(!found[0].sunk, 'the entry is above the noise line');
    t.ok(found[0].rank <= 10, `the entry ranks among the first ten (rank ${found[0].rank})`);
    t.ok(found[0].text.includes(proc.split(' ').pop()) && /Added record/.test(found[0].text), 'the entry shows the added record as evidence', found[0].text.slice(0, 400));
    t.ok(/Why: prior/.test(found[0].text), 'the entry says why it ranks there (prior, rule)', found[0].text.slice(0, 400));
  }
  await docShot(page, 'drift', 'main h1', 'ol.entries > li', 1000);
  await t.shot('form');

  // The URL alone shows the same diff (a fresh load).
  await page.goto('about:blank');
  await page.goto(`${base}/${hash}`);
  await page.waitForSelector('.drift-count', { timeout: 20000 });
  found = await findEntry();
  t.ok(found.length === 1 && found[0].change === 'added', 'the URL alone shows the change again');
  t.eq(await page.inputValue('input[name="a-time"]'), before, 'the form is filled from the URL');

  // The other way round: the process is removed from A to B.
  await page.click('button:has-text("Swap A and B")');
  await page.click('button[type="submit"]:has-text("Compare")');
  await page
    .waitForFunction((p) => [...document.querySelectorAll('ol.entries > li')].some((li) => li.dataset.feature === 'process' && li.dataset.key.includes(p) && li.dataset.change === 'removed'), proc, { timeout: 20000 })
    .catch(() => {});
  found = await findEntry();
  t.ok(found.length === 1 && found[0].change === 'removed', 'swapped, the process is removed', JSON.stringify(found.map((e) => e.change)));
}
