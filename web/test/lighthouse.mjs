// Lighthouse on the map page (system Chromium), desktop and mobile presets, against the real
// binary on loopback: the median of RUNS runs per preset (default 3). Prints a Markdown table
// for BENCHMARKS.md and keeps the last JSON reports in target/browser-artifacts/.
//
//   node web/test/lighthouse.mjs        (build with `cargo build --release` first)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import lighthouse from 'lighthouse';
import desktopConfig from 'lighthouse/core/config/desktop-config.js';
import puppeteer from 'puppeteer-core';
import { ROOT, startServer } from './server.mjs';

const RUNS = Number(process.env.RUNS ?? 3);
const ARTIFACTS = path.join(ROOT, 'target/browser-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const server = await startServer();
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--remote-debugging-port=0'],
});
const port = Number(new URL(browser.wsEndpoint()).port);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const [preset, config] of [['desktop', desktopConfig], ['mobile', undefined]]) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await lighthouse(`${server.url}/`, { port, output: 'json', logLevel: 'error' }, config);
    if (!r) throw new Error('lighthouse returned nothing');
    const lhr = r.lhr;
    writeFileSync(path.join(ARTIFACTS, `lighthouse-${preset}.json`), r.report);
    const score = (c) => Math.round((lhr.categories[c]?.score ?? 0) * 100);
    runs.push({
      performance: score('performance'),
      accessibility: score('accessibility'),
      bestPractices: score('best-practices'),
      fcp: lhr.audits['first-contentful-paint'].numericValue,
      lcp: lhr.audits['largest-contentful-paint'].numericValue,
      tbt: lhr.audits['total-blocking-time'].numericValue,
      bytes: lhr.audits['total-byte-weight'].numericValue,
    });
    console.error(`${preset} run ${i + 1}: ${JSON.stringify(runs.at(-1))}`);
  }
  const m = (k) => median(runs.map((r) => r[k]));
  rows.push(
    `| ${preset} | ${m('performance')} | ${m('accessibility')} | ${m('bestPractices')} | ${(m('fcp') / 1000).toFixed(2)} s | ${(m('lcp') / 1000).toFixed(2)} s | ${Math.round(m('tbt'))} ms | ${(m('bytes') / 1024).toFixed(0)} KiB |`,
  );
}
await browser.close();
server.stop();
console.log(`Lighthouse ${(await import('lighthouse/package.json', { with: { type: 'json' } })).default.version}, median of ${RUNS} runs, ${new Date().toISOString().slice(0, 10)}`);
console.log('| preset | performance | accessibility | best practices | FCP | LCP | TBT | transferred |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
