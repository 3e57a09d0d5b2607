// tests/ui/hostile.test.mjs: values that came from a guest render as text. The suite
// (tests/integration/dashboard.sh) runs a container whose host name is markup
// (VANTAGE_TEST_HOSTILE_NAME, e.g. <script>alert(1)</script><img src=x onerror=alert(2)>) and
// a process in it whose command line is markup too (VANTAGE_TEST_HOSTILE_ARG); this test opens
// every page that shows them: no dialog opens, no element the markup would make exists, the
// text reads exactly as the guest wrote it, and the page's strict Content-Security-Policy is
// never violated (a violation would also be a console error, which fails the test).
export default async function (page, base, t) {
  const name = process.env.VANTAGE_TEST_HOSTILE_NAME;
  const arg = process.env.VANTAGE_TEST_HOSTILE_ARG;
  let id = process.env.VANTAGE_TEST_HOSTILE_ID;
  t.ok(!!name && !!id, `the hostile container is running (${id})`);
  if (!name || !id) return;

  const dialogs = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });

  const resp = await page.goto(`${base}/#/`);
  const csp = resp.headers()['content-security-policy'] || '';
  for (const d of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
    "base-uri 'none'", "frame-ancestors 'none'"]) {
    t.ok(csp.includes(d), `the page's CSP has ${d}`, csp);
  }
  t.ok(!/unsafe-inline|unsafe-eval/.test(csp), 'the CSP allows no inline script or style, no eval', csp);

  const injected = () => page.evaluate(() => ({
    scripts: [...document.querySelectorAll('script')].filter((s) => !s.src).length,
    imgs: document.querySelectorAll('img[src="x"], img[onerror]').length,
    onerror: [...document.querySelectorAll('*')].filter((e) => e.hasAttribute('onerror') || e.hasAttribute('onload')).length,
  }));
  const textHas = (s) => page.evaluate((s) => document.body.innerText.includes(s), s);

  // the overview lists the container under its name, as text
  await page.waitForFunction((n) => document.body.innerText.includes(n), name, { timeout: 20000 }).catch(() => {});
  t.ok(await textHas(name), 'overview: the markup name shows as text');
  t.eq(await injected(), { scripts: 0, imgs: 0, onerror: 0 }, 'overview: no element made from the name');

  // its system page: header and process table
  await page.goto(`${base}/#/system/${encodeURIComponent(id)}`);
  await page.waitForSelector('.page-system h1', { timeout: 20000 }).catch(() => {});
  const h1 = await page.textContent('.page-system h1').catch(() => '');
  t.ok(h1.includes(name), 'system page: the header reads the name exactly', h1);
  await page.waitForFunction((a) => document.body.innerText.includes(a), arg, { timeout: 20000 }).catch(() => {});
  t.ok(await textHas(arg), "system page: the process's markup command line shows as text");
  t.eq(await injected(), { scripts: 0, imgs: 0, onerror: 0 }, 'system page: no element made from guest values');
  await t.shot('system');

  // search by the name, and its logs page
  await page.goto(`${base}/#/search?q=${encodeURIComponent('process cmdline~"onerror=alert(3)"')}`);
  await page.waitForFunction(() => document.body.innerText.includes('onerror=alert(3)'), null, { timeout: 15000 }).catch(() => {});
  t.ok(await textHas(arg), 'search page: the matching command line shows as text');
  t.eq(await injected(), { scripts: 0, imgs: 0, onerror: 0 }, 'search page: no element made from guest values');
  await page.goto(`${base}/#/logs?system=${encodeURIComponent(id)}`);
  await page.waitForTimeout(1000);
  t.eq(await injected(), { scripts: 0, imgs: 0, onerror: 0 }, 'logs page: no element made from guest values');
  await page.goto(`${base}/#/topology`);
  await page.waitForTimeout(1500);
  t.eq(await injected(), { scripts: 0, imgs: 0, onerror: 0 }, 'topology page: no element made from guest values');

  t.eq(dialogs, [], 'no script of the guest ran (no alert dialog on any page)');
  t.eq(await page.evaluate(() => window.__csp), [], 'no Content-Security-Policy violation on the last page');
}
