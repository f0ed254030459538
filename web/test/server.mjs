// Start servicemap on a free loopback port with the default data, for the browser tests.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** SERVICEMAP_BIN, else the newer of target/release and target/debug. */
export function binary() {
  if (process.env.SERVICEMAP_BIN) return process.env.SERVICEMAP_BIN;
  const found = ['release', 'debug']
    .map((p) => path.join(ROOT, 'target', p, 'servicemap'))
    .filter((p) => existsSync(p))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!found.length) throw new Error('no servicemap binary: run `cargo build` first or set SERVICEMAP_BIN');
  return found[0];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/** @returns {Promise<{ url: string, stop: () => void }>} */
export async function startServer() {
  const port = await freePort();
  const bin = binary();
  const child = spawn(bin, ['serve', '--data', path.join(ROOT, 'geodata'), '--bind', `127.0.0.1:${port}`, '--workers', '2'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  // Loading the data takes a few seconds on a debug build; poll /healthz until it answers.
  for (;;) {
    if (exited) throw new Error(`${bin} exited before serving`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`serving ${bin} at ${url}`);
  return { url, stop: () => child.kill('SIGTERM') };
}
