// topology.test.mjs - the topology page: the graph holds the test's systems as nodes (the
// runtime-less container, the host, and with podman the client and the server joined by their
// edge), the edges table lists the client -> server edge with its port, a click on a node and
// Enter on a node reached with the arrow keys both open the system's page.
//
// Environment (tests/integration/dashboard.sh): VANTAGE_TEST_CTR, _CTR_ID, _HOST_ID,
// _PODMAN (1: the podman containers run), _SERVER, _SERVER_ID, _CLIENT, _CLIENT_ID.
import { docShot } from './docshot.mjs';

export default async function (page, base, t) {
  const env = t.env;
  // every address the page goes to, with its time, for the error of open() below (an init
  // script: the page is still about:blank here, the first goto loads a new document)
  await page.addInitScript(() => {
    window.__hashlog = [];
    window.addEventListener('hashchange', () => window.__hashlog.push(`${Math.round(performance.now())} ${location.hash}`));
  });
  // open the page at HASH and wait for its graph (the hook is cleared first: a hash change
  // keeps the document, and the hook of the page before)
  const open = async (hash) => {
    // (from a system page, once its calls are answered: it may rewrite the address with
    // history.replaceState when its data arrives, even after a navigation away)
    if ((await page.evaluate(() => location.hash).catch(() => '')).startsWith('#/system/')) await page.waitForLoadState('networkidle').catch(() => {});
    await page.evaluate(() => (window.__vantage_topology = null)).catch(() => {});
    await page.goto(`${base}/${hash}`);
    try {
      await page.waitForFunction(() => window.__vantage_topology && window.__vantage_topology.drawn, null, { timeout: 20000 });
    } catch (e) {
      const st = await page.evaluate(() => [location.hash, JSON.stringify(window.__vantage_topology), (window.__hashlog || []).join(' > '), document.querySelector('main').innerText.slice(0, 300)]);
      throw new Error(`${hash}: the graph was not drawn: ${st.join(' | ')}`);
    }
  };
  await open('#/topology');
  const topo = await page.evaluate(() => ({ ...window.__vantage_topology, position: undefined }));
  const ids = topo.nodes.map((n) => n.id);
  t.log(`${topo.nodes.length} nodes, ${topo.edges} edges, layout ${topo.layout_ms} ms`);
  t.ok(ids.includes(env.VANTAGE_TEST_CTR_ID), `the container ${env.VANTAGE_TEST_CTR} is a node`, ids.join('\n'));
  t.ok(ids.includes(env.VANTAGE_TEST_HOST_ID), 'the host is a node', ids.join('\n'));
  t.eq(topo.graph_nodes, topo.nodes.length, 'the graph draws every node of the answer');
  t.eq(topo.graph_edges, topo.edges, 'the graph draws every edge of the answer');
  const kinds = Object.fromEntries(topo.nodes.map((n) => [n.id, n.kind]));
  t.eq(kinds[env.VANTAGE_TEST_CTR_ID], 'container', 'the container is drawn as a container');
  t.eq(kinds[env.VANTAGE_TEST_HOST_ID], 'host', 'the host is drawn as a host');

  if (env.VANTAGE_TEST_PODMAN === '1') {
    t.ok(ids.includes(env.VANTAGE_TEST_SERVER_ID), `the server ${env.VANTAGE_TEST_SERVER} is a node`);
    t.ok(ids.includes(env.VANTAGE_TEST_CLIENT_ID), `the client ${env.VANTAGE_TEST_CLIENT} is a node`);
    // the edges table: a row client -> server on port 8000 (the client's connections may be
    // short-lived: the page is loaded again, 2 s apart, up to 15 times until a crawl caught one)
    const edgeRows = () => page.$$eval('table[aria-label="edges"] tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
    const isEdge = (r) => r[0] === env.VANTAGE_TEST_CLIENT && r[1] === env.VANTAGE_TEST_SERVER;
    let rows = await edgeRows();
    for (let i = 0; i < 15 && !rows.some(isEdge); i++) {
      await page.waitForTimeout(2000);
      await open(`#/topology?try=${i}`);
      rows = await edgeRows();
    }
    const edge = rows.find(isEdge);
    t.ok(edge, 'the edges table lists client -> server', JSON.stringify(rows));
    if (edge) t.eq(edge[2], '8000', 'the edge is on the server port 8000');
    await docShot(page, 'topology', 'main h1', 'table[aria-label="edges"]', 1000);
    await t.shot('graph');
  } else {
    t.log('podman not usable: no client/server edge to check');
  }

  // The nodes table links each system to its page.
  const href = await page.getAttribute(`table[aria-label="nodes"] a[title="${env.VANTAGE_TEST_CTR_ID}"]`, 'href');
  t.eq(href, `#/system/${encodeURIComponent(env.VANTAGE_TEST_CTR_ID)}`, "the nodes table links the container to its page");

  // A click on the container's node opens its page.
  const pos = await page.evaluate((id) => window.__vantage_topology.position(id), env.VANTAGE_TEST_CTR_ID);
  const box = await page.locator('#topo-graph').boundingBox();
  t.ok(pos && box, 'the container node has a position in the graph');
  if (pos && box) {
    await page.locator('#topo-graph').scrollIntoViewIfNeeded();
    const box2 = await page.locator('#topo-graph').boundingBox();
    await page.mouse.click(box2.x + pos.x, box2.y + pos.y);
    await page.waitForFunction(() => location.hash.startsWith('#/system/'), null, { timeout: 5000 }).catch(() => {});
    t.eq(await page.evaluate(() => location.hash), `#/system/${encodeURIComponent(env.VANTAGE_TEST_CTR_ID)}`, 'a click on the node opens its system page');
  }

  // Keyboard: focus the graph, walk with the arrow keys to the container, Enter opens it.
  await open('#/topology');
  await page.focus('#topo-graph');
  let found = false;
  for (let i = 0; i < topo.nodes.length + 1 && !found; i++) {
    await page.keyboard.press('ArrowRight');
    const txt = await page.textContent('#topo-selected');
    found = txt.startsWith(`${env.VANTAGE_TEST_CTR} `);
  }
  t.ok(found, 'the arrow keys reach the container node and name it');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash.startsWith('#/system/'), null, { timeout: 5000 }).catch(() => {});
  t.eq(await page.evaluate(() => location.hash), `#/system/${encodeURIComponent(env.VANTAGE_TEST_CTR_ID)}`, 'Enter on the selected node opens its system page');

  // Grouped by host: one node holds the host and its containers.
  await open('#/topology?group_by=host');
  const grouped = await page.evaluate(() => window.__vantage_topology.nodes);
  t.ok(grouped.length < topo.nodes.length && grouped.some((n) => n.kind === 'host'), 'grouped by host: fewer nodes, the host among them', JSON.stringify(grouped));
  await open('#/topology');
}
