// The map page in headless Chromium (Debian's `chromium`, driven by puppeteer-core) against
// the real binary on the default data. Checks what the issue asks; screenshots go to
// target/browser-artifacts/. Waits have no time limit (a failing page fails the test through
// its console errors instead): speed is measured by Lighthouse, not asserted here.
//
//   node web/test/browser.mjs            (CHROME_PATH, SERVICEMAP_BIN to override)
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { ROOT, startServer } from './server.mjs';

const ARTIFACTS = path.join(ROOT, 'target/browser-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });
/** 马王坪 (geodata/README, facts.md). */
const MAWANGPING = [106.533, 29.47];
const WATER = [0x8e, 0xc5, 0xea];
const ROUTE = [0xd6, 0x00, 0x6f];
const FACILITY = [0xe6, 0x7e, 0x22];

const server = await startServer();
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--lang=zh-CN'],
});
const problems = [];
let failed = false;
/** Every response the pages got: url, status, content type. */
const responses = [];
const MVT = 'application/vnd.mapbox-vector-tile';
/** Tile responses (paths ending in /z/row/col) below `prefix`, whose query has `params`. */
function seen(prefix, params = {}) {
  return responses.filter((r) => {
    const u = new URL(r.url);
    return (
      u.pathname.startsWith(prefix) &&
      /\/\d+\/\d+\/\d+$/.test(u.pathname) &&
      Object.entries(params).every(([k, v]) => u.searchParams.get(k) === String(v))
    );
  });
}
/** `data-<key>` of the map, `layer:count layer:count`, as an object. */
async function rendered(page, key) {
  const s = await page.$eval('#map', (e, key) => e.dataset[key] ?? '', key);
  return Object.fromEntries(s.split(' ').filter(Boolean).map((p) => [p.split(':')[0], Number(p.split(':')[1])]));
}

/** A page that records console errors, uncaught exceptions and any request off this server. */
async function openPage(viewport) {
  const page = await browser.newPage();
  page.setDefaultTimeout(0);
  await page.setViewport(viewport);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(server.url) && !u.startsWith('data:') && !u.startsWith('blob:')) problems.push(`request off the server: ${u}`);
  });
  page.on('response', (r) => responses.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] ?? '' }));
  return page;
}

/** Wait for a condition in the page, failing as soon as the page reports a problem. */
async function until(page, fn, ...args) {
  const stop = new Promise((_, reject) => {
    const t = setInterval(() => {
      if (problems.length) {
        clearInterval(t);
        reject(new Error(problems.join('\n')));
      }
    }, 100);
    waiters.push(() => clearInterval(t));
  });
  try {
    return await Promise.race([page.waitForFunction(fn, { polling: 100 }, ...args), stop]);
  } finally {
    waiters.pop()?.();
  }
}
const waiters = [];

/** Wait for a condition on this side (e.g. on the responses seen), failing as soon as a page
 * reports a problem; like `until`, no wall-clock limit (CI bounds the whole run). */
