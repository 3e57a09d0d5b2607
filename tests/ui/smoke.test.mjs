// smoke.test.mjs - the dashboard is served whole: the page, its libraries
// (uPlot, cytoscape from npm), its app module, the API it calls, with the
// right types and caching; nothing fetched from elsewhere.
export default async function (page, base, t) {
  const outside = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) outside.push(r.url());
  });
  const resp = await page.goto(`${base}/`, { waitUntil: 'load' });
  t.eq(resp.status(), 200, 'GET / answers 200');
  t.ok((resp.headers()['content-type'] || '').startsWith('text/html'), 'GET / is HTML');
  t.ok((resp.headers()['content-security-policy'] || '').includes("script-src 'self'"),
    'the page has a Content-Security-Policy');
  await page.waitForFunction(() => typeof window.uPlot === 'function', null, { timeout: 10000 });
  t.ok(await page.evaluate(() => typeof window.uPlot === 'function'), 'uPlot loaded (global uPlot)');
  t.ok(await page.evaluate(() => typeof window.cytoscape === 'function'),
    'cytoscape loaded (global cytoscape)');
  t.ok(await page.evaluate(() => [...document.styleSheets].some((s) => /uPlot\.min\.css/.test(s.href || ''))),
    "uPlot's stylesheet loaded");

  for (const [path, type, cache] of [
    ['/ui/vendor/uPlot.iife.min.js', 'text/javascript', 'max-age'],
    ['/ui/vendor/cytoscape.min.js', 'text/javascript', 'max-age'],
    ['/ui/vendor/uPlot.min.css', 'text/css', 'max-age'],
    ['/ui/app/main.js', 'text/javascript', 'no-cache'],
  ]) {
    const r = await page.request.get(`${base}${path}`);
    t.ok(r.status() === 200 && (r.headers()['content-type'] || '').startsWith(type),
      `${path}: 200 ${type}`, `${r.status()} ${r.headers()['content-type']}`);
    t.ok((r.headers()['cache-control'] || '').includes(cache), `${path}: Cache-Control ${cache}`,
      r.headers()['cache-control']);
    const etag = r.headers().etag;
    if (etag) {
      const again = await page.request.get(`${base}${path}`, { headers: { 'If-None-Match': etag } });
      t.eq(again.status(), 304, `${path}: 304 when unchanged (ETag)`);
    } else {
      t.ok(false, `${path}: has an ETag`);
    }
  }
  const bad = await page.request.get(`${base}/ui/app/..%2F..%2Fpackage.json`);
  t.eq(bad.status(), 404, 'a path out of the UI directory is refused');
  const nm = await page.request.get(`${base}/ui/node_modules/uplot/package.json`);
  t.eq(nm.status(), 404, 'node_modules is not served beyond the vendor table');

  // the shell renders into <main> and the API it uses answers
  await page.waitForFunction(() => document.querySelector('main') && document.querySelector('main').children.length > 0,
    null, { timeout: 10000 }).catch(() => {});
  t.ok(await page.evaluate(() => document.querySelector('main').children.length > 0),
    'the app rendered into <main>');
  const sys = await page.request.get(`${base}/api/v1/systems`);
  t.eq(sys.status(), 200, 'GET /api/v1/systems answers 200');
  t.eq(outside, [], 'nothing is fetched from another origin');
}
