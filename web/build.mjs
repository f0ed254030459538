// Builds the map page into OUT (first argument, default dist/): content-hashed JS chunks and
// an index.html with the CSS inlined (one request before first paint) and the entry script
// preloaded. build.rs runs this into Cargo's OUT_DIR and embeds the result in the binary.
import * as esbuild from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(here, 'dist'));
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

const result = await esbuild.build({
  entryPoints: [path.join(here, 'src/main.ts')],
  bundle: true,
  splitting: true, // the planner view is its own chunk, loaded when first opened
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'none',
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  outdir: out,
  metafile: true,
  logLevel: 'warning',
});

const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint);
if (!entry) throw new Error('esbuild produced no entry chunk');
const mainJs = path.basename(entry[0]);
const css = [
  await readFile(path.join(here, 'node_modules/ol/ol.css'), 'utf8'),
  await readFile(path.join(here, 'src/style.css'), 'utf8'),
]
  .join('\n')
  .replace(/\/\*[\s\S]*?\*\//g, '')
  .replace(/\s*\n\s*/g, '\n');
const html = (await readFile(path.join(here, 'src/index.html'), 'utf8'))
  .replace('/*CSS*/', () => css)
  .replaceAll('MAIN_JS', mainJs);
await writeFile(path.join(out, 'index.html'), html);
console.log(`built ${out}: index.html, ${Object.keys(result.metafile.outputs).map((p) => path.basename(p)).join(', ')}`);
