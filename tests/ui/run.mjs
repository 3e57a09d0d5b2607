// run.mjs - the dashboard's browser tests: runs every tests/ui/*.test.mjs
// in Debian's headless chromium through playwright-core (both installed by
// scripts/setup.sh --tests), against a daemon already serving the UI.
//
//   node tests/ui/run.mjs BASEURL [NAME...]     e.g. http://127.0.0.1:7070
//
// A test file exports `default async function (page, base, t)`: `page` is
// a fresh playwright Page (1366x800, a laptop screen), `base` the URL
// without its trailing '/', and `t` the checks:
//   t.ok(cond, name)      one check
//   t.eq(a, b, name)      one check, a and b compared as JSON
//   t.shot(label)         a screenshot NAME-label.png now
//   t.axe(label)          the accessibility check now (a state other than
//                         the final one, e.g. a dialog open)
//   t.errors()            the page's console errors so far (strings)
//   t.env                 process.env (VANTAGE_TEST_*: tests/integration/dashboard.sh)
//   t.log(...)            a "# ..." comment line
// After the test returns (or throws: a failed check), the runner adds its
// own checks on the page: no console errors (console.error, uncaught
// exceptions, failed requests) and no serious or critical axe-core
// violation; and saves a screenshot NAME.png to $VANTAGE_ARTIFACTS
// (default build/artifacts/ui).
//
// Output: one TAP line per check ("ok - NAME: what", "not ok - NAME: what"
// with "#" details), then "N passed, N failed"; exit status 1 when a check
// failed.  tests/run counts the TAP lines.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { dirname, join, basename, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const require = createRequire(join(root, 'ui', 'package.json'));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(join(root, 'ui/node_modules/axe-core/axe.min.js'), 'utf8');

const TEST_TIMEOUT_MS = Number(process.env.VANTAGE_UI_TIMEOUT_MS || 90000);
const artifacts = process.env.VANTAGE_ARTIFACTS || join(root, 'build/artifacts/ui');

let passed = 0;
let failed = 0;

function report(ok, name, detail) {
  if (ok) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}`);
    if (detail !== undefined && detail !== '') {
      for (const line of String(detail).split('\n').slice(0, 40)) console.log(`#   ${line}`);
    }
  }
}

// Launch Debian's chromium; the sandbox needs user namespaces a container
// or CI may not give root, hence --no-sandbox.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

// A page that records its console errors, uncaught exceptions and failed
// requests.
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
  page.on('requestfailed', (r) => {
    const why = r.failure() ? r.failure().errorText : '';
    if (why !== 'net::ERR_ABORTED') errors.push(`request failed: ${r.url()} ${why}`);
  });
  return { context, page, errors };
}

// axe-core's serious and critical violations on the page now.
export async function axeViolations(page) {
  const has = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!has) await page.evaluate(axeSource); // through the debugger: not subject to the page's CSP
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no end after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function runFile(browser, file, base) {
  const name = basename(file).replace(/\.test\.mjs$/, '');
  const { context, page, errors } = await newPage(browser);
  let checks = 0;
  const t = {
    env: process.env,
    ok(cond, what, detail) {
      checks++;
      report(Boolean(cond), `${name}: ${what}`, cond ? undefined : detail);
      return Boolean(cond);
    },
    eq(a, b, what) {
      const ja = JSON.stringify(a);
      const jb = JSON.stringify(b);
      return t.ok(ja === jb, what, `expected: ${jb}\nactual:   ${ja}`);
    },
    async shot(label) {
      await page.screenshot({ path: join(artifacts, `${name}-${label}.png`), fullPage: true });
    },
    async axe(label) {
      const v = await axeViolations(page);
      t.ok(v.length === 0, `accessibility (${label}): no serious or critical axe violations`,
        v.map((x) => `${x.impact} ${x.id}: ${x.help} (${x.nodes.join(', ')})`).join('\n'));
    },
    errors: () => errors.slice(),
    log: (...a) => console.log(`# ${name}: ${a.join(' ')}`),
  };
  try {
    const mod = await import(pathToFileURL(file).href);
    if (typeof mod.default !== 'function') throw new Error('no default export function');
    await withTimeout(mod.default(page, base, t), TEST_TIMEOUT_MS, name);
  } catch (e) {
    report(false, `${name}: the test ran to its end`, e && e.stack ? e.stack : String(e));
  }
  try {
    await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
    console.log(`# ${name}: screenshot ${join(artifacts, `${name}.png`)}`);
  } catch (e) {
    report(false, `${name}: screenshot`, String(e));
  }
  report(errors.length === 0, `${name}: no console errors`, errors.join('\n'));
  try {
    const v = await axeViolations(page);
    report(v.length === 0, `${name}: no serious or critical axe violations`,
      v.map((x) => `${x.impact} ${x.id}: ${x.help} (${x.nodes.join(', ')})`).join('\n'));
  } catch (e) {
    report(false, `${name}: axe ran`, String(e));
  }
  if (!checks) console.log(`# ${name}: the test made no check of its own`);
  await context.close();
}

async function main() {
  const base = (process.argv[2] || '').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) {
    console.error('usage: node tests/ui/run.mjs BASEURL [NAME...]');
    process.exit(2);
  }
  const only = process.argv.slice(3);
  mkdirSync(artifacts, { recursive: true });
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.test.mjs'))
    .filter((f) => !only.length || only.includes(f.replace(/\.test\.mjs$/, '')))
    .sort()
    .map((f) => join(here, f));
  let browser;
  try {
    browser = await launch();
  } catch (e) {
    report(false, 'chromium starts (scripts/setup.sh --tests installs it)', String(e));
  }
  if (browser) {
    for (const f of files) await runFile(browser, f, base);
    await browser.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.log(`not ok - the runner: ${e && e.stack ? e.stack : e}`);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(1);
  });
}
