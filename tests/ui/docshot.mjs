// docshot.mjs - a screenshot of one region of the page for the documentation (docs/img/):
// from the top of the element `top` to the bottom of the element `bottom` (at most maxH px),
// the page's full width, saved as $VANTAGE_ARTIFACTS/doc-NAME.png. Not a test (the runner
// runs *.test.mjs only).
import { join } from 'node:path';

export async function docShot(page, name, top, bottom, maxH = 900) {
  const dir = process.env.VANTAGE_ARTIFACTS;
  if (!dir) return null;
  const a = await page.locator(top).first().boundingBox();
  const b = await page.locator(bottom).last().boundingBox();
  if (!a || !b) return null;
  const scroll = await page.evaluate(() => ({ x: window.scrollX, y: window.scrollY, w: document.documentElement.clientWidth }));
  const y = Math.max(0, a.y + scroll.y - 12);
  const h = Math.min(maxH, b.y + scroll.y + b.height + 12 - y);
  const path = join(dir, `doc-${name}.png`);
  await page.screenshot({ path, fullPage: true, clip: { x: 0, y, width: scroll.w, height: h } });
  return path;
}