async function eventually(cond) {
  while (!cond()) {
    if (problems.length) throw new Error(problems.join('\n'));
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Pixels (sampled) of the map's canvases within `tol` of `rgb`, and distinct colours seen. */
async function pixels(page, rgb, tol = 6) {
  return page.evaluate(
    (rgb, tol) => {
      let hits = 0;
      const colours = new Set();
      for (const c of document.querySelectorAll('#map canvas')) {
        const ctx = c.getContext('2d');
        if (!ctx || !c.width) continue;
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 16) {
          if (d[i + 3] === 0) continue;
          colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
          if (Math.abs(d[i] - rgb[0]) <= tol && Math.abs(d[i + 1] - rgb[1]) <= tol && Math.abs(d[i + 2] - rgb[2]) <= tol) hits++;
        }
      }
      return { hits, colours: colours.size };
    },
    rgb,
    tol,
  );
}

/** Zoom by whole steps with the map's own buttons, one animation at a time. */
async function zoomBy(page, steps) {
  const z0 = Number(new URL(page.url()).searchParams.get('z'));
  for (let i = 0; i < Math.abs(steps); i++) {
    await page.click(steps < 0 ? '.ol-zoom-out' : '.ol-zoom-in');
    await new Promise((r) => setTimeout(r, 400)); // the 250 ms zoom animation, then moveend
  }
  const z1 = Number(new URL(page.url()).searchParams.get('z'));
  assert.ok(Math.abs(z1 - z0 - steps) < 0.01, `zoomed ${z0} → ${z1}, not by ${steps}`);
}

async function clickMapCentre(page, dxPx = 0) {
  const box = await (await page.$('#map')).boundingBox();
  await page.mouse.click(box.x + box.width / 2 + dxPx, box.y + box.height / 2);
}

async function step(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}\n     ${String(e?.stack ?? e).split('\n').join('\n     ')}`);
    problems.length = 0;
  }
}

const desktop = await openPage({ width: 1280, height: 800 });

await step('the page draws the base map from our vector tiles, with the river and the modelled-data note', async () => {
  const r = await desktop.goto(`${server.url}/`, { waitUntil: 'networkidle0' });
  assert.match(r.headers()['content-type'], /text\/html/);
  await until(desktop, () => Number(document.querySelector('#map')?.dataset.facilities) > 0 && document.querySelector('#map')?.dataset.basemap);
  // The base map came as composite tiles, not as whole GeoJSON layers.
  const tiles = seen('/tiles/WebMercatorQuad/');
  assert.ok(tiles.length >= 4, `composite tiles requested: ${tiles.length}`);
  assert.ok(tiles.every((t) => t.status === 200 && t.type === MVT), `every tile is an MVT 200: ${JSON.stringify(tiles.filter((t) => t.status !== 200 || t.type !== MVT))}`);
  const layers = responses.filter((x) => /\/collections\/[^/]+\/items/.test(x.url) && !/category=/.test(x.url));
  assert.deepEqual(layers.map((x) => x.url), [], 'no whole layer is read as GeoJSON to draw the map');
  // What OpenLayers rendered from those tiles, per tile layer (distinct feature ids in view).
  const drawn = await rendered(desktop, 'basemap');
  for (const [layer, min] of [['boundary', 1], ['water', 1], ['communities', 7], ['grids', 50]]) {
    assert.ok((drawn[layer] ?? 0) >= min, `${layer} in the tiles in view: ${JSON.stringify(drawn)}`);
  }
  const water = await pixels(desktop, WATER);
  assert.ok(water.colours > 20, `the map is blank (${water.colours} colours)`);
  assert.ok(water.hits > 500, `the river is not drawn (${water.hits} water pixels)`);
  const note = await desktop.$eval('#modelled', (e) => e.textContent);
  assert.match(note, /模型数据/, 'the page says the data is modelled');
  await desktop.screenshot({ path: path.join(ARTIFACTS, 'desktop-overview.png') });
});

await step('zoomed in, walkways and buildings come from the tiles too', async () => {
  await desktop.goto(`${server.url}/?c=${MAWANGPING.join(',')}&z=16.5`, { waitUntil: 'networkidle0' });
  await until(desktop, () => / walkways:[1-9]/.test(` ${document.querySelector('#map')?.dataset.basemap ?? ''}`));
  const drawn = await rendered(desktop, 'basemap');
  assert.ok(drawn.walkways > 20 && drawn.buildings > 20 && drawn.compounds > 0, `zoom 16.5 draws the network, buildings and compounds: ${JSON.stringify(drawn)}`);
  const zooms = [...new Set(seen('/tiles/WebMercatorQuad/').map((t) => Number(new URL(t.url).pathname.split('/')[3])))];
  assert.ok(zooms.some((z) => z >= 16), `z16+ tiles requested (zooms ${zooms})`);
});

await step('a click at 马王坪 lists 5 elder canteens by walking time and draws the route', async () => {
  await desktop.goto(`${server.url}/?c=${MAWANGPING.join(',')}&z=16`, { waitUntil: 'networkidle0' });
  await clickMapCentre(desktop);
  await until(desktop, () => document.querySelector('#map')?.dataset.nearest === '5' && document.querySelectorAll('#nearest li').length === 5);
  const heading = await desktop.$eval('#nearest h2', (e) => e.textContent);
  assert.match(heading, /老年食堂/);
  const mins = await desktop.$$eval('#nearest .walk', (es) => es.map((e) => parseFloat(e.textContent)));
  assert.equal(mins.length, 5);
  assert.deepEqual([...mins].sort((a, b) => a - b), mins, 'sorted by walking time');
  const routeVertices = Number(await desktop.$eval('#map', (e) => e.dataset.route));
  assert.ok(routeVertices >= 2, 'route has vertices');
  await desktop.waitForNetworkIdle();
  await new Promise((r) => setTimeout(r, 300)); // one more animation frame of drawing
  const route = await pixels(desktop, ROUTE, 10);
  assert.ok(route.hits > 20, `the route is not drawn (${route.hits} pixels)`);
  const worker = await desktop.$eval('#grid-worker', (e) => e.textContent);
  assert.match(worker, /网格员/);
  const url = new URL(desktop.url());
  assert.equal(url.searchParams.get('cat'), 'elder_canteen', 'the URL keeps the category');
  assert.ok(Math.abs(Number(url.searchParams.get('lon')) - MAWANGPING[0]) < 0.001, 'the URL keeps the place');
});

await step('the 15-minute walking area appears with its households', async () => {
  await until(desktop, () => document.querySelector('#map')?.dataset.isochrones === '3');
  const rows = await desktop.$$eval('#iso tbody tr', (rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.equal(rows.length, 3);
  assert.match(rows[2][0], /^15/);
  assert.ok(Number(rows[2][1].replace(/,/g, '')) > 0, 'households inside 15 minutes');
  await desktop.screenshot({ path: path.join(ARTIFACTS, 'desktop-resident.png') });
});

await step('search by pinyin initials finds 马王坪', async () => {
  await desktop.click('#search');
  await desktop.type('#search', 'mwp');
  await until(desktop, () => [...document.querySelectorAll('#search-results button')].some((b) => b.textContent.includes('马王坪')));
});

await step('planner: the elder-canteen choropleth draws 214 grids from the coverage tiles, with a summary', async () => {
  await desktop.click('#tab-planner');
  await until(desktop, () => document.querySelector('#map')?.dataset.choropleth === '214' && document.querySelector('#summary'));
  const summary = await desktop.$eval('#summary', (e) => e.textContent);
  assert.match(summary, /%/);
  const q = { category: 'elder_canteen', minutes: 15, profile: 'standard', level: 'grid' };
  await until(desktop, (k) => document.querySelector('#map')?.dataset.coverageTiles === k, new URLSearchParams(q).toString());
  await until(desktop, () => / coverage:[1-9]/.test(` ${document.querySelector('#map')?.dataset.choroplethTiles ?? ''}`));
  const tiles = seen('/coverage/tiles/WebMercatorQuad/', q);
  assert.ok(tiles.length > 0 && tiles.every((t) => t.status === 200 && t.type === MVT), `coverage tiles: ${JSON.stringify(tiles)}`);
  // Zoomed out to the whole subdistrict, every grid of /coverage is drawn from the tiles.
  await zoomBy(desktop, -3);
  await until(desktop, () => document.querySelector('#map')?.dataset.choroplethTiles === 'coverage:214');
  await desktop.screenshot({ path: path.join(ARTIFACTS, 'desktop-planner.png') });
  await zoomBy(desktop, 3);
});

await step('planner: a what-if drop changes the summary', async () => {
  // 5 minutes, so a new canteen must add households. Not at 马王坪 itself: in the model every
  // building around it is within 5 minutes of a canteen already; 150 px (about 300 m at
  // zoom 16) west of it, a canteen adds about 2 % of the subdistrict's households.
  await desktop.select('#p-min', '5');
  await until(desktop, () => {
    const m = document.querySelector('#map')?.dataset;
    return m?.coverageMinutes === '5' && m?.busy === '0';
  });
  // The page chose a new coverage tile source: 5 minutes.
  await until(desktop, () => (document.querySelector('#map')?.dataset.coverageTiles ?? '').includes('minutes=5&'));
  await until(desktop, () => / coverage:[1-9]/.test(` ${document.querySelector('#map')?.dataset.choroplethTiles ?? ''}`));
  // The response event may follow the page's own bookkeeping: wait for it rather than race it.
  await eventually(() => seen('/coverage/tiles/WebMercatorQuad/', { category: 'elder_canteen', minutes: 5 }).length > 0);
  const before = await desktop.$eval('#summary .big', (e) => e.textContent);
  await desktop.click('#add-facility');
  await clickMapCentre(desktop, -150);
  await until(desktop, () => document.querySelector('#scenario-summary') && document.querySelector('#map')?.dataset.busy === '0');
  const after = await desktop.$eval('#scenario-summary .big', (e) => e.textContent);
  assert.ok(parseFloat(after) > parseFloat(before), `after ${after} should exceed before ${before}`);
  await desktop.screenshot({ path: path.join(ARTIFACTS, 'desktop-whatif.png') });
});

/** CSS pixel (page coordinates) of the first facility marker (orange) drawn on the map. */
async function facilityPixel(page) {
  return page.evaluate((rgb) => {
    for (const c of document.querySelectorAll('#map canvas')) {
      const ctx = c.getContext('2d');
      if (!ctx || !c.width) continue;
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const box = c.getBoundingClientRect();
      // Middle of the map first, away from the controls.
      for (let y = Math.floor(c.height * 0.2); y < c.height * 0.8; y++) {
        for (let x = Math.floor(c.width * 0.2); x < c.width * 0.8; x++) {
          const i = (y * c.width + x) * 4;
          if (Math.abs(d[i] - rgb[0]) < 8 && Math.abs(d[i + 1] - rgb[1]) < 8 && Math.abs(d[i + 2] - rgb[2]) < 8) {
            // A few pixels down into the disc, in CSS pixels.
            return { x: box.left + (x * box.width) / c.width, y: box.top + ((y + 4) * box.height) / c.height };
          }
        }
      }
    }
    return null;
  }, FACILITY);
}

await step('planner: remove and drag a facility change the after-summary', async () => {
  const idle = () => document.querySelector('#map')?.dataset.busy === '0';
  await desktop.click('#reset');
  await until(desktop, () => !document.querySelector('#scenario-summary') && document.querySelector('#map')?.dataset.busy === '0' && Number(document.querySelector('#map')?.dataset.facilities) > 0);
  await new Promise((r) => setTimeout(r, 300)); // let the facilities draw
  const households = (key) => desktop.$eval('#map', (e, key) => Number(e.dataset[key]), key);
  const before = await households('covered');
  let at = await facilityPixel(desktop);
  assert.ok(at, 'a facility is drawn');
  await desktop.mouse.click(at.x, at.y);
  await until(desktop, () => !document.querySelector('#remove-facility')?.disabled);
  await desktop.click('#remove-facility');
  await until(desktop, () => document.querySelector('#scenario-summary') && document.querySelector('#map')?.dataset.busy === '0');
  const removed = await households('scenario');
  assert.ok(removed < before, `removing a canteen lowers 5-minute coverage (${before} → ${removed} households)`);
  await desktop.click('#reset');
  await until(desktop, () => !document.querySelector('#scenario-summary') && document.querySelector('#map')?.dataset.busy === '0');
  await new Promise((r) => setTimeout(r, 300));
  at = await facilityPixel(desktop);
  assert.ok(at, 'a facility is drawn');
  await desktop.mouse.move(at.x, at.y);
  await desktop.mouse.down();
  // 40 px towards the middle of the map (on land, on the network).
  const box = await (await desktop.$('#map')).boundingBox();
  const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
  const len = Math.hypot(cx - at.x, cy - at.y) || 1;
  for (let i = 1; i <= 10; i++) await desktop.mouse.move(at.x + (4 * i * (cx - at.x)) / len, at.y + (4 * i * (cy - at.y)) / len);
  await desktop.mouse.up();
  await until(desktop, () => document.querySelector('#scenario-summary') && document.querySelector('#map')?.dataset.busy === '0');
  const dragged = await households('scenario');
  console.log(`     households covered: ${before}; one canteen removed ${removed}; one moved ${dragged}`);
  assert.notEqual(dragged, before, 'moving a canteen changes coverage');
  await until(desktop, idle);
});

await step('planner: gaps ranked, audit table, siting', async () => {
  const idle = () => document.querySelector('#map')?.dataset.busy === '0';
  await desktop.click('#gaps-btn');
  await until(desktop, () => document.querySelectorAll('#gaps li').length > 0 && document.querySelector('#map')?.dataset.busy === '0');
  const gaps = await desktop.$$eval('#gaps li .count', (ls) => ls.map((l) => Number(l.textContent)));
  assert.ok(gaps.length > 0 && gaps.every((n) => n > 0), `gaps have uncovered households: ${gaps}`);
  assert.deepEqual([...gaps].sort((a, b) => b - a), gaps, 'gaps ranked by uncovered households');
  await desktop.click('#audit-btn');
  await until(desktop, () => document.querySelectorAll('#audit-table tbody tr').length > 0 && document.querySelector('#map')?.dataset.busy === '0');
  await desktop.click('#siting-btn');
  await until(desktop, () => document.querySelectorAll('#sites li').length === 3);
  await until(desktop, idle);
  await desktop.screenshot({ path: path.join(ARTIFACTS, 'desktop-planner-tables.png') });
});

await step('English toggle', async () => {
  await desktop.click('#lang');
  const title = await desktop.$eval('h1', (e) => e.textContent);
  assert.match(title, /living circle/);
  assert.equal(new URL(desktop.url()).searchParams.get('lang'), 'en');
});

await step('phone viewport (390×844): a shared link opens the place with its answers', async () => {
  const phone = await openPage({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await phone.goto(`${server.url}/?lon=${MAWANGPING[0]}&lat=${MAWANGPING[1]}&cat=elder_canteen&profile=elder`, { waitUntil: 'networkidle0' });
  await until(phone, () => document.querySelector('#map')?.dataset.nearest === '5' && document.querySelector('#map')?.dataset.isochrones === '3');
  const layout = await phone.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    map: document.querySelector('#map').getBoundingClientRect().height,
    panel: document.querySelector('#panel').getBoundingClientRect().top,
  }));
  assert.ok(layout.scrollWidth <= 390, `no sideways scrolling (${layout.scrollWidth}px wide)`);
  assert.ok(layout.map > 300, `map visible (${layout.map}px)`);
  assert.ok(layout.panel < 844, 'panel starts on screen');
  const profile = await phone.$eval('#profile', (e) => e.value);
  assert.equal(profile, 'elder', 'the link kept the profile');
  await phone.screenshot({ path: path.join(ARTIFACTS, 'phone-resident.png') });
  await phone.tap('#tab-planner');
  await until(phone, () => document.querySelector('#map')?.dataset.choropleth === '214');
  await phone.screenshot({ path: path.join(ARTIFACTS, 'phone-planner.png') });
});

await step('no console error, no request off the server', async () => {
  assert.deepEqual(problems, []);
});

await browser.close();
server.stop();
console.log(failed ? 'browser test FAILED' : `browser test passed; screenshots in ${path.relative(process.cwd(), ARTIFACTS)}`);
process.exit(failed ? 1 : 0);
